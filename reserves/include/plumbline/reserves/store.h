// ReserveStore: RocksDB persistence for proof of reserve: raw evidence bytes (RPC responses and
// custodian submissions) by SHA-256, and every accepted custodian statement with the replay
// state that orders them.
//
// Durability: every write is one WriteBatch, synced (fdatasync) before it returns unless
// ReserveStoreOptions::sync_writes is false (benchmarks). Callers acknowledge (HTTP 2xx, publish an
// attestation citing evidence) only after the write returned OK.
//
// Layout (its own RocksDB directory, default <data_dir>/reserves):
//   "meta/format"                          -> "plumbline-reserves-v1"
//   "meta/evidence-index"                  -> "v1" once every ev/ item has the two keys below
//   "ev/" + sha256 hex                     -> raw bytes
//   "evr/" + sha256 hex                    -> u64 big-endian: when it was last stored (Unix ns)
//   "evt/" + u64 big-endian time + sha256  -> "" (the same, ordered by time, for pruning)
//   "stmt/" + stream + "/" + u64 sequence  -> submission bytes (stream = custodian|account|isin)
//   "last/" + stream                       -> {"as_of":"..","sequence":N,"sha256":".."}
//
// Thread safety: all methods may be called concurrently; AcceptStatement is serialized inside.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plumbline/status.h"

namespace plumbline::reserves {

struct ReserveStoreOptions {
  std::string path;
  bool sync_writes = true;
  // Evidence stored before the store kept times (format without meta/evidence-index) is given
  // this time when the store is opened, so retention counts from the upgrade, never from 0.
  int64_t now_unix_nanos = 0;
};

// What PruneEvidence removed and what it had to keep.
struct PruneStats {
  uint64_t pruned = 0;        // evidence items deleted
  uint64_t pruned_bytes = 0;  // their raw bytes
  uint64_t kept = 0;          // older than the cutoff but cited (keep set or a stream's head)
};

// The newest accepted statement of one stream.
struct StatementHead {
  uint64_t sequence = 0;
  int64_t as_of_unix_nanos = 0;
  std::string sha256;  // of the submission bytes
};

class ReserveStore {
 public:
  virtual ~ReserveStore() = default;

  // Creates the directory if missing. FailedPrecondition for a directory of another format;
  // Corruption when RocksDB's checksums fail; IOError otherwise.
  static Result<std::unique_ptr<ReserveStore>> Open(const ReserveStoreOptions& options);

  // Stores every (sha256, bytes) pair in one synced batch, stamped `stored_unix_nanos`. The
  // caller computed the hashes; re-storing the same evidence is harmless (same key, same bytes)
  // and moves its stamp forward, so evidence still being cited is not pruned.
  virtual Status PutEvidence(const std::vector<std::pair<std::string, std::string>>& items,
                             int64_t stored_unix_nanos) = 0;
  // NotFound if absent (never stored, or pruned).
  virtual Result<std::string> GetEvidence(std::string_view sha256) const = 0;

  // Retention: deletes the evidence last stored before `cutoff_unix_nanos`, except the items in
  // `keep` (what the current attestations cite) and each stream's head statement (Resume reads
  // it). Statements (stmt/) and heads are never deleted: they order replays. Deletes in synced
  // batches of at most 10,000 items; IOError leaves a consistent store (items are deleted with
  // their index keys). Serialized with the writers.
  virtual Result<PruneStats> PruneEvidence(int64_t cutoff_unix_nanos, const std::set<std::string>& keep) = 0;
  // Evidence items stored now (tests, metrics).
  virtual uint64_t EvidenceCount() const = 0;

  // Accepts a statement of `stream` only if sequence > head.sequence and as_of > head.as_of
  // (else FailedPrecondition "replay ..." or "older ..."; nothing is written). Writes the
  // submission under stmt/, as evidence under ev/<sha256> (stamped with as_of), and the new head,
  // in one synced batch.
  virtual Status AcceptStatement(std::string_view stream, uint64_t sequence, int64_t as_of_unix_nanos,
                                 std::string_view sha256, std::string_view submission) = 0;
  virtual std::optional<StatementHead> Head(std::string_view stream) const = 0;
  // Number of statements stored for `stream` (tests, metrics).
  virtual uint64_t StatementCount(std::string_view stream) const = 0;
};

}  // namespace plumbline::reserves
