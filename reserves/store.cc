#include "plumbline/reserves/store.h"

#include <charconv>
#include <filesystem>
#include <mutex>

#include <nlohmann/json.hpp>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

namespace plumbline::reserves {
namespace {

constexpr char kFormatKey[] = "meta/format";
constexpr char kFormat[] = "plumbline-reserves-v1";

std::string U64Be(uint64_t v) {
  std::string out;
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
  return out;
}

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  if (s.IsNotFound()) return Status::NotFound(what + ": not found");
  if (s.IsCorruption()) return Status::Corruption(what + ": " + s.ToString());
  return Status::IOError(what + ": " + s.ToString());
}

class RocksReserveStore final : public ReserveStore {
 public:
  RocksReserveStore(std::unique_ptr<rocksdb::DB> db, bool sync) : db_(std::move(db)) { wo_.sync = sync; }

  Status PutEvidence(const std::vector<std::pair<std::string, std::string>>& items) override {
    rocksdb::WriteBatch batch;
    for (const auto& [sha, bytes] : items) batch.Put("ev/" + sha, bytes);
    return FromRocks(db_->Write(wo_, &batch), "storing reserve evidence");
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
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::WriteOptions wo_;
  std::mutex mu_;
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
  return std::unique_ptr<ReserveStore>(new RocksReserveStore(std::move(db), options.sync_writes));
}

}  // namespace plumbline::reserves
