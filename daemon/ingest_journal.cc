#include "plumbline/daemon/ingest_journal.h"

#include <condition_variable>
#include <cstdarg>
#include <cstdio>

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

namespace plumbline::daemon {
namespace {

constexpr size_t kHeader = 16;
// A group stops growing past this many bytes (it always takes at least one record).
constexpr size_t kMaxGroupBytes = 8 << 20;

std::string Key(std::string_view publisher) { return "pub/" + std::string(publisher); }

void PutU64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

uint64_t GetU64(std::string_view in) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

Status FromRocks(const rocksdb::Status& s, const std::string& context) {
  if (s.ok()) return Status::Ok();
  if (s.IsCorruption()) return Status::Corruption(context + ": " + s.ToString());
  return Status::IOError(context + ": " + s.ToString());
}

// RocksDB's own diagnostics, fatal ones only (errors reach callers as Status), to stderr (the daemon's log) instead of a
// LOG file beside the journal: a full disk must fail the journal's writes (503) and nothing else.
// (With a LOG file, Debian's RocksDB build aborts on an assertion in the LOG writer once one of
// its writes failed, found by IngestTest.AFailedJournalWriteIs503...)
class StderrLogger final : public rocksdb::Logger {
 public:
  explicit StderrLogger(std::string path) : rocksdb::Logger(rocksdb::InfoLogLevel::FATAL_LEVEL), path_(std::move(path)) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override { Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap); }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char line[1024];
    std::vsnprintf(line, sizeof line, format, ap);
    std::fprintf(stderr, "ingest journal %s: rocksdb: %s\n", path_.c_str(), line);
  }

 private:
  const std::string path_;
};

}  // namespace

IngestJournal::IngestJournal(std::unique_ptr<rocksdb::DB> db, std::string path)
    : db_(std::move(db)), path_(std::move(path)) {}

IngestJournal::~IngestJournal() = default;

Result<std::unique_ptr<rocksdb::DB>> IngestJournal::OpenDb(const std::string& path) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  // Every acknowledged record was synced before its answer, so the only damage a crash (or a write
  // that failed half way on a full disk) can leave is an incomplete record at the log's tail,
  // never acknowledged: dropped. Any other corruption stops the open.
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  options.info_log = std::make_shared<StderrLogger>(path);
  rocksdb::DB* raw = nullptr;
  PLUMBLINE_RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(options, path, &raw), "opening ingest journal " + path));
  return std::unique_ptr<rocksdb::DB>(raw);
}

Result<std::unique_ptr<IngestJournal>> IngestJournal::Open(const std::string& path) {
  auto db = OpenDb(path);
  if (!db.ok()) return db.status();
  return std::unique_ptr<IngestJournal>(new IngestJournal(std::move(db).value(), path));
}

struct IngestJournal::Ticket {
  std::vector<std::pair<std::string, std::string>> puts;  // (key, header || envelope), in order
  size_t bytes = 0;                                        // of the values
  std::function<void(const Status&)> settle;
  Status status = Status::Ok();
  bool done = false;                // guarded by mu_
  std::condition_variable wake;     // done, or this ticket's waiter should lead the next write
};

Status IngestJournal::Put(std::string_view publisher, uint64_t sequence, int64_t received_unix_nanos,
                          std::string_view envelope) {
  return Wait(Append(publisher, sequence, received_unix_nanos, envelope, nullptr));
}

std::shared_ptr<IngestJournal::Ticket> IngestJournal::Append(std::string_view publisher, uint64_t sequence,
                                                             int64_t received_unix_nanos, std::string_view envelope,
                                                             std::function<void(const Status&)> settle) {
  return AppendAll({Record{publisher, sequence, received_unix_nanos, envelope}}, std::move(settle));
}

std::shared_ptr<IngestJournal::Ticket> IngestJournal::AppendAll(const std::vector<Record>& records,
                                                                std::function<void(const Status&)> settle) {
  auto ticket = std::make_shared<Ticket>();
  ticket->puts.reserve(records.size());
  for (const Record& r : records) {
    std::string value;
    value.reserve(kHeader + r.envelope.size());
    PutU64(value, r.sequence);
    PutU64(value, static_cast<uint64_t>(r.received_unix_nanos));
    value += r.envelope;
    ticket->bytes += value.size();
    ticket->puts.emplace_back(Key(r.publisher), std::move(value));
  }
  ticket->settle = std::move(settle);
  std::lock_guard<std::mutex> lock(mu_);
  queue_.push_back(ticket);
  return ticket;
}

