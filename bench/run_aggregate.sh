#!/usr/bin/env bash
# Oracle round benchmark: 5,000 symbols x 8 sources. Median of 3 repetitions (CPU time of the one
# benchmark thread, so a loaded machine's waiting does not count) and ratios to the baseline
# measured in the same run. BM_BookPut* are the ingestion side (40,000 puts), not a round. Usage: bench/run_aggregate.sh [BUILD_DIR]   (default build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
cmake --build "$build" --target aggregate_bench >/dev/null
out=$(mktemp)
"$build/bin/aggregate_bench" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  --benchmark_min_time=0.5 --benchmark_format=json >"$out"
/usr/bin/python3 - "$out" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
med = {b["run_name"]: (b["cpu_time"], b["real_time"]) for b in data["benchmarks"] if b.get("aggregate_name") == "median"}
ctx = data["context"]
print(f"machine: {ctx.get('host_name')} · {ctx.get('num_cpus')} CPUs @ {ctx.get('mhz_per_cpu')} MHz")
base = med["BM_BaselineSortMedian"][0]
print(f"{'case (5,000 symbols x 8 sources)':34} {'cpu ms':>8} {'wall ms':>8} {'÷ baseline':>11} {'target 2 ms':>12}")
for name, (cpu, wall) in med.items():
    target = "-" if name.startswith("BM_BookPut") else ("met" if cpu <= 2.0 else "missed")
    print(f"{name:34} {cpu:8.2f} {wall:8.2f} {cpu/base:11.2f} {target:>12}")
PY
rm -f "$out"
