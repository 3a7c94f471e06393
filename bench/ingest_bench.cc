// Push ingestion throughput against raw libsodium verification, measured in the same run.
//
//   ingest/submit/N          Ingestor::Submit of pre-signed batches of N observations: envelope
//                            parse, Ed25519 verify (one signature per batch), canonical-JSON check,
//                            payload parse with exact decimals, policy checks, replay state, the
//                            synced IngestJournal write (one fdatasync per batch), book.
//   ingest/http/N            the same batches POSTed to /v1/observations of a real ApiServer on
//                            loopback (keep-alive httplib clients, one per thread; the server's
//                            2 workers and the clients share the same 2 cores).
//   baseline/sodium_verify   crypto_sign_verify_detached over the PAE bytes of the same batches.
// Both run on 1 and 2 threads (2 threads: one publisher per thread, as different publishers are
// independent). items_per_second counts observations, batches_per_second batches.
// bench/run_ingest.sh runs this and prints the ratio table (target ≥ 0.7 per batch of 1).
#include <sodium.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <filesystem>
#include <map>
#include <thread>
#include <memory>
#include <mutex>

#include "plumbline/attest/canonical_json.h"
#include "plumbline/attest/dsse.h"
#include "plumbline/attest/keys.h"
#include <httplib.h>

#include "plumbline/daemon/api_server.h"
#include "plumbline/daemon/config.h"
#include "plumbline/daemon/ingest.h"
#include "plumbline/daemon/ingest_journal.h"

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

// An Ingestor over its own, initially empty journal directory (renewing it forgets the replay state).
struct FreshIngestor {
  std::filesystem::path dir;
  std::unique_ptr<daemon::IngestJournal> journal;
  std::unique_ptr<daemon::Ingestor> ingest;

  FreshIngestor(Fixture* f, int p)
      : dir(std::filesystem::temp_directory_path() /
            ("plumbline-ingest-bench-journal-" + std::to_string(::getpid()) + "-" + std::to_string(p))) {
    std::filesystem::remove_all(dir);
    journal = std::move(daemon::IngestJournal::Open(dir.string())).value();
    ingest = std::move(daemon::Ingestor::Create(f->config, &f->book, f->clock, journal.get())).value();
  }
  ~FreshIngestor() {
    ingest.reset();
    journal.reset();
    std::filesystem::remove_all(dir);
  }
};

void BM_Submit(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const int p = state.thread_index();
  auto [f, batches] = Setup(n, p);
  // One Ingestor (and journal) per thread/publisher over the shared book: publishers share nothing
  // else that is mutable, and each thread can renew its replay state alone. (The daemon shares one
  // journal between publishers; RocksDB group-commits their concurrent synced writes.)
  auto fresh = std::make_unique<FreshIngestor>(f, p);
  daemon::Ingestor* ingest = fresh->ingest.get();
  size_t next = 0;
  for (auto _ : state) {
    if (next == kPool) {  // every pre-signed batch used: fresh replay state (not timed)
      state.PauseTiming();
      fresh.reset();
      fresh = std::make_unique<FreshIngestor>(f, p);
      ingest = fresh->ingest.get();
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

// A daemon's HTTP side for ingest/http: store, publisher (never run), Ingestor, ApiServer.
struct HttpDaemon {
  std::filesystem::path dir;
  attest::SigningKey key = Key(9);
  std::unique_ptr<storage::SnapshotStore> store;
  std::unique_ptr<daemon::Publisher> publisher;
  std::unique_ptr<daemon::IngestJournal> journal;
  std::unique_ptr<daemon::Ingestor> ingest;
  std::unique_ptr<daemon::ApiServer> api;
  std::thread thread;

  HttpDaemon(Fixture* f, size_t n) {
    f->config.listen_port = 0;  // any free port
    f->config.http.threads = 2;
    f->config.http.max_body_bytes = 1 << 20;
    dir = std::filesystem::temp_directory_path() / ("plumbline-ingest-bench-" + std::to_string(::getpid()) + "-" + std::to_string(n));
    std::filesystem::remove_all(dir);
    store = std::move(storage::SnapshotStore::Open({dir.string(), key.KeyId()})).value();
    publisher = std::make_unique<daemon::Publisher>(f->config, &f->book, store.get(), key, f->clock);
    journal = std::move(daemon::IngestJournal::Open((dir / "ingest").string())).value();
    ingest = std::move(daemon::Ingestor::Create(f->config, &f->book, f->clock, journal.get())).value();
    api = std::make_unique<daemon::ApiServer>(f->config, *publisher, *store, key.public_key(), f->clock,
                                              [] { return std::vector<feeds::SourceHealth>{}; },
                                              daemon::PushApi{ingest.get(), nullptr});
    if (!api->Bind().ok()) std::abort();
    thread = std::thread([this] { api->Run(); });
  }
  ~HttpDaemon() {
    api->Stop();
    thread.join();
    api.reset();
    ingest.reset();
    journal.reset();
    std::filesystem::remove_all(dir);
  }
};

// Torn down at the end of main(), before RocksDB's own statics are destroyed.
std::map<size_t, std::unique_ptr<HttpDaemon>> g_daemons;

void BM_Http(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const int p = state.thread_index();
  auto [f, batches] = Setup(n, p);
  // One server per batch size (its Fixture's config), made by whichever thread comes first.
  static std::mutex mu;
  HttpDaemon* daemon;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto& d = g_daemons[n];
    if (!d) d = std::make_unique<HttpDaemon>(f, n);
    daemon = d.get();
  }
  httplib::Client client("127.0.0.1", daemon->api->port());
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);  // else Nagle + delayed ACK add ~40 ms to each POST (headers, then body)
  // The server's replay state lives as long as the server: repetitions continue the sequence.
  static std::map<std::pair<size_t, int>, size_t> cursors;
  size_t next;
  {
    std::lock_guard<std::mutex> lock(mu);
    next = cursors[{n, p}];
  }
  const size_t first = next;
  for (auto _ : state) {
    if (next == kPool) {
      state.SkipWithError("pre-signed batches exhausted; lower the repetitions");
      break;
    }
    auto r = client.Post("/v1/observations", (*batches)[next++], "application/json");
    if (!r || r->status != 200) {
      state.SkipWithError(r ? r->body.c_str() : ("no response: " + httplib::to_string(r.error())).c_str());
      break;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    cursors[{n, p}] = next;
  }
  state.SetItemsProcessed(static_cast<int64_t>((next - first) * n));
  state.counters["batches_per_second"] = benchmark::Counter(static_cast<double>(next - first), benchmark::Counter::kIsRate);
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
BENCHMARK(BM_Http)->Name("ingest/http")->Arg(1)->Arg(100)->Threads(2)->UseRealTime()->Iterations(600);
BENCHMARK(BM_SodiumVerify)->Name("baseline/sodium_verify")->Arg(1)->Arg(10)->Arg(100)->Threads(1)->Threads(2)->UseRealTime();

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  g_daemons.clear();
  return 0;
}
