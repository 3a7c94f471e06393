#include "plumbline/daemon/ops.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <regex>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "daemon/http_problem.h"
#include "plumbline/daemon/reserve_config.h"

namespace plumbline::daemon {
namespace {

// allowed: floating point here only converts durations for Prometheus, which exposes float64
// samples; no price, amount or signed value goes through it.
constexpr double kNanosPerSecondF = 1e9;  // allowed: metrics only (see above)
constexpr int kWorkerNice = 5;

template <typename T>
T* Registered(Result<T*> r, Status* first_error) {
  if (!r.ok()) {
    if (first_error->ok()) *first_error = r.status();
    return nullptr;
  }
  return *r;
}

// Route templates of every registered path, most specific first. Modules that add routes add a
// line here, so /metrics stays bounded (a raw path would make one series per URL).
struct RoutePattern {
  std::regex pattern;
  const char* name;
};
const std::vector<RoutePattern>& RouteTable() {
  static const std::vector<RoutePattern> table = [] {
    std::vector<RoutePattern> t;
    auto add = [&t](const char* re, const char* name) { t.push_back({std::regex(re), name}); };
    add(R"(/v1/snapshots/latest)", "/v1/snapshots/latest");
    add(R"(/v1/snapshots/[^/]+)", "/v1/snapshots/{seq}");
    add(R"(/v1/marks)", "/v1/marks");
    add(R"(/v1/marks/.+)", "/v1/marks/{symbol}");
    add(R"(/v1/keys)", "/v1/keys");
    add(R"(/v1/admin/reload)", "/v1/admin/reload");
    add(R"(/v1/halts)", "/v1/halts");
    add(R"(/v1/admin/halts/.+)", "/v1/admin/halts/{symbol}");
    add(R"(/healthz)", "/healthz");
    add(R"(/metrics)", "/metrics");
    return t;
  }();
  return table;
}

// The start of the request being served on this worker thread (httplib serves a request on one
// thread from pre-routing to the logger).
thread_local std::chrono::steady_clock::time_point t_request_start;
thread_local bool t_request_started = false;

uint64_t HeaderBytes(const httplib::Request& req) {
  uint64_t n = 0;
  for (const auto& [k, v] : req.headers) n += k.size() + v.size() + 4;  // "K: V\r\n"
  return n;
}

void MethodNotAllowed(const char* allow, const httplib::Request& req, httplib::Response& res) {
  res.set_header("Allow", allow);
  WriteProblem(res, 405, "method-not-allowed", "method " + req.method + " is not allowed on " + req.path, req.path);
}

Status SecretFileMode(const std::string& path, const char* what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Status::IOError(std::string(what) + " " + path + ": cannot be read");
  if ((st.st_mode & 0077) != 0) {
    return Status::PermissionDenied(std::string(what) + " " + path + " is readable by group or other; run `chmod 600 " +
                                    path + "`");
  }
  return Status::Ok();
}

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

// Five nice steps below the thread's current value (not an absolute 5: a daemon started at
// Nice=10, say by its unit, must not get workers above its own publishing thread).
void LowerThisThreadsPriority() {
  const id_t tid = static_cast<id_t>(::gettid());
  errno = 0;
  const int current = ::getpriority(PRIO_PROCESS, tid);  // -1 is a valid nice value: check errno
  if (errno != 0) return;
  (void)::setpriority(PRIO_PROCESS, tid, std::min(current + kWorkerNice, 19));
}

// cpp-httplib's pool, with each worker at a lower CPU priority than the publisher and pollers:
// under a flood of requests (hundreds of busy workers on a few cores) a round still gets the CPU
// it needs on time. Raising one's own nice value needs no privilege; if the sandbox refuses it
// (EPERM) the workers just keep the default priority.
class WorkerPool : public httplib::ThreadPool {
 public:
  using httplib::ThreadPool::ThreadPool;
  void enqueue(std::function<void()> fn) override {
    httplib::ThreadPool::enqueue([fn = std::move(fn)] {
      thread_local const bool niced = (LowerThisThreadsPriority(), true);
      (void)niced;
      fn();
    });
  }
};

}  // namespace

void LowerHttpWorkerPriority() { LowerThisThreadsPriority(); }

void WidenListenBacklog(int fd) {
  if (fd >= 0) ::listen(fd, SOMAXCONN);
}

httplib::TaskQueue* NewWorkerPool(int threads) { return new WorkerPool(static_cast<size_t>(threads)); }

Result<std::unique_ptr<DaemonMetrics>> DaemonMetrics::Create(Registry* registry) {
  std::unique_ptr<DaemonMetrics> m(new DaemonMetrics());
  Status err;
  const auto latency = LatencyBucketsSeconds();
  m->round_duration_ = Registered(registry->AddHistogram("plumbline_round_duration_seconds",
                                                    "Publish round duration: aggregate, sign, synced write.", {}, latency),
                             &err);
  m->rounds_ = Registered(registry->AddCounter("plumbline_rounds_total", "Publish rounds by result.", {"result"}), &err);
  m->sequence_ = Registered(registry->AddGauge("plumbline_published_sequence", "Sequence of the latest published snapshot."), &err);
  m->last_publish_ = Registered(registry->AddGauge("plumbline_last_publish_timestamp_seconds",
                                              "Time of the latest published snapshot, Unix seconds."),
                           &err);
  m->marks_ = Registered(registry->AddGauge("plumbline_marks", "Marks in the latest snapshot by status.", {"status"}), &err);
  m->tree_size_ = Registered(registry->AddGauge("plumbline_log_tree_size", "Leaves in the Merkle log (stored snapshots)."), &err);
  m->source_up_ = Registered(registry->AddGauge("plumbline_source_up",
                                           "1 if the source's last poll succeeded within its max_age_ms.", {"source"}),
                        &err);
  m->source_polls_ = Registered(registry->AddCounter("plumbline_source_polls_total", "Polls of each source by result.",
                                                {"source", "result"}),
                           &err);
  m->source_duration_ = Registered(registry->AddGauge("plumbline_source_poll_duration_seconds",
                                                 "Wall time of the source's last poll (all its symbols).", {"source"}),
                              &err);
  m->source_age_ = Registered(registry->AddGauge("plumbline_source_last_success_age_seconds",
                                            "Seconds since the source's last successful poll; -1 if never.", {"source"}),
                         &err);
  m->http_requests_ = Registered(registry->AddCounter("plumbline_http_requests_total", "HTTP requests by route template, method and status code.",
                                                 {"route", "method", "code"}),
                            &err);
  m->http_duration_ = Registered(registry->AddHistogram("plumbline_http_request_duration_seconds",
                                                   "HTTP request handling time by route template.", {"route"}, latency),
                            &err);
  m->reloads_ = Registered(registry->AddCounter("plumbline_config_reloads_total", "Configuration reloads by result.", {"result"}), &err);
  if (!err.ok()) return err;
  return m;
}

void DaemonMetrics::RoundPublished(std::chrono::nanoseconds duration, uint64_t sequence, int64_t time_unix_nanos,
                                   const std::vector<Mark>& marks) {
  round_duration_->Labels({}).Observe(static_cast<double>(duration.count()) / kNanosPerSecondF);  // allowed: metric seconds
  rounds_->Labels({"ok"}).Inc();
  sequence_->Labels({}).Set(static_cast<MetricValue>(sequence));
  last_publish_->Labels({}).Set(static_cast<MetricValue>(time_unix_nanos) / kNanosPerSecondF);  // allowed: metric seconds
  std::map<std::string, uint64_t> by_status;
  for (const Mark& m : marks) ++by_status[MarkStatusName(m.status)];
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [status, n] : by_status) mark_statuses_seen_.insert(status);
  for (const std::string& status : mark_statuses_seen_) {
    auto it = by_status.find(status);
    marks_->Labels({status}).Set(it == by_status.end() ? 0 : static_cast<MetricValue>(it->second));
  }
}

