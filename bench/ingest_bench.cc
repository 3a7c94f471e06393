// Push ingestion throughput against raw libsodium verification, measured in the same run
// (bench/run_ingest.sh prints the table; the figure is ingest/load against
// baseline/sodium_verify on 2 threads).
//
//   ingest/load/C/N/W        the figure, end to end: C keep-alive connections over loopback,
//                            one publisher each, keep one POST /v1/observations in flight each
//                            (pre-signed batches of N observations) against a real ApiServer with
//                            W HTTP workers; one epoll client thread, so the clients cost little of
//                            the same 2 cores. Counts 200 answers: each is one signature verified,
//                            the batch checked, written to the journal (group commit, synced) and
//                            applied to the book. journal_group = records per synced write.
//   ingest/bulk/C/L/W/R/V    POST /v1/observations/bulk: C connections, L envelopes (1 observation
//                            each, from 256/C publishers per connection) per request, W workers, R
//                            requests per connection, V verify threads ([ingest].bulk_verify_threads).
//                            signatures_per_second = envelopes verified, journaled and applied.
//   ingest/submit/N          Ingestor::Submit called directly from T threads (one publisher per
//                            thread, one shared journal): no HTTP.
//   journal/rocksdb_put      T threads each doing a synced rocksdb::DB::Put of ~600 bytes on one
//                            database (RocksDB's own write group), syncs_per_write from its stats;
//   journal/group_commit     the same through IngestJournal::Put (its group commit).
//   baseline/sodium_verify   crypto_sign_verify_detached over the PAE bytes of the same batches,
//                            1 and 2 threads.
// items_per_second counts observations, batches_per_second batches (= signatures).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <benchmark/benchmark.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/statistics.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "plumbline/attest/canonical_json.h"
#include "plumbline/attest/dsse.h"
#include "plumbline/attest/keys.h"

#include "plumbline/daemon/api_server.h"
#include "plumbline/daemon/config.h"
#include "plumbline/daemon/ingest.h"
#include "plumbline/daemon/ingest_journal.h"
#include "plumbline/daemon/ops.h"

namespace {

using namespace plumbline;

constexpr int64_t kNow = 1'763'780'000'000'000'000;
constexpr int kMaxPublishers = 256;

attest::SigningKey Key(int i) {
  std::array<uint8_t, 32> seed{};
  seed[0] = static_cast<uint8_t>(i & 0xff);
  seed[1] = static_cast<uint8_t>(i >> 8);
  seed[2] = 0x5a;
  return std::move(attest::SigningKey::FromSeed(seed)).value();
}

std::string Symbol(size_t i) { return "SYM" + std::to_string(1000 + i) + "/USD"; }

// Config (n symbols, kMaxPublishers publishers p0, p1, ...) and the book.
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
    std::string list;
    for (size_t i = 0; i < symbols; ++i) list += (i ? ",\"" : "\"") + Symbol(i) + "\"";
    for (int p = 0; p < kMaxPublishers; ++p) {
      keys.push_back(Key(p));
      const auto& raw = keys.back().public_key().raw();
      text += "[[publishers]]\nname = \"p" + std::to_string(p) + "\"\npublic_key = \"" +
              attest::Base64Encode(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size())) +
              "\"\nbatches_per_second = 1000000\nburst = 1000000\nsymbols = [" + list + "]\n";
    }
    auto parsed = daemon::ParseConfig(text, "bench.toml");
    if (!parsed.ok()) {
      std::fprintf(stderr, "%s\n", parsed.status().ToString().c_str());
      std::abort();
    }
    config = std::move(parsed).value();
  }
};

