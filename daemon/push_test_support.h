// Fixture for the push ingestion and stream tests: the daemon's real pieces (RocksDB store,
// publisher, Ingestor, SnapshotStream, ApiServer on a loopback port) with two registered publishers
// whose keys the test holds, and a helper that signs observation batches.
#pragma once

#include <signal.h>
#include <sys/resource.h>

#include <chrono>
#include <mutex>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "daemon/test_support.h"
#include "plumbline/attest/canonical_json.h"
#include "plumbline/attest/dsse.h"
#include "plumbline/daemon/api_server.h"
#include "plumbline/daemon/ingest.h"
#include "plumbline/daemon/ingest_journal.h"
#include "plumbline/daemon/stream.h"

namespace plumbline::daemon::testing {

inline attest::SigningKey KeyFromSeed(uint8_t b) {
  std::array<uint8_t, 32> seed{};
  seed.fill(b);
  return std::move(attest::SigningKey::FromSeed(seed)).value();
}

inline std::string RawBase64(const attest::PublicKey& key) {
  return attest::Base64Encode(std::string_view(reinterpret_cast<const char*>(key.raw().data()), key.raw().size()));
}

// {"symbol", "price", "observed_time"} plus extra members.
inline nlohmann::json Ob(const std::string& symbol, const std::string& price, int64_t t,
                         nlohmann::json extra = nlohmann::json::object()) {
  nlohmann::json o = {{"symbol", symbol}, {"price", price}, {"observed_time", std::to_string(t)}};
  o.update(extra);
  return o;
}

inline std::string SignBatch(const attest::SigningKey& key, const std::string& publisher, uint64_t sequence,
                             const std::vector<nlohmann::json>& observations) {
  // A vector, not a json: nlohmann reads a one-element brace list as that element, not an array.
  nlohmann::json list = nlohmann::json::array();
  for (const auto& o : observations) list.push_back(o);
  nlohmann::json payload = {{"publisher", publisher}, {"sequence", sequence}, {"observations", list}};
  auto canonical = attest::Canonicalize(payload);
  EXPECT_TRUE(canonical.ok());
  return attest::EnvelopeToJson(attest::SignEnvelope(kObservationsPayloadType, *canonical, key));
}

// While alive, every write of this process to a regular file at or beyond `bytes` fails with EFBIG
// ("File too large"), as on a full disk. A real kernel failure that also stops root (tests run as
// root in CI, where permission bits stop nothing); SIGXFSZ is ignored so the write just fails.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    ::getrlimit(RLIMIT_FSIZE, &old_);
    rlimit limit = old_;
    limit.rlim_cur = bytes;
    EXPECT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    ::signal(SIGXFSZ, old_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit old_{};
  sighandler_t old_handler_ = SIG_DFL;
};

class PushFixture : public DaemonFixture {
 protected:
  // Extra TOML appended to TestConfigText() (after the publishers).
  virtual std::string ExtraConfig() const { return ""; }

  void SetUp() override {
    DaemonFixture::SetUp();
    auto config = ParseConfig(TestConfigText() + R"(
[ingest]
max_future_skew_ms = 2000
max_observations = 4
[[publishers]]
name = "desk1"
public_key = ")" + RawBase64(desk1_.public_key()) + R"("
symbols = ["BTC/USD", "ETH/USD"]
max_age_ms = 10000
batches_per_second = 2
burst = 5
[[publishers]]
name = "desk2"
public_key = ")" + RawBase64(desk2_.public_key()) + R"("
symbols = ["BTC/USD"]
)" + ExtraConfig(), "test.toml");
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    *config_ = std::move(config).value();
    OpenStore();
    OpenIngest();
    StartServer();
  }
  // Opens the journal (<dir_>/ingest, as the daemon does) and an Ingestor over it, which recovers.
  void OpenIngest() {
    ingest_.reset();
    journal_.reset();
    auto journal = IngestJournal::Open((dir_ / "ingest").string());
    ASSERT_TRUE(journal.ok()) << journal.status().ToString();
    journal_ = std::move(journal).value();
    auto ingest = Ingestor::Create(*config_, &book_, clock_, journal_.get());
    ASSERT_TRUE(ingest.ok()) << ingest.status().ToString();
    ingest_ = std::move(ingest).value();
  }
  void StartServer() {
    stream_ = std::make_unique<SnapshotStream>(*config_, *store_, *publisher_);
    server_ = std::make_unique<ApiServer>(*config_, *publisher_, *store_, key_->public_key(), clock_,
                                          [] { return std::vector<feeds::SourceHealth>{}; },
                                          PushApi{ingest_.get(), stream_.get()});
    ASSERT_TRUE(server_->Bind().ok());
    thread_ = std::thread([this] { server_->Run(); });
    client_ = Client();
    for (int i = 0; i < 200; ++i) {
      if (client_->Get("/healthz")) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  void StopServer() {
    if (!server_) return;
    server_->Stop();
    thread_.join();
    server_.reset();
    stream_.reset();
  }
  void TearDown() override {
    StopServer();
    ingest_.reset();
    journal_.reset();
    DaemonFixture::TearDown();
  }
  std::unique_ptr<httplib::Client> Client() const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    c->set_connection_timeout(2, 0);
    c->set_read_timeout(5, 0);
    return c;
  }
  httplib::Result Post(const std::string& body) { return client_->Post("/v1/observations", body, "application/json"); }

  // Publishes one round and tells the stream, as the daemon's main loop does.
  std::shared_ptr<const Published> PublishAndNotify() {
    auto r = publisher_->PublishRound();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return nullptr;
    stream_->Notify(*r);
    return *r;
  }

  attest::SigningKey desk1_ = KeyFromSeed(41);
  attest::SigningKey desk2_ = KeyFromSeed(42);
  attest::SigningKey outsider_ = KeyFromSeed(43);
  std::unique_ptr<IngestJournal> journal_;
  std::unique_ptr<Ingestor> ingest_;
  std::unique_ptr<SnapshotStream> stream_;
  std::unique_ptr<ApiServer> server_;
  std::thread thread_;
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace plumbline::daemon::testing