void DaemonMetrics::RoundFailed(std::chrono::nanoseconds duration) {
  round_duration_->Labels({}).Observe(static_cast<double>(duration.count()) / kNanosPerSecondF);  // allowed: metric seconds
  rounds_->Labels({"failed"}).Inc();
}

void DaemonMetrics::SetTreeSize(uint64_t leaves) { tree_size_->Labels({}).Set(static_cast<MetricValue>(leaves)); }

void DaemonMetrics::Sources(const std::vector<feeds::SourceHealth>& health,
                            const std::vector<feeds::SourceConfig>& sources, int64_t now_unix_nanos) {
  std::map<std::string, int64_t> max_age;
  for (const auto& s : sources) max_age[s.name] = s.max_age_ms * kNanosPerMilli;
  std::lock_guard<std::mutex> lock(mu_);
  for (const feeds::SourceHealth& h : health) {
    const bool ever = h.last_success_unix_nanos != 0;
    const int64_t age = now_unix_nanos - h.last_success_unix_nanos;
    auto limit = max_age.find(h.source);
    const bool up = ever && limit != max_age.end() && age <= limit->second && h.last_error.empty();
    source_up_->Labels({h.source}).Set(up ? 1 : 0);
    source_age_->Labels({h.source}).Set(ever ? static_cast<double>(age) / kNanosPerSecondF : -1);  // allowed: metric seconds
    source_duration_->Labels({h.source}).Set(static_cast<double>(h.last_poll_duration_nanos) / kNanosPerSecondF);  // allowed: metric seconds
    // The poller's counts are cumulative per poller; a reload that restarts it starts them at 0,
    // so only increases are added and the counters stay monotonic.
    auto& [ok_seen, err_seen] = polls_seen_[h.source];
    if (h.successes > ok_seen) source_polls_->Labels({h.source, "ok"}).Inc(static_cast<MetricValue>(h.successes - ok_seen));
    if (h.errors > err_seen) source_polls_->Labels({h.source, "error"}).Inc(static_cast<MetricValue>(h.errors - err_seen));
    ok_seen = h.successes;
    err_seen = h.errors;
  }
}

