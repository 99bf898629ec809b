#!/bin/sh
# The benchmark's own set-up (`make bench`, never `make test`): oneDNN from
# Debian's libdnnl-dev (2.6), so build/bench/osconv-bench can time osconv
# against it. Idempotent. When it cannot install (no root, no network), it
# says so and succeeds: the bench then builds without oneDNN and reports
# osconv alone.
if dpkg-query -W -f='${Status}' libdnnl-dev 2>/dev/null | grep -q "install ok installed"; then
  exit 0
fi
echo "osconv-bench: installing libdnnl-dev (oneDNN) for the comparison"
if [ "$(id -u)" != 0 ]; then
  echo "osconv-bench: need root for libdnnl-dev (sudo apt-get install libdnnl-dev);" \
       "benchmarking osconv alone" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends libdnnl-dev; }; then
  echo "osconv-bench: libdnnl-dev could not be installed; benchmarking osconv alone" >&2
fi
exit 0
