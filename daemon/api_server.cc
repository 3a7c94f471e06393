#include "plumbline/daemon/api_server.h"

#include <charconv>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "daemon/halt_routes.h"
#include "daemon/http_problem.h"
#include "daemon/push_routes.h"
#include "plumbline/attest/canonical_json.h"
#include "daemon/log_routes.h"
#include "plumbline/daemon/margin_routes.h"
#include "plumbline/daemon/stream.h"
#include "reserve_routes.h"

namespace plumbline::daemon {
namespace {

constexpr char kJson[] = "application/json";
constexpr char kProblemJson[] = "application/problem+json";

const char* Title(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

// Problem types are relative URIs documented in docs/http-api.md ("Errors").
void Problem(httplib::Response& res, int status, const std::string& type, const std::string& detail,
             const std::string& instance) {
  nlohmann::json body = {{"type", "/problems/" + type},
                         {"title", Title(status)},
                         {"status", status},
                         {"detail", detail},
                         {"instance", instance}};
  res.status = status;
  res.set_content(body.dump(), kProblemJson);
}

void NoStore(httplib::Response& res) { res.set_header("Cache-Control", "no-store"); }

void ServeMark(const Published& latest, const std::string& symbol, const httplib::Request& req,
               httplib::Response& res) {
  nlohmann::json view = nlohmann::json::parse(latest.marks_json);
  for (auto& mark : view["marks"]) {
    if (mark["symbol"] == symbol) {
      nlohmann::json one = {{"snapshot", view["snapshot"]}, {"mark", mark}};
      NoStore(res);
      return res.set_content(one.dump(), kJson);
    }
  }
  Problem(res, 404, "unknown-symbol", "symbol \"" + symbol + "\" is not configured", req.path);
}

}  // namespace

std::string SymbolFromPathSegment(std::string segment) {
  for (char& c : segment) {
    if (c == '-' || c == '_') c = '/';
  }
  return segment;
}

void WriteProblem(httplib::Response& res, int status, const std::string& type, const std::string& detail,
                  const std::string& instance) {
  Problem(res, status, type, detail, instance);
}

struct ApiServer::Impl {
  explicit Impl(const Config& config) : owned(NewHttpServer(config)), server(*owned) {}
  std::unique_ptr<httplib::Server> owned;  // an httplib::SSLServer when [tls] is configured
  httplib::Server& server;
  OpsHooks ops;
  int listen_socket = -1;  // set by the socket-options callback during Bind()
  std::unique_ptr<MarginService> margin;  // POST /v1/margin/* (daemon/margin_routes.cc)
  Status margin_status;                   // risk file load result, reported by Bind()
};

ApiServer::ApiServer(const Config& config, const Publisher& publisher, const storage::SnapshotStore& store,
                     const attest::PublicKey& public_key, const Clock& clock,
                     std::function<std::vector<feeds::SourceHealth>()> source_health, PushApi push)
    : impl_(std::make_unique<Impl>(config)),
      config_(config),
      publisher_(publisher),
      store_(store),
      public_key_(public_key),
      clock_(clock),
      source_health_(std::move(source_health)),
      push_(push) {
  httplib::Server& s = impl_->server;
  const HttpConfig& h = config_.http;
  const int threads = h.threads;
  // Elastic: streams (GET /v1/stream) borrow threads of their own, see daemon/push_routes.h.
  // Workers run at a lower CPU priority than rounds (LowerHttpWorkerPriority, daemon/ops.h).
  s.new_task_queue = [threads] { return NewElasticTaskQueue(static_cast<size_t>(threads), LowerHttpWorkerPriority); };
  s.set_read_timeout(h.read_timeout_ms / 1000, (h.read_timeout_ms % 1000) * 1000);
  s.set_write_timeout(h.write_timeout_ms / 1000, (h.write_timeout_ms % 1000) * 1000);
  s.set_keep_alive_timeout(std::max<time_t>(1, h.idle_timeout_ms / 1000));
  s.set_keep_alive_max_count(1000);
  s.set_payload_max_length(h.max_body_bytes);
  // Without TCP_NODELAY small responses wait for the peer's delayed ACK (~40 ms each).
  s.set_tcp_nodelay(true);
  // httplib's default adds SO_REUSEPORT, which would let a second daemon share the port silently
  // and split the traffic between two histories; a taken port must be a start-up error.
  s.set_socket_options([impl = impl_.get()](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    impl->listen_socket = sock;
  });
  Routes();
}

ApiServer::~ApiServer() { Stop(); }

void ApiServer::Routes() {
  httplib::Server& s = impl_->server;
  RegisterLogRoutes(s, {config_, store_, public_key_, [this] { return writable_store_; }});
  impl_->margin = std::make_unique<MarginService>(config_, publisher_, store_, clock_);
  impl_->margin_status = impl_->margin->Init();
  impl_->margin->Register(s);
  RegisterReserveRoutes(s, publisher_, &reserves_);  // before the catch-all 405 routes

  s.Get("/v1/snapshots/latest", [this](const httplib::Request& req, httplib::Response& res) {
    auto latest = publisher_.Latest();
    if (!latest) return Problem(res, 503, "no-snapshot-yet", "no snapshot has been published yet", req.path);
    NoStore(res);
    res.set_header("Plumbline-Sequence", std::to_string(latest->signed_snapshot.snapshot.sequence));
    res.set_content(latest->signed_snapshot.envelope_json, kJson);
  });

  s.Get(R"(/v1/snapshots/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string text = req.matches[1];
    uint64_t seq = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seq);
    if (ec != std::errc() || end != text.data() + text.size() || seq == 0) {
      return Problem(res, 400, "invalid-sequence",
                     "snapshot sequence must be a positive integer or \"latest\", got \"" + text + "\"", req.path);
    }
    auto envelope = store_.Get(seq);
    if (!envelope.ok()) {
      if (envelope.status().code() == Code::kNotFound) {
        auto last = store_.LastSequence();
        return Problem(res, 404, "unknown-snapshot",
                       "no snapshot with sequence " + text + "; the latest is " +
                           (last ? std::to_string(*last) : std::string("none yet")),
                       req.path);
      }
      return Problem(res, 500, "storage-error", "could not read the snapshot from storage", req.path);
    }
    // Stored snapshots never change: clients and proxies may cache them forever.
    res.set_header("Cache-Control", "public, max-age=31536000, immutable");
    res.set_content(*envelope, kJson);
  });

