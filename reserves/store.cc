#include "plumbline/reserves/store.h"

#include <charconv>
#include <filesystem>
#include <mutex>
#include <set>
#include <string_view>

#include <nlohmann/json.hpp>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

namespace plumbline::reserves {
namespace {

constexpr char kFormatKey[] = "meta/format";
constexpr char kFormat[] = "plumbline-reserves-v1";
constexpr char kIndexKey[] = "meta/evidence-index";
constexpr char kIndexVersion[] = "v1";
constexpr size_t kPruneBatch = 10'000;

std::string U64Be(uint64_t v) {
  std::string out;
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
  return out;
}

uint64_t ReadU64Be(std::string_view bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < bytes.size(); ++i) v = (v << 8) | static_cast<uint8_t>(bytes[i]);
  return v;
}

// Times are stored as unsigned big-endian so the index sorts by time; evidence has no times
// before 1970.
uint64_t StampOf(int64_t unix_nanos) { return unix_nanos < 0 ? 0 : static_cast<uint64_t>(unix_nanos); }

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  if (s.IsNotFound()) return Status::NotFound(what + ": not found");
  if (s.IsCorruption()) return Status::Corruption(what + ": " + s.ToString());
  return Status::IOError(what + ": " + s.ToString());
}

class RocksReserveStore final : public ReserveStore {
 public:
  RocksReserveStore(std::unique_ptr<rocksdb::DB> db, bool sync) : db_(std::move(db)) { wo_.sync = sync; }

  Status PutEvidence(const std::vector<std::pair<std::string, std::string>>& items,
                     int64_t stored_unix_nanos) override {
    std::lock_guard<std::mutex> lock(mu_);
    rocksdb::WriteBatch batch;
    std::set<std::string_view> seen;
    for (const auto& [sha, bytes] : items) {
      batch.Put("ev/" + sha, bytes);
      if (seen.insert(sha).second) PLUMBLINE_RETURN_IF_ERROR(Stamp(sha, StampOf(stored_unix_nanos), &batch));
    }
    return FromRocks(db_->Write(wo_, &batch), "storing reserve evidence");
  }

