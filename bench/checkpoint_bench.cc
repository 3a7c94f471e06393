// What the log adds to every publish round, on the daemon's own code path.
//
//   checkpoint/sign_and_store   SignLatestCheckpoint after one Append: root, consistency check
//                               against the latest checkpoint (parse + proof + verify), Ed25519
//                               note signature, PutCheckpoint. Unsynced store, so this is CPU and
//                               RocksDB work; the daemon adds one fdatasync (log/append_synced).
//   checkpoint/bytes            built once: N snapshots of 200-byte fake envelopes, each with its
//                               checkpoint, fully compacted; counters are bytes per snapshot of
//                               the key ranges node/ (tree), ckpt/ (signed checkpoints) and snap/.
//
// N = 100,000 or PLUMBLINE_CHECKPOINT_BENCH_LEAVES. bench/run_log.sh prints these too.
#include <benchmark/benchmark.h>
#include <rocksdb/db.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "plumbline/daemon/log_signer.h"

namespace {

using namespace plumbline;
namespace fs = std::filesystem;

constexpr char kOrigin[] = "plumbline.example/log";

attest::SigningKey BenchKey() {
  std::array<uint8_t, 32> seed{};
  seed[0] = 3;
  return std::move(attest::SigningKey::FromSeed(seed)).value();
}

std::string Envelope(uint64_t seq) {
  std::string s = "{\"payloadType\":\"bench\",\"seq\":" + std::to_string(seq) + ",\"payload\":\"";
  while (s.size() < 198) s.push_back("0123456789abcdef"[(seq * 7 + s.size()) & 15]);
  return s + "\"}";
}

void BM_SignAndStore(benchmark::State& state) {
  const fs::path dir = fs::temp_directory_path() / ("plumbline-ckpt-bench-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  attest::SigningKey key = BenchKey();
  auto store = storage::SnapshotStore::Open({dir.string(), key.KeyId(), /*sync_writes=*/false});
  if (!store.ok()) return state.SkipWithError(store.status().ToString().c_str());
  uint64_t seq = 0;
  for (; seq < 100'000; ++seq) {  // a log that already has some history
    if (!(*store)->Append(seq + 1, Envelope(seq + 1)).ok()) return state.SkipWithError("append");
  }
  if (!daemon::SignLatestCheckpoint(store->get(), key, kOrigin).ok()) return state.SkipWithError("sign");
  for (auto _ : state) {
    state.PauseTiming();
    ++seq;
    if (!(*store)->Append(seq, Envelope(seq)).ok()) return state.SkipWithError("append");
    state.ResumeTiming();
    auto note = daemon::SignLatestCheckpoint(store->get(), key, kOrigin);
    if (!note.ok()) return state.SkipWithError(note.status().ToString().c_str());
  }
  store->reset();
  fs::remove_all(dir);
}
BENCHMARK(BM_SignAndStore)->Name("checkpoint/sign_and_store")->Unit(benchmark::kMicrosecond);

void BM_Bytes(benchmark::State& state) {
  const char* env = std::getenv("PLUMBLINE_CHECKPOINT_BENCH_LEAVES");
  const uint64_t n = env != nullptr ? std::strtoull(env, nullptr, 10) : 100'000;
  const fs::path dir = fs::temp_directory_path() / ("plumbline-ckpt-bytes-" + std::to_string(::getpid()));
  uint64_t sizes[3] = {0, 0, 0};
  for (auto _ : state) {
    fs::remove_all(dir);
    attest::SigningKey key = BenchKey();
    {
      auto store = storage::SnapshotStore::Open({dir.string(), key.KeyId(), /*sync_writes=*/false});
      if (!store.ok()) return state.SkipWithError(store.status().ToString().c_str());
      for (uint64_t seq = 1; seq <= n; ++seq) {
        if (!(*store)->Append(seq, Envelope(seq)).ok()) return state.SkipWithError("append");
        if (!daemon::SignLatestCheckpoint(store->get(), key, kOrigin).ok()) return state.SkipWithError("sign");
      }
    }
    rocksdb::DB* raw = nullptr;
    if (!rocksdb::DB::Open(rocksdb::Options(), dir.string(), &raw).ok()) return state.SkipWithError("open");
    std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::CompactRangeOptions options;
    options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    if (!db->CompactRange(options, nullptr, nullptr).ok()) return state.SkipWithError("compact");
    std::string bounds[] = {"node/", "node0", "ckpt/", "ckpt0", "snap/", "snap0"};
    rocksdb::Range ranges[] = {{bounds[0], bounds[1]}, {bounds[2], bounds[3]}, {bounds[4], bounds[5]}};
    if (!db->GetApproximateSizes(rocksdb::SizeApproximationOptions(), db->DefaultColumnFamily(), ranges, 3, sizes)
             .ok()) {
      return state.SkipWithError("sizes");
    }
  }
  fs::remove_all(dir);
  const double d = static_cast<double>(n);
  state.counters["snapshots"] = d;
  state.counters["tree_bytes_per_snapshot"] = static_cast<double>(sizes[0]) / d;
  state.counters["checkpoint_bytes_per_snapshot"] = static_cast<double>(sizes[1]) / d;
  state.counters["log_bytes_per_snapshot"] = static_cast<double>(sizes[0] + sizes[1]) / d;
  state.counters["envelope_bytes_per_snapshot"] = static_cast<double>(sizes[2]) / d;
}
BENCHMARK(BM_Bytes)->Name("checkpoint/bytes")->Iterations(1)->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();
