// Push ingestion throughput against raw libsodium verification, measured in the same run.
//
//   ingest/submit/N          Ingestor::Submit of pre-signed batches of N observations: envelope
//                            parse, Ed25519 verify (one signature per batch), canonical-JSON check,
//                            payload parse with exact decimals, policy checks, replay state, book.
//   baseline/sodium_verify   crypto_sign_verify_detached over the PAE bytes of the same batches.
// Both run on 1 and 2 threads (2 threads: one publisher per thread, as different publishers are
// independent). items_per_second counts observations, batches_per_second batches.
// bench/run_ingest.sh runs this and prints the ratio table (target ≥ 0.7 per batch of 1).
#include <sodium.h>

#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <mutex>

#include "plumbline/attest/canonical_json.h"
#include "plumbline/attest/dsse.h"
#include "plumbline/attest/keys.h"
#include "plumbline/daemon/config.h"
#include "plumbline/daemon/ingest.h"

namespace {

using namespace plumbline;

constexpr int64_t kNow = 1'763'780'000'000'000'000;
constexpr size_t kPool = 4096;  // pre-signed batches per publisher; the Ingestor is renewed after them

attest::SigningKey Key(int i) {
  std::array<uint8_t, 32> seed{};
  seed.fill(static_cast<uint8_t>(100 + i));
  return std::move(attest::SigningKey::FromSeed(seed)).value();
}

std::string Symbol(size_t i) { return "SYM" + std::to_string(1000 + i) + "/USD"; }

// Config (n symbols, two publishers p0/p1) and the book, shared by the benchmark's threads.
struct Fixture {
  daemon::Config config;
  std::vector<attest::SigningKey> keys;
  ManualClock clock{kNow};
  feeds::ObservationBook book;

  explicit Fixture(size_t symbols) {
    std::string text = "key_file = \"unused\"\n";
    for (size_t i = 0; i < symbols; ++i) text += "[[symbols]]\nsymbol = \"" + Symbol(i) + "\"\n";
    text += "[[sources]]\nname = \"dead\"\nformat = \"kraken\"\nbase_url = \"http://127.0.0.1:9\"\nsymbols = { \"" +
            Symbol(0) + "\" = \"X\" }\n[ingest]\nmax_observations = 1000\n";
    for (int p = 0; p < 2; ++p) {
      keys.push_back(Key(p));
      const auto& raw = keys.back().public_key().raw();
      text += "[[publishers]]\nname = \"p" + std::to_string(p) + "\"\npublic_key = \"" +
              attest::Base64Encode(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size())) +
              "\"\nbatches_per_second = 1000000\nburst = 1000000\nsymbols = [";
      for (size_t i = 0; i < symbols; ++i) text += (i ? ",\"" : "\"") + Symbol(i) + "\"";
      text += "]\n";
    }
    config = std::move(daemon::ParseConfig(text, "bench.toml")).value();
  }
};

// Batches 1..kPool of publisher `p` with `n` observations each, every one newer than the last.
std::vector<std::string> Batches(const attest::SigningKey& key, int p, size_t n) {
  std::vector<std::string> out;
  for (size_t b = 0; b < kPool; ++b) {
    nlohmann::json obs = nlohmann::json::array();
    for (size_t i = 0; i < n; ++i) {
      obs.push_back({{"symbol", Symbol(i)},
                     {"price", "67012." + std::to_string(10 + b % 90)},
                     {"bid", "67012.05"},
                     {"ask", "67012.95"},
                     {"observed_time", std::to_string(kNow - 1'000'000'000 + static_cast<int64_t>(b))}});
    }
    nlohmann::json payload = {{"publisher", "p" + std::to_string(p)}, {"sequence", b + 1}, {"observations", obs}};
    out.push_back(attest::EnvelopeToJson(
        attest::SignEnvelope(daemon::kObservationsPayloadType, *attest::Canonicalize(payload), key)));
  }
  return out;
}

std::mutex g_mu;
std::map<size_t, std::unique_ptr<Fixture>> g_fixtures;                       // by batch size
std::map<std::pair<size_t, int>, std::vector<std::string>> g_batches;        // by (size, publisher)

std::pair<Fixture*, const std::vector<std::string>*> Setup(size_t n, int p) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto& f = g_fixtures[n];
  if (!f) f = std::make_unique<Fixture>(n);
  auto& b = g_batches[{n, p}];
  if (b.empty()) b = Batches(f->keys[static_cast<size_t>(p)], p, n);
  return {f.get(), &b};
}

void BM_Submit(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const int p = state.thread_index();
  auto [f, batches] = Setup(n, p);
  // One Ingestor per thread/publisher over the shared book: publishers share nothing else that is
  // mutable, so this is the daemon's contention, and each thread can renew its replay state alone.
  auto ingest = std::move(daemon::Ingestor::Create(f->config, &f->book, f->clock)).value();
  size_t next = 0;
  for (auto _ : state) {
    if (next == kPool) {  // every pre-signed batch used: fresh replay state (not timed)
      state.PauseTiming();
      ingest = std::move(daemon::Ingestor::Create(f->config, &f->book, f->clock)).value();
      next = 0;
      state.ResumeTiming();
    }
    daemon::IngestResult r = ingest->Submit((*batches)[next++]);
    if (!r.ok()) state.SkipWithError(r.detail.c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  state.counters["batches_per_second"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_SodiumVerify(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  auto [f, batches] = Setup(n, state.thread_index());
  auto env = *attest::ParseEnvelope(batches->front());
  const std::string pae = attest::Pae(env.payload_type, env.payload);
  const auto& pk = f->keys[static_cast<size_t>(state.thread_index())].public_key().raw();
  for (auto _ : state) {
    int rc = crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(env.signatures[0].sig.data()),
                                         reinterpret_cast<const unsigned char*>(pae.data()), pae.size(), pk.data());
    if (rc != 0) state.SkipWithError("verify failed");
    benchmark::DoNotOptimize(rc);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["batches_per_second"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(BM_Submit)->Name("ingest/submit")->Arg(1)->Arg(10)->Arg(100)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_SodiumVerify)->Name("baseline/sodium_verify")->Arg(1)->Arg(10)->Arg(100)->Threads(1)->Threads(2)->UseRealTime();

BENCHMARK_MAIN();
