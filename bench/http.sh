#!/usr/bin/env bash
# GET /v1/snapshots/latest throughput with wrk on loopback while the daemon publishes every second,
# next to nginx serving the same bytes from a file in the same run.
# Usage (as root, installs wrk and nginx): bench/http.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
conns=${2:-16}
command -v wrk >/dev/null && command -v nginx >/dev/null || {
  apt-get install -y -q --no-install-recommends wrk nginx-light >/dev/null
}
cmake --build build/release --target plumbline attest plumbline-venue-sim >/dev/null
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; nginx -c "$work/nginx.conf" -s stop 2>/dev/null || true; rm -rf "$work"' EXIT

build/release/bin/attest keygen --out "$work/key" >/dev/null
sed -e "s|var/demo/data|$work/data|" -e "s|var/demo/signing.key|$work/key.key|" \
    -e "s|127.0.0.1:8420|127.0.0.1:18480|" deploy/demo/plumbline.toml >"$work/plumbline.toml"
build/release/bin/plumbline-venue-sim --recording deploy/demo/recording.jsonl >/dev/null &
build/release/bin/plumbline --config "$work/plumbline.toml" 2>"$work/daemon.log" &
for _ in $(seq 50); do curl -sf http://127.0.0.1:18480/v1/snapshots/latest -o "$work/latest.json" && break; sleep 0.2; done

mkdir -p "$work/www"
cp "$work/latest.json" "$work/www/latest"
cat >"$work/nginx.conf" <<NGINX
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  server { listen 127.0.0.1:18481; root $work/www; default_type application/json; }
}
NGINX
nginx -c "$work/nginx.conf"

run() { wrk -t2 -c"$conns" -d"${secs}s" --latency "$1" | awk '/Requests\/sec/ {rps=$2} / 99%/ {p99=$2} END {print rps, p99}'; }
read -r p_rps p_p99 < <(run http://127.0.0.1:18480/v1/snapshots/latest)
read -r n_rps n_p99 < <(run http://127.0.0.1:18481/latest)
bytes=$(wc -c <"$work/latest.json")
echo "machine: $(nproc) CPUs, $(uname -r); body ${bytes} bytes; ${conns} connections; ${secs}s each"
printf '%-34s %12s %10s\n' server requests/s p99
printf '%-34s %12s %10s\n' "plumbline /v1/snapshots/latest" "$p_rps" "$p_p99"
printf '%-34s %12s %10s\n' "nginx, same bytes from a file" "$n_rps" "$n_p99"
/usr/bin/python3 -c "print(f'ratio plumbline/nginx: {float($p_rps)/float($n_rps):.2f}')"  # allowed: report only
