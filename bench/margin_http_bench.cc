// POST /v1/margin/evaluate-batch throughput on loopback: a real daemon ApiServer (2 worker
// threads, as many as the machine's 2 cores) serving the demo risk file against one published,
// signed snapshot; two client threads each post batches of 1,000 accounts (4 collateral assets,
// 4 positions each, the same shape as bench/margin_bench.cc) and read the NDJSON stream to its end.
//
//   margin_http/batch_1000x2clients   accounts per second through the endpoint (JSON parse +
//                                     evaluation + JSON rendering + HTTP), client included
//   baseline/library_1000             the same 1,000 accounts through Evaluator::EvaluateInto and
//                                     AppendValuationJson in-process, one thread (no HTTP, no
//                                     request parsing)
//   baseline/parse_1000               only the request side of the same batch: json::parse of the
//                                     body and AccountFromJson of each account, one thread (what
//                                     the endpoint paid before evaluating anything, and still
//                                     pays for bodies the fast reader declines)
//   margin/fast_read_1000             the same body through ReadBatchFast (what the endpoint pays
//                                     for a well-formed body), one thread
#include <benchmark/benchmark.h>
#include <httplib.h>

#include <filesystem>
#include <random>
#include <thread>

#include "plumbline/daemon/api_server.h"
#include "plumbline/daemon/margin_routes.h"
#include "plumbline/margin/json.h"

