// HTTP routes of push ingestion and the snapshot stream, registered by ApiServer::Routes() with
// one call (before its catch-all 405 routes, so they win).
//
//   POST /v1/observations   a signed observation batch (docs/ingest.md)       -> 200 / problem+json
//   POST /v1/observations/bulk  NDJSON, one signed batch per line (docs/ingest.md, "Bulk")
//                           -> 200 NDJSON of per-line results / 413 / 415 / 503 problem+json. When
//                           [ingest].bulk_max_bytes exceeds [http].max_body_bytes, the server's body
//                           limit is raised to it and a pre-routing handler keeps every other route
//                           at [http].max_body_bytes (by Content-Length, 413 before the body is read).
//   GET  /v1/stream         Server-Sent Events of new snapshots (docs/stream.md)
//   GET  /v1/publishers     each push publisher's counters since start (docs/ingest.md)
//
// Why the stream does not starve request threads: cpp-httplib 0.11.4 serves each connection on a
// worker of a fixed pool for as long as the response lasts, and a streaming response lasts as long
// as the subscriber stays. Its listener cannot hand a socket to anybody else (the accepted socket
// lives inside httplib's task closure), so a separate fan-out thread over taken-over sockets is
// not possible without patching the library, and a second listener on another port would break
// the one-origin API (and the nginx config). Instead the server runs on an elastic task queue:
// `http.threads` workers for ordinary requests, and a stream handler, once admitted, *lends* its
// thread to the subscriber and starts a replacement worker, so `http.threads` workers always remain
// free for ordinary requests. Subscribers are bounded by [stream].max_subscribers (503 +
// Retry-After beyond it), each costs one mostly sleeping thread (a condition-variable wait; events
// are rendered once per snapshot per filter), and its write timeout (http.write_timeout_ms) cuts off
// a subscriber that stops reading. When the stream ends the extra worker retires.
#pragma once

#include <functional>

#include <httplib.h>

#include "plumbline/daemon/push_api.h"

namespace plumbline::daemon {

// Registers the routes above. Call before any catch-all route. The server's task queue must come
// from NewElasticTaskQueue(), or every stream pins one of its request workers.
void RegisterPushRoutes(httplib::Server& server, const PushApi& push);

// The elastic task queue described above: `base_threads` workers, plus one per open stream.
// `on_worker_start`, if set, runs first on every worker thread (e.g. to set its priority).
httplib::TaskQueue* NewElasticTaskQueue(size_t base_threads, std::function<void()> on_worker_start = nullptr);

}  // namespace plumbline::daemon
