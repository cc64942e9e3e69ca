#!/usr/bin/env bash
# storage.synchronous = full vs normal, side by side, alternating (full, normal, full, normal...)
# so drift of a shared machine hits both alike; loopback only, every load bounded in time:
#  ingest: wrk -t2 -c64 against the durable webhook (dispatch paused), req/s;
#  e2e:    the same load through the demo app to the fake Bot API, sendMessage arrivals/s.
# The databases live on the disk under build/ (not a tmpfs, where an fsync costs nothing).
# Usage: bench/synchronous.sh [rounds]   (BENCH_SECONDS per load, default 5; rounds default 2)
# BEFORE_BIN=path/to/older/botfn adds a third column: that build with its own defaults (before
# storage.synchronous existed it always ran NORMAL), to compare "normal" with the code before.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
secs=${BENCH_SECONDS:-5}
rounds=${1:-2}
bin=build/botfn
fake_bin=build/tools/fake_telegram/fake-telegram
for b in "$bin" "$fake_bin"; do [[ -x $b ]] || { echo "bench: $b is missing; build first" >&2; exit 1; }; done
command -v wrk >/dev/null || { echo "bench: needs wrk" >&2; exit 1; }

mkdir -p build
tmp=$(mktemp -d "$root/build/bench-sync.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; echo "bench: port $1 never opened" >&2; return 1; }
export BENCH_SECRET=bench_Secret_123
token="100002:bench-token_not_real"

fake_port=$(free_port)
"$fake_bin" --port "$fake_port" --token "$token" >"$tmp/fake.log" 2>&1 &
pids+=($!)
wait_port "$fake_port"
seq 100000 100999 | xargs -P 8 -I{} curl -s -o /dev/null -X POST "http://127.0.0.1:$fake_port/control/message" \
  -H 'Content-Type: application/json' -d "{\"token\":\"$token\",\"user_id\":{},\"text\":\"hi\"}"
calls_now() { curl -s "http://127.0.0.1:$fake_port/control/calls?token=$token&since=${1:-0}&method=sendMessage" | python3 -c 'import json,sys; c=json.load(sys.stdin)["calls"]; print(max([x["seq"] for x in c] + [int(sys.argv[1])]))' "${1:-0}"; }

run_botfn() {  # $1 = synchronous mode or "before", $2 = extra toml; sets botfn_port, botfn_pid
  local port run_bin=$bin keys
  port=$(free_port)
  rm -f "$tmp"/db.sqlite*
  # throughput, not back-pressure, is measured: no request may be refused
  keys=$'synchronous = "'$1$'"\n[ingest]\nmax_queued_updates = 100000000\nmax_queued_bytes = 68719476736'
  if [[ $1 == before ]]; then run_bin=$BEFORE_BIN; keys=""; fi
  cat >"$tmp/botfn.toml" <<TOML
[server]
port = $port
[storage]
path = "$tmp/db.sqlite"
$keys
[lua]
scripts_dir = "$root/scripts-lua"
[telegram]
api_base = "http://127.0.0.1:$fake_port"
[log]
level = "warn"
$2
[bots.demo]
app = "demo"
token_env = "BENCH_TOKEN"
secret_env = "BENCH_SECRET"
username = "demo_bot"
TOML
  BENCH_TOKEN=$token "$run_bin" serve --config "$tmp/botfn.toml" >"$tmp/botfn.log" 2>&1 &
  botfn_pid=$!
  wait_port "$port"
  botfn_port=$port
}
stop_botfn() {
  kill "$botfn_pid" 2>/dev/null || true
  for _ in $(seq 150); do kill -0 "$botfn_pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$tmp"/db.sqlite*
  sync
}

echo "mode    round  ingest req/s  e2e sends/s  (wrk -t2 -c64 -d${secs}s each)"
for round in $(seq "$rounds"); do
  modes=(full normal)
  [[ -n ${BEFORE_BIN:-} ]] && modes+=(before)
  for mode in "${modes[@]}"; do
    run_botfn "$mode" $'[dispatch]\npaused = true'
    ingest=$(wrk -t2 -c64 -d"${secs}s" -s bench/webhook.lua "http://127.0.0.1:$botfn_port/tg/demo/webhook" 2>&1 | awk '/Requests\/sec/ {print $2}')
    stop_botfn
    run_botfn "$mode" ""
    s0=$(calls_now); t0=$(date +%s.%N)
    wrk -t2 -c64 -d"${secs}s" -s bench/webhook.lua "http://127.0.0.1:$botfn_port/tg/demo/webhook" >/dev/null 2>&1
    t1=$(date +%s.%N); s1=$(calls_now "$s0")
    stop_botfn
    awk -v m="$mode" -v r="$round" -v i="$ingest" -v s0="$s0" -v s1="$s1" -v t0="$t0" -v t1="$t1" \
      'BEGIN { printf "%-7s %5d  %12.0f  %11.0f\n", m, r, i, (s1 - s0) / (t1 - t0) }'
  done
done