namespace {

using namespace plumbline;
using nlohmann::json;

constexpr int64_t kNow = 1'763'780'000'000'000'000;
constexpr size_t kBatch = 1000;

std::string ConfigText(const std::string& risk) {
  std::string symbols, s1, s2, s3;
  for (const char* sym : {"BTC/USD", "ETH/USD", "SOL/USD", "AAPLx/USD"}) {
    symbols += std::string("[[symbols]]\nsymbol = \"") + sym + "\"\n";
  }
  std::string src;
  for (const char* name : {"a", "b", "c"}) {
    src += std::string("[[sources]]\nname = \"") + name +
           "\"\nformat = \"kraken\"\nbase_url = \"http://127.0.0.1:1\"\nmax_age_ms = 60000\n"
           "symbols = { \"BTC/USD\" = \"X\", \"ETH/USD\" = \"E\", \"SOL/USD\" = \"S\", \"AAPLx/USD\" = \"A\" }\n";
  }
  return "listen = \"127.0.0.1:0\"\nkey_file = \"unused\"\nrisk_file = \"" + risk +
         "\"\n[http]\nthreads = 2\nmax_body_bytes = 16777216\nwrite_timeout_ms = 60000\nread_timeout_ms = 60000\n" +
         symbols + src;
}

json AccountJson(std::mt19937_64& rng, size_t i) {
  auto pick = [&](int lo, int hi) { return std::to_string(lo + static_cast<int>(rng() % static_cast<uint64_t>(hi - lo + 1))); };
  auto pos = [&](const char* asset, const char* kind, const char* side, std::string qty, std::string entry, const char* lev) {
    json p = {{"asset", asset}, {"kind", kind}, {"side", side}, {"quantity", qty}, {"entry_price", entry},
              {"opened_time", std::to_string(kNow - 3600LL * 1'000'000'000 * (1 + static_cast<int64_t>(rng() % 200)))}};
    if (lev) p["leverage"] = lev;
    return p;
  };
  return {{"id", "acct-" + std::to_string(i)},
          {"collateral", {{{"asset", "USD"}, {"quantity", pick(1000, 200000) + ".25"}},
                          {{"asset", "BTC"}, {"quantity", "0." + pick(100000, 999999)}},
                          {{"asset", "ETH"}, {"quantity", pick(1, 20) + ".5"}},
                          {{"asset", "AAPLx"}, {"quantity", pick(1, 500)}}}},
          {"positions", {pos("BTC", "spot_margin", "long", "0." + pick(10, 99), pick(60000, 70000), "3"),
                         pos("ETH", "perpetual", "short", pick(1, 30), pick(3000, 4000) + ".5", nullptr),
                         pos("SOL", "perpetual", "long", pick(10, 900), pick(150, 190), "10"),
                         pos("AAPLx", "spot_margin", "short", pick(1, 100), pick(200, 250), "2")}}};
}

struct Daemon {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("plumbline-margin-bench-" + std::to_string(::getpid()));
  std::unique_ptr<daemon::Config> config;
  std::unique_ptr<attest::SigningKey> key;
  ManualClock clock{kNow};
  feeds::ObservationBook book;
  std::unique_ptr<storage::SnapshotStore> store;
  std::unique_ptr<daemon::Publisher> publisher;
  std::unique_ptr<daemon::ApiServer> api;
  std::thread thread;

  Daemon() {
    std::filesystem::remove_all(dir);
    config = std::make_unique<daemon::Config>(
        *daemon::ParseConfig(ConfigText(PLUMBLINE_SOURCE_DIR "/deploy/demo/risk.toml"), "bench.toml"));
    std::array<uint8_t, 32> seed{};
    seed[0] = 9;
    key = std::make_unique<attest::SigningKey>(std::move(attest::SigningKey::FromSeed(seed)).value());
    store = std::move(storage::SnapshotStore::Open({dir.string(), key->KeyId()})).value();
    publisher = std::make_unique<daemon::Publisher>(*config, &book, store.get(), *key, clock);
    (void)publisher->Resume();
    for (const char* src : {"a", "b", "c"}) {
      for (auto [sym, price] : {std::pair{"BTC/USD", "67012.35"}, {"ETH/USD", "3521.17"}, {"SOL/USD", "171.234"},
                                {"AAPLx/USD", "229.87"}}) {
        Observation o;
        o.source = src;
        o.symbol = sym;
        o.price = *Decimal::Parse(price);
        o.observed_unix_nanos = o.received_unix_nanos = kNow;
        book.Put(o);
      }
    }
    if (!publisher->PublishRound().ok()) std::abort();
    api = std::make_unique<daemon::ApiServer>(*config, *publisher, *store, key->public_key(), clock,
                                              [] { return std::vector<feeds::SourceHealth>{}; });
    if (!api->Bind().ok()) std::abort();
    thread = std::thread([this] { api->Run(); });
  }
  ~Daemon() {
    api->Stop();
    thread.join();
    api.reset();
    publisher.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }
};

std::string BatchBody() {
  std::mt19937_64 rng(42);
  json accounts = json::array();
  for (size_t i = 0; i < kBatch; ++i) accounts.push_back(AccountJson(rng, i));
  return json{{"accounts", accounts}}.dump();
}

void BM_BatchEndpoint(benchmark::State& state) {
  Daemon d;
  const std::string body = BatchBody();
  const int clients = static_cast<int>(state.range(0));
  size_t lines = 0;
  for (auto _ : state) {
    std::vector<std::thread> threads;
    std::vector<size_t> counts(clients);
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        httplib::Client client("127.0.0.1", d.api->port());
        client.set_read_timeout(60, 0);
        auto r = client.Post("/v1/margin/evaluate-batch", body, "application/json");
        if (r && r->status == 200) counts[c] = static_cast<size_t>(std::count(r->body.begin(), r->body.end(), '\n'));
      });
    }
    for (auto& t : threads) t.join();
    for (size_t n : counts) lines += n;
  }
  if (lines != state.iterations() * clients * (kBatch + 1)) state.SkipWithError("short or failed responses");
  state.counters["accounts_per_s"] =
      benchmark::Counter(static_cast<double>(kBatch * clients), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_LibraryBaseline(benchmark::State& state) {
  auto params = std::make_shared<const margin::RiskParams>(*margin::LoadRiskParams(PLUMBLINE_SOURCE_DIR "/deploy/demo/risk.toml"));
  Daemon d;
  auto latest = d.publisher->Latest();
  margin::Evaluator ev(params, std::make_shared<const margin::MarketView>(
                                   daemon::MarketViewFromSnapshot(latest->signed_snapshot, *params)));
  json parsed = json::parse(BatchBody());
  std::vector<margin::Account> accounts;
  for (const json& a : parsed["accounts"]) accounts.push_back(*margin::AccountFromJson(a));
  margin::Valuation v;
  std::string out;
  for (auto _ : state) {
    out.clear();
    for (const margin::Account& a : accounts) {
      if (!ev.EvaluateInto(a, kNow, {}, &v).ok()) std::abort();
      margin::AppendValuationJson(v, &out);
    }
    benchmark::DoNotOptimize(out.size());
  }
  state.counters["accounts_per_s"] = benchmark::Counter(static_cast<double>(kBatch), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_ParseBaseline(benchmark::State& state) {
  const std::string body = BatchBody();
  size_t n = 0;
  for (auto _ : state) {
    json parsed = json::parse(body);
    for (const json& a : parsed["accounts"]) n += margin::AccountFromJson(a)->positions.size();
  }
  benchmark::DoNotOptimize(n);
  state.counters["accounts_per_s"] = benchmark::Counter(static_cast<double>(kBatch), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_FastRead(benchmark::State& state) {
  const std::string body = BatchBody();
  std::vector<margin::Account> accounts;
  std::optional<uint64_t> seq;
  for (auto _ : state) {
    if (!margin::ReadBatchFast(body, &accounts, &seq) || accounts.size() != kBatch) std::abort();
  }
  state.counters["accounts_per_s"] = benchmark::Counter(static_cast<double>(kBatch), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(BM_BatchEndpoint)->Name("margin_http/batch_1000")->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3);
BENCHMARK(BM_LibraryBaseline)->Name("baseline/library_1000")->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK(BM_ParseBaseline)->Name("baseline/parse_1000")->Unit(benchmark::kMillisecond)->MinTime(1);
BENCHMARK(BM_FastRead)->Name("margin/fast_read_1000")->Unit(benchmark::kMillisecond)->MinTime(1);
BENCHMARK_MAIN();
