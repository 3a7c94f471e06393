#!/usr/bin/env bash
# Merkle log benchmark at 10 million snapshots (bench/log_bench.cc): builds the store once (a few
# minutes on 2 vCPU; ~2.5 GB under /tmp, removed at the end), then measures proofs and roots.
# Usage: bench/run_log.sh [BUILD_DIR]   (default build/release; PLUMBLINE_LOG_BENCH_LEAVES=n for
# another size)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
cmake --build "$build" --target log_bench >/dev/null
out=$(mktemp)
"$build/bin/log_bench" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_format=json >"$out"
/usr/bin/python3 - "$out" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
ctx = data["context"]
rows = {b["run_name"]: b for b in data["benchmarks"] if b.get("aggregate_name") == "median"}
build = next(b for name, b in rows.items() if name.startswith("log/build"))
n = int(build["leaves"])
print(f"machine: {ctx.get('host_name')} · {ctx.get('num_cpus')} CPUs @ {ctx.get('mhz_per_cpu')} MHz · "
      f"libbenchmark build {ctx.get('library_build_type')}")
print(f"log of {n:,} snapshots (200-byte fake envelopes)")
print(f"  bulk build, unsynced appends   {build['build_s']:8.1f} s   ({build['append_unsynced_us']:.1f} µs per append)")
print(f"  full compaction                {build['compact_s']:8.1f} s")
print(f"  Open() incl. VerifyChecksum    {build['open_verify_s']:8.2f} s")
print(f"  log nodes, bytes per snapshot  {build['log_bytes_per_snapshot']:8.1f}   (SST, after compaction)")
print(f"  envelopes, bytes per snapshot  {build['envelope_bytes_per_snapshot']:8.1f}")
print(f"  whole directory per snapshot   {build['dir_bytes_per_snapshot']:8.1f}")
print(f"{'operation (median of 5)':38} {'µs':>9} {'hashes':>8}")
for name, label in [("log/inclusion_proof", f"InclusionProof(random, {n:,})"),
                    ("log/consistency_proof", f"ConsistencyProof(random, {n:,})"),
                    ("log/root_hash/0", f"RootHash({n:,})"),
                    ("log/root_hash_random/1", "RootHash(random size)"),
                    ("log/append_synced/real_time", "Append, synced (200 B)")]:
    b = rows.get(name)
    if b is None:
        continue
    t = b["real_time"]
    hashes = b.get("hashes_per_proof")
    print(f"{label:38} {t:9.1f} {'' if hashes is None else f'{hashes:8.1f}':>8}")
PY
# What the daemon's checkpoints add (bench/checkpoint_bench.cc): one signed checkpoint per snapshot.
cmake --build "$build" --target checkpoint_bench >/dev/null
"$build/bin/checkpoint_bench" --benchmark_format=json >"$out"
/usr/bin/python3 - "$out" <<'PY'
import json, sys
rows = {b["run_name"]: b for b in json.load(open(sys.argv[1]))["benchmarks"]}
b, s = rows["checkpoint/bytes/iterations:1"], rows["checkpoint/sign_and_store"]
print(f"checkpoints ({int(b['snapshots']):,} snapshots, one signed checkpoint each, compacted)")
print(f"  tree nodes, bytes per snapshot       {b['tree_bytes_per_snapshot']:8.1f}")
print(f"  checkpoints, bytes per snapshot      {b['checkpoint_bytes_per_snapshot']:8.1f}")
print(f"  log total, bytes per snapshot        {b['log_bytes_per_snapshot']:8.1f}")
print(f"  SignLatestCheckpoint per round       {s['cpu_time']:8.1f} µs CPU ({s['real_time']:.1f} µs wall, unsynced)")
PY
rm -f "$out"