void DaemonMetrics::HttpRequest(std::string_view route, std::string_view method, int code, double seconds) {  // allowed: metric seconds
  char code_text[8];
  std::snprintf(code_text, sizeof(code_text), "%d", code);
  http_requests_->Labels({route, method, code_text}).Inc();
  http_duration_->Labels({route}).Observe(seconds);
}

void DaemonMetrics::ConfigReload(bool ok) { reloads_->Labels({ok ? "ok" : "rejected"}).Inc(); }

std::string RouteTemplate(std::string_view path, int status) {
  const std::string p(path);
  for (const RoutePattern& r : RouteTable()) {
    if (std::regex_match(p, r.pattern)) return r.name;
  }
  // A route missing from the table that answered successfully: a handler matched, so its first
  // two segments are a registered prefix (bounded), e.g. "/v1/log/*". Everything else (404s,
  // 405s, 400/414 before routing) is one series whatever the path.
  if (status >= 200 && status < 400 && path.size() > 1 && path[0] == '/') {
    size_t second = path.find('/', 1);
    size_t third = second == std::string_view::npos ? second : path.find('/', second + 1);
    if (third == std::string_view::npos) return std::string(path.substr(0, std::min<size_t>(path.size(), 64)));
    return std::string(path.substr(0, std::min<size_t>(third, 64))) + "/*";
  }
  return "unmatched";
}

