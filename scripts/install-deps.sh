#!/bin/sh
# Install the Debian packages osconv needs, if any is missing. Idempotent.
# With arguments, those packages instead (the PyTorch test's, the bench's).
set -e
PKGS="gcc make pkg-config binutils liblua5.4-dev libtcc-dev tcc libcunit1-dev libjansson-dev
      libxxhash-dev libzydis-dev clang libclang-rt-14-dev valgrind lua5.4"
[ $# -gt 0 ] && PKGS="$*"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "osconv: installing missing packages:$missing"
if [ "$(id -u)" != 0 ]; then
  echo "osconv: need root to install:$missing (run: sudo apt-get install$missing)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing
