#!/usr/bin/env bash
# Proof-of-reserve benchmark: medians of 5 repetitions and ratios to the baselines measured in the
# same run. Usage: bench/run_reserves.sh [BUILD_DIR]   (default build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
cmake --build "$build" --target reserves_bench >/dev/null
out=$(mktemp)
"$build/bin/reserves_bench" --benchmark_repetitions=5 --benchmark_min_time=0.2 \
  --benchmark_report_aggregates_only=true --benchmark_format=json >"$out"
/usr/bin/python3 - "$out" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
med = {b["run_name"]: b for b in data["benchmarks"] if b.get("aggregate_name") == "median"}
def t(name): return med[name]["real_time"]
def cpu(name): return med[name]["cpu_time"]
ctx = data["context"]
print(f"machine: {ctx.get('host_name')} · {ctx.get('num_cpus')} CPUs · load {ctx.get('load_avg')}")
rpc = "baseline/rpc_call_loopback/real_time"
empty = "baseline/sign_snapshot/0/real_time"
print(f"{'case':42} {'real µs':>10} {'cpu µs':>10} {'÷ rpc call':>11} {'÷ empty snapshot':>17}")
for name in med:
    print(f"{name.replace('/real_time',''):42} {t(name):10.1f} {cpu(name):10.1f} {t(name)/t(rpc):11.2f} {t(name)/t(empty):17.1f}")
for name, b in med.items():
    for k in ("bytes_per_asset", "envelope_bytes"):
        if k in b: print(f"{name.replace('/real_time','')}: {k} = {b[k]:.0f}")
PY
rm -f "$out"
