#!/usr/bin/env bash
# Production-backend benchmarks, each botfn figure side by side with its peer in one run, on a
# private redis-server and PostgreSQL (initdb + pg_ctl) in a temp dir on free loopback ports; every
# load bounded in time:
#  1. webhook ingest through Redis (botfn serve with REDIS_URL, dispatch paused: only ingest) vs
#     redis-benchmark XADD of a payload of the same size, -P 1, the same 64 connections; and both
#     with one connection (one request in flight).
#  2. the Bus on Redis alone (bench/redis_push_bench.cpp): pushes with 1 in flight (one round trip
#     per push) vs 64 (the writer pipelines them), beside redis-benchmark -c 1 -P 1 and -P 64.
#  3. per-update commits on PostgreSQL (bench/pg_commit_bench.cpp: marker + conversation + app
#     write + outbox row per commit), group commit on and off, vs pgbench -c 8 -j 2 with an
#     insert + update script and with a script of the same four writes.
#  4. end to end (webhook -> Lua demo app -> commit -> fake Bot API): the embedded default vs
#     PostgreSQL + Redis with --instances N botfn processes, webhooks spread over their ports.
# Usage: bench/backends.sh [--instances N] [--smoke]   BENCH_SECONDS (default 10) per figure,
# BENCH_PHASES (default 1234), BENCH_BUILD (default build). Prints a summary table at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
secs=${BENCH_SECONDS:-10}
phases=${BENCH_PHASES:-1234}
build=${BENCH_BUILD:-build}
instances=1
smoke=0
while (($#)); do
  case $1 in
    --instances) instances=$2; shift 2 ;;
    --smoke) smoke=1; secs=2; shift ;;
    *) echo "usage: bench/backends.sh [--instances N] [--smoke]" >&2; exit 2 ;;
  esac
done
bin=$build/botfn
fake_bin=$build/tools/fake_telegram/fake-telegram
need=()
[[ $phases == *[14]* ]] && need+=("$bin" "$fake_bin")
[[ $phases == *2* ]] && need+=("$build/bench/redis_push_bench")
[[ $phases == *3* ]] && need+=("$build/bench/pg_commit_bench")
for b in "${need[@]}"; do
  [[ -x $b ]] || { echo "backends: $b is missing; build first" >&2; exit 1; }
done
for t in wrk redis-server redis-benchmark redis-cli pgbench psql; do
  command -v "$t" >/dev/null || { echo "backends: needs $t (tools/setup.sh installs it)" >&2; exit 1; }
done
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

