// IngestJournal: the latest accepted push batch of each publisher, in its own RocksDB directory
// (<data_dir>/ingest by default), written with a synced write before the batch is acknowledged
// (docs/ingest.md, "Durability"). The Ingestor reloads it at creation to restore each publisher's
// batch-sequence floor and its observations that are still fresh.
//
// Durability: Put() and Wait() return OK only after a synced write (WriteOptions::sync = true:
// the WAL is fdatasync'ed) that contains the record, so an acknowledged batch survives a crash or
// power loss.
//
// Group commit: records appended while a synced write is in progress are written together by the
// next write, in one rocksdb::WriteBatch with one fdatasync (docs/ingest.md, "Group commit"). One
// of the waiting callers does the write (the leader) and settles every record of its group in
// append order, then wakes the others; there is no background thread. Records are written in
// append order, so of two records of one publisher the later appended one is what stays.
//
// Failure: a failed write fails every record of its group (each Wait() returns the error, each
// settle callback sees it). RocksDB then refuses further writes; the next write first closes and
// reopens the database, so the journal recovers by itself once the disk does (a write that finds
// it still broken fails again). RocksDB's own diagnostics go to stderr, not to a LOG file.
//
// Bounded: one record per publisher; a Put() overwrites the previous one, so the journal holds at
// most one batch (<= http.max_body_bytes) per publisher that ever published.
//
// Layout (column family "default"):
//   "pub/" + publisher name -> u64 sequence (8 bytes big-endian) || i64 received Unix ns (8 bytes
//                              big-endian, two's complement) || the exact request body (DSSE
//                              envelope JSON) as received
//
// Integrity: RocksDB runs with paranoid_checks and WAL recovery mode kTolerateCorruptedTailRecords
// (an incomplete last record, never acknowledged since it was never synced, is dropped; any other
// damage fails Open); a record shorter than its 16-byte header is Corruption naming the key.
//
// Thread safety: all methods may be called concurrently (writes are grouped as above; Latest()
// reads alongside them). Ownership: the journal owns its RocksDB handle; one process may open a directory once.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

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
  // Same as Wait(Append(..., nullptr)).
  Status Put(std::string_view publisher, uint64_t sequence, int64_t received_unix_nanos, std::string_view envelope);

  // Group commit in two steps, so a caller can queue its record while holding its own lock (and so
  // fix the order of its records) and wait without it. Append() copies the record into the queue
  // and returns at once. Wait() returns once the record's write finished: OK = durable. `settle`
  // (may be empty) is called exactly once with that same status before any Wait() of its group
  // returns, on the thread doing the write, in append order across all records; it must not call
  // into the journal. Every ticket must be waited for (else its record may wait for the next write).
  struct Ticket;
  std::shared_ptr<Ticket> Append(std::string_view publisher, uint64_t sequence, int64_t received_unix_nanos,
                                 std::string_view envelope, std::function<void(const Status&)> settle);
  Status Wait(const std::shared_ptr<Ticket>& ticket);

  // Like Append(), for several records that must be durable together or not at all (a bulk
  // request, docs/ingest.md "Bulk"): one ticket, always written whole within one synced write
  // (a group never splits a ticket), `settle` called once for all of them. Records are written in
  // the given order (a later record of the same publisher overwrites an earlier one).
  struct Record {
    std::string_view publisher;
    uint64_t sequence = 0;
    int64_t received_unix_nanos = 0;
    std::string_view envelope;
  };
  std::shared_ptr<Ticket> AppendAll(const std::vector<Record>& records, std::function<void(const Status&)> settle);

  // Counters since Open, for benchmarks and operators: synced writes done and records they held
  // (records / writes = the average group size).
  struct CommitStats {
    uint64_t writes = 0;
    uint64_t records = 0;
  };
  CommitStats commit_stats() const;

  // The publisher's latest record; nullopt if it never had one.
  Result<std::optional<JournalRecord>> Latest(const std::string& publisher) const;

  const std::string& path() const { return path_; }

 private:
  IngestJournal(std::unique_ptr<rocksdb::DB> db, std::string path);
  static Result<std::unique_ptr<rocksdb::DB>> OpenDb(const std::string& path);
  Status WriteGroup(const std::vector<std::shared_ptr<Ticket>>& group);  // the leader only
  Status Reopen();  // if needs_reopen_; takes db_mu_ exclusively
  mutable std::shared_mutex db_mu_;  // exclusive only to reopen db_ after a failed write
  std::unique_ptr<rocksdb::DB> db_;  // null only while a reopen failed
  std::string path_;

  mutable std::mutex mu_;
  std::deque<std::shared_ptr<Ticket>> queue_;  // appended, not yet taken by a leader
  bool writing_ = false;                      // a leader is writing a group
  std::atomic<bool> needs_reopen_{false};     // a write failed: reopen db_ before the next use
  CommitStats stats_;
};

}  // namespace plumbline::daemon
