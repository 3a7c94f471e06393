// The snapshot stream behind GET /v1/stream (Server-Sent Events, docs/stream.md).
//
// Events (one per published snapshot, in sequence order, never skipping one):
//   id: <sequence>
//   event: snapshot
//   data: {"envelope":<the stored DSSE envelope JSON, byte for byte>,"sequence":<sequence>}
// or, for a subscription filtered to some symbols,
//   id: <sequence>
//   event: marks
//   data: <the GET /v1/marks view of that snapshot with only the chosen symbols' marks>
// and heartbeat comment lines (": heartbeat") when nothing was sent for StreamConfig::heartbeat_ms.
//
// Start: a subscription without a last event id starts with the latest snapshot (so a client has
// state at once) and continues with each new one; with last event id L it continues at L + 1,
// reading older snapshots from the store, so a reconnecting client (EventSource sends
// Last-Event-ID) misses nothing.
//
// The publisher calls Notify() after a snapshot is stored (synced); subscribers never see a
// snapshot that could still be lost.
//
// Threads: each Subscription is driven by one thread (its Next() blocks); see daemon/push_routes.cc
// for how the HTTP server lends subscribers their own threads so they never occupy request workers.
// Notify(), Close() and Subscribe() may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "plumbline/daemon/config.h"
#include "plumbline/daemon/publisher.h"
#include "plumbline/status.h"
#include "plumbline/storage/snapshot_store.h"

namespace plumbline::daemon {

class SnapshotStream;

// One subscriber. Not thread-safe: one thread calls Next(). Releases its slot on destruction.
class Subscription {
 public:
  ~Subscription();
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  // Blocks until the next event is ready (returns its SSE text, ending in a blank line), until
  // heartbeat_ms passed without one (returns a heartbeat comment), or until the stream is closed
  // (returns nullopt: end the response). A snapshot that cannot be read back from the store also
  // ends the subscription (nullopt) rather than skip it.
  std::optional<std::string> Next();

  uint64_t next_sequence() const { return next_sequence_; }

 private:
  friend class SnapshotStream;
  Subscription(SnapshotStream* stream, uint64_t next_sequence, std::set<std::string> symbols)
      : stream_(stream), next_sequence_(next_sequence), symbols_(std::move(symbols)) {}
  SnapshotStream* stream_;
  uint64_t next_sequence_;
  std::set<std::string> symbols_;  // empty: full snapshot events
};

class SnapshotStream {
 public:
  // `store` and `publisher` are borrowed and must outlive the stream. The latest snapshot is taken
  // from publisher.Latest() (after Resume()).
  // config.stream holds the limits; config.symbols the symbols a filter may name.
  SnapshotStream(const Config& config, const storage::SnapshotStore& store, const Publisher& publisher);
  ~SnapshotStream();

  // Makes `published` (already stored) the newest event and wakes every subscriber.
  void Notify(std::shared_ptr<const Published> published);

  // Ends every subscription (their Next() returns nullopt) and refuses new ones. Call before
  // stopping the HTTP server.
  void Close();

  // A new subscription. `last_event_id`: the last sequence the client has (nullopt: start with the
  // latest). `symbols`: empty for full snapshots, else the marks to include (each must be
  // configured). Errors: NotFound naming an unknown symbol; InvalidArgument when last_event_id is
  // beyond the latest snapshot; Unavailable when max_subscribers are connected or the stream is
  // closed.
  Result<std::unique_ptr<Subscription>> Subscribe(std::optional<uint64_t> last_event_id,
                                                  std::set<std::string> symbols);

  size_t subscribers() const;
  int64_t heartbeat_ms() const { return config_.heartbeat_ms; }

 private:
  friend class Subscription;
  // The event text for `sequence`, or nullopt if it cannot be read.
  std::optional<std::string> Render(uint64_t sequence, const std::set<std::string>& symbols) const;
  std::shared_ptr<const Published> Find(uint64_t sequence) const;  // ring, then store

  static constexpr size_t kRecent = 64;  // snapshots kept in memory for late or resuming readers

  const StreamConfig config_;
  const storage::SnapshotStore& store_;
  std::set<std::string> configured_symbols_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<const Published>> recent_;  // ascending sequence
  uint64_t latest_sequence_ = 0;                         // 0 = none yet
  size_t subscribers_ = 0;
  bool closed_ = false;
};

// Stable SSE text of one full snapshot event (also what the tests and docs show).
std::string SnapshotEvent(uint64_t sequence, const std::string& envelope_json);

}  // namespace plumbline::daemon
