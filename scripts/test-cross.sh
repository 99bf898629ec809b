#!/bin/sh
# The generated source on another architecture: examples/generated/demo.c
# (x86-64 machine code behind #if, portable kernels elsewhere) cross-built
# for aarch64 and run under qemu-user must give exactly (byte for byte) what
# the portable kernels give on this machine (`gen --isa c`, both built with
# -ffp-contract=off so neither compiler fuses a multiply-add), and this
# machine's SIMD build must agree with them within 1e-5 relative L2.
# Skipped, and said so, without gcc-aarch64-linux-gnu and qemu-user.
# usage: sh scripts/test-cross.sh [BUILD_DIR]
set -e
build=${1:-build}
xcc=${XCC:-aarch64-linux-gnu-gcc}
qemu=${QEMU:-qemu-aarch64}
if ! command -v "$xcc" >/dev/null || ! command -v "$qemu" >/dev/null; then
  echo "test-cross: SKIPPED: needs $xcc and $qemu (apt-get install gcc-aarch64-linux-gnu qemu-user)"
  exit 0
fi
tmp=$(mktemp -d /tmp/osconv-cross-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() {
  echo "test-cross: $*" >&2
  exit 1
}
flags="-std=c99 -O2 -ffp-contract=off -Wall -Wextra -pedantic -Werror"
gen=examples/generated
"$build/osconv" gen examples/default.lua --isa c -o "$tmp/c" >/dev/null
$xcc $flags -static -I$gen $gen/demo.c tests/cross/run_demo.c -lm -o "$tmp/demo-aarch64" ||
  fail "$gen/demo.c does not build for aarch64"
${CC:-cc} $flags -I"$tmp/c" "$tmp/c/demo.c" tests/cross/run_demo.c -lm -o "$tmp/demo-c"
${CC:-cc} $flags -I$gen $gen/demo.c tests/cross/run_demo.c -lm -o "$tmp/demo-simd"
"$qemu" "$tmp/demo-aarch64" "$tmp/aarch64.bin" || fail "the aarch64 build failed under $qemu"
"$tmp/demo-c" "$tmp/c.bin"
"$tmp/demo-simd" "$tmp/simd.bin"
cmp -s "$tmp/aarch64.bin" "$tmp/c.bin" ||
  fail "aarch64 (qemu) and x86-64 portable kernels differ: $("$tmp/demo-c" --compare "$tmp/aarch64.bin" "$tmp/c.bin") relative L2"
err=$("$tmp/demo-c" --compare "$tmp/simd.bin" "$tmp/c.bin")
awk -v e="$err" 'BEGIN { exit !(e < 1e-5) }' || fail "this machine's SIMD build is $err (relative L2) from the portable kernels"
echo "test-cross: aarch64 under qemu equals the portable kernels byte for byte; SIMD build within $err"
