// The daemon's operations surface: the metrics it keeps (DaemonMetrics), the routes that serve
// and administer it (GET /metrics, POST /v1/admin/reload), per-request instrumentation, HTTPS,
// and the rules of a configuration reload.
//
//   GET  /metrics            Prometheus text format 0.0.4 (open, like the read endpoints)
//   POST /v1/admin/reload    admin token required (daemon/auth.h); re-reads the config like SIGHUP:
//                            200 {"status":"reloaded","summary":...}, 400 problem naming the bad
//                            key (the running config is kept), 503 while shutting down
//
// Requests are counted by route *template* ("/v1/snapshots/{seq}", never the raw path) so a
// client cannot grow the series; unknown paths count as route "unmatched".
//
// Thread safety: DaemonMetrics methods may be called from any thread (atomics underneath).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "plumbline/daemon/auth.h"
#include "plumbline/daemon/config.h"
#include "plumbline/daemon/metrics.h"
#include "plumbline/feeds/sources.h"
#include "plumbline/market.h"
#include "plumbline/status.h"

namespace httplib {
class Server;
class TaskQueue;
}  // namespace httplib

namespace plumbline::daemon {

// Registers and updates the daemon's own families (see docs/operations.md, "Metrics"):
//   plumbline_round_duration_seconds            histogram of publish rounds (aggregate+sign+sync)
//   plumbline_rounds_total{result}               ok | failed
//   plumbline_published_sequence                 sequence of the latest served snapshot
//   plumbline_last_publish_timestamp_seconds     its time (Unix seconds)
//   plumbline_marks{status}                      marks in the latest snapshot by status
//   plumbline_log_tree_size                      leaves in the Merkle log (from the store)
//   plumbline_source_up{source}                  1 if the last poll succeeded within max_age
//   plumbline_source_polls_total{source,result}  ok | error
//   plumbline_source_poll_duration_seconds{source}         duration of the last poll
//   plumbline_source_last_success_age_seconds{source}      -1 before the first success
//   plumbline_http_requests_total{route,method,code}
//   plumbline_http_request_duration_seconds{route}         histogram
//   plumbline_config_reloads_total{result}       ok | rejected
class DaemonMetrics {
 public:
  // `registry` is borrowed and must outlive this. Fails only if the names are already taken.
  static Result<std::unique_ptr<DaemonMetrics>> Create(Registry* registry);

  void RoundPublished(std::chrono::nanoseconds duration, uint64_t sequence, int64_t time_unix_nanos,
                      const std::vector<Mark>& marks);
  void RoundFailed(std::chrono::nanoseconds duration);
  void SetTreeSize(uint64_t leaves);
  // From Poller::Health(); `max_age_ms` by source name decides "up".
  void Sources(const std::vector<feeds::SourceHealth>& health, const std::vector<feeds::SourceConfig>& sources,
               int64_t now_unix_nanos);
  // allowed: `seconds` is a latency sample for Prometheus (float64 by format), never money.
  void HttpRequest(std::string_view route, std::string_view method, int code, double seconds);  // allowed: metric seconds
  void ConfigReload(bool ok);

 private:
  DaemonMetrics() = default;
  HistogramFamily* round_duration_ = nullptr;
  CounterFamily* rounds_ = nullptr;
  GaugeFamily* sequence_ = nullptr;
  GaugeFamily* last_publish_ = nullptr;
  GaugeFamily* marks_ = nullptr;
  GaugeFamily* tree_size_ = nullptr;
  GaugeFamily* source_up_ = nullptr;
  CounterFamily* source_polls_ = nullptr;
  GaugeFamily* source_duration_ = nullptr;
  GaugeFamily* source_age_ = nullptr;
  CounterFamily* http_requests_ = nullptr;
  HistogramFamily* http_duration_ = nullptr;
  CounterFamily* reloads_ = nullptr;
  std::mutex mu_;  // guards the two below
  std::set<std::string> mark_statuses_seen_;
  std::map<std::string, std::pair<uint64_t, uint64_t>> polls_seen_;  // source -> (ok, error)
};

// What ApiServer needs from the operations side; every member is optional.
struct OpsHooks {
  Registry* registry = nullptr;                  // GET /metrics (404 when null); borrowed
  DaemonMetrics* metrics = nullptr;              // per-request counting; borrowed
  std::shared_ptr<const AdminToken> admin_token; // null: admin endpoints answer 403
  // Runs a reload (blocking until applied or rejected) and returns a one-line summary.
  std::function<Result<std::string>()> reload;
};

// The route template of a request path for metrics. Known routes (the table in ops.cc, where
// modules adding routes add theirs) give their template; a successful answer (2xx/3xx) on a path
// outside the table gives its first two segments ("/v1/log/*"); anything else is "unmatched".
std::string RouteTemplate(std::string_view path, int status);

// Registers GET /metrics and POST /v1/admin/reload (and their 405s), the request-size limit on
// header sections (431 beyond http.max_header_bytes) and the request metrics; `hooks` is read at
// request time and must outlive the server. Called by ApiServer before its catch-all routes.
void InstallOpsRoutes(httplib::Server& server, const HttpConfig& http, const OpsHooks* hooks);

// The HTTP worker pool (`threads` workers) for Server::new_task_queue; its workers run at nice +5
// so that publishing rounds are not starved by a flood of requests. Caller owns the result.
httplib::TaskQueue* NewWorkerPool(int threads);

// Lowers the calling thread five nice steps below its current value (capped at 19), as NewWorkerPool's
// workers are; for other HTTP worker pools (the elastic queue of daemon/push_routes.h). EPERM is ignored.
void LowerHttpWorkerPriority();
// cpp-httplib 0.11.4 listens with a backlog of 5, so a burst of new connections overflows the
// accept queue and clients wait for SYN retransmits (1 s, 3 s, ...). Calling listen(2) again on
// the bound socket raises the backlog to SOMAXCONN (Linux updates it in place). No-op for fd < 0.
void WidenListenBacklog(int fd);

// A plain httplib::Server, or an httplib::SSLServer with config.tls's certificate and key.
std::unique_ptr<httplib::Server> NewHttpServer(const Config& config);
// Start-up checks of what NewHttpServer made: the TLS key file must not be group/other readable
// (PermissionDenied) and the certificate and key must load and match (InvalidArgument naming the
// files).
Status CheckHttpServer(const Config& config, const httplib::Server& server);

// A reload may change sources, symbols, publish_interval_ms and every other round parameter.
// FailedPrecondition naming the first key that differs among those bound at start-up: listen,
// data_dir, key_file, origin, admin_token_file, http.*, tls.*, and the proof-of-reserve tables.
Status CheckReloadable(const Config& running, const Config& next);

// True when the two lists poll the same venues the same way (a reload keeps the poller running).
bool SameSources(const std::vector<feeds::SourceConfig>& a, const std::vector<feeds::SourceConfig>& b);

}  // namespace plumbline::daemon
