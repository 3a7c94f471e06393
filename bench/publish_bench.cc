// Publishing one snapshot of 1,000 marks, against raw baselines measured in the same run.
//
//   publish/full          build payload (RFC 8785) + DSSE sign + synced RocksDB append
//   publish/sign_only     build payload + DSSE sign (no storage)
//   baseline/sodium       raw libsodium Ed25519 sign + SHA-256 of the same payload bytes
//   baseline/fdatasync    write the same envelope bytes to a file + fdatasync
//
// bench/run_publish.sh runs this with repetitions and prints the ratio table.
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <filesystem>

#include "plumbline/attest/snapshot.h"
#include "plumbline/storage/snapshot_store.h"

namespace {

using namespace plumbline;

attest::Snapshot MakeSnapshot(size_t marks) {
  attest::Snapshot s;
  s.origin = "plumbline.bench/publish";
  s.sequence = 1;
  s.time_unix_nanos = 1'763'780'000'000'000'000;
  s.previous_hash = attest::kGenesisPreviousHash;
  s.config_digest = std::string(64, 'c');
  s.key_id = std::string(64, 'b');  // SignSnapshot overwrites it with the real key id
  for (size_t i = 0; i < marks; ++i) {
    Mark m;
    m.symbol = "SYM" + std::to_string(10000 + i) + "/USD";
    m.status = MarkStatus::kOk;
    m.price = *Decimal::Parse("67012.35");
    m.newest_observation_unix_nanos = s.time_unix_nanos - 1000;
    for (const char* source : {"bitstamp", "coinbase", "kraken"}) {
      Observation o;
      o.source = source;
      o.symbol = m.symbol;
      o.price = *Decimal::Parse("67012.35");
      o.bid = *Decimal::Parse("67012.30");
      o.ask = *Decimal::Parse("67012.40");
      o.observed_unix_nanos = s.time_unix_nanos - 1000;
      o.received_unix_nanos = s.time_unix_nanos - 500;
      m.contributions.push_back(o);
    }
    s.marks.push_back(std::move(m));
  }
  return s;
}

attest::SigningKey BenchKey() {
  std::array<uint8_t, 32> seed{};
  seed[0] = 42;
  return std::move(attest::SigningKey::FromSeed(seed)).value();
}

void BM_PublishFull(benchmark::State& state) {
  auto key = BenchKey();
  auto dir = std::filesystem::temp_directory_path() / ("plumbline-bench-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto store = std::move(storage::SnapshotStore::Open({dir.string(), key.KeyId()})).value();
  attest::Snapshot snapshot = MakeSnapshot(static_cast<size_t>(state.range(0)));
  uint64_t seq = 1;
  for (auto _ : state) {
    snapshot.sequence = seq;
    auto signed_snapshot = attest::SignSnapshot(snapshot, key);
    if (!signed_snapshot.ok() || !store->Append(seq, signed_snapshot->envelope_json).ok()) {
      state.SkipWithError("publish failed");
      break;
    }
    snapshot.previous_hash = signed_snapshot->payload_hash;
    ++seq;
  }
  store.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_PublishFull)->Name("publish/full")->Arg(1000)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_PublishSignOnly(benchmark::State& state) {
  auto key = BenchKey();
  attest::Snapshot snapshot = MakeSnapshot(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    auto signed_snapshot = attest::SignSnapshot(snapshot, key);
    benchmark::DoNotOptimize(signed_snapshot);
  }
}
BENCHMARK(BM_PublishSignOnly)->Name("publish/sign_only")->Arg(1000)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_BaselineSodium(benchmark::State& state) {
  auto key = BenchKey();
  const std::string payload = *attest::SnapshotPayload(MakeSnapshot(static_cast<size_t>(state.range(0))));
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  unsigned char seed[32] = {42};
  crypto_sign_seed_keypair(pk, sk, seed);
  unsigned char sig[crypto_sign_BYTES], hash[crypto_hash_sha256_BYTES];
  for (auto _ : state) {
    crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), sk);
    crypto_hash_sha256(hash, reinterpret_cast<const unsigned char*>(payload.data()), payload.size());
    benchmark::DoNotOptimize(sig);
    benchmark::DoNotOptimize(hash);
  }
  state.counters["payload_bytes"] = static_cast<double>(payload.size());  // allowed: benchmark counter
}
BENCHMARK(BM_BaselineSodium)->Name("baseline/sodium_sign_sha256")->Arg(1000)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_BaselineFdatasync(benchmark::State& state) {
  auto key = BenchKey();
  auto signed_snapshot = attest::SignSnapshot(MakeSnapshot(static_cast<size_t>(state.range(0))), key);
  const std::string& bytes = signed_snapshot->envelope_json;
  auto path = std::filesystem::temp_directory_path() / ("plumbline-bench-sync-" + std::to_string(::getpid()));
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
  for (auto _ : state) {
    if (::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()) || ::fdatasync(fd) != 0) {
      state.SkipWithError("write failed");
      break;
    }
  }
  ::close(fd);
  std::filesystem::remove(path);
}
BENCHMARK(BM_BaselineFdatasync)->Name("baseline/write_fdatasync")->Arg(1000)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
