#!/bin/sh
# Debian's PyTorch and NumPy for `make test-torch` (the PyTorch round trip),
# installed when missing. Idempotent; needs root for the install.
set -e
PKGS="python3 python3-torch python3-numpy"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "osconv: installing missing packages for the PyTorch test:$missing"
if [ "$(id -u)" != 0 ]; then
  echo "osconv: need root to install:$missing (run: sudo apt-get install$missing)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing
