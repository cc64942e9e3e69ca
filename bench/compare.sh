#!/usr/bin/env bash
# Side-by-side comparison of two botfn builds in one run: bench/run.sh phases 1-3 and 5 against
# BASE (an older commit's build dir and its scripts-lua) and against this tree's build, alternated
# for ROUNDS rounds so drift on the shared machine hits both alike. Prints each figure per round.
# Usage: bench/compare.sh BASE_BUILD_DIR BASE_SCRIPTS_DIR [ROUNDS]   (BENCH_SECONDS as run.sh)
# Build the base first, e.g.: git worktree add /tmp/base <commit> && cmake -S /tmp/base -B
# /tmp/base/build -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build /tmp/base/build -j2
set -euo pipefail
cd "$(dirname "$0")/.."
base_build=${1:?base build dir}
base_scripts=${2:?base scripts-lua dir}
rounds=${3:-2}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

figures() {  # $1 = run.sh output file: one line of figures
  awk '
    /botfn durable webhook ingest/ { ingest = $(NF-1) }
    /99%/ && !p99 { p99 = $(NF-1) " " $NF }
    /sendMessage arrivals at the fake/ && !e2e { for (i = 1; i <= NF; i++) if ($i ~ /\/s;?$/) e2e = $i }
    /CPU per update: botfn/ { cpu = $5 }
    /Lua CPU per update \(budgets on\)/ { lua = $(NF-1) }
    /^updates [0-9]+: Lua CPU/ { bench = $5 " us" }
    END { printf "ingest %s req/s | p99 %s | e2e %s | botfn CPU/update %s us | Lua/update (e2e) %s us | lua bench %s\n", ingest, p99, e2e, cpu, lua, bench }' "$1"
}

# Three sides: the base build; this build with its defaults; this build with
# storage.synchronous = normal (the base's durability), which separates the fsync's cost.
for r in $(seq "$rounds"); do
  for side in base new new-normal; do
    case $side in
      base) BENCH_BUILD=$base_build BENCH_SCRIPTS=$base_scripts BENCH_PHASES=1235 bash bench/run.sh ;;
      new) BENCH_PHASES=1235 bash bench/run.sh ;;
      new-normal) BOTFN_STORAGE_SYNCHRONOUS=normal BENCH_PHASES=1235 bash bench/run.sh ;;
    esac >"$out/$side-$r.txt" 2>&1
    printf 'round %d %-10s %s\n' "$r" "$side" "$(figures "$out/$side-$r.txt")"
  done
done
