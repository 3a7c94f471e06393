// The log's HTTP routes (docs/log.md), registered by ApiServer::Routes(). Private to daemon/.
//
//   GET  /v1/log/checkpoint                        latest checkpoint, signed note + cosignatures
//   GET  /v1/log/checkpoints/{size}                the checkpoint of one tree size + cosignatures
//   GET  /v1/log/proof/inclusion?seq=N&size=S      inclusion proof of snapshot N (leaf N-1)
//   GET  /v1/log/proof/consistency?from=A&to=B     consistency proof between two tree sizes
//   GET  /v1/snapshots/{seq}/bundle[?size=S]       offline bundle (c2sp.org/tlog-proof@v1)
//   POST /v1/log/cosignatures                      a witness cosignature on a stored checkpoint
//   GET  /v1/keys/history                          key rotation announcements and key windows
//
// Everything is read from the store (synced data only): a checkpoint is served only once stored.
#pragma once

#include <functional>

#include <httplib.h>

#include "plumbline/attest/keys.h"
#include "plumbline/daemon/config.h"
#include "plumbline/storage/snapshot_store.h"

namespace plumbline::daemon {

struct LogRoutesContext {
  const Config& config;
  const storage::SnapshotStore& store;
  const attest::PublicKey& public_key;  // the current signing key
  // The store for writes (cosignatures); null while the server is read-only (POST answers 503).
  std::function<storage::SnapshotStore*()> writable_store;
};

// Registers the routes on `server`; must run before the catch-all 405 handlers for /v1/.*.
// `context` is copied; what it references must outlive the server.
void RegisterLogRoutes(httplib::Server& server, const LogRoutesContext& context);

}  // namespace plumbline::daemon
