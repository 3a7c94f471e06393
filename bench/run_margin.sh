#!/usr/bin/env bash
# Margin evaluator benchmarks (docs/margin.md, "Performance"): 1,000,000 accounts on one core
# against the Decimal baseline, and the batch endpoint on 2 worker threads against the in-process
# library. Prints CPU time per account and the ratios. Usage: bench/run_margin.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
cmake --build "$build" --target margin_bench margin_http_bench >/dev/null
out=$(mktemp)
"$build/bin/margin_bench" --benchmark_format=json >"$out"
"$build/bin/margin_http_bench" --benchmark_format=json >"$out.http"
/usr/bin/python3 - "$out" "$out.http" <<'PY'
import json, sys, os
core = json.load(open(sys.argv[1]))
http = json.load(open(sys.argv[2]))
print(f"machine: {core['context'].get('num_cpus')} CPUs, load average {os.getloadavg()[0]:.1f}")
rate = {}
for b in core["benchmarks"] + http["benchmarks"]:
    name = b["name"].split("/iterations")[0].split("/min_time")[0]
    rate[name] = b["accounts_per_s"]
    cpu_per_account_us = 1e6 / b["accounts_per_s"] if "http" in name else None
for name, r in rate.items():
    print(f"{name:40} {r:14,.0f} accounts/s   {1e6/r:8.2f} µs/account")
base = rate["baseline/decimal_100k"]
print(f"evaluate_1m ÷ decimal baseline: {rate['margin/evaluate_1m']/base:.1f}x faster; "
      f"1,000,000 accounts in {1e6/rate['margin/evaluate_1m']:.2f} s (target 1 s)")
print(f"batch endpoint (2 workers + 2 clients on the same machine): {rate['margin_http/batch_1000/2']:,.0f} accounts/s; "
      f"÷ library+JSON on one thread: {rate['margin_http/batch_1000/2']/rate['baseline/library_1000']:.2f}; "
      f"÷ DOM parse (json::parse + AccountFromJson) on one thread: {rate['margin_http/batch_1000/2']/rate['baseline/parse_1000']:.2f}")
print(f"request reading: ReadBatchFast {rate['margin/fast_read_1000']/rate['baseline/parse_1000']:.1f}x faster than the DOM reader")
PY
rm -f "$out" "$out.http"
