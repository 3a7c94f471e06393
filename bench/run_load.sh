#!/usr/bin/env bash
# Load benchmark (issue 7): wrk on loopback against the daemon's two hot read endpoints while it
# publishes every second, next to nginx serving the very same bytes from files in the same run.
#
#   bench/run_load.sh [SECONDS_PER_CASE] [HTTP_THREADS]        (defaults: 60 s, 256 workers)
#
# Cases: GET /v1/snapshots/latest and GET /v1/marks at 16 and 256 connections (wrk -t2, keep-alive).
# Prints one table: requests/s and p99 for plumbline and nginx, their ratio, failed requests
# (socket errors + non-2xx), then the daemon's RSS before/after and the rounds missed during the
# run (gaps between consecutive snapshot times above 1.5 x publish_interval_ms).
#
# Needs wrk and nginx (Debian packages `wrk`, `nginx`; deploy/install-deps.sh --bench installs them)
# and a release build: cmake --build build/release --target plumbline attest plumbline-venue-sim.
# Not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
threads=${2:-256}
bin=${PLUMBLINE_BIN_DIR:-build/release/bin}
port=${PLUMBLINE_BENCH_PORT:-18480}
nginx_port=$((port + 1))
for tool in wrk nginx curl python3; do
  command -v "$tool" >/dev/null || { echo "run_load: $tool not found (bash deploy/install-deps.sh --bench)" >&2; exit 1; }
done
for prog in plumbline attest plumbline-venue-sim; do
  [ -x "$bin/$prog" ] || { echo "run_load: $bin/$prog missing; build the release preset first" >&2; exit 1; }
done

work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$bin/attest" keygen --out "$work/key" >/dev/null
(umask 077 && openssl rand -base64 32 >"$work/admin.token")
sed -e "s|var/demo/data|$work/data|" -e "s|var/demo/signing.key|$work/key.key|" \
    -e "s|var/demo/admin.token|$work/admin.token|" \
    -e "s|127.0.0.1:8420|127.0.0.1:$port|" -e "s|^threads = .*|threads = $threads|" \
    deploy/demo/plumbline.toml >"$work/plumbline.toml"
"$bin/plumbline-venue-sim" --recording deploy/demo/recording.jsonl >"$work/sim.log" 2>&1 &
pids+=($!)
"$bin/plumbline" --config "$work/plumbline.toml" 2>"$work/daemon.log" &
daemon=$!
pids+=($daemon)
base=http://127.0.0.1:$port
for _ in $(seq 100); do curl -sf "$base/v1/snapshots/latest" -o /dev/null && break; sleep 0.1; done
sleep 2  # a few rounds with every venue polled

# nginx serves the same bytes the daemon serves, from files.
mkdir -p "$work/www/v1/snapshots"
curl -sf "$base/v1/snapshots/latest" -o "$work/www/v1/snapshots/latest"
curl -sf "$base/v1/marks" -o "$work/www/v1/marks"
chmod -R a+rX "$work/www"
cat >"$work/nginx.conf" <<NGINX
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
$( [ "$(id -u)" -eq 0 ] && echo "user root;" )
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000;
  sendfile on;
  tcp_nodelay on;
  open_file_cache max=16;
  open_file_cache_valid 60s;
  server { listen 127.0.0.1:$nginx_port; root $work/www; default_type application/json; }
}
NGINX
nginx -c "$work/nginx.conf" -p "$work"

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$daemon/status"; }
last_seq() { curl -sf "$base/v1/snapshots/latest" -D - -o /dev/null | awk 'tolower($1)=="plumbline-sequence:" {print $2+0}'; }

# wrk: requests/s, p99 (ms), failed = socket errors + non-2xx/3xx.
run() {
  wrk -t2 -c"$1" -d"${secs}s" --timeout 10s --latency "$2" 2>&1 | awk '
    /Requests\/sec/ {rps=$2}
    / 99%/ {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; p99=v}
    /Socket errors/ {gsub(/,/,""); fail+=$4+$6+$8+$10}
    /Non-2xx/ {fail+=$5}
    END {printf "%s %.2f %d\n", rps, p99, fail}'
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
rss_before=$(rss_kb)
seq_before=$(last_seq)
results=()
for path in /v1/snapshots/latest /v1/marks; do
  for conns in 16 256; do
    read -r p_rps p_p99 p_fail < <(run "$conns" "$base$path")
    read -r n_rps n_p99 n_fail < <(run "$conns" "http://127.0.0.1:$nginx_port$path")
    results+=("$path $conns $p_rps $p_p99 $p_fail $n_rps $n_p99 $n_fail")
  done
done
seq_after=$(last_seq)
rss_after=$(rss_kb)
kill -0 "$daemon" || { echo "run_load: the daemon died; its log:" >&2; cat "$work/daemon.log" >&2; exit 1; }

# Missed rounds: gaps between consecutive snapshot times during the run.
missed=$(/usr/bin/python3 - "$base" "$seq_before" "$seq_after" <<'PY'
import base64, json, sys, urllib.request
base, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
times = []
for s in range(first, last + 1):
    env = json.load(urllib.request.urlopen(f"{base}/v1/snapshots/{s}"))
    times.append(int(json.loads(base64.b64decode(env["payload"]))["time"]))
interval = 1_000_000_000  # publish_interval_ms = 1000 in deploy/demo/plumbline.toml
print(sum(max(0, round((b - a) / interval) - 1) for a, b in zip(times, times[1:]) if b - a > 1.5 * interval))
PY
)

body_latest=$(wc -c <"$work/www/v1/snapshots/latest")
body_marks=$(wc -c <"$work/www/v1/marks")
echo "machine: $(nproc) CPUs, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), kernel $(uname -r)"
echo "load average before the run: $load_before (other work on the machine skews both servers alike)"
echo "plumbline: [http] threads = $threads, publishing every 1000 ms; nginx: worker_processes auto; wrk -t2, ${secs}s per case"
echo "bodies: /v1/snapshots/latest ${body_latest} bytes, /v1/marks ${body_marks} bytes"
printf '%-22s %5s | %12s %10s %7s | %12s %10s %7s | %6s\n' endpoint conns "plumbline/s" "p99 ms" failed "nginx/s" "p99 ms" failed ratio
for r in "${results[@]}"; do
  read -r path conns p_rps p_p99 p_fail n_rps n_p99 n_fail <<<"$r"
  ratio=$(awk -v a="$p_rps" -v b="$n_rps" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
  printf '%-22s %5s | %12s %10s %7s | %12s %10s %7s | %6s\n' "$path" "$conns" "$p_rps" "$p_p99" "$p_fail" "$n_rps" "$n_p99" "$n_fail" "$ratio"
done
echo "daemon RSS: ${rss_before} kB before, ${rss_after} kB after"
echo "rounds during the run: $((seq_after - seq_before)) published (sequence $seq_before -> $seq_after), $missed missed"