void InstallOpsRoutes(httplib::Server& s, const HttpConfig& http, const OpsHooks* hooks) {
  const uint64_t max_header_bytes = http.max_header_bytes;
  s.set_pre_routing_handler([max_header_bytes](const httplib::Request& req, httplib::Response& res) {
    t_request_start = std::chrono::steady_clock::now();
    t_request_started = true;
    if (HeaderBytes(req) > max_header_bytes) {
      WriteProblem(res, 431, "headers-too-large",
                   "request header section exceeds " + std::to_string(max_header_bytes) + " bytes", req.path);
      res.set_header("Connection", "close");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.set_logger([hooks](const httplib::Request& req, const httplib::Response& res) {
    const bool started = t_request_started;
    t_request_started = false;
    if (hooks->metrics == nullptr) return;
    const double seconds =  // allowed: metric seconds
        started ? std::chrono::duration<double>(std::chrono::steady_clock::now() - t_request_start).count() : 0;  // allowed: metric seconds
    // Methods are a closed set here: anything else is counted as "other".
    std::string_view method = req.method;
    if (method != "GET" && method != "HEAD" && method != "POST" && method != "PUT" && method != "DELETE" &&
        method != "PATCH" && method != "OPTIONS") {
      method = "other";
    }
    hooks->metrics->HttpRequest(RouteTemplate(req.path, res.status), method, res.status, seconds);
  });

  s.Get("/metrics", [hooks](const httplib::Request& req, httplib::Response& res) {
    if (hooks->registry == nullptr) {
      return WriteProblem(res, 404, "not-found", "metrics are not enabled on this server", req.path);
    }
    res.set_header("Cache-Control", "no-store");
    res.set_content(hooks->registry->Expose(), std::string(Registry::kContentType));
  });

  s.Post("/v1/admin/reload", [hooks](const httplib::Request& req, httplib::Response& res) {
    if (!RequireAdminToken(hooks->admin_token.get(), req, res)) return;
    if (!req.body.empty()) {
      auto body = nlohmann::json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object() || !body.empty()) {
        return WriteProblem(res, 400, "invalid-body", "body must be empty or {} (the reload takes no parameters)", req.path);
      }
    }
    if (!hooks->reload) return WriteProblem(res, 503, "reload-unavailable", "reload is not wired on this server", req.path);
    Result<std::string> outcome = hooks->reload();
    if (!outcome.ok()) {
      const Code code = outcome.status().code();
      if (code == Code::kUnavailable) {
        return WriteProblem(res, 503, "reload-unavailable", outcome.status().message(), req.path);
      }
      return WriteProblem(res, 400, "invalid-config",
                          "new configuration rejected, the running one is kept: " + outcome.status().message(), req.path);
    }
    nlohmann::json body = {{"status", "reloaded"}, {"summary", *outcome}};
    res.set_header("Cache-Control", "no-store");
    res.set_content(body.dump(), "application/json");
  });

  auto get_only = [](const httplib::Request& req, httplib::Response& res) { MethodNotAllowed("GET, HEAD", req, res); };
  auto post_only = [](const httplib::Request& req, httplib::Response& res) { MethodNotAllowed("POST", req, res); };
  s.Post("/metrics", get_only).Put("/metrics", get_only).Delete("/metrics", get_only).Patch("/metrics", get_only);
  s.Get("/v1/admin/reload", post_only).Put("/v1/admin/reload", post_only);
  s.Delete("/v1/admin/reload", post_only).Patch("/v1/admin/reload", post_only);
  for (const char* pattern : {R"(/v1/.*)", R"(/healthz)", R"(/metrics)"}) s.Options(pattern, get_only);
}

std::unique_ptr<httplib::Server> NewHttpServer(const Config& config) {
  if (!config.tls.enabled()) return std::make_unique<httplib::Server>();
  auto server = std::make_unique<httplib::SSLServer>(config.tls.cert_file.c_str(), config.tls.key_file.c_str());
  if (server->is_valid()) SSL_CTX_set_min_proto_version(server->ssl_context(), TLS1_2_VERSION);
  return server;
}

Status CheckHttpServer(const Config& config, const httplib::Server& server) {
  if (!config.tls.enabled()) return Status::Ok();
  PLUMBLINE_RETURN_IF_ERROR(SecretFileMode(config.tls.key_file, "TLS key file"));
  if (server.is_valid()) return Status::Ok();
  // Say which half is wrong: the server only knows that one of them failed.
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) return Status::Internal("SSL_CTX_new failed");
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), config.tls.cert_file.c_str()) != 1) {
    return Status::InvalidArgument("tls.cert_file " + config.tls.cert_file + ": not a PEM certificate (" + OpenSslError() + ")");
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), config.tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    ERR_clear_error();  // the error text could quote the file; name it instead
    return Status::InvalidArgument("tls.key_file " + config.tls.key_file + ": not an unencrypted PEM private key");
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("tls.key_file " + config.tls.key_file + " does not match tls.cert_file " +
                                   config.tls.cert_file);
  }
  return Status::InvalidArgument("TLS server could not be set up with tls.cert_file " + config.tls.cert_file);
}

