// The HTTP API (see docs/http-api.md and docs/openapi.yaml).
//
//   GET /v1/snapshots/latest   latest signed snapshot (DSSE envelope JSON)
//   GET /v1/snapshots/{seq}    one signed snapshot by sequence
//   GET /v1/marks              plain JSON view of the latest marks, naming their snapshot
//   GET /v1/marks/{symbol}     one mark ("BTC/USD" may be written BTC-USD or BTC%2FUSD)
//   GET /v1/keys               the signing key(s): key id, PEM, raw base64
//   GET /healthz               liveness and freshness of publishing
//   GET /metrics, POST /v1/admin/reload   see daemon/ops.h
//   the log's routes (/v1/log/..., /v1/snapshots/{seq}/bundle, /v1/keys/history): log_routes.h
//   POST /v1/observations, GET /v1/stream: see daemon/push_routes.h (optional, PushApi)
// Errors are RFC 9457 application/problem+json with a type, title, status and detail.
//
// cpp-httplib is configured explicitly (its defaults are old): fixed worker pool, read/write and
// keep-alive timeouts so slow clients are cut off, a request body limit (413 beyond it).
//
// Thread safety: Bind() and Run() from one thread; Stop() from any thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "plumbline/attest/keys.h"
#include "plumbline/clock.h"
#include "plumbline/daemon/config.h"
#include "plumbline/daemon/ops.h"
#include "plumbline/daemon/push_api.h"
#include "plumbline/daemon/publisher.h"
#include "plumbline/feeds/sources.h"
#include "plumbline/storage/snapshot_store.h"

namespace plumbline::daemon {

class ApiServer {
 public:
  // Everything is borrowed and must outlive the server.
  ApiServer(const Config& config, const Publisher& publisher, const storage::SnapshotStore& store,
            const attest::PublicKey& public_key, const Clock& clock,
            std::function<std::vector<feeds::SourceHealth>()> source_health, PushApi push = {});
  ~ApiServer();

  // Binds config.listen_host:listen_port (port 0 picks a free port). Unavailable names the
  // address when it is taken or not local.
  Status Bind();
  int port() const { return port_; }
  // Metrics, admin token and reload hook (daemon/ops.h); call before Run().
  void SetOps(OpsHooks hooks);
  // Serves until Stop(); blocking.
  void Run();
  void Stop();
  // Lets POST /v1/log/cosignatures store witness cosignatures in `store` (borrowed; the same
  // store as the constructor's). Call before Run(). Without it that route answers 503.
  void AcceptCosignatures(storage::SnapshotStore* store) { writable_store_ = store; }

 private:
  void Routes();
  struct Impl;
  std::unique_ptr<Impl> impl_;
  const Config& config_;
  const Publisher& publisher_;
  const storage::SnapshotStore& store_;
  const attest::PublicKey& public_key_;
  const Clock& clock_;
  std::function<std::vector<feeds::SourceHealth>()> source_health_;
  PushApi push_;  // POST /v1/observations, GET /v1/stream (daemon/push_routes.h)
  int port_ = 0;
  storage::SnapshotStore* writable_store_ = nullptr;
};

}  // namespace plumbline::daemon
