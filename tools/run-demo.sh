#!/usr/bin/env bash
# The main job: builds botfn, starts the project's fake Bot API and `botfn serve` with the demo
# app in the background, and opens `botfn chat` in the foreground so you can talk to the bot as a
# Telegram user. Without a terminal on stdin it just runs the server. With BOT_TOKEN set it talks
# to the real Telegram instead (long polling, or the webhook when BOTFN_WEBHOOK_URL is set).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
state=${BOTFN_DEMO_DIR:-$root/data}
mkdir -p "$state"

step() { printf '[%s] %s\n' "$(date +%T)" "$*"; }

step "1/3 checking Debian packages (the first run installs them: a few minutes)"
bash tools/setup.sh
step "2/3 building botfn and the fake Bot API (the first build takes several minutes; log: $state/build.log)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$state/build.log"
# cmake prints "[ 42%] Building ..." per file: show the percentage as it moves.
set +o pipefail
cmake --build build -j"${JOBS:-2}" --target botfn fake_telegram 2>&1 | tee -a "$state/build.log" |
  awk -v tty="$([[ -t 1 ]] && echo 1)" '
    match($0, /^\[ *[0-9]+%\]/) {
      pct = substr($0, RSTART + 1, RLENGTH - 3) + 0
      if (pct != last) {
        if (tty) printf "\r      building: %3d%%", pct; else if (pct >= shown + 10) { printf "      building: %3d%%\n", pct; shown = pct }
        fflush(); last = pct
      }
    }
    END { if (tty) printf "\n" }'
status=${PIPESTATUS[0]}
set -o pipefail
if ((status != 0)); then
  tail -40 "$state/build.log"
  exit 1
fi
step "3/3 starting the fake Bot API and botfn"
export BOT_WEBHOOK_SECRET=${BOT_WEBHOOK_SECRET:-$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32)}

if [[ -n ${BOT_TOKEN:-} ]]; then
  echo "botfn: BOT_TOKEN is set — serving the demo bot on the real Telegram (Ctrl-C stops)."
  if [[ -n ${BOTFN_WEBHOOK_URL:-} ]]; then
    build/botfn webhook set --config botfn.toml --url "$BOTFN_WEBHOOK_URL"
    exec build/botfn serve --config botfn.toml --db "$state/botfn.db"
  fi
  exec build/botfn poll --config botfn.toml --db "$state/botfn.db"
fi

export BOT_TOKEN="100001:local-demo-token_not_a_real_one"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

rm -f "$state/fake.port" "$state/botfn.port"
build/tools/fake_telegram/fake-telegram --port 0 --port-file "$state/fake.port" --token "$BOT_TOKEN" >"$state/fake.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -s $state/fake.port ]] && break; sleep 0.1; done
fake="http://127.0.0.1:$(cat "$state/fake.port")"
curl -fsS -X POST "$fake/control/bots" -H 'Content-Type: application/json' \
  -d "{\"token\":\"$BOT_TOKEN\",\"username\":\"demo_bot\",\"first_name\":\"Demo\"}" >/dev/null

build/botfn serve --config botfn.toml --db "$state/botfn.db" --api-base "$fake" \
  --port "${BOTFN_SERVER_PORT:-8080}" --port-file "$state/botfn.port" >"$state/botfn.log" 2>&1 &
botfn_pid=$!
pids+=($botfn_pid)
for _ in $(seq 100); do [[ -s $state/botfn.port ]] && break; kill -0 $botfn_pid 2>/dev/null || break; sleep 0.1; done
if [[ ! -s $state/botfn.port ]]; then
  echo "botfn did not start; its log:" >&2
  tail -20 "$state/botfn.log" >&2
  exit 1
fi
port=$(cat "$state/botfn.port")
build/botfn webhook set --config botfn.toml --api-base "$fake" \
  --url "http://127.0.0.1:$port/tg/demo/webhook" >/dev/null 2>>"$state/botfn.log"

echo "botfn is serving the demo bot on http://127.0.0.1:$port (logs: $state/botfn.log)"
echo "fake Telegram Bot API: $fake (logs: $state/fake.log); metrics: http://127.0.0.1:$port/metrics"
if [[ -t 0 ]]; then
  build/botfn chat --fake "$fake" --token "$BOT_TOKEN" --user 1001 --name "${USER:-Alice}"
else
  echo "no terminal on stdin: running the server only (Ctrl-C or SIGTERM stops it)"
  wait $botfn_pid
fi