Status CheckReloadable(const Config& running, const Config& next) {
  auto refuse = [&](const std::string& key, const std::string& was, const std::string& now) {
    return Status::FailedPrecondition("config " + next.path + ": key '" + key + "' cannot change while running (" +
                                      was + " -> " + now + "); restart the daemon to apply it");
  };
  auto str = [](const std::string& v) { return "\"" + v + "\""; };
  if (next.listen_host != running.listen_host || next.listen_port != running.listen_port) {
    return refuse("listen", running.listen_host + ":" + std::to_string(running.listen_port),
                  next.listen_host + ":" + std::to_string(next.listen_port));
  }
  if (next.data_dir != running.data_dir) return refuse("data_dir", str(running.data_dir), str(next.data_dir));
  if (next.key_file != running.key_file) return refuse("key_file", str(running.key_file), str(next.key_file));
  if (next.origin != running.origin) return refuse("origin", str(running.origin), str(next.origin));
  if (next.admin_token_file != running.admin_token_file) {
    return refuse("admin_token_file", str(running.admin_token_file), str(next.admin_token_file));
  }
  if (next.tls.cert_file != running.tls.cert_file) return refuse("tls.cert_file", str(running.tls.cert_file), str(next.tls.cert_file));
  if (next.tls.key_file != running.tls.key_file) return refuse("tls.key_file", str(running.tls.key_file), str(next.tls.key_file));
  const HttpConfig& a = running.http;
  const HttpConfig& b = next.http;
  auto num = [](auto v) { return std::to_string(v); };
  if (a.threads != b.threads) return refuse("http.threads", num(a.threads), num(b.threads));
  if (a.read_timeout_ms != b.read_timeout_ms) return refuse("http.read_timeout_ms", num(a.read_timeout_ms), num(b.read_timeout_ms));
  if (a.write_timeout_ms != b.write_timeout_ms) return refuse("http.write_timeout_ms", num(a.write_timeout_ms), num(b.write_timeout_ms));
  if (a.idle_timeout_ms != b.idle_timeout_ms) return refuse("http.idle_timeout_ms", num(a.idle_timeout_ms), num(b.idle_timeout_ms));
  if (a.max_body_bytes != b.max_body_bytes) return refuse("http.max_body_bytes", num(a.max_body_bytes), num(b.max_body_bytes));
  if (a.max_header_bytes != b.max_header_bytes) return refuse("http.max_header_bytes", num(a.max_header_bytes), num(b.max_header_bytes));
  // The margin service reads the risk file it started with; its contents reload, its path does not.
  if (next.risk_file != running.risk_file) return refuse("risk_file", str(running.risk_file), str(next.risk_file));
  // Publishers (names, keys, symbols, rate limits) are loaded once by the Ingestor at start-up.
  auto publishers = [](const Config& c) {
    std::string f;
    for (const auto& p : c.publishers) {
      f += p.name + '\n' + p.public_key_file + '\n' + p.public_key + '\n' + std::to_string(p.batches_per_second) +
           '\n' + std::to_string(p.burst) + '\n';
      for (const auto& sym : p.symbols) f += sym + ',';
      f += '\n';
    }
    return f;
  };
  if (publishers(next) != publishers(running)) {
    return refuse("publishers", "the running [[publishers]]", "a changed one");
  }
  if (ReservesFingerprint(running.reserves) != ReservesFingerprint(next.reserves)) {
    return refuse("reserves", "the running [[reserves]] / [reserves_round]", "a changed one");
  }
  return Status::Ok();
}

bool SameSources(const std::vector<feeds::SourceConfig>& a, const std::vector<feeds::SourceConfig>& b) {
  auto key = [](const feeds::SourceConfig& s) {
    return std::tie(s.name, s.format, s.base_url, s.poll_interval_ms, s.connect_timeout_ms, s.read_timeout_ms,
                    s.max_age_ms, s.symbols);
  };
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (key(a[i]) != key(b[i])) return false;
  }
  return true;
}

}  // namespace plumbline::daemon