tmp=$(mktemp -d)
pids=()
pg_started=0
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ((pg_started)) && as_pg "$pg_bin/pg_ctl" -D "$tmp/pg/data" -m immediate -w stop >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 300); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; echo "backends: port $1 never opened" >&2; return 1; }
rps() { awk '/Requests\/sec/ {print $2}'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
metric() { curl -s "http://127.0.0.1:$1/metrics" | awk -v k="$2" '$1 == k {print $2}'; }
# initdb refuses to run as root: the packages' postgres user owns the cluster then.
as_pg() { if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi; }
declare -A fig  # the summary table's figures

export BENCH_SECRET=bench_Secret_123
token="100002:bench-token_not_real"

# --- the services ------------------------------------------------------------------------------
# Redis as the tests run it: no persistence (RDB and AOF off), so both sides measure the protocol
# and the server's work, not a disk.
redis_port=$(free_port)
mkdir -p "$tmp/redis"
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$tmp/redis" --save "" --appendonly no \
  --logfile "$tmp/redis/redis.log" &
pids+=("$!")
redis_url="redis://127.0.0.1:$redis_port"
rcli() { redis-cli -p "$redis_port" "$@"; }

# PostgreSQL with its defaults (fsync and synchronous_commit on), its data on the machine's disk.
pg_port=$(free_port)
mkdir -p "$tmp/pg"
((EUID == 0)) && chown postgres: "$tmp/pg" && chmod 755 "$tmp"
as_pg "$pg_bin/initdb" -D "$tmp/pg/data" -U botfn -A trust -E UTF8 --no-locale >"$tmp/pg/initdb.log" 2>&1
as_pg "$pg_bin/pg_ctl" -D "$tmp/pg/data" -l "$tmp/pg/server.log" -w -t 60 \
  -o "-p $pg_port -c listen_addresses=127.0.0.1 -k $tmp/pg -c max_connections=200" start >/dev/null
pg_started=1
pg_url() { echo "postgresql://botfn@127.0.0.1:$pg_port/$1"; }
pq() { psql -qtA -h 127.0.0.1 -p "$pg_port" -U botfn -d "$1" -c "$2"; }
wait_port "$redis_port"

if [[ $phases == *4* ]]; then
  fake_port=$(free_port)
  "$fake_bin" --port "$fake_port" --token "$token" >"$tmp/fake.log" 2>&1 &
  fake_pid=$!
  pids+=("$fake_pid")
  wait_port "$fake_port"
fi

start_botfn() {  # $1 = name, $2 = extra toml, rest = env: prints "port pid"
  local name=$1 extra=$2 port
  shift 2
  port=$(free_port)
  cat >"$tmp/$name.toml" <<TOML
[server]
port = $port
[storage]
path = "$tmp/$name.db"
[lua]
scripts_dir = "$root/scripts-lua"
[telegram]
api_base = "http://127.0.0.1:${fake_port:-9}"
[log]
level = "warn"
$extra
[bots.demo]
app = "demo"
token_env = "BENCH_TOKEN"
secret_env = "BENCH_SECRET"
username = "demo_bot"
TOML
  # Throughput, not back-pressure, is measured: the queue's memory window must not refuse.
  env "$@" BENCH_TOKEN=$token BOTFN_INGEST_MAX_QUEUED_UPDATES=100000000 \
    BOTFN_INGEST_MAX_QUEUED_BYTES=68719476736 "$bin" serve --config "$tmp/$name.toml" \
    >"$tmp/$name.log" 2>&1 &
  local pid=$!
  wait_port "$port" || { cat "$tmp/$name.log" >&2; return 1; }
  echo "$port $pid"
}
stop_pid() { kill "$1" 2>/dev/null || true; for _ in $(seq 150); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; }

# A real update's body as webhook.lua sends it, for the peer's payload of the same size.
pad=$(printf 'x%.0s' $(seq 300))
payload=$(printf '{"update_id":%d,"message":{"message_id":%d,"date":1700000000,"chat":{"id":%d,"type":"private","first_name":"Bench"},"from":{"id":%d,"is_bot":false,"first_name":"Bench","language_code":"en"},"text":"bench %s"}}' \
  100000001 100000001 100001 100001 "$pad")
# The rate from redis-benchmark --csv, counted from the end: the test's name is the command, whose
# JSON payload has commas and quotes of its own.
csv_rps() { awk -F, 'NR == 2 { v = $(NF - 6); gsub(/"/, "", v); printf "%.0f\n", v }'; }
# redis-benchmark counts requests, not time: a short calibration gives the count for ~secs.
redis_bench() {  # args: redis-benchmark options (before the command); prints requests/s
  local rate n
  rate=$(timeout 60 redis-benchmark -p "$redis_port" --csv -n 5000 "$@" XADD bench '*' d "$payload" 2>/dev/null |
    csv_rps)
  n=$(awk -v r="$rate" -v s="$secs" 'BEGIN { n = int(r * s); print n < 5000 ? 5000 : n }')
  timeout $((secs * 3 + 30)) redis-benchmark -p "$redis_port" --csv -n "$n" "$@" XADD bench '*' d "$payload" 2>/dev/null |
    csv_rps
  rcli DEL bench >/dev/null
}

if [[ $phases == *1* ]]; then
  echo "== 1. webhook ingest through Redis vs redis-benchmark XADD (${#payload}-byte payload)"
  read -r port pid < <(start_botfn ingest $'[dispatch]\npaused = true' REDIS_URL="$redis_url" BOTFN_STORAGE_REDIS_PREFIX=ingest:)
  pids+=("$pid")
  out=$(wrk -t2 -c64 -d"${secs}s" -s bench/webhook.lua "http://127.0.0.1:$port/tg/demo/webhook" 2>&1)
  fig[ingest64]=$(echo "$out" | rps | cut -d. -f1)
  echo "$out" | grep -E "Non-2xx|Socket errors" || true
  fig[xadd64]=$(redis_bench -c 64 -P 1)
  out=$(wrk -t1 -c1 -d"${secs}s" -s bench/webhook.lua "http://127.0.0.1:$port/tg/demo/webhook" 2>&1)
  fig[ingest1]=$(echo "$out" | rps | cut -d. -f1)
  fig[xadd1]=$(redis_bench -c 1 -P 1)
  echo "stream entries pushed by botfn: $(rcli XLEN ingest:stream)"
  stop_pid "$pid"
  printf '%-58s %10s/s\n' "botfn webhook ingest, Redis bus (wrk -t2 -c64)" "${fig[ingest64]}" \
    "redis-benchmark -c 64 -P 1 XADD" "${fig[xadd64]}" \
    "botfn webhook ingest, Redis bus (wrk -t1 -c1)" "${fig[ingest1]}" \
    "redis-benchmark -c 1 -P 1 XADD" "${fig[xadd1]}"
  awk -v a="${fig[ingest64]}" -v b="${fig[xadd64]}" -v c="${fig[ingest1]}" -v d="${fig[xadd1]}" \
    'BEGIN { printf "botfn / redis-benchmark: %.2f at 64 connections, %.2f at 1\n", a / b, c / d }'
  rcli FLUSHALL >/dev/null
fi

if [[ $phases == *2* ]]; then
  echo
  echo "== 2. the Bus on Redis alone: one round trip per push vs pipelined pushes"
  for k in 1 64; do
    out=$("$build/bench/redis_push_bench" "$redis_url" "$secs" "$k" 2>/dev/null)
    echo "$out"
    fig[push$k]=$(echo "$out" | awk '{for (i = 1; i <= NF; i++) if ($i == "pushes/s;") print $(i - 1)}')
    rcli FLUSHALL >/dev/null
  done
  fig[xaddc1p64]=$(redis_bench -c 1 -P 64)
  printf '%-58s %10s/s\n' "botfn bus pushes, 1 in flight" "${fig[push1]}" \
    "botfn bus pushes, 64 in flight (pipelined)" "${fig[push64]}" \
    "redis-benchmark -c 1 -P 64 XADD" "${fig[xaddc1p64]}"
  awk -v a="${fig[push1]}" -v b="${fig[push64]}" 'BEGIN { printf "pipelining gives %.1fx\n", b / a }'
  rcli FLUSHALL >/dev/null
fi

if [[ $phases == *3* ]]; then
  echo
  echo "== 3. per-update commits on PostgreSQL vs pgbench (-c 8 -j 2 -T $secs -M prepared)"
  pq postgres "CREATE DATABASE botfn" && pq postgres "CREATE DATABASE peer"
  # The peer's tables: botfn's marker, conversation and outbox tables (their keys and indexes)
  # and an app counter table.
  pq peer "
    CREATE TABLE processed (bot TEXT NOT NULL, update_id BIGINT NOT NULL, kind TEXT NOT NULL,
      handled BOOLEAN NOT NULL, processed_at BIGINT NOT NULL, PRIMARY KEY (bot, update_id));
    CREATE INDEX processed_age ON processed (processed_at);
    CREATE TABLE conversations (bot TEXT NOT NULL, chat_id BIGINT NOT NULL, user_id BIGINT NOT NULL,
      state TEXT NOT NULL, data TEXT NOT NULL, updated_at BIGINT NOT NULL,
      PRIMARY KEY (bot, chat_id, user_id));
    CREATE TABLE outbox (id BIGSERIAL PRIMARY KEY, bot TEXT NOT NULL, lane TEXT NOT NULL,
      chat_id BIGINT NOT NULL, method TEXT NOT NULL, params TEXT NOT NULL, handle TEXT,
      state TEXT NOT NULL DEFAULT 'pending', update_id BIGINT NOT NULL, created_at BIGINT NOT NULL);
    CREATE INDEX outbox_pending_rows ON outbox (id) WHERE state = 'pending';
    CREATE TABLE counters (chat_id BIGINT PRIMARY KEY, n BIGINT NOT NULL);
    INSERT INTO counters SELECT g, 0 FROM generate_series(100000, 100999) g;"
  cat >"$tmp/insert_update.sql" <<'SQL'
\set chat random(100000, 100999)
\set uid random(1, 9000000000000000000)
BEGIN;
INSERT INTO processed VALUES ('bench', :uid, 'message', true, 1700000000);
UPDATE counters SET n = n + 1 WHERE chat_id = :chat;
END;
SQL
  cat >"$tmp/update_writes.sql" <<'SQL'
\set chat random(100000, 100999)
\set uid random(1, 9000000000000000000)
BEGIN;
INSERT INTO processed VALUES ('bench', :uid, 'message', true, 1700000000);
INSERT INTO conversations VALUES ('bench', :chat, :chat, 'menu', '{"step":1,"lang":"en"}', 1700000000) ON CONFLICT (bot, chat_id, user_id) DO UPDATE SET state = excluded.state, data = excluded.data, updated_at = excluded.updated_at;
INSERT INTO counters VALUES (:chat, 1) ON CONFLICT (chat_id) DO UPDATE SET n = counters.n + 1;
INSERT INTO outbox (bot, lane, chat_id, method, params, update_id, created_at) VALUES ('bench', 'chat:' || :chat, :chat, 'sendMessage', '{"chat_id":100001,"text":"Sorry, I did not understand that. Send /help for the menu."}', :uid, 1700000000);
END;
SQL
  pgb() {  # $1 = script: prints tps
    pgbench -n -h 127.0.0.1 -p "$pg_port" -U botfn -c 8 -j 2 -T "$secs" -M prepared -f "$1" peer 2>&1 |
      awk '/^tps = .*without initial connection time/ {printf "%.0f\n", $3}'
  }
  fig[pgb_iu]=$(pgb "$tmp/insert_update.sql")
  fig[pgb_w4]=$(pgb "$tmp/update_writes.sql")
  commits() {  # figure threads max_group_jobs: sets fig[figure] to commits/s
    local out
    out=$("$build/bench/pg_commit_bench" "$(pg_url botfn)" "$secs" "$2" "$3" 2>/dev/null)
    echo "$out"
    fig[$1]=$(echo "$out" | awk '{for (i = 1; i <= NF; i++) if ($i == "commits/s;") print $(i - 1)}')
  }
  commits pg8g 8 0
  commits pg8n 8 1
  commits pg64g 64 0
  commits pg64n 64 1
  # What one commit's fsync costs on this disk: group commit saves fsyncs, nothing else.
  fig[fsync]=$(dd if=/dev/zero of="$tmp/pg/sync.test" bs=8k count=1000 oflag=dsync 2>&1 |
    awk '/copied/ {for (i = 1; i <= NF; i++) if ($i ~ /^s,?$/) printf "%.0f", $(i - 1) * 1000}')
  rm -f "$tmp/pg/sync.test"
  echo "dd oflag=dsync: one synced 8 kB write takes ${fig[fsync]} us on this disk"
  printf '%-58s %10s/s\n' "pgbench -c 8, insert + update" "${fig[pgb_iu]}" \
    "pgbench -c 8, the four writes of an update" "${fig[pgb_w4]}" \
    "botfn PG commits, 8 threads, group commit" "${fig[pg8g]}" \
    "botfn PG commits, 8 threads, one commit per transaction" "${fig[pg8n]}" \
    "botfn PG commits, 64 threads, group commit" "${fig[pg64g]}" \
    "botfn PG commits, 64 threads, one commit per transaction" "${fig[pg64n]}"
  awk -v a="${fig[pg8g]}" -v b="${fig[pgb_iu]}" -v c="${fig[pgb_w4]}" -v d="${fig[pg8n]}" \
      -v e="${fig[pg64g]}" -v f="${fig[pg64n]}" 'BEGIN {
    printf "botfn (8, grouped) / pgbench insert+update = %.2f, / pgbench four writes = %.2f\n", a / b, a / c
    printf "group commit gives %.2fx at 8 commits in flight, %.2fx at 64\n", a / d, e / f }'
