#include "plumbline/daemon/ingest_journal.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>

namespace plumbline::daemon {
namespace {

constexpr size_t kHeader = 16;

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

}  // namespace

IngestJournal::IngestJournal(std::unique_ptr<rocksdb::DB> db, std::string path)
    : db_(std::move(db)), path_(std::move(path)) {}

IngestJournal::~IngestJournal() = default;

Result<std::unique_ptr<IngestJournal>> IngestJournal::Open(const std::string& path) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kAbsoluteConsistency;
  rocksdb::DB* raw = nullptr;
  PLUMBLINE_RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(options, path, &raw), "opening ingest journal " + path));
  return std::unique_ptr<IngestJournal>(new IngestJournal(std::unique_ptr<rocksdb::DB>(raw), path));
}

Status IngestJournal::Put(std::string_view publisher, uint64_t sequence, int64_t received_unix_nanos,
                          std::string_view envelope) {
  std::string value;
  value.reserve(kHeader + envelope.size());
  PutU64(value, sequence);
  PutU64(value, static_cast<uint64_t>(received_unix_nanos));
  value += envelope;
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Put(wo, Key(publisher), value),
                   "ingest journal " + path_ + ": writing the batch of publisher \"" + std::string(publisher) + "\"");
}

Result<std::optional<JournalRecord>> IngestJournal::Latest(const std::string& publisher) const {
  std::string value;
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
