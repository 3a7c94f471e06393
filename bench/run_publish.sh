#!/usr/bin/env bash
# Publishing benchmark: median of 10 repetitions per case and ratios to the raw baselines measured
# in the same run. Usage: bench/run_publish.sh [BUILD_DIR]   (default build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
cmake --build "$build" --target publish_bench >/dev/null
out=$(mktemp)
"$build/bin/publish_bench" --benchmark_repetitions=10 --benchmark_report_aggregates_only=true \
  --benchmark_format=json >"$out"
/usr/bin/python3 - "$out" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
med = {b["run_name"]: b["real_time"] for b in data["benchmarks"] if b.get("aggregate_name") == "median"}
ctx = data["context"]
print(f"machine: {ctx.get('host_name')} · {ctx.get('num_cpus')} CPUs @ {ctx.get('mhz_per_cpu')} MHz · libbenchmark build {ctx.get('library_build_type')} (ours: RelWithDebInfo)")
base = med["baseline/sodium_sign_sha256/1000/real_time"]
sync = med["baseline/write_fdatasync/1000/real_time"]
print(f"{'case (1,000 marks)':40} {'median µs':>12} {'÷ sodium':>10} {'÷ (sodium+fdatasync)':>22}")
for name, t in med.items():
    print(f"{name.replace('/1000/real_time',''):40} {t:12.1f} {t/base:10.2f} {t/(base+sync):22.2f}")
PY
rm -f "$out"
