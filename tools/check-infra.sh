#!/usr/bin/env bash
# Checks the deployment files in infra/ (CI runs it as the `infra` CTest test): `nginx -t` on the
# production site (with a throw-away self-signed certificate), the compose site and the test
# template; `systemd-analyze verify` on the units when systemd-analyze exists (any warning
# fails); compose.yaml parsed as YAML when python3 has PyYAML. Needs nginx and openssl
# (tools/setup.sh installs them); runs as any user, writing only to a temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

# One top-level config per site: pid, logs and temp paths in the temp dir, the snippets beside it
# (the sites include snippets/... relative to the config's folder, as in /etc/nginx).
nginx_test() {  # name, file to put inside http {}
  local dir=$tmp/$1
  mkdir -p "$dir/snippets"
  cp infra/nginx/botfn-locations.conf infra/nginx/botfn-tls.conf "$dir/snippets/"
  cat >"$dir/nginx.conf" <<EOF
pid $dir/nginx.pid;
error_log $dir/error.log;
events {}
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  include $2;
}
EOF
  if ! "$nginx_bin" -q -t -p "$dir" -c "$dir/nginx.conf"; then
    echo "check-infra: nginx -t failed for $1" >&2
    status=1
  fi
}

# nginx -t binds the listen addresses: check on free loopback ports instead of 80 and 443 (which
# may be taken, or need root), without the IPv6 twins (a CI container may have no IPv6).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
http_port=$(free_port) https_port=$(free_port) test_port=$(free_port)
listen_rules=(-e '/listen \[::\]:/d' -e "s#listen 80;#listen 127.0.0.1:$http_port;#"
  -e "s#listen 443 ssl;#listen 127.0.0.1:$https_port ssl;#")

mkdir -p "$tmp/ssl"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=bots.example.com \
  -keyout "$tmp/ssl/privkey.pem" -out "$tmp/ssl/fullchain.pem" 2>/dev/null
# The operator's paths (certificate, logs) point into the temp dir; the rest is checked as is.
sed -e "s#/etc/nginx/ssl/botfn/#$tmp/ssl/#g" -e "s#/var/log/nginx/#$tmp/#g" "${listen_rules[@]}" \
  infra/nginx/botfn.conf >"$tmp/site.conf"
nginx_test site "$tmp/site.conf"
# compose's upstream names resolve only on the compose network.
sed -e "s#/etc/nginx/ssl/botfn/#$tmp/ssl/#g" -e "s#server botfn[0-9]*:#server 127.0.0.1:#g" \
  "${listen_rules[@]}" infra/compose/nginx-site.conf >"$tmp/compose-site.conf"
nginx_test compose "$tmp/compose-site.conf"
# The e2e test's template is a whole config: fill it in and test it as it is.
mkdir -p "$tmp/e2e/snippets"
cp infra/nginx/botfn-locations.conf "$tmp/e2e/snippets/"
sed -e "s#@DIR@#$tmp/e2e#g" -e "s#@LISTEN@#127.0.0.1:$test_port#" \
  -e "s#^@SERVERS@#        server 127.0.0.1:2;#" infra/nginx/botfn-test.conf >"$tmp/e2e/nginx.conf"
"$nginx_bin" -q -t -p "$tmp/e2e" -c "$tmp/e2e/nginx.conf" ||
  { echo "check-infra: nginx -t failed for infra/nginx/botfn-test.conf" >&2; status=1; }

if command -v systemd-analyze >/dev/null 2>&1; then
  # verify wants ExecStart to exist: point it at a binary that does.
  mkdir -p "$tmp/units"
  for unit in infra/systemd/*.service; do
    sed "s#/usr/local/bin/botfn#/bin/true#" "$unit" >"$tmp/units/$(basename "$unit")"
  done
  # It exits 0 on unknown keys and bad values, printing them: any output is a failure.
  out=$(cd "$tmp/units" && systemd-analyze verify botfn.service botfn@8081.service 2>&1 || true)
  if [[ -n $out ]]; then
    echo "$out" | sed "s#$tmp/units/#infra/systemd/#g" >&2
    echo "check-infra: systemd-analyze verify found problems" >&2
    status=1
  fi
else
  echo "check-infra: systemd-analyze not installed; units not verified"
fi

if python3 -c 'import yaml' 2>/dev/null; then
  python3 - "$root/infra/compose/compose.yaml" <<'EOF' || status=1
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
missing = {"botfn1", "botfn2", "postgres", "redis", "nginx"} - set(doc.get("services", {}))
if missing:
    sys.exit(f"check-infra: compose.yaml lacks services {sorted(missing)}")
EOF
else
  echo "check-infra: python3 has no yaml module; compose.yaml not parsed"
fi

((status == 0)) && echo "check-infra: nginx sites, systemd units and compose.yaml are valid"
exit $status