// Publisher p's batches with sequences first+1 .. first+count, n observations each, every one
// newer than the last.
std::vector<std::string> Batches(const attest::SigningKey& key, int p, size_t n, size_t first, size_t count) {
  std::vector<std::string> out;
  for (size_t b = first; b < first + count; ++b) {
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
std::map<size_t, std::unique_ptr<Fixture>> g_fixtures;  // by batch size

Fixture* FixtureFor(size_t n) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto& f = g_fixtures[n];
  if (!f) f = std::make_unique<Fixture>(n);
  return f.get();
}

// Each publisher's next unused sequence per batch size: a daemon's replay state lives as long as
// it does, so every run continues where the last one stopped.
size_t TakeSequences(size_t n, int p, size_t count) {
  static std::map<std::pair<size_t, int>, size_t> next;
  std::lock_guard<std::mutex> lock(g_mu);
  size_t& v = next[{n, p}];
  const size_t first = v;
  v += count;
  return first;
}

std::filesystem::path TempDir(const std::string& what) {
  auto dir = std::filesystem::temp_directory_path() / ("plumbline-ingest-bench-" + std::to_string(::getpid()) + "-" + what);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// A daemon's ingest side for one batch size: journal and Ingestor, and with `workers` > 0 also the
// snapshot store, publisher (never run) and an ApiServer with that many HTTP workers.
struct Daemon {
  std::filesystem::path dir;
  attest::SigningKey key = Key(9999);
  std::unique_ptr<storage::SnapshotStore> store;
  std::unique_ptr<daemon::Publisher> publisher;
  std::unique_ptr<daemon::IngestJournal> journal;
  std::unique_ptr<daemon::Ingestor> ingest;
  std::unique_ptr<daemon::ApiServer> api;
  std::thread thread;

  Daemon(Fixture* f, size_t n, int workers) {
    dir = TempDir(std::to_string(n) + "-" + std::to_string(workers));
    journal = std::move(daemon::IngestJournal::Open((dir / "ingest").string())).value();
    ingest = std::move(daemon::Ingestor::Create(f->config, &f->book, f->clock, journal.get())).value();
    if (workers == 0) return;
    f->config.listen_port = 0;  // any free port
    f->config.http.threads = workers;
    f->config.http.max_body_bytes = 1 << 20;
    store = std::move(storage::SnapshotStore::Open({dir.string(), key.KeyId()})).value();
    publisher = std::make_unique<daemon::Publisher>(f->config, &f->book, store.get(), key, f->clock);
    api = std::make_unique<daemon::ApiServer>(f->config, *publisher, *store, key.public_key(), f->clock,
                                              [] { return std::vector<feeds::SourceHealth>{}; },
                                              daemon::PushApi{ingest.get(), nullptr});
    if (!api->Bind().ok()) std::abort();
    thread = std::thread([this] { api->Run(); });
  }
  ~Daemon() {
    if (api) {
      api->Stop();
      thread.join();
    }
    api.reset();
    ingest.reset();
    journal.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }
};

// Torn down at the end of main(), before RocksDB's own statics are destroyed.
std::map<std::pair<size_t, int>, std::unique_ptr<Daemon>> g_daemons;  // by (batch size, workers)

Daemon* DaemonFor(size_t n, int workers) {
  Fixture* f = FixtureFor(n);
  std::lock_guard<std::mutex> lock(g_mu);
  auto& d = g_daemons[{n, workers}];
  if (!d) d = std::make_unique<Daemon>(f, n, workers);
  return d.get();
}

// CPU seconds used by the whole process (all threads) so far.
double ProcessCpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

void BM_Submit(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const int p = state.thread_index();
  Fixture* f = FixtureFor(n);
  static std::vector<std::vector<std::string>> batches(kMaxPublishers);
  Daemon* d = DaemonFor(n, 0);
  batches[static_cast<size_t>(p)] =
      Batches(f->keys[static_cast<size_t>(p)], p, n, TakeSequences(n, p, state.max_iterations), state.max_iterations);
  size_t next = 0;
  // (Google Benchmark starts the timed loop of all threads together, after this setup.)
  for (auto _ : state) {
    daemon::IngestResult r = d->ingest->Submit(batches[static_cast<size_t>(p)][next++]);
    if (!r.ok()) state.SkipWithError(r.detail.c_str());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  state.counters["batches_per_second"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// Ingestor::SubmitMany in process (no HTTP): each of T threads submits requests of L envelopes of
// its own publishers (p % T == thread), verify_threads = 1 (the threads already fill the cores).
void BM_SubmitMany(benchmark::State& state) {
  const size_t lines = static_cast<size_t>(state.range(0));
  const int threads = state.threads();
  const int t = state.thread_index();
  Fixture* f = FixtureFor(1);
  Daemon* d = DaemonFor(1, 0);
  const size_t pubs = static_cast<size_t>(kMaxPublishers / threads);
  const size_t per_pub = (lines * state.max_iterations + pubs - 1) / pubs;
  std::vector<std::vector<std::string>> by_pub(pubs);
  for (size_t k = 0; k < pubs; ++k) {
    const int p = t + threads * static_cast<int>(k);
    by_pub[k] = Batches(f->keys[static_cast<size_t>(p)], p, 1, TakeSequences(1, p, per_pub), per_pub);
  }
  std::vector<size_t> used(pubs, 0);
  size_t r = 0;
  double cpu_before = ProcessCpuSeconds();
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<std::string_view> request;
    for (size_t i = 0; i < lines; ++i) {
      const size_t k = (r * lines + i) % pubs;
      request.push_back(by_pub[k][used[k]++]);
    }
    ++r;
    state.ResumeTiming();
    for (const daemon::IngestResult& res : d->ingest->SubmitMany(request, 1)) {
      if (!res.ok()) state.SkipWithError(res.detail.c_str());
    }
  }
  const double cpu = ProcessCpuSeconds() - cpu_before;
  state.counters["signatures_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations() * lines), benchmark::Counter::kIsRate);
  if (t == 0) state.counters["cpu_us_per_signature"] = cpu * 1e6 / static_cast<double>(state.iterations() * lines * threads);
}

// One keep-alive connection of the load generator: a publisher's pre-built requests, one in flight.
struct Conn {
  int fd = -1;
  std::vector<std::string> requests;  // raw HTTP/1.1 requests
  size_t next = 0;                    // next request to send
  size_t sent_bytes = 0;              // of requests[next - 1] while sending
  bool in_flight = false;
  std::string in;
};

int Connect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) std::abort();
  int yes = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  return fd;
}

// Sends what is left of the current request; false on a broken connection.
bool Pump(Conn& c) {
  const std::string& r = c.requests[c.next - 1];
  while (c.sent_bytes < r.size()) {
    ssize_t w = ::send(c.fd, r.data() + c.sent_bytes, r.size() - c.sent_bytes, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) return errno == EAGAIN;
    c.sent_bytes += static_cast<size_t>(w);
  }
  return true;
}

void StartNext(Conn& c) {
  ++c.next;
  c.sent_bytes = 0;
  c.in_flight = true;
  Pump(c);
}

// A complete response at the front of c.in: its status (0 = incomplete). Sets `close` when the
// server ends the connection after it.
int TakeResponse(Conn& c, bool* close, std::string* body) {
  size_t end = c.in.find("\r\n\r\n");
  if (end == std::string::npos) return 0;
  std::string head = c.in.substr(0, end);
  for (char& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  size_t length = 0;
  if (size_t at = head.find("content-length:"); at != std::string::npos) length = std::stoul(head.substr(at + 15));
  if (c.in.size() < end + 4 + length) return 0;
  *close = head.find("connection: close") != std::string::npos;
  *body = c.in.substr(end + 4, length);
  const int status = std::stoi(c.in.substr(9, 3));
  c.in.erase(0, end + 4 + length);
  return status;
}

void BM_Load(benchmark::State& state) {
  const int conns = static_cast<int>(state.range(0));
  const size_t n = static_cast<size_t>(state.range(1));
  const int workers = static_cast<int>(state.range(2));
  const size_t per_conn = static_cast<size_t>(state.range(3));
  Fixture* f = FixtureFor(n);
  Daemon* d = DaemonFor(n, workers);
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<Conn> cs(static_cast<size_t>(conns));
    const std::string head = "POST /v1/observations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
    for (int p = 0; p < conns; ++p) {
      for (std::string& body :
           Batches(f->keys[static_cast<size_t>(p)], p, n, TakeSequences(n, p, per_conn), per_conn)) {
        cs[static_cast<size_t>(p)].requests.push_back(head + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
      }
    }
    const int ep = ::epoll_create1(0);
    for (int p = 0; p < conns; ++p) {
      cs[static_cast<size_t>(p)].fd = Connect(d->api->port());
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u32 = static_cast<uint32_t>(p);
      ::epoll_ctl(ep, EPOLL_CTL_ADD, cs[static_cast<size_t>(p)].fd, &ev);
    }
    const auto before = d->journal->commit_stats();
    state.ResumeTiming();
    const double cpu_before = ProcessCpuSeconds();
    const auto started = std::chrono::steady_clock::now();
    for (Conn& c : cs) StartNext(c);
    size_t done = 0, total = static_cast<size_t>(conns) * per_conn;
    std::string error;
    std::vector<epoll_event> events(static_cast<size_t>(conns));
    char buf[16384];
    while (done < total && error.empty()) {
      int k = ::epoll_wait(ep, events.data(), conns, 1000);
      if (k <= 0) {
        error = "no answer for 1 s";
        break;
      }
      for (int e = 0; e < k; ++e) {
        Conn& c = cs[events[static_cast<size_t>(e)].data.u32];
        Pump(c);
        ssize_t r = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
        if (r == 0) {  // closed by the server (keep-alive limit): reconnect and resend
          ::epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
          ::close(c.fd);
          c.fd = Connect(d->api->port());
          epoll_event ev = events[static_cast<size_t>(e)];
          ev.events = EPOLLIN;
          ::epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
          c.in.clear();
          if (c.in_flight) {
            c.sent_bytes = 0;
            Pump(c);
          }
          continue;
        }
        if (r < 0) continue;
        c.in.append(buf, static_cast<size_t>(r));
        bool close = false;
        std::string body;
        while (int status = TakeResponse(c, &close, &body)) {
          if (status != 200) {
            error = "HTTP " + std::to_string(status) + ": " + body;
            break;
          }
          ++done;
          c.in_flight = false;
          if (c.next < c.requests.size()) StartNext(c);
        }
        (void)close;  // the server's close arrives as r == 0 next
      }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const double cpu = ProcessCpuSeconds() - cpu_before;
    state.PauseTiming();
    for (Conn& c : cs) ::close(c.fd);
    ::close(ep);
    const auto after = d->journal->commit_stats();
    state.ResumeTiming();
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      break;
    }
    state.SetIterationTime(seconds);
    state.counters["batches_per_second"] = static_cast<double>(total) / seconds;
    state.counters["observations_per_second"] = static_cast<double>(total * n) / seconds;
    state.counters["cores_used"] = cpu / seconds;  // server and client together
    state.counters["cpu_us_per_batch"] = cpu * 1e6 / static_cast<double>(total);
    state.counters["journal_group"] =
        static_cast<double>(after.records - before.records) / static_cast<double>(std::max<uint64_t>(1, after.writes - before.writes));
  }
}

// Raw crypto_sign_verify_detached on 2 threads for about `seconds`, now: verifications per second
// (wall) and process CPU µs per verification. BM_Bulk runs it right before and after each load,
// so the machine's other load (2 shared cores) is about the same for both, and at the HTTP
// workers' priority (nice +5, LowerHttpWorkerPriority): on a machine busy with other work a
// nice-0 baseline would get about 3 times the CPU share of the code it is compared with.
struct RawVerify {
  double per_second = 0;
  double cpu_us = 0;
};
RawVerify MeasureRawVerify(Fixture* f, double seconds) {
  const std::string body = Batches(f->keys[0], 0, 1, 0, 1).front();
  auto env = *attest::ParseEnvelope(body);
  const std::string pae = attest::Pae(env.payload_type, env.payload);
  const auto& pk = f->keys[0].public_key().raw();
  std::atomic<uint64_t> count{0};
  std::atomic<bool> stop{false};
  const double cpu_before = ProcessCpuSeconds();
  const auto started = std::chrono::steady_clock::now();
  auto work = [&] {
    daemon::LowerHttpWorkerPriority();
    uint64_t mine = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      if (crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(env.signatures[0].sig.data()),
                                      reinterpret_cast<const unsigned char*>(pae.data()), pae.size(), pk.data()) != 0) {
        std::abort();
      }
      ++mine;
    }
    count += mine;
  };
  std::thread a(work), b(work);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  a.join();
  b.join();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double cpu = ProcessCpuSeconds() - cpu_before;
  return {static_cast<double>(count) / wall, cpu * 1e6 / static_cast<double>(count)};
}

// POST /v1/observations/bulk: C keep-alive connections, each keeping one request of L envelopes
// (1 observation each) in flight. Connection c carries the publishers p with p % C == c (so no two
// requests in flight share a publisher), L / (256 / C) lines each per request, in sequence order.
// bulk_verify_threads = V. Counts envelopes verified and accepted (every result line 200).
void BM_Bulk(benchmark::State& state) {
  const int conns = static_cast<int>(state.range(0));
  const size_t lines = static_cast<size_t>(state.range(1));
  const int workers = static_cast<int>(state.range(2));
  const size_t per_conn = static_cast<size_t>(state.range(3));
  const size_t n = 1;
  Fixture* f = FixtureFor(n);
  f->config.ingest.bulk_verify_threads = state.range(4);  // read by the route at each request
  Daemon* d = DaemonFor(n, workers);
  const size_t pubs_per_conn = static_cast<size_t>(kMaxPublishers / conns);
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<Conn> cs(static_cast<size_t>(conns));
    const std::string head =
        "POST /v1/observations/bulk HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-ndjson\r\n";
    for (int c = 0; c < conns; ++c) {
      // Each of this connection's publishers gets its batches in sequence order, spread over the lines.
      std::vector<std::vector<std::string>> by_pub(pubs_per_conn);
      std::vector<size_t> used(pubs_per_conn, 0);
      const size_t per_pub = (lines * per_conn + pubs_per_conn - 1) / pubs_per_conn;
      for (size_t k = 0; k < pubs_per_conn; ++k) {
        const int p = c + conns * static_cast<int>(k);
        by_pub[k] = Batches(f->keys[static_cast<size_t>(p)], p, n, TakeSequences(n, p, per_pub), per_pub);
      }
      for (size_t r = 0; r < per_conn; ++r) {
        std::string body;
        for (size_t i = 0; i < lines; ++i) {
          const size_t k = (r * lines + i) % pubs_per_conn;
          body += by_pub[k][used[k]++];
          body += '\n';
        }
        cs[static_cast<size_t>(c)].requests.push_back(head + "Content-Length: " + std::to_string(body.size()) +
                                                      "\r\n\r\n" + body);
      }
    }
    const int ep = ::epoll_create1(0);
    for (int c = 0; c < conns; ++c) {
      cs[static_cast<size_t>(c)].fd = Connect(d->api->port());
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u32 = static_cast<uint32_t>(c);
      ::epoll_ctl(ep, EPOLL_CTL_ADD, cs[static_cast<size_t>(c)].fd, &ev);
    }
    const auto before = d->journal->commit_stats();
    const RawVerify raw_before = MeasureRawVerify(f, 0.3);
    state.ResumeTiming();
    const double cpu_before = ProcessCpuSeconds();
    const auto started = std::chrono::steady_clock::now();
    // EPOLLOUT only while a request is not completely sent (level-triggered: else a busy loop).
    auto arm = [&](Conn& c, uint32_t index) {
      epoll_event ev{};
      const bool unsent = c.in_flight && c.sent_bytes < c.requests[c.next - 1].size();
      ev.events = EPOLLIN | (unsent ? EPOLLOUT : 0u);
      ev.data.u32 = index;
      ::epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
    };
    for (size_t i = 0; i < cs.size(); ++i) {
      StartNext(cs[i]);
      arm(cs[i], static_cast<uint32_t>(i));
    }
    size_t done = 0;
    const size_t total = static_cast<size_t>(conns) * per_conn;
    std::string error;
    std::vector<epoll_event> events(static_cast<size_t>(conns));
    std::vector<char> buf(1 << 16);
    while (done < total && error.empty()) {
      int k = ::epoll_wait(ep, events.data(), conns, 5000);
      if (k <= 0) {
        error = "no answer for 5 s";
        break;
      }
      for (int e = 0; e < k; ++e) {
        const uint32_t index = events[static_cast<size_t>(e)].data.u32;
        Conn& c = cs[index];
        if (c.in_flight && !Pump(c)) error = "send failed";
        arm(c, index);
        ssize_t r = ::recv(c.fd, buf.data(), buf.size(), MSG_DONTWAIT);
        if (r == 0) {  // closed by the server (keep-alive limit): reconnect and resend
          ::epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
          ::close(c.fd);
          c.fd = Connect(d->api->port());
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.u32 = index;
          ::epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
          c.in.clear();
          if (c.in_flight) {
            c.sent_bytes = 0;
            Pump(c);
            arm(c, index);
          }
          continue;
        }
        if (r < 0) continue;
        c.in.append(buf.data(), static_cast<size_t>(r));
        bool close = false;
        std::string body;
        while (int status = TakeResponse(c, &close, &body)) {
          size_t ok = 0;
          for (size_t at = body.find("\"status\":200"); at != std::string::npos; at = body.find("\"status\":200", at + 1)) ++ok;
          if (status != 200 || ok != lines) {
            error = "HTTP " + std::to_string(status) + ", " + std::to_string(ok) + " lines accepted: " + body.substr(0, 300);
            break;
          }
          ++done;
          c.in_flight = false;
          if (c.next < c.requests.size()) {
            StartNext(c);
            arm(c, index);
          }
        }
      }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const double cpu = ProcessCpuSeconds() - cpu_before;
    state.PauseTiming();
    for (Conn& c : cs) ::close(c.fd);
    ::close(ep);
    const auto after = d->journal->commit_stats();
    const RawVerify raw_after = MeasureRawVerify(f, 0.3);
    state.ResumeTiming();
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      break;
    }
    const double raw_rate = (raw_before.per_second + raw_after.per_second) / 2;
    const double raw_cpu_us = (raw_before.cpu_us + raw_after.cpu_us) / 2;
    const double signatures = static_cast<double>(total * lines);
    state.SetIterationTime(seconds);
    state.counters["signatures_per_second"] = signatures / seconds;
    state.counters["cores_used"] = cpu / seconds;  // server and client together
    state.counters["cpu_us_per_signature"] = cpu * 1e6 / signatures;
    state.counters["raw_verify_per_second"] = raw_rate;
    state.counters["ratio_wall"] = signatures / seconds / raw_rate;
    state.counters["ratio_cpu"] = raw_cpu_us / (cpu * 1e6 / signatures);
    state.counters["syncs_per_request"] =
        static_cast<double>(after.writes - before.writes) / static_cast<double>(total);
  }
}

// Synced writes from T threads on one database, with and without the journal's group commit.
struct SyncTarget {
  std::filesystem::path dir;
  std::shared_ptr<rocksdb::Statistics> stats = rocksdb::CreateDBStatistics();
  std::unique_ptr<rocksdb::DB> db;
  std::unique_ptr<daemon::IngestJournal> journal;
  explicit SyncTarget(bool group) : dir(TempDir(group ? "group" : "rocksdb")) {
    if (group) {
      journal = std::move(daemon::IngestJournal::Open(dir.string())).value();
      return;
    }
    rocksdb::Options o;
    o.create_if_missing = true;
    o.statistics = stats;
    rocksdb::DB* raw = nullptr;
    if (!rocksdb::DB::Open(o, dir.string(), &raw).ok()) std::abort();
    db.reset(raw);
  }
  ~SyncTarget() {
    db.reset();
    journal.reset();
    std::filesystem::remove_all(dir);
  }
};

template <bool kGroup>
void BM_SyncedWrites(benchmark::State& state) {
  static std::unique_ptr<SyncTarget> target;
  static std::atomic<uint64_t> syncs_before{0};
  if (state.thread_index() == 0) {
    target = std::make_unique<SyncTarget>(kGroup);
    syncs_before = kGroup ? 0 : target->stats->getTickerCount(rocksdb::WAL_FILE_SYNCED);
  }
  const std::string key = "pub/p" + std::to_string(state.thread_index());
  const std::string value(600, 'x');
  rocksdb::WriteOptions wo;
  wo.sync = true;
  uint64_t i = 0;
  for (auto _ : state) {
    if constexpr (kGroup) {
      if (!target->journal->Put(key, ++i, 0, value).ok()) state.SkipWithError("write failed");
    } else {
      if (!target->db->Put(wo, key, value).ok()) state.SkipWithError("write failed");
    }
  }
  state.counters["writes_per_second"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  if (state.thread_index() == 0) {
    // Syncs per write over all threads (thread 0 reads after its own loop; the others finish at
    // about the same time, so this is close).
    const double writes = static_cast<double>(state.iterations()) * state.threads();
    const double syncs = kGroup ? static_cast<double>(target->journal->commit_stats().writes)
                                : static_cast<double>(target->stats->getTickerCount(rocksdb::WAL_FILE_SYNCED) - syncs_before);
    state.counters["syncs_per_write"] = syncs / writes;
    target.reset();  // before RocksDB's statics go
  }
}

void BM_SodiumVerify(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Fixture* f = FixtureFor(n);
  const int p = state.thread_index();
  const std::string body = Batches(f->keys[static_cast<size_t>(p)], p, n, 0, 1).front();
  auto env = *attest::ParseEnvelope(body);
  const std::string pae = attest::Pae(env.payload_type, env.payload);
  const auto& pk = f->keys[static_cast<size_t>(p)].public_key().raw();
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

// (connections, observations per batch, HTTP workers, batches per connection per run)
BENCHMARK(BM_Load)->Name("ingest/load")
    ->Args({8, 1, 8, 400})->Args({32, 1, 32, 250})->Args({64, 1, 64, 200})->Args({256, 1, 256, 60})
    ->Args({64, 16, 64, 120})->Args({256, 16, 256, 40})
    ->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);
// (connections, envelopes per request, HTTP workers, requests per connection per run, verify threads)
BENCHMARK(BM_Bulk)->Name("ingest/bulk")
    ->Args({1, 64, 8, 80, 1})->Args({1, 64, 8, 80, 2})->Args({4, 64, 8, 40, 1})->Args({4, 64, 8, 40, 2})
    ->Args({4, 256, 8, 10, 1})->Args({4, 256, 8, 10, 2})->Args({16, 256, 16, 3, 2})
    ->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SubmitMany)->Name("ingest/submit_many")->Arg(256)->Threads(1)->Threads(2)->Iterations(20)->UseRealTime();
BENCHMARK(BM_Submit)->Name("ingest/submit")->Arg(1)->Arg(16)->Threads(2)->Threads(64)->Iterations(150)->UseRealTime();
BENCHMARK(BM_SyncedWrites<false>)->Name("journal/rocksdb_put")->Threads(1)->Threads(64)->Iterations(150)->UseRealTime();
BENCHMARK(BM_SyncedWrites<true>)->Name("journal/group_commit")->Threads(1)->Threads(64)->Iterations(150)->UseRealTime();
BENCHMARK(BM_SodiumVerify)->Name("baseline/sodium_verify")->Arg(1)->Arg(16)->Threads(1)->Threads(2)->UseRealTime();

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  g_daemons.clear();
  return 0;
}