  s.Get("/v1/marks", [this](const httplib::Request& req, httplib::Response& res) {
    auto latest = publisher_.Latest();
    if (!latest) return Problem(res, 503, "no-snapshot-yet", "no snapshot has been published yet", req.path);
    // ?symbol=X is the query form of /v1/marks/{symbol}.
    if (req.has_param("symbol")) return ServeMark(*latest, req.get_param_value("symbol"), req, res);
    NoStore(res);
    res.set_content(latest->marks_json, kJson);
  });

  s.Get(R"(/v1/marks/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
    auto latest = publisher_.Latest();
    if (!latest) return Problem(res, 503, "no-snapshot-yet", "no snapshot has been published yet", req.path);
    ServeMark(*latest, SymbolFromPathSegment(req.matches[1]), req, res);
  });

  s.Get("/v1/keys", [this](const httplib::Request&, httplib::Response& res) {
    const auto& raw = public_key_.raw();
    nlohmann::json key = {
        {"key_id", public_key_.KeyId()},
        {"algorithm", "ed25519"},
        {"public_key_pem", public_key_.ToPem()},
        {"public_key", attest::Base64Encode(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()))},
        {"status", "active"}};
    nlohmann::json body = {{"keys", nlohmann::json::array({key})}};
    res.set_content(body.dump(), kJson);
  });

  s.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    auto latest = publisher_.Latest();
    const int64_t now = clock_.NowUnixNanos();
    nlohmann::json body;
    bool healthy = false;
    if (latest) {
      const int64_t age_ms = (now - latest->signed_snapshot.snapshot.time_unix_nanos) / kNanosPerMilli;
      // Healthy while rounds keep coming: three missed intervals is an outage worth paging for.
      healthy = age_ms <= 3 * publisher_.config()->publish_interval_ms + 1000;
      body["last_sequence"] = latest->signed_snapshot.snapshot.sequence;
      body["last_publish_age_ms"] = age_ms;
    } else {
      body["last_sequence"] = nullptr;
    }
    nlohmann::json sources = nlohmann::json::array();
    for (const auto& h : source_health_()) {
      sources.push_back({{"source", h.source},
                         {"successes", h.successes},
                         {"errors", h.errors},
                         {"last_success_time", h.last_success_unix_nanos ? nlohmann::json(std::to_string(h.last_success_unix_nanos)) : nlohmann::json(nullptr)},
                         {"last_error", h.last_error},
                         {"consecutive_failures", h.consecutive_failures},
                         {"last_latency_ms", h.last_latency_ms},
                         {"next_poll_delay_ms", h.next_poll_delay_ms}});
    }
    body["sources"] = std::move(sources);
    body["status"] = healthy ? "ok" : "unavailable";
    NoStore(res);
    res.status = healthy ? 200 : 503;
    res.set_content(body.dump(), kJson);
  });

  InstallOpsRoutes(s, config_.http, &impl_->ops);
  // Push ingestion and the stream; before the catch-all below, so POST /v1/observations is reachable.
  RegisterPushRoutes(s, push_);
  // The kill switch (GET /v1/halts, PUT/DELETE /v1/admin/halts/{symbol}).
  RegisterHaltRoutes(s, publisher_, clock_, &impl_->ops);

  // Every other method on a known resource is 405 with Allow, not a misleading 404.
  auto not_allowed = [](const httplib::Request& req, httplib::Response& res) {
    res.set_header("Allow", "GET, HEAD");
    Problem(res, 405, "method-not-allowed", "method " + req.method + " is not allowed on " + req.path, req.path);
  };
  for (const char* pattern : {R"(/v1/.*)", R"(/healthz)"}) {
    s.Post(pattern, not_allowed);
    s.Put(pattern, not_allowed);
    s.Delete(pattern, not_allowed);
    s.Patch(pattern, not_allowed);
  }

  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // a handler already wrote a problem document
    switch (res.status) {
      case 404: return Problem(res, 404, "not-found", "no such resource: " + req.path, req.path);
      case 413: return Problem(res, 413, "body-too-large", "request body exceeds the configured limit", req.path);
      case 414: return Problem(res, 414, "uri-too-long", "request URI is too long", req.path);
      case 400: return Problem(res, 400, "bad-request", "malformed HTTP request", req.path);
      default: return Problem(res, res.status, "error", "request failed", req.path);
    }
  });
  s.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
    Problem(res, 500, "internal-error", "internal error while handling the request", req.path);
  });
}

