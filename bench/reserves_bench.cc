// Proof of reserve figures, each against a baseline measured in the same run.
//
//   reserves/reconcile_500x4        AttestationsAt(): 500 assets x 4 chains (ComputeReserve for
//                                   each, exact decimals), the CPU part of every round
//   reserves/sign_snapshot_500      RFC 8785 payload + DSSE signature of a snapshot carrying those
//                                   500 attestations
//   baseline/sign_snapshot_empty    the same snapshot without reserves
//   reserves/after_last_input       from the last RPC response of a round to the signed
//                                   attestation: synced evidence write + reconcile + sign
//                                   (1 asset x 2 chains x 2 providers)
//   reserves/round_loopback         a whole round against the loopback node simulators (the same
//                                   asset): RPC reads + the above
//   baseline/rpc_call_loopback      one JSON-RPC eth_call round trip on loopback
// Counter bytes_per_asset: canonical JSON size of one 2-chain attestation (evidence included).
#include <benchmark/benchmark.h>

#include <filesystem>

#include "chain_sim.h"
#include "plumbline/attest/canonical_json.h"
#include "plumbline/attest/snapshot.h"
#include "plumbline/reserves/monitor.h"
#include "plumbline/reserves/supply.h"

namespace {

using namespace plumbline;

constexpr int64_t kNow = 1'763'780'000'000'000'000;

attest::SigningKey BenchKey() {
  std::array<uint8_t, 32> seed{};
  seed[0] = 9;
  return std::move(attest::SigningKey::FromSeed(seed)).value();
}

// One attestation's inputs as a round leaves them: `chains` chains, 2 providers, 2 exclusions.
attest::ReserveAttestation Synthetic(size_t i, size_t chains) {
  attest::ReserveAttestation a;
  a.asset = "ASSET" + std::to_string(10000 + i) + "x";
  a.isin = "US" + std::to_string(100000000 + i) + "4";
  a.multiplier = *Multiplier::Parse("1.0023456");
  a.tolerance = *Decimal::Parse("0.001");
  a.max_supply_age_ms = 120000;
  a.max_statement_age_ms = 86400000;
  a.checked_unix_nanos = kNow;
  for (size_t c = 0; c < chains; ++c) {
    attest::ChainSupply s;
    s.chain = "chain" + std::to_string(c);
    s.kind = c % 2 ? "solana" : "evm";
    s.token = "0x" + std::string(40, 'a');
    s.decimals = c % 2 ? 6 : 18;
    s.read_unix_nanos = kNow - 1000;
    if (c % 2) {
      s.slot = 250000000;
      s.gross = UInt256::FromU64(2'000'000'000'000);
      s.excluded = {{"treasury-acct", "treasury", UInt256::FromU64(500'000'000'000)}};
    } else {
      s.block_number = 21000000;
      s.block_hash = "0x" + std::string(64, 'e');
      s.gross = *UInt256::ParseDecimal("1000000123456789012345678");
      s.excluded = {{"0x" + std::string(40, 'b'), "treasury", *UInt256::ParseDecimal("100000000000000000000000")},
                    {"0x" + std::string(40, 'c'), "bridge", *UInt256::ParseDecimal("50000000000000000000000")}};
    }
    for (const char* p : {"a", "b"}) {
      s.evidence.push_back({p, c % 2 ? "token_supply" : "total_supply", "", std::string(64, '1')});
      if (!(c % 2)) s.evidence.push_back({p, "block", "", std::string(64, '2')});
      for (const auto& x : s.excluded) s.evidence.push_back({p, "balance", x.address, std::string(64, '3')});
    }
    a.chains.push_back(std::move(s));
  }
  a.custodian = attest::CustodianHolding{"acme", "ACC-1", 7, kNow - 60'000'000'000, *Decimal::Parse("5000000"),
                                         *Decimal::Parse("12.5"), std::string(64, '4')};
  return a;
}

attest::Snapshot BaseSnapshot() {
  attest::Snapshot s;
  s.origin = "plumbline.bench/reserves";
  s.sequence = 1;
  s.time_unix_nanos = kNow;
  s.previous_hash = attest::kGenesisPreviousHash;
  s.config_digest = std::string(64, 'c');
  return s;
}

void BM_Reconcile(benchmark::State& state) {
  std::vector<attest::ReserveAttestation> inputs;
  for (size_t i = 0; i < 500; ++i) inputs.push_back(Synthetic(i, 4));
  for (auto _ : state) {
    for (auto& a : inputs) attest::ComputeReserve(&a);
    benchmark::DoNotOptimize(inputs.data());
  }
  state.counters["assets"] = 500;
}
BENCHMARK(BM_Reconcile)->Name("reserves/reconcile_500x4")->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_SignSnapshot(benchmark::State& state) {
  const auto key = BenchKey();
  attest::Snapshot s = BaseSnapshot();
  for (int64_t i = 0; i < state.range(0); ++i) {
    s.reserves.push_back(Synthetic(static_cast<size_t>(i), 4));
    attest::ComputeReserve(&s.reserves.back());
  }
  size_t bytes = 0;
  for (auto _ : state) {
    auto signed_snapshot = attest::SignSnapshot(s, key);
    bytes = signed_snapshot->envelope_json.size();
    benchmark::DoNotOptimize(bytes);
  }
  state.counters["envelope_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_SignSnapshot)->Name("reserves/sign_snapshot")->Arg(500)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_SignSnapshot)->Name("baseline/sign_snapshot")->Arg(0)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_AttestationSize(benchmark::State& state) {
  attest::ReserveAttestation a = Synthetic(0, 2);
  attest::ComputeReserve(&a);
  size_t bytes = 0;
  for (auto _ : state) {
    bytes = attest::Canonicalize(*attest::ReserveAttestationJson(a))->size();
    benchmark::DoNotOptimize(bytes);
  }
  state.counters["bytes_per_asset"] = static_cast<double>(bytes);
}
BENCHMARK(BM_AttestationSize)->Name("reserves/attestation_json_2_chains")->Unit(benchmark::kMicrosecond);

// Loopback rounds: 2 EVM + 2 Solana node simulators, one asset on both chains.
struct Loopback {
  std::unique_ptr<sim::RpcNodeSim> evm[2], sol[2];
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "plumbline-reserves-bench";
  std::unique_ptr<reserves::ReserveStore> store;
  std::unique_ptr<reserves::ReserveMonitor> monitor;
  ManualClock clock{kNow};

  Loopback() {
    std::filesystem::remove_all(dir);
    reserves::AssetConfig a;
    a.asset = "TSLAx";
    a.isin = "US88160R1014";
    a.tolerance = *Decimal::Parse("0.001");
    a.custodian = {"acme", "ACC-1", BenchKey().public_key(), ""};
    for (int i = 0; i < 2; ++i) {
      evm[i] = sim::RpcNodeSim::Start(sim::RpcNodeSim::Kind::kEvm).value();
      evm[i]->SetToken("0x" + std::string(40, 'a'), 18);
      evm[i]->SetSupply(*UInt256::ParseDecimal("1000000000000000000000"));
      evm[i]->SetBalance("0x" + std::string(40, 'b'), *UInt256::ParseDecimal("100000000000000000000"));
      sol[i] = sim::RpcNodeSim::Start(sim::RpcNodeSim::Kind::kSolana).value();
      sol[i]->SetToken("Mint", 6);
      sol[i]->SetSupply(UInt256::FromU64(200'000'000));
      sol[i]->SetBalance("acct", UInt256::FromU64(1));
    }
    reserves::ChainConfig e{"ethereum", "evm", "0x" + std::string(40, 'a'), 18,
                            {{"a", evm[0]->url()}, {"b", evm[1]->url()}}, {{"0x" + std::string(40, 'b'), "treasury"}}};
    reserves::ChainConfig s{"solana", "solana", "Mint", 6, {{"a", sol[0]->url()}, {"b", sol[1]->url()}},
                            {{"acct", "treasury"}}};
    a.chains = {e, s};
    reserves::ReservesConfig rc;
    rc.assets = {a};
    store = reserves::ReserveStore::Open({dir.string(), true}).value();
    monitor = std::make_unique<reserves::ReserveMonitor>(rc, store.get(), clock);
  }
  ~Loopback() {
    monitor.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }
};

void BM_AfterLastInput(benchmark::State& state) {
  Loopback lb;
  const auto key = BenchKey();
  // The inputs of one round, read once; the benchmark is what follows the last response.
  reserves::EvidenceItems evidence;
  std::vector<attest::ChainSupply> chains;
  for (const auto& c : lb.monitor->config().assets[0].chains) chains.push_back(reserves::ReadChainSupply(c, lb.clock, &evidence));
  attest::Snapshot base = BaseSnapshot();
  for (auto _ : state) {
    if (!lb.store->PutEvidence(evidence, lb.clock.NowUnixNanos()).ok()) state.SkipWithError("evidence write failed");
    attest::ReserveAttestation a;
    a.asset = "TSLAx";
    a.isin = "US88160R1014";
    a.max_supply_age_ms = 120000;
    a.max_statement_age_ms = 86400000;
    a.checked_unix_nanos = kNow;
    a.chains = chains;
    a.custodian = attest::CustodianHolding{"acme", "ACC-1", 1, kNow, *Decimal::Parse("1000"), Decimal(), std::string(64, '4')};
    attest::ComputeReserve(&a);
    attest::Snapshot s = base;
    s.reserves.push_back(std::move(a));
    benchmark::DoNotOptimize(attest::SignSnapshot(std::move(s), key));
  }
}
BENCHMARK(BM_AfterLastInput)->Name("reserves/after_last_input")->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_RoundLoopback(benchmark::State& state) {
  Loopback lb;
  for (auto _ : state) {
    if (!lb.monitor->RunRound().ok()) state.SkipWithError("round failed");
  }
}
BENCHMARK(BM_RoundLoopback)->Name("reserves/round_loopback")->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_RpcCall(benchmark::State& state) {
  Loopback lb;
  reserves::ProviderConfig p{"a", lb.evm[0]->url()};
  const nlohmann::json params = nlohmann::json::array({{{"to", "0x" + std::string(40, 'a')}, {"data", "0x18160ddd"}}, "latest"});
  for (auto _ : state) benchmark::DoNotOptimize(reserves::JsonRpcCall(p, "eth_call", params, 2000));
}
BENCHMARK(BM_RpcCall)->Name("baseline/rpc_call_loopback")->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
