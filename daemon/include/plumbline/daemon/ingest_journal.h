// IngestJournal: the latest accepted push batch of each publisher, in its own RocksDB directory
// (<data_dir>/ingest by default), written with a synced write before the batch is acknowledged
// (docs/ingest.md, "Durability"). The Ingestor reloads it at creation to restore each publisher's
// batch-sequence floor and its observations that are still fresh.
//
// Durability: Put() returns only after a synced write (WriteOptions::sync = true: the WAL is
// fdatasync'ed), so an acknowledged batch survives a crash or power loss.
//
// Bounded: one record per publisher; a Put() overwrites the previous one, so the journal holds at
// most one batch (<= http.max_body_bytes) per publisher that ever published.
//
// Layout (column family "default"):
//   "pub/" + publisher name -> u64 sequence (8 bytes big-endian) || i64 received Unix ns (8 bytes
//                              big-endian, two's complement) || the exact request body (DSSE
//                              envelope JSON) as received
//
// Integrity: RocksDB runs with paranoid_checks and WAL recovery mode kAbsoluteConsistency; a
// record shorter than its 16-byte header is Corruption naming the key.
//
// Thread safety: all methods may be called concurrently (RocksDB serializes and group-commits
// writes). Ownership: the journal owns its RocksDB handle; one process may open a directory once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "plumbline/status.h"

namespace rocksdb {
class DB;
}

namespace plumbline::daemon {

struct JournalRecord {
  std::string publisher;
  uint64_t sequence = 0;
  int64_t received_unix_nanos = 0;
  std::string envelope;  // the exact bytes that were acknowledged
};

class IngestJournal {
 public:
  // Opens (creating if missing) the RocksDB directory `path`. IOError / Corruption name the path.
  static Result<std::unique_ptr<IngestJournal>> Open(const std::string& path);
  ~IngestJournal();
  IngestJournal(const IngestJournal&) = delete;
  IngestJournal& operator=(const IngestJournal&) = delete;

  // Replaces the publisher's record, durably (synced). An error means nothing may be acknowledged.
  Status Put(std::string_view publisher, uint64_t sequence, int64_t received_unix_nanos, std::string_view envelope);

  // The publisher's latest record; nullopt if it never had one.
  Result<std::optional<JournalRecord>> Latest(const std::string& publisher) const;

  const std::string& path() const { return path_; }

 private:
  IngestJournal(std::unique_ptr<rocksdb::DB> db, std::string path);
  std::unique_ptr<rocksdb::DB> db_;
  std::string path_;
};

}  // namespace plumbline::daemon
