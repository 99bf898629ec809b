#!/bin/sh
# Every relative link in the README and docs/ names a file in the repository,
# so a clone carries everything they point to (the contract included).
cd "$(dirname "$0")/.." || exit 1
status=0
for doc in README.md docs/*.md; do
  dir=$(dirname "$doc")
  for target in $(grep -o '](\([^)#]*\)' "$doc" | sed 's/^](//'); do
    case "$target" in http*|mailto:*) continue ;; esac
    if [ ! -e "$dir/$target" ]; then
      echo "check-docs: $doc links to '$target', which is not in the repository" >&2
      status=1
    fi
    case "$(cd "$dir" && realpath -m "$target")" in
      "$(pwd)"/*) ;;
      *) echo "check-docs: $doc links to '$target', outside the repository" >&2; status=1 ;;
    esac
  done
done
[ $status = 0 ] && echo "check-docs: every link in README.md and docs/ resolves inside the repository"
exit $status
