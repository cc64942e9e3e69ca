#!/usr/bin/env bash
# Style checks CI runs (STYLE.md "Tooling"): clang-format on every tracked C++ file, luacheck
# (.luacheckrc) on scripts-lua/ and the test apps. Exit status 1 names what is off.
# Usage: tools/lint.sh [--fix]   (--fix rewrites the C++ files in place)
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
mapfile -t cpp < <(git ls-files -- '*.cpp' '*.hpp' '*.h' 2>/dev/null || find runtime functions tools tests bench -name '*.[ch]pp')
if [[ ${1:-} == --fix ]]; then
  clang-format -i "${cpp[@]}"
elif ! clang-format --dry-run --Werror "${cpp[@]}" 2>/tmp/botfn-clang-format.$$; then
  grep -E '^[^ ].*(warning|error):' /tmp/botfn-clang-format.$$ | cut -d: -f1 | sort -u |
    sed 's/^/lint: not clang-formatted: /'
  echo "lint: run 'bash tools/lint.sh --fix'" >&2
  status=1
fi
rm -f /tmp/botfn-clang-format.$$
if ! luacheck --no-color --quiet scripts-lua tests/e2e/apps; then
  echo "lint: luacheck found problems in the Lua scripts (see above)" >&2
  status=1
fi
((status == 0)) && echo "lint: clang-format and luacheck clean"
exit $status
