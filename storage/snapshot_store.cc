#include "plumbline/storage/snapshot_store.h"

#include <atomic>
#include <mutex>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

namespace plumbline::storage {
namespace {

constexpr char kFormatKey[] = "meta/format";
constexpr char kFormatValue[] = "plumbline-snapshots-v1";
constexpr char kKeyIdKey[] = "meta/key_id";
constexpr char kSnapPrefix[] = "snap/";

std::string SnapKey(uint64_t sequence) {
  std::string key(kSnapPrefix);
  for (int shift = 56; shift >= 0; shift -= 8) {
    key.push_back(static_cast<char>((sequence >> shift) & 0xff));
  }
  return key;
}

uint64_t SequenceFromKey(const rocksdb::Slice& key) {
  uint64_t seq = 0;
  for (size_t i = sizeof(kSnapPrefix) - 1; i < key.size(); ++i) {
    seq = (seq << 8) | static_cast<uint8_t>(key[i]);
  }
  return seq;
}

Status FromRocks(const rocksdb::Status& s, const std::string& context) {
  if (s.ok()) return Status::Ok();
  if (s.IsCorruption()) return Status::Corruption(context + ": " + s.ToString());
  if (s.IsNotFound()) return Status::NotFound(context + ": " + s.ToString());
  return Status::IOError(context + ": " + s.ToString());
}

class RocksSnapshotStore final : public SnapshotStore {
 public:
  RocksSnapshotStore(std::unique_ptr<rocksdb::DB> db, std::optional<uint64_t> last)
      : db_(std::move(db)), has_last_(last.has_value()), last_(last.value_or(0)) {}

  Status Append(uint64_t sequence, std::string_view envelope_json) override {
    std::lock_guard<std::mutex> lock(append_mu_);
    uint64_t expected = has_last_.load() ? last_.load() + 1 : 1;
    if (sequence != expected) {
      return Status::FailedPrecondition("snapshot sequence " + std::to_string(sequence) +
                                        " out of order; next is " + std::to_string(expected));
    }
    rocksdb::WriteOptions wo;
    wo.sync = true;
    rocksdb::Slice value(envelope_json.data(), envelope_json.size());
    PLUMBLINE_RETURN_IF_ERROR(FromRocks(db_->Put(wo, SnapKey(sequence), value),
                                        "storing snapshot " + std::to_string(sequence)));
    last_.store(sequence);
    has_last_.store(true);
    return Status::Ok();
  }

  Result<std::string> Get(uint64_t sequence) const override {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), SnapKey(sequence), &value);
    if (s.IsNotFound()) return Status::NotFound("no snapshot with sequence " + std::to_string(sequence));
    PLUMBLINE_RETURN_IF_ERROR(FromRocks(s, "reading snapshot " + std::to_string(sequence)));
    return value;
  }

  std::optional<uint64_t> LastSequence() const override {
    if (!has_last_.load()) return std::nullopt;
    return last_.load();
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::mutex append_mu_;
  std::atomic<bool> has_last_;
  std::atomic<uint64_t> last_;
};

}  // namespace

Result<std::unique_ptr<SnapshotStore>> SnapshotStore::Open(const StoreOptions& options) {
  rocksdb::Options ro;
  ro.create_if_missing = true;
  ro.paranoid_checks = true;
  // Small, append-only data: keep the footprint modest and the WAL always on.
  ro.max_open_files = 256;
  ro.keep_log_file_num = 5;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(ro, options.path, &raw);
  if (!s.ok()) {
    if (s.IsCorruption()) {
      return Status::Corruption("data directory " + options.path +
                                " is corrupt (RocksDB: " + s.ToString() +
                                "); refusing to start. Restore it from a backup or move it aside.");
    }
    return Status::IOError("cannot open data directory " + options.path + ": " + s.ToString());
  }
  std::unique_ptr<rocksdb::DB> db(raw);

  std::string format, key_id;
  rocksdb::Status fs = db->Get(rocksdb::ReadOptions(), kFormatKey, &format);
  rocksdb::Status ks = db->Get(rocksdb::ReadOptions(), kKeyIdKey, &key_id);
  if (fs.IsNotFound() && ks.IsNotFound()) {
    // A fresh directory, unless it already holds something that is not ours.
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    it->SeekToFirst();
    if (it->Valid()) {
      return Status::FailedPrecondition("data directory " + options.path +
                                        " holds data that is not a Plumbline snapshot store");
    }
    rocksdb::WriteBatch batch;
    batch.Put(kFormatKey, kFormatValue);
    batch.Put(kKeyIdKey, options.key_id);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    PLUMBLINE_RETURN_IF_ERROR(FromRocks(db->Write(wo, &batch), "initialising " + options.path));
    return std::unique_ptr<SnapshotStore>(new RocksSnapshotStore(std::move(db), std::nullopt));
  }
  PLUMBLINE_RETURN_IF_ERROR(FromRocks(fs, "reading format of " + options.path));
  PLUMBLINE_RETURN_IF_ERROR(FromRocks(ks, "reading key id of " + options.path));
  if (format != kFormatValue) {
    return Status::FailedPrecondition("data directory " + options.path + " has format \"" + format +
                                      "\", expected \"" + kFormatValue + "\"");
  }
  if (key_id != options.key_id) {
    return Status::FailedPrecondition("data directory " + options.path + " belongs to signing key " +
                                      key_id + ", but the configured key is " + options.key_id +
                                      "; refusing to mix histories (use the original key or a new "
                                      "data directory)");
  }

  std::optional<uint64_t> last;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  it->SeekForPrev(SnapKey(UINT64_MAX));
  if (it->Valid() && it->key().starts_with(kSnapPrefix)) last = SequenceFromKey(it->key());
  PLUMBLINE_RETURN_IF_ERROR(FromRocks(it->status(), "scanning " + options.path));
  return std::unique_ptr<SnapshotStore>(new RocksSnapshotStore(std::move(db), last));
}

}  // namespace plumbline::storage
