#!/bin/sh
# Install osconv into a temporary prefix, then use it the way a user would:
# build examples/app.c with the README's command (shared) and statically,
# and check what the libraries expose and that they keep to themselves.
# usage: sh scripts/test-install.sh [BUILD_DIR]
set -e
build=${1:-build}
tcc_a=${TCC_A:-/usr/lib/x86_64-linux-gnu/libtcc.a}
prefix=$(mktemp -d /tmp/osconv-install-XXXXXX)
trap 'rm -rf "$prefix"' EXIT
fail() {
  echo "test-install: $*" >&2
  exit 1
}
make --no-print-directory BUILD="$build" PREFIX="$prefix" install >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
lib=$prefix/lib
tmp=$prefix/tmp
mkdir "$tmp"

for f in bin/osconv include/osconv.h lib/libosconv.a lib/libosconv.so.0 lib/pkgconfig/osconv.pc; do
  test -f "$prefix/$f" || fail "$f was not installed"
done
test "$(readlink "$lib/libosconv.so")" = libosconv.so.0 || fail "lib/libosconv.so is not a link to libosconv.so.0"
readelf -d "$lib/libosconv.so.0" | grep -q 'Library soname: \[libosconv.so.0\]' ||
  fail "libosconv.so.0 has no SONAME libosconv.so.0"
"$prefix/bin/osconv" --version >/dev/null

# shared: exactly the README's command; the loader needs the prefix's lib dir
cc examples/app.c $(pkg-config --cflags --libs osconv) -o "$tmp/app"
LD_LIBRARY_PATH="$lib" "$tmp/app"
cc -std=c11 -Wall -Wextra -Werror -fsyntax-only $(pkg-config --cflags osconv) examples/app.c

# static: the archive in place of -losconv, then what pkg-config --static adds
static_libs=
for w in $(pkg-config --static --libs osconv); do
  [ "$w" = -losconv ] || static_libs="$static_libs $w"
done
static() {   # static OUTPUT SOURCE [more cc arguments]
  out=$1 src=$2
  shift 2
  cc "$src" $(pkg-config --cflags osconv) "$lib/libosconv.a" $static_libs "$@" -o "$out"
}
static "$tmp/app-static" examples/app.c
"$tmp/app-static"

# a program may use libtcc's global names for its own: they are not ours
cat >"$tmp/clash.c" <<'EOF'
#include <osconv.h>
int tok;
void gen_op(int x);
void gen_op(int x) { tok += x; }
int main(void) {
  osc_layer l;
  osc_plan p;
  osc_kernel *k = NULL;
  osc_error err;
  osc_layer_init(&l);
  l.in_channels = l.out_channels = 4;
  l.in_h = l.in_w = 5;
  l.k_h = l.k_w = 3;
  gen_op(1);
  if (osc_plan_layer(&l, &p, &err) || osc_kernel_create(&p, NULL, &k, &err)) return 1;
  osc_kernel_free(k);
  return tok == 1 ? 0 : 1;
}
EOF
static "$tmp/clash" "$tmp/clash.c" || fail "a program defining tok and gen_op does not link with libosconv.a"
"$tmp/clash" || fail "a program defining tok and gen_op links but fails"

# ... and may link its own libtcc, which then is the one its tcc_* calls reach
cat >"$tmp/owntcc.c" <<'EOF'
#include <libtcc.h>
#include <osconv.h>
int main(void) {
  TCCState *s = tcc_new();
  osc_layer l;
  osc_plan p;
  osc_kernel *k = NULL;
  osc_error err;
  int (*seven)(void);
  tcc_set_options(s, "-nostdlib");
  tcc_set_output_type(s, TCC_OUTPUT_MEMORY);
  if (tcc_compile_string(s, "int seven(void) { return 7; }") < 0 ||
      tcc_relocate(s, TCC_RELOCATE_AUTO) < 0)
    return 1;
  seven = (int (*)(void))tcc_get_symbol(s, "seven");
  osc_layer_init(&l);
  l.in_channels = l.out_channels = 4;
  l.in_h = l.in_w = 5;
  l.k_h = l.k_w = 3;
  if (osc_plan_layer(&l, &p, &err) || osc_kernel_create(&p, NULL, &k, &err)) return 1;
  osc_kernel_free(k);
  tcc_delete(s);
  return seven && seven() == 7 ? 0 : 1;
}
EOF
static "$tmp/owntcc" "$tmp/owntcc.c" -ltcc -Wl,--trace-symbol=tcc_new >"$tmp/trace" 2>&1 ||
  fail "a program linking its own libtcc does not link with libosconv.a: $(cat "$tmp/trace")"
grep -q 'libtcc\.a(.*definition of tcc_new' "$tmp/trace" ||
  fail "tcc_new does not come from the program's libtcc: $(cat "$tmp/trace")"
"$tmp/owntcc" || fail "a program with its own libtcc and osconv kernels fails"

# a libtcc that does not route mprotect through osconv: the JIT refuses it
api=$(sed -n 's/^#define \(tcc_[a-z_]*\) osc_tcc_.*/--redefine-sym \1=osc_\1/p' runtime/osctcc.h)
ld -r --whole-archive "$tcc_a" -o "$tmp/foreign.o"
objcopy $api --redefine-sym stdout=osc_tcc_stdout --redefine-sym stderr=osc_tcc_stderr \
  --redefine-sym environ=osc_tcc_environ "$tmp/foreign.o"
cp "$lib/libosconv.a" "$tmp/libnotcc.a"
ar d "$tmp/libnotcc.a" tcc-wx.o
cc examples/app.c $(pkg-config --cflags osconv) "$tmp/foreign.o" "$tmp/libnotcc.a" $static_libs \
  -o "$tmp/app-foreign"
if "$tmp/app-foreign" >"$tmp/out" 2>&1; then fail "the JIT accepted a libtcc that maps code write+execute"; fi
grep -q "not osconv's renamed copy" "$tmp/out" || fail "unexpected failure: $(cat "$tmp/out")"

# the .so exports the functions of osconv.h, all of them and nothing else
grep -o '\bosc_[a-z0-9_]*(' "$prefix/include/osconv.h" | tr -d '(' | sort -u >"$tmp/api"
nm -D --defined-only "$lib/libosconv.so.0" | awk '{print $3}' | sort -u >"$tmp/exported"
diff "$tmp/api" "$tmp/exported" >"$tmp/diff" ||
  fail "libosconv.so exports differ from osconv.h's functions (< header only, > exported only):
$(cat "$tmp/diff")"
# the archive defines nothing global outside the osc_ prefix
nm -g --defined-only "$lib/libosconv.a" | awk 'NF == 3 && $3 !~ /^osc_/ {print $3}' >"$tmp/foreign-names"
test ! -s "$tmp/foreign-names" || fail "libosconv.a defines names outside osc_: $(head "$tmp/foreign-names")"
echo "test-install: ok (README's build and static build of app.c, libtcc's names private, foreign libtcc refused, exports = osconv.h)"
