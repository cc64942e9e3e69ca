#!/usr/bin/env bash
# Style checks CI runs (STYLE.md "Tooling"): clang-format on every tracked C++ file, luacheck
# (.luacheckrc) on scripts-lua/ and the test apps, and third-party headers only in their folder. Exit status 1 names what is off.
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
# STYLE.md rule 2: each third-party header lives in one folder of the runtime (tests, tools and
# benchmarks may reach past it). One row per library: include pattern, the one place allowed.
while read -r pattern place; do
  while IFS= read -r hit; do
    [[ -z $hit || ${hit%%:*} == "$place"* ]] && continue
    echo "lint: ${hit%%:*} includes a header that belongs in $place only: ${hit#*:}"
    status=1
  done < <(git grep -nE "^#include <($pattern)" -- runtime functions 2>/dev/null | cut -d: -f1,3- || true)
done <<'EOF_RULES'
sqlite3\.h runtime/storage/sqlite/
pistache/ runtime/ingress/
curl/ runtime/net/
lua\.hpp|luajit\.h|lua\.h|lauxlib\.h|lualib\.h runtime/lua/
pqxx runtime/storage/postgres/
hiredis/ runtime/storage/redis/
EOF_RULES
if ! luacheck --no-color --quiet scripts-lua tests/e2e/apps; then
  echo "lint: luacheck found problems in the Lua scripts (see above)" >&2
  status=1
fi
((status == 0)) && echo "lint: clang-format, luacheck and header placement clean"
exit $status
