#!/usr/bin/env bash
# Installs botfn's build and test dependencies from Debian packages. Idempotent: a
# machine that already has them is left alone (no apt-get update, no network).
# nginx is Debian's plain package. Never installs libnginx-mod-http-lua (or nginx-extras, which
# depends on it): it pulls libluajit2-5.1-2, which removes libluajit-5.1-dev.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates curl
  libpistache-dev libluajit-5.1-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libssl-dev libgtest-dev libgmock-dev libcurl4-openssl-dev libsqlite3-dev sqlite3
  libtomlplusplus-dev libcli11-dev libexpected-dev libsimdjson-dev libjemalloc-dev
  wrk hey nginx openssl python3 python3-yaml clang-format lua-check
  libpqxx-dev postgresql libhiredis-dev redis-server
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${#missing[@]} Debian packages and their dependencies: ${missing[*]}"
  echo "setup: this happens once per machine and takes a few minutes"
  export DEBIAN_FRONTEND=noninteractive
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  echo "setup: apt-get update"
  "${sudo_cmd[@]}" apt-get update -qq
  # One line per package as dpkg sets it up, so a long install visibly moves.
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" 2>&1 |
    awk '/^Setting up / { n++; printf "setup: [%d] %s\n", n, $3; fflush() } /^E: / { print; fflush() }'
  status=${PIPESTATUS[0]}
  ((status == 0)) || { echo "setup: apt-get install failed ($status)" >&2; exit "$status"; }
fi

if dpkg-query -W -f='${Status}' libluajit2-5.1-2 2>/dev/null | grep -q 'install ok installed'; then
  echo "setup: libluajit2-5.1-2 (OpenResty fork) is installed and conflicts with libluajit-5.1-dev" >&2
  exit 1
fi
# nginx is for the side-by-side benchmark, `nginx -t` on infra/ (tools/check-infra.sh) and the
# e2e test through nginx, which all start their own; keep the system service off port 80.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now nginx >/dev/null 2>&1 || true; fi
pkill -x nginx 2>/dev/null || true
# Tests start private PostgreSQL and Redis servers on free loopback ports (tests/support); the
# packages' own services are not used.
if command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now redis-server postgresql >/dev/null 2>&1 || true
fi
echo "setup: dependencies present"
