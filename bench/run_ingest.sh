#!/usr/bin/env bash
# Push ingestion benchmark (bench/ingest_bench.cc): signatures verified and accepted per second end
# to end over loopback HTTP, as a ratio to raw libsodium crypto_sign_verify_detached on 2 threads
# measured in the same run; plus the journal's group commit against RocksDB's own write group.
# Usage: bench/run_ingest.sh [BUILD_DIR]   (default build/release; about 60 s)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
cmake --build "$build" --target ingest_bench >/dev/null
out=$(mktemp)
"$build/bin/ingest_bench" --benchmark_min_time=0.5 --benchmark_format=json >"$out"
/usr/bin/python3 - "$out" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
runs = {b["run_name"]: b for b in data["benchmarks"] if b.get("run_type") == "iteration"}
for b in data["benchmarks"]:
    if b.get("error_occurred"):
        print(f"ERROR {b['run_name']}: {b.get('error_message')}")
ctx = data["context"]
print(f"machine: {ctx.get('host_name')} · {ctx.get('num_cpus')} CPUs · load avg {[round(x, 2) for x in ctx.get('load_avg', [])]}")
verify = {n: runs[f"baseline/sodium_verify/{n}/real_time/threads:2"]["batches_per_second"] for n in (1, 16)}
# CPU time of one verification (insensitive to other load on the machine, unlike the rates).
verify_cpu_us = {n: runs[f"baseline/sodium_verify/{n}/real_time/threads:2"]["cpu_time"] / 1e3 for n in (1, 16)}
print(f"raw libsodium crypto_sign_verify_detached, 2 threads: {verify[1]:,.0f}/s (PAE of a 1-observation batch), "
      f"{verify[16]:,.0f}/s (16 observations)")
print("POST /v1/observations end to end over loopback HTTP (one epoll client thread, server and client on the same cores):")
print(f"{'connections':>11} {'obs/batch':>9} {'workers':>7} {'batches/s':>10} {'obs/s':>9} {'group':>6} "
      f"{'ratio per signature':>20} {'ratio per obs':>14} {'cores':>6} {'CPU µs/batch':>13} {'ratio (CPU time)':>17}")
for name, b in sorted(runs.items()):
    if not name.startswith("ingest/load/"):
        continue
    c, n, w = (int(x) for x in name.split("/")[2:5])
    bps = b["batches_per_second"]
    print(f"{c:>11} {n:>9} {w:>7} {bps:>10,.0f} {bps * n:>9,.0f} {b['journal_group']:>6.1f} "
          f"{bps / verify[n]:>20.2f} {bps * n / verify[n]:>14.2f} {b['cores_used']:>6.2f} {b['cpu_us_per_batch']:>13.0f} "
          f"{verify_cpu_us[n] / b['cpu_us_per_batch']:>17.2f}")
print(f"(ratio (CPU time) = CPU time of one raw verification ({verify_cpu_us[1]:.0f} µs) / CPU time of the whole process, "
      "server and client, per accepted batch)")
print("POST /v1/observations/bulk end to end over loopback HTTP (envelopes of 1 observation, from 256/C publishers per connection);")
print("baseline: raw verify on 2 threads at the HTTP workers' priority (nice +5) for 0.3 s right before and after each case (mean);")
print(f"'ratio (nice 0)' compares with the nice-0 baseline above ({verify[1]:,.0f}/s):")
print(f"{'connections':>11} {'lines/req':>9} {'workers':>7} {'verify thr':>10} {'signatures/s':>12} {'raw verify/s':>12} "
      f"{'ratio (wall)':>12} {'ratio (nice 0)':>14} {'cores':>6} {'CPU µs/sig':>10} {'ratio (CPU time)':>17} {'syncs/request':>13}")
for name, b in sorted(runs.items(), key=lambda kv: [int(x) for x in kv[0].split("/")[2:7]] if kv[0].startswith("ingest/bulk/") else [0]):
    if not name.startswith("ingest/bulk/"):
        continue
    c, l, w, r, v = (int(x) for x in name.split("/")[2:7])
    print(f"{c:>11} {l:>9} {w:>7} {v:>10} {b['signatures_per_second']:>12,.0f} {b['raw_verify_per_second']:>12,.0f} "
          f"{b['ratio_wall']:>12.2f} {b['signatures_per_second'] / verify[1]:>14.2f} {b['cores_used']:>6.2f} {b['cpu_us_per_signature']:>10.0f} {b['ratio_cpu']:>17.2f} "
          f"{b['syncs_per_request']:>13.2f}")
for t in (1, 2):
    sm = runs[f"ingest/submit_many/256/iterations:20/real_time/threads:{t}"]
    print(f"Ingestor::SubmitMany in process, {t} thread(s), 256 envelopes per call: {sm['signatures_per_second']:,.0f} signatures/s "
          f"(ratio to raw verify on 2 threads {sm['signatures_per_second'] / verify[1]:.2f})")
print("Ingestor::Submit in process (no HTTP), one publisher per thread, one shared journal:")
for n in (1, 16):
    for t in (2, 64):
        b = runs[f"ingest/submit/{n}/iterations:150/real_time/threads:{t}"]
        print(f"  {n:>2} obs/batch, {t:>2} threads: {b['batches_per_second']:>8,.0f} batches/s "
              f"(ratio per signature {b['batches_per_second'] / verify[n]:.2f})")
print("synced writes of ~600 bytes to one RocksDB database:")
for kind in ("rocksdb_put", "group_commit"):
    for t in (1, 64):
        b = runs[f"journal/{kind}/iterations:150/real_time/threads:{t}"]
        print(f"  {kind:<13} {t:>2} threads: {b['writes_per_second']:>8,.0f} writes/s, {b['syncs_per_write']:.3f} syncs per write")
PY
rm -f "$out"