void ApiServer::SetOps(OpsHooks hooks) { impl_->ops = std::move(hooks); }

Status ApiServer::Bind() {
  httplib::Server& s = impl_->server;
  PLUMBLINE_RETURN_IF_ERROR(CheckHttpServer(config_, s));
  if (!impl_->margin_status.ok()) return impl_->margin_status;
  const std::string address = config_.listen_host + ":" + std::to_string(config_.listen_port);
  if (config_.listen_port == 0) {
    port_ = s.bind_to_any_port(config_.listen_host);
    if (port_ < 0) return Status::Unavailable("cannot listen on " + address);
  } else {
    if (!s.bind_to_port(config_.listen_host, config_.listen_port)) {
      return Status::Unavailable("cannot listen on " + address + " (address in use or not local?)");
    }
    port_ = config_.listen_port;
  }
  WidenListenBacklog(impl_->listen_socket);
  return Status::Ok();
}

void ApiServer::Run() { impl_->server.listen_after_bind(); }

Status ApiServer::ReloadRiskParams() { return impl_->margin->ReloadRiskParams(); }

void ApiServer::Stop() {
  // Streams hold their threads until they end; end them first so the server's workers can join.
  if (push_.stream != nullptr) push_.stream->Close();
  if (impl_ && impl_->server.is_running()) impl_->server.stop();
}

}  // namespace plumbline::daemon
