#!/usr/bin/env bash
# Audit verification throughput: median of 5 repetitions and the ratio to raw libsodium Ed25519
# verification of the same 1,000 messages in the same run. Usage: bench/run_audit.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
cmake --build "$build" --target audit_bench >/dev/null
out=$(mktemp)
"$build/bin/audit_bench" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_format=json >"$out"
/usr/bin/python3 - "$out" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
med = {b["run_name"]: b for b in data["benchmarks"] if b.get("aggregate_name") == "median"}
ctx = data["context"]
print(f"machine: {ctx.get('host_name')} · {ctx.get('num_cpus')} CPUs @ {ctx.get('mhz_per_cpu')} MHz")
base = med["baseline/sodium_verify/real_time"]["items_per_second"]
print(f"{'case (1,000 snapshots)':32} {'snapshots/s':>12} {'÷ sodium verify':>16}")
for name, b in med.items():
    ips = b["items_per_second"]
    print(f"{name.replace('/real_time',''):32} {ips:12.0f} {ips/base:16.2f}")
PY
rm -f "$out"
