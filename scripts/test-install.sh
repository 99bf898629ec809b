#!/bin/sh
# Install osconv into a temporary prefix, then build and run examples/app.c
# against it the way a user would: with pkg-config, shared and static.
# usage: sh scripts/test-install.sh [BUILD_DIR]
set -e
build=${1:-build}
prefix=$(mktemp -d /tmp/osconv-install-XXXXXX)
trap 'rm -rf "$prefix"' EXIT
make --no-print-directory BUILD="$build" PREFIX="$prefix" install >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
for f in bin/osconv include/osconv.h lib/libosconv.a lib/libosconv.so lib/pkgconfig/osconv.pc; do
  test -f "$prefix/$f" || { echo "test-install: $f was not installed" >&2; exit 1; }
done
# shared: the .so carries libtcc, so nothing else is needed at run time
cc -std=c11 -Wall -Wextra -Werror examples/app.c $(pkg-config --cflags --libs osconv) -lm \
  -o "$prefix/app"
LD_LIBRARY_PATH="$prefix/lib" "$prefix/app"
# static: the archive plus Libs.private
cc -std=c11 -Wall -Wextra -Werror examples/app.c $(pkg-config --cflags osconv) \
  "$prefix/lib/libosconv.a" $(pkg-config --static --libs-only-l osconv | sed 's/-losconv//') \
  -o "$prefix/app-static"
"$prefix/app-static"
"$prefix/bin/osconv" --version
# the .so exports the API and not libtcc's globals
if nm -D --defined-only "$prefix/lib/libosconv.so" | awk '{print $3}' | grep -v '^osc_' | grep -q .; then
  echo "test-install: libosconv.so exports more than osc_*:" >&2
  nm -D --defined-only "$prefix/lib/libosconv.so" | awk '{print $3}' | grep -v '^osc_' | head >&2
  exit 1
fi
echo "test-install: ok (installed into a temporary prefix, app built shared and static)"