Status IngestJournal::Wait(const std::shared_ptr<Ticket>& ticket) {
  std::unique_lock<std::mutex> lock(mu_);
  while (!ticket->done) {
    if (writing_) {
      ticket->wake.wait(lock);
      continue;
    }
    // Lead: everything queued so far (this ticket included, as it is queued and not done) goes
    // into one synced write.
    writing_ = true;
    std::vector<std::shared_ptr<Ticket>> group;
    size_t bytes = 0;
    while (!queue_.empty() && (group.empty() || bytes + queue_.front()->bytes <= kMaxGroupBytes)) {
      bytes += queue_.front()->bytes;
      group.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    const Status s = WriteGroup(group);
    for (const auto& t : group) {
      if (t->settle) t->settle(s);
    }
    lock.lock();
    for (const auto& t : group) {
      t->status = s;
      t->done = true;
      t->wake.notify_one();
    }
    ++stats_.writes;
    for (const auto& t : group) stats_.records += t->puts.size();
    writing_ = false;
    // Wake only the oldest queued record's waiter: it leads the next write, taking the others.
    if (!queue_.empty()) queue_.front()->wake.notify_one();
  }
  return ticket->status;
}

Status IngestJournal::WriteGroup(const std::vector<std::shared_ptr<Ticket>>& group) {
  // Built only on an error (the hot path has none).
  size_t records = 0;
  for (const auto& t : group) records += t->puts.size();
  auto context = [&] {
    return "ingest journal " + path_ + ": synced write of " + std::to_string(records) +
           (records == 1 ? " batch" : " batches");
  };
  if (needs_reopen_) PLUMBLINE_RETURN_IF_ERROR(Reopen().WithContext(context()));
  rocksdb::WriteBatch batch;
  for (const auto& t : group) {
    for (const auto& [key, value] : t->puts) {
      rocksdb::Status s = batch.Put(key, value);
      if (!s.ok()) return FromRocks(s, context());
    }
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  std::shared_lock<std::shared_mutex> shared(db_mu_);
  if (!db_) return Status::IOError(context() + ": the journal is closed after a failed write");
  rocksdb::Status written = db_->Write(wo, &batch);
  if (written.ok()) return Status::Ok();
  Status s = FromRocks(written, context());
  needs_reopen_ = true;
  return s;
}

Status IngestJournal::Reopen() {
  // After a failed WAL write RocksDB refuses every further write (a fatal background error that
  // DB::Resume() does not clear): close and reopen, which replays the log (every record that was
  // written completely) and starts a new one.
  std::unique_lock<std::shared_mutex> exclusive(db_mu_);
  if (!needs_reopen_) return Status::Ok();  // another caller did it
  db_.reset();
  auto db = OpenDb(path_);
  if (!db.ok()) return db.status().WithContext("reopening after an earlier failed write");
  db_ = std::move(db).value();
  needs_reopen_ = false;
  return Status::Ok();
}

IngestJournal::CommitStats IngestJournal::commit_stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

Result<std::optional<JournalRecord>> IngestJournal::Latest(const std::string& publisher) const {
  std::string value;
  if (needs_reopen_) PLUMBLINE_RETURN_IF_ERROR(const_cast<IngestJournal*>(this)->Reopen());
  std::shared_lock<std::shared_mutex> shared(db_mu_);
  if (!db_) return Status::IOError("ingest journal " + path_ + ": closed after a failed write");
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), Key(publisher), &value);
  if (s.IsNotFound()) return std::optional<JournalRecord>();
  PLUMBLINE_RETURN_IF_ERROR(FromRocks(s, "ingest journal " + path_ + ": reading " + Key(publisher)));
  if (value.size() < kHeader) {
    return Status::Corruption("ingest journal " + path_ + ": record " + Key(publisher) + " has " +
                              std::to_string(value.size()) + " bytes, fewer than its 16-byte header");
  }
  JournalRecord r;
  r.publisher = publisher;
  r.sequence = GetU64(value);
  r.received_unix_nanos = static_cast<int64_t>(GetU64(std::string_view(value).substr(8)));
  r.envelope = value.substr(kHeader);
  return std::optional<JournalRecord>(std::move(r));
}

}  // namespace plumbline::daemon
