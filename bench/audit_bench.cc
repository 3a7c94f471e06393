// `attest audit` verification throughput against raw libsodium, in the same run.
//
//   audit/chain          ChainAuditor::AddSnapshot over N demo-sized snapshots (3 marks, 3 sources
//                        each): parse the DSSE envelope, verify Ed25519 over PAE, strict-parse the
//                        payload, check sequence/origin/previous_hash, append the leaf hash
//   audit/chain_parallel ChainAuditor::AddSnapshots: the same checks, signatures and payloads
//                        verified on every hardware thread (as `attest audit` does)
//   baseline/sodium      crypto_sign_verify_detached over the same N PAE messages (precomputed),
//                        one thread
//
// Items per second are snapshots (or signatures) verified; bench/run_audit.sh prints the ratio.
#include <sodium.h>

#include <benchmark/benchmark.h>

#include <thread>

#include "plumbline/attest/audit.h"
#include "plumbline/attest/dsse.h"
#include "plumbline/attest/snapshot.h"

namespace {

using namespace plumbline;

constexpr size_t kSnapshots = 1000;

struct Corpus {
  attest::SigningKey key;
  std::vector<std::string> envelopes;
  std::vector<std::string> pae;  // the signed messages
  std::vector<std::string> sigs;
};

const Corpus& TheCorpus() {
  static const Corpus corpus = [] {
    std::array<uint8_t, 32> seed{};
    seed[0] = 11;
    Corpus c{std::move(attest::SigningKey::FromSeed(seed)).value(), {}, {}, {}};
    std::string previous = attest::kGenesisPreviousHash;
    for (uint64_t seq = 1; seq <= kSnapshots; ++seq) {
      attest::Snapshot s;
      s.origin = "plumbline.bench/audit";
      s.sequence = seq;
      s.time_unix_nanos = 1'763'780'000'000'000'000 + static_cast<int64_t>(seq) * 1'000'000'000;
      s.previous_hash = previous;
      s.config_digest = std::string(64, 'c');
      for (const char* symbol : {"BTC/USD", "ETH/USD", "SOL/USD"}) {
        Mark m;
        m.symbol = symbol;
        m.status = MarkStatus::kOk;
        m.price = *Decimal::Parse("67012.35");
        m.newest_observation_unix_nanos = s.time_unix_nanos - 1000;
        for (const char* source : {"bitstamp", "coinbase", "kraken"}) {
          Observation o;
          o.source = source;
          o.symbol = symbol;
          o.price = *Decimal::Parse("67012.35");
          o.observed_unix_nanos = s.time_unix_nanos - 1000;
          o.received_unix_nanos = s.time_unix_nanos - 500;
          m.contributions.push_back(o);
        }
        s.marks.push_back(std::move(m));
      }
      auto signed_snapshot = attest::SignSnapshot(std::move(s), c.key);
      previous = signed_snapshot->payload_hash;
      auto env = attest::ParseEnvelope(signed_snapshot->envelope_json);
      c.pae.push_back(attest::Pae(env->payload_type, env->payload));
      c.sigs.push_back(env->signatures[0].sig);
      c.envelopes.push_back(signed_snapshot->envelope_json);
    }
    return c;
  }();
  return corpus;
}

void BM_AuditChain(benchmark::State& state) {
  const Corpus& c = TheCorpus();
  attest::audit::KeyRing ring({c.key.public_key()});
  for (auto _ : state) {
    attest::audit::AuditState start;
    start.origin = "plumbline.bench/audit";
    attest::audit::ChainAuditor auditor(ring, start);
    for (const auto& envelope : c.envelopes) {
      if (!auditor.AddSnapshot(envelope).ok()) state.SkipWithError("audit failed");
    }
    benchmark::DoNotOptimize(auditor.state());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kSnapshots));
}
BENCHMARK(BM_AuditChain)->Name("audit/chain")->Unit(benchmark::kMillisecond)->UseRealTime();

// The same with AddSnapshots: signature and payload checks on every hardware thread, chain
// checks in order (what `attest audit` runs).
void BM_AuditChainParallel(benchmark::State& state) {
  const Corpus& c = TheCorpus();
  attest::audit::KeyRing ring({c.key.public_key()});
  for (auto _ : state) {
    attest::audit::AuditState start;
    start.origin = "plumbline.bench/audit";
    attest::audit::ChainAuditor auditor(ring, start);
    if (!auditor.AddSnapshots(c.envelopes).ok()) state.SkipWithError("audit failed");
    benchmark::DoNotOptimize(auditor.state());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kSnapshots));
  state.counters["threads"] = std::max(1u, std::thread::hardware_concurrency());
}
BENCHMARK(BM_AuditChainParallel)->Name("audit/chain_parallel")->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_SodiumVerify(benchmark::State& state) {
  const Corpus& c = TheCorpus();
  const auto& pk = c.key.public_key().raw();
  for (auto _ : state) {
    for (size_t i = 0; i < kSnapshots; ++i) {
      int rc = crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(c.sigs[i].data()),
                                           reinterpret_cast<const unsigned char*>(c.pae[i].data()),
                                           c.pae[i].size(), pk.data());
      if (rc != 0) state.SkipWithError("verify failed");
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kSnapshots));
}
BENCHMARK(BM_SodiumVerify)->Name("baseline/sodium_verify")->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
