// SnapshotStore: signed snapshots in RocksDB, by sequence number.
//
// Durability: Append() returns only after a synced write (WriteOptions::sync = true), and callers
// publish a snapshot (serve it, count it) only after Append() succeeded, so nothing that was ever
// served can be lost in a crash.
//
// Ownership: a data directory belongs to one signing key. The first Open() records the key id;
// a later Open() with another key id fails with FailedPrecondition instead of mixing histories.
// A directory RocksDB reports as corrupt fails with Corruption; the daemon refuses to start.
//
// Layout (column family "default"):
//   "meta/format"        -> "plumbline-snapshots-v1"
//   "meta/key_id"        -> signing key id (64 hex)
//   "snap/" + u64 BE seq -> canonical DSSE envelope JSON
//
// Thread safety: all methods may be called concurrently; Append calls are serialized internally
// and must come in sequence order.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "plumbline/status.h"

namespace plumbline::storage {

struct StoreOptions {
  std::string path;    // data directory; created if missing
  std::string key_id;  // the signing key this directory belongs to
};

class SnapshotStore {
 public:
  virtual ~SnapshotStore() = default;

  static Result<std::unique_ptr<SnapshotStore>> Open(const StoreOptions& options);

  // Stores `envelope_json` as snapshot `sequence`, which must be LastSequence()+1 (1 when empty);
  // otherwise FailedPrecondition. IOError if the synced write fails (nothing is stored then).
  virtual Status Append(uint64_t sequence, std::string_view envelope_json) = 0;

  // NotFound if no such sequence.
  virtual Result<std::string> Get(uint64_t sequence) const = 0;

  // Highest stored sequence, or nullopt when empty.
  virtual std::optional<uint64_t> LastSequence() const = 0;
};

}  // namespace plumbline::storage