fi

if [[ $phases == *4* ]]; then
  echo
  echo "== 4. end to end: the embedded default vs PostgreSQL + Redis with $instances instance(s)"
  # make the 1000 chats of webhook.lua known to the fake
  seq 100000 100999 | xargs -P 8 -I{} curl -s -o /dev/null -X POST "http://127.0.0.1:$fake_port/control/message" \
    -H 'Content-Type: application/json' -d "{\"token\":\"$token\",\"user_id\":{},\"text\":\"hi\"}"
  # Highest sendMessage sequence number at the fake (its log keeps the newest 20000 records).
  calls_now() { curl -s "http://127.0.0.1:$fake_port/control/calls?token=$token&since=${1:-0}&method=sendMessage" | python3 -c 'import json,sys; c=json.load(sys.stdin)["calls"]; print(max([x["seq"] for x in c] + [int(sys.argv[1])]))' "${1:-0}"; }
  e2e() {  # $1 = label, $2 = wrk threads, then "port pid" pairs: prints the rate, sets fig[$1]
    local label=$1 threads=$2
    shift 2
    local ports=() procs=() targets=""
    while (($#)); do ports+=("$1"); procs+=("$2"); targets+="${targets:+,}127.0.0.1:$1"; shift 2; done
    local s0 t0 t1 s1 c0=0 c1=0 f0 f1 depth=0 d p
    s0=$(calls_now); for p in "${procs[@]}"; do c0=$((c0 + $(cpu_ticks "$p"))); done; f0=$(cpu_ticks "$fake_pid")
    t0=$(date +%s.%N)
    BENCH_TARGETS=$targets wrk -t"$threads" -c64 -d"${secs}s" -s bench/webhook.lua \
      "http://127.0.0.1:${ports[0]}/tg/demo/webhook" >"$tmp/$label-wrk.txt" 2>&1
    t1=$(date +%s.%N)
    s1=$(calls_now "$s0"); for p in "${procs[@]}"; do c1=$((c1 + $(cpu_ticks "$p"))); done; f1=$(cpu_ticks "$fake_pid")
    # The instances share one Redis stream, whose length each reports: the largest, not the sum.
    for p in "${ports[@]}"; do d=$(metric "$p" botfn_queue_depth | cut -d. -f1); ((d > depth)) && depth=$d; done
    fig[$label]=$(awk -v s0="$s0" -v s1="$s1" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.0f", (s1 - s0) / (t1 - t0) }')
    awk -v s0="$s0" -v s1="$s1" -v t0="$t0" -v t1="$t1" -v acc="$(awk '/requests in/ {print $1}' "$tmp/$label-wrk.txt")" \
        -v b0="$c0" -v b1="$c1" -v f0="$f0" -v f1="$f1" -v hz="$(getconf CLK_TCK)" -v d="$depth" -v l="$label" 'BEGIN {
      n = s1 - s0
      printf "%s: accepted %d, sendMessage arrivals %d = %.0f/s, queue depth at end %d", l, acc, n, n / (t1 - t0), d
      if (n > 0) printf ", CPU per update: botfn %.1f us, fake %.1f us", 1e6 * (b1 - b0) / hz / n, 1e6 * (f1 - f0) / hz / n
      printf "\n" }'
    grep -E "Non-2xx|Socket errors" "$tmp/$label-wrk.txt" || true
  }
  read -r port pid < <(start_botfn embedded "")
  pids+=("$pid")
  e2e e2e_embedded 2 "$port" "$pid"
  stop_pid "$pid"
  pq postgres "CREATE DATABASE e2e"
  pairs=()
  for i in $(seq "$instances"); do
    read -r port pid < <(start_botfn "pgredis$i" "" DATABASE_URL="$(pg_url e2e)" REDIS_URL="$redis_url" \
      BOTFN_STORAGE_REDIS_PREFIX=e2e:)
    pids+=("$pid")
    pairs+=("$port" "$pid")
  done
  e2e e2e_pgredis $((instances > 2 ? instances : 2)) "${pairs[@]}"
  for ((i = 1; i < ${#pairs[@]}; i += 2)); do stop_pid "${pairs[$i]}"; done
  awk -v a="${fig[e2e_pgredis]}" -v b="${fig[e2e_embedded]}" -v n="$instances" \
    'BEGIN { if (b > 0) printf "PostgreSQL + Redis (%d instance(s)) / embedded = %.2f\n", n, a / b }'
fi

echo
echo "== summary (per second; ${secs} s per figure)"
printf '| %-52s | %10s | %10s | %6s |\n' "figure" "botfn" "peer" "ratio"
row() { awk -v l="$1" -v a="$2" -v b="$3" 'BEGIN { printf "| %-52s | %10s | %10s | %6s |\n", l, a, b, (a > 0 && b > 0) ? sprintf("%.2f", a / b) : "" }'; }
[[ $phases == *1* ]] && row "ingest via Redis vs redis-benchmark XADD, 64 conns" "${fig[ingest64]}" "${fig[xadd64]}" &&
  row "ingest via Redis vs redis-benchmark XADD, 1 conn" "${fig[ingest1]}" "${fig[xadd1]}"
[[ $phases == *2* ]] && row "bus pushes 64 in flight vs 1 in flight" "${fig[push64]}" "${fig[push1]}" &&
  row "bus pushes 64 in flight vs redis-benchmark -c1 -P64" "${fig[push64]}" "${fig[xaddc1p64]}"
[[ $phases == *3* ]] && row "PG commits (8 thr, grouped) vs pgbench insert+update" "${fig[pg8g]}" "${fig[pgb_iu]}" &&
  row "PG commits (8 thr, grouped) vs pgbench 4 writes" "${fig[pg8g]}" "${fig[pgb_w4]}" &&
  row "PG commits (8 thr) grouped vs one per transaction" "${fig[pg8g]}" "${fig[pg8n]}" &&
  row "PG commits (64 thr) grouped vs one per transaction" "${fig[pg64g]}" "${fig[pg64n]}"
[[ $phases == *4* ]] && row "e2e PG+Redis x$instances vs embedded (sendMessage/s)" "${fig[e2e_pgredis]}" "${fig[e2e_embedded]}"
if ((smoke)); then echo "backends smoke: ok"; fi
