#!/usr/bin/env bash
# `nginx -t` on deploy/nginx/plumbline.conf, included in a minimal http {} block the way Debian's
# nginx.conf includes sites-enabled/*, with a throwaway self-signed certificate at the paths the
# example names (rewritten into a scratch directory). Exit 77 (skip) without nginx or openssl.
set -euo pipefail

conf=${1:?usage: nginx_conf_test.sh deploy/nginx/plumbline.conf}
nginx_bin=$(command -v nginx || true)
[ -n "$nginx_bin" ] || nginx_bin=/usr/sbin/nginx
if [ ! -x "$nginx_bin" ] || ! command -v openssl >/dev/null 2>&1; then
  echo "nginx_conf_test: SKIP: nginx or openssl not installed"
  exit 77
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
openssl req -x509 -newkey ed25519 -nodes -subj /CN=prices.example.com -days 1 \
  -keyout "$scratch/privkey.pem" -out "$scratch/fullchain.pem" 2>/dev/null
sed "s#/etc/ssl/plumbline/#$scratch/#" "$conf" >"$scratch/site.conf"
cat >"$scratch/nginx.conf" <<EOF
pid $scratch/nginx.pid;
error_log $scratch/error.log;
events {}
http {
  access_log off;
  client_body_temp_path $scratch/body;
  proxy_temp_path $scratch/proxy;
  include $scratch/site.conf;
}
EOF
if ! out=$("$nginx_bin" -t -p "$scratch" -e "$scratch/error.log" -c "$scratch/nginx.conf" 2>&1); then
  echo "nginx_conf_test: FAIL: nginx -t rejects $conf:" >&2
  echo "$out" >&2
  exit 1
fi
echo "nginx_conf_test: OK: $out" | tr '\n' ' '
echo
