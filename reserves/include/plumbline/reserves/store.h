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
//   "ev/" + sha256 hex                     -> raw bytes
//   "stmt/" + stream + "/" + u64 sequence  -> submission bytes (stream = custodian|account|isin)
//   "last/" + stream                       -> {"as_of":"..","sequence":N,"sha256":".."}
//
// Thread safety: all methods may be called concurrently; AcceptStatement is serialized inside.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plumbline/status.h"

namespace plumbline::reserves {

struct ReserveStoreOptions {
  std::string path;
  bool sync_writes = true;
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

  // Stores every (sha256, bytes) pair in one synced batch. The caller computed the hashes;
  // re-storing the same evidence is harmless (same key, same bytes).
  virtual Status PutEvidence(const std::vector<std::pair<std::string, std::string>>& items) = 0;
  // NotFound if absent.
  virtual Result<std::string> GetEvidence(std::string_view sha256) const = 0;

  // Accepts a statement of `stream` only if sequence > head.sequence and as_of > head.as_of
  // (else FailedPrecondition "replay ..." or "older ..."; nothing is written). Writes the
  // submission under stmt/, as evidence under ev/<sha256>, and the new head, in one synced batch.
  virtual Status AcceptStatement(std::string_view stream, uint64_t sequence, int64_t as_of_unix_nanos,
                                 std::string_view sha256, std::string_view submission) = 0;
  virtual std::optional<StatementHead> Head(std::string_view stream) const = 0;
  // Number of statements stored for `stream` (tests, metrics).
  virtual uint64_t StatementCount(std::string_view stream) const = 0;
};

}  // namespace plumbline::reserves