  Result<PruneStats> PruneEvidence(int64_t cutoff_unix_nanos, const std::set<std::string>& keep) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::set<std::string> protect = keep;
    {
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
      for (it->Seek("last/"); it->Valid() && it->key().starts_with("last/"); it->Next()) {
        auto j = nlohmann::json::parse(it->value().ToStringView(), nullptr, false);
        if (j.is_object() && j.contains("sha256") && j["sha256"].is_string()) protect.insert(j["sha256"].get<std::string>());
      }
      PLUMBLINE_RETURN_IF_ERROR(FromRocks(it->status(), "reading statement heads"));
    }
    const std::string end = "evt/" + U64Be(StampOf(cutoff_unix_nanos));
    PruneStats stats;
    std::string resume = "evt/";  // kept items stay in the index: each batch resumes past them
    for (;;) {
      rocksdb::WriteBatch batch;
      size_t in_batch = 0;
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
      for (it->Seek(resume); it->Valid() && in_batch < kPruneBatch;
           it->Next()) {
        const rocksdb::Slice key = it->key();
        if (!key.starts_with("evt/") || key.compare(end) >= 0) break;
        resume = key.ToString() + std::string(1, '\0');
        const std::string sha = key.ToString().substr(4 + 8);
        if (protect.count(sha)) {
          ++stats.kept;
          continue;
        }
        std::string bytes;
        if (db_->Get(rocksdb::ReadOptions(), "ev/" + sha, &bytes).ok()) stats.pruned_bytes += bytes.size();
        batch.Delete("ev/" + sha);
        batch.Delete("evr/" + sha);
        batch.Delete(key);
        ++stats.pruned;
        ++in_batch;
      }
      Status scanned = FromRocks(it->status(), "reading the evidence index");
      it.reset();
      PLUMBLINE_RETURN_IF_ERROR(scanned);
      if (in_batch == 0) break;
      PLUMBLINE_RETURN_IF_ERROR(FromRocks(db_->Write(wo_, &batch), "pruning reserve evidence"));
    }
    return stats;
  }

  uint64_t EvidenceCount() const override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    uint64_t n = 0;
    for (it->Seek("ev/"); it->Valid() && it->key().starts_with("ev/"); it->Next()) ++n;
    return n;
  }

  // Every ev/ item written before the index existed gets `stamp`; then the marker.
  Status IndexUnstamped(uint64_t stamp) {
    std::string marker;
    if (db_->Get(rocksdb::ReadOptions(), kIndexKey, &marker).ok() && marker == kIndexVersion) return Status::Ok();
    rocksdb::WriteBatch batch;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek("ev/"); it->Valid() && it->key().starts_with("ev/"); it->Next()) {
      const std::string sha = it->key().ToString().substr(3);
      std::string ignored;
      if (db_->Get(rocksdb::ReadOptions(), "evr/" + sha, &ignored).ok()) continue;
      batch.Put("evr/" + sha, U64Be(stamp));
      batch.Put("evt/" + U64Be(stamp) + sha, "");
    }
    PLUMBLINE_RETURN_IF_ERROR(FromRocks(it->status(), "indexing reserve evidence"));
    batch.Put(kIndexKey, kIndexVersion);
    return FromRocks(db_->Write(wo_, &batch), "indexing reserve evidence");
  }

  Result<std::string> GetEvidence(std::string_view sha256) const override {
    std::string value;
    auto s = db_->Get(rocksdb::ReadOptions(), "ev/" + std::string(sha256), &value);
    if (s.IsNotFound()) return Status::NotFound("no evidence with SHA-256 " + std::string(sha256));
    PLUMBLINE_RETURN_IF_ERROR(FromRocks(s, "reading evidence"));
    return value;
  }

  Status AcceptStatement(std::string_view stream, uint64_t sequence, int64_t as_of, std::string_view sha256,
                         std::string_view submission) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto head = Head(stream)) {
      if (sequence <= head->sequence) {
        return Status::FailedPrecondition("replay: statement sequence " + std::to_string(sequence) +
                                          " is not above the last accepted sequence " +
                                          std::to_string(head->sequence));
      }
      if (as_of <= head->as_of_unix_nanos) {
        return Status::FailedPrecondition("older statement: as_of " + std::to_string(as_of) +
                                          " is not after the last accepted as_of " +
                                          std::to_string(head->as_of_unix_nanos));
      }
    }
    nlohmann::json head = {{"sequence", sequence}, {"as_of", std::to_string(as_of)}, {"sha256", sha256}};
    rocksdb::WriteBatch batch;
    batch.Put("stmt/" + std::string(stream) + "/" + U64Be(sequence),
              rocksdb::Slice(submission.data(), submission.size()));
    batch.Put("ev/" + std::string(sha256), rocksdb::Slice(submission.data(), submission.size()));
    PLUMBLINE_RETURN_IF_ERROR(Stamp(std::string(sha256), StampOf(as_of), &batch));
    batch.Put("last/" + std::string(stream), head.dump());
    return FromRocks(db_->Write(wo_, &batch), "storing custodian statement");
  }

  std::optional<StatementHead> Head(std::string_view stream) const override {
    std::string value;
    if (!db_->Get(rocksdb::ReadOptions(), "last/" + std::string(stream), &value).ok()) return std::nullopt;
    auto j = nlohmann::json::parse(value, nullptr, false);
    // Written by AcceptStatement only; anything else is treated as no head (and Resume reports
    // the missing statement).
    if (!j.is_object() || !j.contains("sequence") || !j["sequence"].is_number_unsigned() || !j.contains("as_of") ||
        !j["as_of"].is_string() || !j.contains("sha256") || !j["sha256"].is_string()) {
      return std::nullopt;
    }
    StatementHead h;
    h.sequence = j["sequence"].get<uint64_t>();
    const std::string as_of = j["as_of"].get<std::string>();
    std::from_chars(as_of.data(), as_of.data() + as_of.size(), h.as_of_unix_nanos);
    h.sha256 = j["sha256"].get<std::string>();
    return h;
  }

  uint64_t StatementCount(std::string_view stream) const override {
    const std::string prefix = "stmt/" + std::string(stream) + "/";
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    uint64_t n = 0;
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) ++n;
    return n;
  }

 private:
  // Moves `sha`'s stamp to `stamp` (never backwards) in `batch`. Caller holds mu_.
  Status Stamp(const std::string& sha, uint64_t stamp, rocksdb::WriteBatch* batch) {
    std::string old;
    auto s = db_->Get(rocksdb::ReadOptions(), "evr/" + sha, &old);
    if (s.ok()) {
      const uint64_t previous = ReadU64Be(old);
      if (previous >= stamp) return Status::Ok();
      batch->Delete("evt/" + U64Be(previous) + sha);
    } else if (!s.IsNotFound()) {
      return FromRocks(s, "reading the evidence index");
    }
    batch->Put("evr/" + sha, U64Be(stamp));
    batch->Put("evt/" + U64Be(stamp) + sha, "");
    return Status::Ok();
  }

  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::WriteOptions wo_;
  std::mutex mu_;  // serializes writers (statements, evidence stamps, pruning)
};

}  // namespace

Result<std::unique_ptr<ReserveStore>> ReserveStore::Open(const ReserveStoreOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(options.path, ec);
  if (ec) return Status::IOError("creating " + options.path + ": " + ec.message());
  rocksdb::Options o;
  o.create_if_missing = true;
  o.paranoid_checks = true;
  rocksdb::DB* raw = nullptr;
  PLUMBLINE_RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(o, options.path, &raw), "opening " + options.path));
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string format;
  auto s = db->Get(rocksdb::ReadOptions(), kFormatKey, &format);
  if (s.IsNotFound()) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    PLUMBLINE_RETURN_IF_ERROR(FromRocks(db->Put(wo, kFormatKey, kFormat), "initializing " + options.path));
  } else if (!s.ok()) {
    return FromRocks(s, "reading " + options.path);
  } else if (format != kFormat) {
    return Status::FailedPrecondition(options.path + " holds \"" + format + "\", not reserve data (" + kFormat + ")");
  }
  auto store = std::make_unique<RocksReserveStore>(std::move(db), options.sync_writes);
  PLUMBLINE_RETURN_IF_ERROR(store->IndexUnstamped(StampOf(options.now_unix_nanos)));
  return std::unique_ptr<ReserveStore>(std::move(store));
}

}  // namespace plumbline::reserves
