#!/usr/bin/env bash
# Regenerates docs/config.md and docs/error-codes.md from the binary (config_schema.cpp,
# errors.def) and docs/lua-api.md (tools/gen-lua-api.py). With --check, fails when the committed files differ (CI).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BOTFN_BIN:-build/botfn}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" docs config >"$tmp/config.md"
"$bin" docs errors >"$tmp/error-codes.md"
status=0
for f in config.md error-codes.md; do
  if [[ ${1:-} == --check ]]; then
    if ! diff -u "docs/$f" "$tmp/$f"; then
      echo "docs/$f is stale: run tools/gen-docs.sh" >&2
      status=1
    fi
  else
    cp "$tmp/$f" "docs/$f"
  fi
done
if [[ ${1:-} == --check ]]; then
  python3 tools/gen-lua-api.py --check || status=1
else
  python3 tools/gen-lua-api.py
fi
exit $status
