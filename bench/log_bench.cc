// The Merkle log of SnapshotStore at 10 million snapshots.
//
//   log/build                one iteration; counters: the bulk build (unsynced appends of 200-byte
//                            fake envelopes), the full compaction, the Open() of the compacted
//                            store (VerifyChecksum + structure checks) and the bytes per snapshot
//   log/inclusion_proof      InclusionProof(random index, n)
//   log/consistency_proof    ConsistencyProof(random size1 in [1, n), n)
//   log/root_hash            RootHash(n)
//   log/root_hash_random     RootHash(random size in [1, n])
//   log/append_synced        Append() of one more 200-byte envelope, synced (the daemon's path)
//
// n = 10,000,000, or PLUMBLINE_LOG_BENCH_LEAVES. The store is built once per process in a
// temporary directory under /tmp, removed at exit; or, with PLUMBLINE_LOG_BENCH_DIR=path, built
// there on the first run and reused (build_s = compact_s = 0) by later runs, and never removed. Bytes per snapshot: after a full compaction,
// RocksDB's GetApproximateSizes() of the key ranges "node/"... (the log: leaf hashes and perfect
// subtree hashes, about 2 nodes of 14-byte key + 32-byte value per snapshot, plus SST overhead)
// and "snap/"... (the envelopes), divided by n. The WAL is empty after the compaction's flush.
//
// bench/run_log.sh builds and runs this and prints the table.
#include <benchmark/benchmark.h>
#include <rocksdb/db.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "plumbline/storage/snapshot_store.h"

namespace {

using namespace plumbline;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

uint64_t LeafCount() {
  const char* env = std::getenv("PLUMBLINE_LOG_BENCH_LEAVES");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 10'000'000;
}

// A 200-byte stand-in for a DSSE envelope: the sequence and pseudo-random hex.
std::string FakeEnvelope(uint64_t sequence, uint64_t* rng) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "{\"payloadType\":\"application/vnd.plumbline.snapshot+json\",\"seq\":" +
                    std::to_string(sequence) + ",\"payload\":\"";
  while (out.size() < 198) {
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    out.push_back(kHex[*rng & 15]);
  }
  out += "\"}";
  return out;
}

uint64_t DirectoryBytes(const fs::path& dir) {
  uint64_t total = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file()) total += entry.file_size();
  }
  return total;
}

// The 10-million-leaf store, built on first use.
struct LogFixture {
  static inline const std::string kKey = std::string(64, 'b');
  fs::path dir;
  bool kept = false;  // PLUMBLINE_LOG_BENCH_DIR: built once, reused by later runs, never removed
  uint64_t leaves = 0;
  std::unique_ptr<storage::SnapshotStore> store;
  double build_seconds = 0, compact_seconds = 0, open_seconds = 0;
  double log_bytes = 0, snap_bytes = 0, dir_bytes = 0;
  std::string error;

  static LogFixture*& Instance() {
    static LogFixture* instance = nullptr;
    return instance;
  }

  // Benchmarks run one after another on the main thread: no locking needed.
  static LogFixture& Get() {
    if (Instance() == nullptr) {
      Instance() = new LogFixture;
      Instance()->Build();
    }
    return *Instance();
  }

  static void Destroy() {
    if (Instance() == nullptr) return;
    Instance()->store.reset();
    if (!Instance()->kept) fs::remove_all(Instance()->dir);
    delete Instance();
    Instance() = nullptr;
  }

  void Build() {
    leaves = LeafCount();
    const char* keep = std::getenv("PLUMBLINE_LOG_BENCH_DIR");
    kept = keep != nullptr;
    dir = kept ? fs::path(keep) : fs::temp_directory_path() / ("plumbline-log-bench-" + std::to_string(::getpid()));
    bool reuse = kept && fs::exists(dir / "CURRENT");
    if (!reuse) {
      fs::remove_all(dir);
      auto opened = storage::SnapshotStore::Open({dir.string(), kKey, /*sync_writes=*/false});
      if (!opened.ok()) return Fail(opened.status().ToString());
      auto bulk = std::move(opened).value();
      uint64_t rng = 0x9e3779b97f4a7c15;
      auto start = Clock::now();
      for (uint64_t seq = 1; seq <= leaves; ++seq) {
        Status s = bulk->Append(seq, FakeEnvelope(seq, &rng));
        if (!s.ok()) return Fail(s.ToString());
      }
      build_seconds = SecondsSince(start);
    }
    {
      rocksdb::DB* raw = nullptr;
      rocksdb::Status s = rocksdb::DB::Open(rocksdb::Options(), dir.string(), &raw);
      if (!s.ok()) return Fail(s.ToString());
      std::unique_ptr<rocksdb::DB> db(raw);
      if (!reuse) {
        auto start = Clock::now();
        rocksdb::CompactRangeOptions options;
        options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
        s = db->CompactRange(options, nullptr, nullptr);
        if (!s.ok()) return Fail(s.ToString());
        compact_seconds = SecondsSince(start);
      }
      std::string bounds[] = {"node/", "node0", "snap/", "snap0"};
      rocksdb::Range ranges[] = {{bounds[0], bounds[1]}, {bounds[2], bounds[3]}};
      uint64_t sizes[2] = {0, 0};
      s = db->GetApproximateSizes(rocksdb::SizeApproximationOptions(), db->DefaultColumnFamily(), ranges, 2,
                                  sizes);
      if (!s.ok()) return Fail(s.ToString());
      log_bytes = static_cast<double>(sizes[0]);
      snap_bytes = static_cast<double>(sizes[1]);
    }
    dir_bytes = static_cast<double>(DirectoryBytes(dir));
    auto start = Clock::now();
    auto opened = storage::SnapshotStore::Open({dir.string(), kKey});  // synced, as the daemon
    if (!opened.ok()) return Fail(opened.status().ToString());
    open_seconds = SecondsSince(start);
    store = std::move(opened).value();
    if (store->TreeSize() < leaves) return Fail("the kept directory holds fewer leaves than asked for");
  }

