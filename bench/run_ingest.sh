#!/usr/bin/env bash
# Push ingestion benchmark: medians of interleaved repetitions, and ratios to raw libsodium
# crypto_sign_verify_detached measured in the same run (bench/ingest_bench.cc).
# Usage: bench/run_ingest.sh [BUILD_DIR]   (default build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
cmake --build "$build" --target ingest_bench >/dev/null
out=$(mktemp)
"$build/bin/ingest_bench" --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \
  --benchmark_min_time=0.2 --benchmark_report_aggregates_only=true --benchmark_format=json >"$out"
/usr/bin/python3 - "$out" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
med = {}
for b in data["benchmarks"]:
    if b.get("aggregate_name") == "median":
        med[b["run_name"]] = b
ctx = data["context"]
print(f"machine: {ctx.get('host_name')} · {ctx.get('num_cpus')} CPUs · load avg {ctx.get('load_avg')}")
print(f"{'batch size':>10} {'threads':>7} {'ingest batches/s':>17} {'ingest obs/s':>13} {'sodium verify/s':>16} "
      f"{'ratio per batch':>16} {'ratio per obs':>14} {'ratio (CPU time)':>17}")
for n in (1, 10, 100):
    for t in (1, 2):
        ing = med[f"ingest/submit/{n}/real_time/threads:{t}"]
        ver = med[f"baseline/sodium_verify/{n}/real_time/threads:{t}"]
        bps, vps = ing["batches_per_second"], ver["batches_per_second"]
        # CPU time per batch (per thread) against CPU time per verification: insensitive to other load.
        cpu_ratio = ver["cpu_time"] / ing["cpu_time"]
        print(f"{n:>10} {t:>7} {bps:>17,.0f} {bps*n:>13,.0f} {vps:>16,.0f} {bps/vps:>16.2f} {bps*n/vps:>14.2f} {cpu_ratio:>17.2f}")
PY
rm -f "$out"
