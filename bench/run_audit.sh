#!/usr/bin/env bash
# Audit verification throughput: median of 9 repetitions (randomly interleaved, so a busy machine
# slows the cases alike) and the ratio to raw libsodium Ed25519
# verification of the same 1,000 messages in the same run. Usage: bench/run_audit.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
cmake --build "$build" --target audit_bench >/dev/null
out=$(mktemp)
"$build/bin/audit_bench" --benchmark_repetitions=9 --benchmark_enable_random_interleaving=true \
  --benchmark_report_aggregates_only=true \
  --benchmark_format=json >"$out"
/usr/bin/python3 - "$out" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
med = {b["run_name"]: b for b in data["benchmarks"] if b.get("aggregate_name") == "median"}
ctx = data["context"]
print(f"machine: {ctx.get('host_name')} · {ctx.get('num_cpus')} CPUs @ {ctx.get('mhz_per_cpu')} MHz")
base = med["baseline/sodium_verify/real_time"]
print(f"{'case (1,000 snapshots)':28} {'snapshots/s':>12} {'÷ sodium':>9} {'CPU µs/snapshot':>16} {'÷ sodium (CPU)':>15}")
for name, b in sorted(med.items()):
    ips = b["items_per_second"]
    cpu_us = b["cpu_time"] * 1000 / 1000  # ms per 1,000 snapshots -> µs per snapshot
    base_cpu = base["cpu_time"]
    # CPU time is the fairer single-thread ratio on a shared machine; the parallel case's CPU time
    # counts only the calling thread, so only its wall-clock ratio means anything.
    cpu_ratio = "" if "parallel" in name else f"{base_cpu / b['cpu_time']:15.2f}"
    print(f"{name.replace('/real_time',''):28} {ips:12.0f} {ips/base['items_per_second']:9.2f} {cpu_us:16.1f} {cpu_ratio:>15}")
PY
rm -f "$out"