  void Fail(std::string message) { error = std::move(message); }
};

bool Ready(benchmark::State& state, LogFixture& f) {
  if (!f.error.empty() || !f.store) {
    state.SkipWithError(("building the store failed: " + f.error).c_str());
    return false;
  }
  return true;
}

void BM_Build(benchmark::State& state) {
  LogFixture& f = LogFixture::Get();
  for (auto _ : state) {
  }
  if (!Ready(state, f)) return;
  double n = static_cast<double>(f.leaves);
  state.counters["leaves"] = n;
  state.counters["build_s"] = f.build_seconds;
  state.counters["append_unsynced_us"] = f.build_seconds * 1e6 / n;
  state.counters["compact_s"] = f.compact_seconds;
  state.counters["open_verify_s"] = f.open_seconds;
  state.counters["log_bytes_per_snapshot"] = f.log_bytes / n;
  state.counters["envelope_bytes_per_snapshot"] = f.snap_bytes / n;
  state.counters["dir_bytes_per_snapshot"] = f.dir_bytes / n;
}
BENCHMARK(BM_Build)->Name("log/build")->Iterations(1)->Unit(benchmark::kSecond);

// Runs proof(random) per iteration; reports the mean number of hashes per proof.
template <typename ProofFn>
void RunProofs(benchmark::State& state, uint64_t seed, ProofFn&& proof_fn) {
  LogFixture& f = LogFixture::Get();
  if (!Ready(state, f)) return;
  std::mt19937_64 rng(seed);
  size_t hashes = 0;
  for (auto _ : state) {
    Result<std::vector<storage::Hash32>> proof = proof_fn(*f.store, f.leaves, rng());
    if (!proof.ok()) {
      state.SkipWithError(proof.status().ToString().c_str());
      break;
    }
    hashes += proof->size();
  }
  state.counters["hashes_per_proof"] = static_cast<double>(hashes) / static_cast<double>(state.iterations());
}

void BM_InclusionProof(benchmark::State& state) {
  RunProofs(state, 1, [](const storage::SnapshotStore& store, uint64_t n, uint64_t random) {
    return store.InclusionProof(random % n, n);
  });
}
BENCHMARK(BM_InclusionProof)->Name("log/inclusion_proof")->Unit(benchmark::kMicrosecond);

void BM_ConsistencyProof(benchmark::State& state) {
  RunProofs(state, 2, [](const storage::SnapshotStore& store, uint64_t n, uint64_t random) {
    return store.ConsistencyProof(1 + random % (n - 1), n);
  });
}
BENCHMARK(BM_ConsistencyProof)->Name("log/consistency_proof")->Unit(benchmark::kMicrosecond);

void BM_RootHash(benchmark::State& state) {
  LogFixture& f = LogFixture::Get();
  if (!Ready(state, f)) return;
  std::mt19937_64 rng(3);
  bool random_size = state.range(0) != 0;
  for (auto _ : state) {
    auto root = f.store->RootHash(random_size ? 1 + rng() % f.leaves : f.leaves);
    if (!root.ok()) {
      state.SkipWithError(root.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(*root);
  }
}
BENCHMARK(BM_RootHash)->Name("log/root_hash")->Arg(0)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RootHash)->Name("log/root_hash_random")->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_AppendSynced(benchmark::State& state) {
  LogFixture& f = LogFixture::Get();
  if (!Ready(state, f)) return;
  uint64_t rng = 42;
  for (auto _ : state) {
    uint64_t seq = f.store->TreeSize() + 1;
    Status s = f.store->Append(seq, FakeEnvelope(seq, &rng));
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
  }
}
BENCHMARK(BM_AppendSynced)->Name("log/append_synced")->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  LogFixture::Destroy();
  return 0;
}
