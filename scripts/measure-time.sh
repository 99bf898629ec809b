#!/bin/sh
# Measure what the time model is fitted to (README "The search"):
#   sh scripts/measure-time.sh BENCH_STAGES_BINARY OUT_DIR
# OUT_DIR/stages.csv: seeded stage shapes on every ISA this CPU runs, in
# chunks of 50, each under the core-1 benchmark lock; OUT_DIR/layers.csv:
# the bench layer set (the held-out set), measured after the sweep. Files
# are written whole at the end, so an interrupted run leaves the old ones.
# An ISA this CPU lacks keeps its rows from the old stages.csv (measured
# where it ran: the README's time-model notes say which machine).
set -e
bin=$1 out=$2
[ -x "$bin" ] && [ -d "$out" ] || { echo "usage: measure-time.sh BENCH_STAGES OUT_DIR" >&2; exit 2; }
run() { flock /tmp/osconv-core1.lock taskset -c 1 "$bin" "$@"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" --header > "$tmp/stages.csv"
for spec in "1 avx512 0" "1 avx512 50" "1 avx512 100" "1 avx512 150" "1 avx512 200" \
            "1 avx512 250" "2 avx2 0" "2 avx2 50" "2 avx2 100" "3 c 0" "3 c 50" "3 c 100"; do
  set -- $spec
  case $2 in avx512) flag=avx512f ;; *) flag=$2 ;; esac
  if [ "$2" = c ] || grep -qw "$flag" /proc/cpuinfo 2>/dev/null; then
    run --sweep 50 --seed "$1" --isa "$2" --first "$3" >> "$tmp/stages.csv"
  elif [ ! -e "$tmp/kept-$2" ] && [ -f "$out/stages.csv" ]; then
    awk -F, -v isa="$2" 'NR > 1 && $5 == isa' "$out/stages.csv" >> "$tmp/stages.csv"
    touch "$tmp/kept-$2"
    echo "measure-time.sh: this CPU has no $2; its rows kept from $out/stages.csv" >&2
  fi
done
"$bin" --header > "$tmp/layers.csv"
for layer in c64_56_k3 c128_28_k3 c256_14_k3 c512_7_k3 c256_14_k5 c256_14_k7 \
             c128to256_28_k3_s2 c64to128_56_k3; do
  run --layers --only "$layer" >> "$tmp/layers.csv"
done
mv "$tmp/stages.csv" "$tmp/layers.csv" "$out/"
