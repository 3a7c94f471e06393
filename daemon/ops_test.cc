// The operations surface against the real server on loopback: /metrics, request metrics by route
// template, the admin reload endpoint and its token, abuse (oversize headers and bodies, stalled
// clients, traversal, odd methods), HTTPS with a self-signed certificate made by openssl, and
// the reload rules.
#include "plumbline/daemon/ops.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>
#include <future>
#include <sstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "daemon/test_support.h"
#include "plumbline/attest/canonical_json.h"
#include "plumbline/daemon/api_server.h"

namespace plumbline::daemon {
namespace {

constexpr char kToken[] = "s3cr3t-admin-token-0123456789abcdef";

// A raw TCP connection, for requests httplib's client will not send.
class RawConn {
 public:
  explicit RawConn(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~RawConn() { ::close(fd_); }
  bool connected() const { return connected_; }
  void Send(const std::string& s) { (void)!::send(fd_, s.data(), s.size(), MSG_NOSIGNAL); }
  // Everything until the peer closes or `limit` bytes.
  std::string ReadAll(size_t limit = 1 << 20) {
    std::string out;
    char buf[4096];
    while (out.size() < limit) {
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

class OpsServerTest : public testing::DaemonFixture {
 protected:
  void SetUp() override {
    DaemonFixture::SetUp();
    auto m = DaemonMetrics::Create(&registry_);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    metrics_ = std::move(m).value();
    auto token = AdminToken::FromString(kToken);
    ASSERT_TRUE(token.ok());
    token_ = std::make_shared<const AdminToken>(std::move(token).value());
  }
  void TearDown() override {
    StopServer();
    DaemonFixture::TearDown();
  }
  // Starts a server for `config` (the fixture's by default) with the hooks.
  void StartServer(const Config* config = nullptr, bool with_token = true) {
    server_config_ = std::make_unique<Config>(config ? *config : *config_);
    server_ = std::make_unique<ApiServer>(*server_config_, *publisher_, *store_, key_->public_key(), clock_,
                                          [] { return std::vector<feeds::SourceHealth>{}; });
    OpsHooks hooks;
    hooks.registry = &registry_;
    hooks.metrics = metrics_.get();
    if (with_token) hooks.admin_token = token_;
    hooks.reload = [this]() -> Result<std::string> {
      ++reloads_;
      return reload_outcome_;
    };
    server_->SetOps(std::move(hooks));
    Status bound = server_->Bind();
    ASSERT_TRUE(bound.ok()) << bound.ToString();
    thread_ = std::thread([this] { server_->Run(); });
    if (!server_config_->tls.enabled()) {
      client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
      client_->set_connection_timeout(2, 0);
      client_->set_read_timeout(10, 0);
      for (int i = 0; i < 200 && !client_->Get("/healthz"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  void StopServer() {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }
  void Publish() {
    FillFresh("67000.10", "67000.30", "67000.20");
    auto r = publisher_->PublishRound();
    ASSERT_TRUE(r.ok());
    const auto& snap = (*r)->signed_snapshot.snapshot;
    metrics_->RoundPublished(std::chrono::milliseconds(3), snap.sequence, snap.time_unix_nanos, snap.marks);
    clock_.Advance(kNanosPerSecond);
  }
  nlohmann::json ExpectProblem(const httplib::Result& r, int status, const std::string& type) {
    EXPECT_TRUE(r);
    if (!r) return {};
    EXPECT_EQ(r->status, status) << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/problem+json");
    auto body = nlohmann::json::parse(r->body, nullptr, false);
    EXPECT_EQ(body.value("type", ""), "/problems/" + type) << r->body;
    EXPECT_FALSE(body.value("detail", "").empty());
    return body;
  }
  std::string Metrics() {
    auto r = client_->Get("/metrics");
    EXPECT_TRUE(r);
    if (!r) return "";
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->get_header_value("Content-Type"), std::string(Registry::kContentType));
    return r->body;
  }
  // Requests are counted after their response is written, so a scrape on another connection may
  // run just before the last count: wait (briefly) until `needle` shows.
  std::string MetricsShowing(const std::string& needle) {
    std::string m;
    for (int i = 0; i < 200; ++i) {
      m = Metrics();
      if (m.find(needle) != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return m;
  }
  httplib::Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

  Registry registry_;
  std::unique_ptr<DaemonMetrics> metrics_;
  std::shared_ptr<const AdminToken> token_;
  std::unique_ptr<Config> server_config_;
  std::unique_ptr<ApiServer> server_;
  std::thread thread_;
  std::unique_ptr<httplib::Client> client_;
  int reloads_ = 0;
  Result<std::string> reload_outcome_ = std::string("config test.toml: 2 symbols");
};

TEST_F(OpsServerTest, MetricsReportRoundsLogAndRequestsByRouteTemplate) {
  StartServer();
  Publish();
  Publish();
  metrics_->SetTreeSize(store_->TreeSize());
  ASSERT_TRUE(client_->Get("/v1/snapshots/1"));
  ASSERT_TRUE(client_->Get("/v1/snapshots/2"));
  ASSERT_TRUE(client_->Get("/v1/marks/BTC-USD"));
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(client_->Get("/random/path/" + std::to_string(i)));
  const std::string m = MetricsShowing("code=\"404\"} 50\n");
  EXPECT_NE(m.find("plumbline_published_sequence 2\n"), std::string::npos) << m;
  EXPECT_NE(m.find("plumbline_log_tree_size 2\n"), std::string::npos) << m;
  EXPECT_NE(m.find("plumbline_rounds_total{result=\"ok\"} 2\n"), std::string::npos) << m;
  EXPECT_NE(m.find("plumbline_marks{status=\"ok\"} 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("plumbline_marks{status=\"insufficient_sources\"} 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("plumbline_round_duration_seconds_count 2\n"), std::string::npos) << m;
  // Both sequences count under one template; 50 random paths under one "unmatched" series.
  EXPECT_NE(m.find("plumbline_http_requests_total{route=\"/v1/snapshots/{seq}\",method=\"GET\",code=\"200\"} 2\n"),
            std::string::npos) << m;
  EXPECT_NE(m.find("plumbline_http_requests_total{route=\"/v1/marks/{symbol}\",method=\"GET\",code=\"200\"} 1\n"),
            std::string::npos) << m;
  EXPECT_NE(m.find("plumbline_http_requests_total{route=\"unmatched\",method=\"GET\",code=\"404\"} 50\n"),
            std::string::npos) << m;
  EXPECT_EQ(m.find("/random/path"), std::string::npos);
  EXPECT_EQ(m.find("/v1/snapshots/1\""), std::string::npos);
  EXPECT_NE(m.find("plumbline_http_request_duration_seconds_bucket{route=\"/v1/snapshots/{seq}\",le=\"+Inf\"} 2"),
            std::string::npos) << m;
}

TEST_F(OpsServerTest, SourceHealthBecomesUpAgeAndPollCounters) {
  feeds::SourceHealth a;
  a.source = "a";
  a.successes = 5;
  a.errors = 1;
  a.last_success_unix_nanos = clock_.NowUnixNanos() - 2 * kNanosPerSecond;
  a.last_poll_duration_nanos = 25 * kNanosPerMilli;
  feeds::SourceHealth b;
  b.source = "b";
  b.errors = 3;
  b.last_error = "connection refused";
  metrics_->Sources({a, b}, config_->sources, clock_.NowUnixNanos());
  // A restarted poller (reload) starts its counts at zero: the counters must not go down.
  a.successes = 1;
  metrics_->Sources({a, b}, config_->sources, clock_.NowUnixNanos());
  const std::string m = registry_.Expose();
  EXPECT_NE(m.find("plumbline_source_up{source=\"a\"} 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("plumbline_source_up{source=\"b\"} 0\n"), std::string::npos) << m;
  EXPECT_NE(m.find("plumbline_source_last_success_age_seconds{source=\"a\"} 2\n"), std::string::npos) << m;
  EXPECT_NE(m.find("plumbline_source_last_success_age_seconds{source=\"b\"} -1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("plumbline_source_poll_duration_seconds{source=\"a\"} 0.025\n"), std::string::npos) << m;
  EXPECT_NE(m.find("plumbline_source_polls_total{source=\"a\",result=\"ok\"} 5\n"), std::string::npos) << m;
  EXPECT_NE(m.find("plumbline_source_polls_total{source=\"b\",result=\"error\"} 3\n"), std::string::npos) << m;
}

TEST_F(OpsServerTest, CollectorsRunAtEveryScrape) {
  int scrapes = 0;
  registry_.AddCollector([&] { metrics_->SetTreeSize(static_cast<uint64_t>(++scrapes) * 10); });
  StartServer();
  Metrics();
  EXPECT_NE(Metrics().find("plumbline_log_tree_size 20\n"), std::string::npos);
}

TEST_F(OpsServerTest, AdminReloadNeedsTheToken) {
  StartServer();
  auto none = client_->Post("/v1/admin/reload", "", "application/json");
  ExpectProblem(none, 401, "unauthorized");
  EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer");
  ExpectProblem(client_->Post("/v1/admin/reload", Bearer("wrong-token-wrong-token-wrong"), "", "application/json"),
                401, "unauthorized");
  // A prefix of the right token, the token plus a byte, another scheme: all refused.
  const std::string token = kToken;
  ExpectProblem(client_->Post("/v1/admin/reload", Bearer(token.substr(0, token.size() - 1)), "", "text/plain"), 401,
                "unauthorized");
  ExpectProblem(client_->Post("/v1/admin/reload", Bearer(token + "x"), "", "text/plain"), 401, "unauthorized");
  ExpectProblem(client_->Post("/v1/admin/reload", {{"Authorization", "Basic " + token}}, "", "text/plain"), 401,
                "unauthorized");
  EXPECT_EQ(reloads_, 0);
  auto ok = client_->Post("/v1/admin/reload", Bearer(kToken), "", "application/json");
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(nlohmann::json::parse(ok->body)["status"], "reloaded");
  EXPECT_EQ(reloads_, 1);
  // The token never comes back in a response or in /metrics.
  EXPECT_EQ(ok->body.find(kToken), std::string::npos);
  EXPECT_EQ(Metrics().find(kToken), std::string::npos);
}

TEST_F(OpsServerTest, AdminReloadReportsTheRejectedKeyAndMalformedBodies) {
  StartServer();
  reload_outcome_ = Status::InvalidArgument("config x.toml: key 'sources[1].max_age_ms': expected an integer");
  auto bad = ExpectProblem(client_->Post("/v1/admin/reload", Bearer(kToken), "", "application/json"), 400, "invalid-config");
  EXPECT_NE(bad["detail"].get<std::string>().find("'sources[1].max_age_ms'"), std::string::npos) << bad;
  EXPECT_NE(bad["detail"].get<std::string>().find("running one is kept"), std::string::npos) << bad;
  EXPECT_EQ(reloads_, 1);
  for (const char* body : {"{", "[1,2]", "{\"x\":1}", "\xff\xfe", "null"}) {
    ExpectProblem(client_->Post("/v1/admin/reload", Bearer(kToken), body, "application/json"), 400, "invalid-body");
  }
  EXPECT_EQ(reloads_, 1);  // none of them ran a reload
  // Authentication comes first: a malformed body without the token is a 401, not a 400.
  ExpectProblem(client_->Post("/v1/admin/reload", "{", "application/json"), 401, "unauthorized");
  reload_outcome_ = Status::Unavailable("the daemon is shutting down");
  ExpectProblem(client_->Post("/v1/admin/reload", Bearer(kToken), "{}", "application/json"), 503, "reload-unavailable");
}

TEST_F(OpsServerTest, AdminDisabledWithoutATokenFile) {
  StartServer(nullptr, /*with_token=*/false);
  ExpectProblem(client_->Post("/v1/admin/reload", Bearer(kToken), "", "application/json"), 403, "admin-disabled");
  EXPECT_EQ(reloads_, 0);
}

TEST_F(OpsServerTest, OddMethodsGet405WithAllow) {
  StartServer();
  auto r = client_->Get("/v1/admin/reload");
  ExpectProblem(r, 405, "method-not-allowed");
  EXPECT_EQ(r->get_header_value("Allow"), "POST");
  auto m = client_->Post("/metrics", "x", "text/plain");
  ExpectProblem(m, 405, "method-not-allowed");
  EXPECT_EQ(m->get_header_value("Allow"), "GET, HEAD");
  auto o = client_->Options("/v1/marks");
  ExpectProblem(o, 405, "method-not-allowed");
  EXPECT_EQ(o->get_header_value("Allow"), "GET, HEAD");
  ExpectProblem(client_->Delete("/v1/snapshots/1"), 405, "method-not-allowed");
  // A method no route knows: a problem, and the server is still fine.
  RawConn raw(server_->port());
  ASSERT_TRUE(raw.connected());
  raw.Send("BREW /v1/marks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string reply = raw.ReadAll();
  EXPECT_EQ(reply.rfind("HTTP/1.1 4", 0), 0u) << reply;
  EXPECT_NE(reply.find("application/problem+json"), std::string::npos) << reply;
  ASSERT_EQ(client_->Get("/healthz")->status, 503);
}

TEST_F(OpsServerTest, PathTraversalNeverReachesTheFilesystem) {
  StartServer();
  Publish();
  for (const char* path : {"/../../../../etc/passwd", "/v1/../../etc/passwd", "/v1/snapshots/..%2F..%2Fetc%2Fpasswd",
                           "/v1/marks/..%2F..%2F..%2Fetc%2Fpasswd", "/%2e%2e/%2e%2e/etc/passwd", "/v1/keys/../../etc/shadow"}) {
    auto r = client_->Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_GE(r->status, 400) << path;
    EXPECT_LT(r->status, 500) << path;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/problem+json") << path;
    EXPECT_EQ(r->body.find("root:"), std::string::npos) << path;
  }
}

TEST_F(OpsServerTest, OversizeHeadersAndBodiesAreRefused) {
  StartServer();  // max_body_bytes = 1024 in the test config, max_header_bytes = 16384 by default
  Publish();
  httplib::Headers many;
  for (int i = 0; i < 40; ++i) many.emplace("X-Filler-" + std::to_string(i), std::string(500, 'a'));
  auto big_headers = client_->Get("/v1/marks", many);
  ExpectProblem(big_headers, 431, "headers-too-large");
  // One header line beyond cpp-httplib's 8 KiB line limit is a malformed request (400).
  auto long_line = client_->Get("/v1/marks", {{"X-Long", std::string(9000, 'b')}});
  ASSERT_TRUE(long_line);
  EXPECT_EQ(long_line->status, 400);
  ExpectProblem(client_->Post("/v1/admin/reload", Bearer(kToken), std::string(4096, '{'), "application/json"), 413,
                "body-too-large");
  EXPECT_EQ(reloads_, 0);
  auto r = client_->Get("/v1/marks");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // Each answer is counted after its bytes are sent, possibly on another worker: wait for both.
  MetricsShowing("route=\"/v1/marks\",method=\"GET\",code=\"200\"} 1");
  const std::string m = MetricsShowing("route=\"/v1/marks\",method=\"GET\",code=\"431\"} 1");
  EXPECT_NE(m.find("route=\"/v1/marks\",method=\"GET\",code=\"200\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("route=\"/v1/marks\",method=\"GET\",code=\"431\"} 1"), std::string::npos) << m;
}

TEST_F(OpsServerTest, StalledClientsAreCutOffAndOthersServed) {
  Config c = *config_;
  c.http.threads = 4;
  c.http.read_timeout_ms = 1000;
  c.http.idle_timeout_ms = 1000;  // after its 400, a connection still waits this long (whole seconds)
  StartServer(&c);
  Publish();
  // Three clients connect and stall mid-request; a fourth worker still answers at once.
  std::vector<std::unique_ptr<RawConn>> stalled;
  for (int i = 0; i < 3; ++i) {
    stalled.push_back(std::make_unique<RawConn>(server_->port()));
    stalled.back()->Send("GET /v1/marks HTTP/1.1\r\nHost: x\r\n");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto t0 = std::chrono::steady_clock::now();
  auto r = client_->Get("/v1/marks");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // Well before the stalled ones' read timeout.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(800));
  // The stalled ones get a 400 after the read timeout and are closed after the idle timeout.
  t0 = std::chrono::steady_clock::now();
  for (auto& s : stalled) {
    const std::string reply = s->ReadAll();
    EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
  // Even with every worker held, a new client waits about read + idle timeout, not forever.
  for (int i = 0; i < 4; ++i) {
    stalled.push_back(std::make_unique<RawConn>(server_->port()));
    stalled.back()->Send("GET /v1/marks HTTP/1.1\r\n");
  }
  t0 = std::chrono::steady_clock::now();
  httplib::Client other("127.0.0.1", server_->port());
  other.set_read_timeout(10, 0);
  auto late = other.Get("/v1/marks");
  ASSERT_TRUE(late);
  EXPECT_EQ(late->status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

// Bursts of new connections must not wait for SYN retransmits: the listen backlog (Send-Q of a
// listening socket in `ss`) is raised from cpp-httplib's 5 to SOMAXCONN.
TEST_F(OpsServerTest, ListenBacklogIsWidened) {
  StartServer();
  const std::string cmd = "ss -ltnH 'sport = :" + std::to_string(server_->port()) + "' 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char line[512] = {};
  const bool got = std::fgets(line, sizeof(line), p) != nullptr;
  ::pclose(p);
  if (!got) GTEST_SKIP() << "ss (iproute2) not available";
  std::istringstream fields(line);
  std::string state;
  int recv_q = -1, send_q = -1;
  fields >> state >> recv_q >> send_q;
  EXPECT_EQ(state, "LISTEN") << line;
  EXPECT_GE(send_q, 128) << line;
}

// --- HTTPS -------------------------------------------------------------------------------------

class TlsTest : public OpsServerTest {
 protected:
  void SetUp() override {
    OpsServerTest::SetUp();
    std::filesystem::create_directories(dir_);
    cert_ = (dir_ / "tls.crt").string();
    tls_key_ = (dir_ / "tls.key").string();
    const std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
                            "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 -keyout " +
                            tls_key_ + " -out " + cert_ + " 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    ::chmod(tls_key_.c_str(), 0600);
  }
  Config TlsConfigFor(const std::string& cert, const std::string& key) {
    Config c = *config_;
    c.tls.cert_file = cert;
    c.tls.key_file = key;
    return c;
  }
  std::string cert_, tls_key_;
};

TEST_F(TlsTest, ServesHttpsWithTheConfiguredCertificate) {
  Config c = TlsConfigFor(cert_, tls_key_);
  StartServer(&c);
  Publish();
  httplib::SSLClient tls("127.0.0.1", server_->port());
  tls.set_ca_cert_path(cert_.c_str());
  tls.enable_server_certificate_verification(true);
  tls.set_connection_timeout(2, 0);
  auto r = tls.Get("/v1/snapshots/latest");
  for (int i = 0; i < 100 && !r; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    r = tls.Get("/v1/snapshots/latest");
  }
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(attest::VerifySnapshotEnvelope(r->body, key_->public_key()).ok());
  // Plain HTTP to the TLS port gets no answer.
  httplib::Client plain("127.0.0.1", server_->port());
  plain.set_read_timeout(2, 0);
  auto p = plain.Get("/healthz");
  EXPECT_TRUE(!p || p->status >= 400);
}

TEST_F(TlsTest, RefusesAReadableKeyAndNamesTheBadFile) {
  ::chmod(tls_key_.c_str(), 0644);
  Config readable = TlsConfigFor(cert_, tls_key_);
  ApiServer a(readable, *publisher_, *store_, key_->public_key(), clock_, [] { return std::vector<feeds::SourceHealth>{}; });
  Status s = a.Bind();
  EXPECT_EQ(s.code(), Code::kPermissionDenied) << s.ToString();
  EXPECT_NE(s.message().find("chmod 600"), std::string::npos);
  ::chmod(tls_key_.c_str(), 0600);

  Config swapped = TlsConfigFor(tls_key_, tls_key_);
  ApiServer b(swapped, *publisher_, *store_, key_->public_key(), clock_, [] { return std::vector<feeds::SourceHealth>{}; });
  s = b.Bind();
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("tls.cert_file"), std::string::npos) << s.ToString();
  // The key's PEM never appears in the error.
  EXPECT_EQ(s.message().find("PRIVATE KEY"), std::string::npos);
}

// --- reload rules ------------------------------------------------------------------------------

TEST(ReloadRules, BoundKeysAreRefusedByName) {
  auto base = ParseConfig(testing::TestConfigText(8420), "a.toml");
  ASSERT_TRUE(base.ok());
  Config next = *base;
  next.path = "b.toml";
  EXPECT_TRUE(CheckReloadable(*base, next).ok());
  next.symbols.push_back({});
  next.symbols.back().symbol = "SOL/USD";
  next.sources[0].max_age_ms = 1;
  next.publish_interval_ms = 250;
  EXPECT_TRUE(CheckReloadable(*base, next).ok()) << "symbols, sources and the interval may change";
  EXPECT_FALSE(SameSources(base->sources, next.sources));
  EXPECT_TRUE(SameSources(base->sources, base->sources));

  auto refused = [&](auto mutate, const std::string& key) {
    Config c = *base;
    c.path = "b.toml";
    mutate(c);
    Status s = CheckReloadable(*base, c);
    EXPECT_EQ(s.code(), Code::kFailedPrecondition) << key;
    EXPECT_NE(s.message().find("key '" + key + "' cannot change while running"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("b.toml"), std::string::npos) << s.message();
  };
  refused([](Config& c) { c.listen_port = 9000; }, "listen");
  refused([](Config& c) { c.data_dir = "/elsewhere"; }, "data_dir");
  refused([](Config& c) { c.key_file = "/other.key"; }, "key_file");
  refused([](Config& c) { c.origin = "other/log"; }, "origin");
  refused([](Config& c) { c.http.threads = 64; }, "http.threads");
  refused([](Config& c) { c.tls.cert_file = "/c.pem"; }, "tls.cert_file");
  refused([](Config& c) { c.admin_token_file = "/t"; }, "admin_token_file");
}

// A daemon started niced (Nice=10 in its unit, or `nice plumbline`) keeps its workers below it.
TEST(WorkerPool, WorkersStayBelowANicedDaemon) {
  std::thread daemon_thread([] {
    const id_t tid = static_cast<id_t>(::gettid());
    const int base = std::min(::getpriority(PRIO_PROCESS, tid) + 7, 14);
    ASSERT_EQ(::setpriority(PRIO_PROCESS, tid, base), 0);
    std::unique_ptr<httplib::TaskQueue> pool(NewWorkerPool(1));  // its threads inherit `base`
    std::promise<int> seen;
    pool->enqueue([&seen] { seen.set_value(::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()))); });
    const int worker = seen.get_future().get();
    pool->shutdown();
    EXPECT_EQ(worker, base + 5);
    LowerHttpWorkerPriority();  // the elastic queue's threads use this
    EXPECT_EQ(::getpriority(PRIO_PROCESS, tid), base + 5);
  });
  daemon_thread.join();
}

TEST(WorkerPool, WorkersRunBelowThePublishersPriority) {
  const int base = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
  std::unique_ptr<httplib::TaskQueue> pool(NewWorkerPool(2));
  std::promise<int> seen;
  pool->enqueue([&seen] { seen.set_value(::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()))); });
  const int worker = seen.get_future().get();
  pool->shutdown();
  EXPECT_EQ(worker, std::min(base + 5, 19));
  EXPECT_EQ(::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid())), base) << "only the workers are niced";
}

TEST(RouteTemplates, AreBoundedWhateverThePath) {
  EXPECT_EQ(RouteTemplate("/v1/snapshots/17", 200), "/v1/snapshots/{seq}");
  EXPECT_EQ(RouteTemplate("/v1/snapshots/latest", 200), "/v1/snapshots/latest");
  EXPECT_EQ(RouteTemplate("/v1/marks/BTC/USD", 200), "/v1/marks/{symbol}");
  EXPECT_EQ(RouteTemplate("/wp-admin.php", 404), "unmatched");
  EXPECT_EQ(RouteTemplate("/v1/nothing/" + std::string(5000, 'x'), 405), "unmatched");
  // A route another module added without a table line still gets a bounded label.
  EXPECT_EQ(RouteTemplate("/v1/log/proof/123", 200), "/v1/log/*");
  EXPECT_EQ(RouteTemplate("/v1/log", 200), "/v1/log");
}

}  // namespace
}  // namespace plumbline::daemon
