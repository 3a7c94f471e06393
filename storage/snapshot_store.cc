#include "plumbline/storage/snapshot_store.h"

#include <atomic>
#include <filesystem>
#include <mutex>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/write_batch.h>

#include "log_tree.h"

namespace plumbline::storage {
namespace {

using log_tree::Frontier;
using log_tree::NodeId;
using log_tree::Range;

constexpr char kFormatKey[] = "meta/format";
constexpr char kFormatV1[] = "plumbline-snapshots-v1";  // snapshots only; upgraded by Open()
constexpr char kFormatV2[] = "plumbline-snapshots-v2";  // + Merkle log, checkpoints, key history
constexpr char kKeyIdKey[] = "meta/key_id";
constexpr char kSnapPrefix[] = "snap/";
constexpr char kNodePrefix[] = "node/";
constexpr char kCheckpointPrefix[] = "ckpt/";
constexpr char kCosigPrefix[] = "cosig/";
constexpr char kKeyHistPrefix[] = "keyhist/";
constexpr char kKeyIdPrefix[] = "keyid/";

// Upgrading a v1 directory writes the computed nodes in batches of this many leaves.
constexpr uint64_t kUpgradeBatchLeaves = 16384;

void AppendU64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>((v >> shift) & 0xff));
}

uint64_t DecodeU64(std::string_view bytes) {
  uint64_t v = 0;
  for (char c : bytes.substr(0, 8)) v = (v << 8) | static_cast<uint8_t>(c);
  return v;
}

std::string U64Key(std::string_view prefix, uint64_t v) {
  std::string key(prefix);
  AppendU64(&key, v);
  return key;
}

std::string U64Value(uint64_t v) { return U64Key("", v); }
std::string SnapKey(uint64_t sequence) { return U64Key(kSnapPrefix, sequence); }
std::string CheckpointKey(uint64_t tree_size) { return U64Key(kCheckpointPrefix, tree_size); }
std::string CosigPrefix(uint64_t tree_size) { return U64Key(kCosigPrefix, tree_size); }
std::string KeyHistKey(uint64_t n) { return U64Key(kKeyHistPrefix, n); }
std::string KeyIdKey(std::string_view key_id) { return std::string(kKeyIdPrefix).append(key_id); }

std::string NodeKey(NodeId id) {
  std::string key(kNodePrefix);
  key.push_back(static_cast<char>(id.level));
  AppendU64(&key, id.index);
  return key;
}

std::string Describe(NodeId id) {
  return "level " + std::to_string(id.level) + " index " + std::to_string(id.index);
}

std::string_view View(const rocksdb::Slice& s) { return {s.data(), s.size()}; }
rocksdb::Slice ToSlice(std::string_view s) { return {s.data(), s.size()}; }
rocksdb::Slice ToSlice(const Hash32& h) { return {reinterpret_cast<const char*>(h.data()), h.size()}; }

Hash32 ToHash(std::string_view bytes) {
  Hash32 h{};
  std::copy(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(h.size()), h.begin());
  return h;
}

Status FromRocks(const rocksdb::Status& s, const std::string& context) {
  if (s.ok()) return Status::Ok();
  if (s.IsCorruption()) return Status::Corruption(context + ": " + s.ToString());
  if (s.IsNotFound()) return Status::NotFound(context + ": " + s.ToString());
  return Status::IOError(context + ": " + s.ToString());
}

Status CorruptDirectory(const std::string& path, const std::string& what) {
  return Status::Corruption("data directory " + path + " is corrupt: " + what +
                            ". Refusing to start; the directory must be restored from a backup "
                            "(move the damaged one aside for analysis)");
}

// The smallest key greater than every key starting with `prefix` ("" = no bound).
std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<uint8_t>(end.back()) == 0xff) end.pop_back();
  if (!end.empty()) end.back() = static_cast<char>(end.back() + 1);
  return end;
}

// Calls fn(key, value) -> Status for every key starting with `prefix`, in key order.
template <typename Fn>
Status ScanPrefix(rocksdb::DB* db, std::string_view prefix, Fn&& fn) {
  std::string end = PrefixEnd(prefix);
  rocksdb::Slice end_slice(end);
  rocksdb::ReadOptions ro;
  if (!end.empty()) ro.iterate_upper_bound = &end_slice;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
  for (it->Seek(ToSlice(prefix)); it->Valid(); it->Next()) {
    PLUMBLINE_RETURN_IF_ERROR(fn(View(it->key()), View(it->value())));
  }
  return FromRocks(it->status(), "scanning " + std::string(prefix));
}

// The last (key, value) whose key is `prefix` + 8 bytes, or nullopt.
Result<std::optional<std::pair<std::string, std::string>>> LastWithPrefix(rocksdb::DB* db,
                                                                          std::string_view prefix) {
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  it->SeekForPrev(std::string(prefix) + std::string(8, '\xff'));
  PLUMBLINE_RETURN_IF_ERROR(FromRocks(it->status(), "scanning " + std::string(prefix)));
  std::optional<std::pair<std::string, std::string>> out;
  if (it->Valid() && it->key().starts_with(ToSlice(prefix))) {
    out.emplace(it->key().ToString(), it->value().ToString());
  }
  return out;
}

class RocksSnapshotStore final : public SnapshotStore {
 public:
  RocksSnapshotStore(std::unique_ptr<rocksdb::DB> db, std::string path, bool sync)
      : db_(std::move(db)), path_(std::move(path)) {
    write_options_.sync = sync;
  }

  // Everything Open() does after RocksDB opened and verified its checksums.
  Status Load(const StoreOptions& options);

  Status Append(uint64_t sequence, std::string_view envelope_json) override {
    std::lock_guard<std::mutex> lock(write_mu_);
    uint64_t expected = tree_size_.load() + 1;
    if (sequence != expected) {
      return Status::FailedPrecondition("snapshot sequence " + std::to_string(sequence) +
                                        " out of order; next is " + std::to_string(expected));
    }
    rocksdb::WriteBatch batch;
    batch.Put(SnapKey(sequence), ToSlice(envelope_json));
    Frontier next = frontier_;
    next.Push(log_tree::LeafHash(envelope_json),
              [&](NodeId id, const Hash32& hash) { batch.Put(NodeKey(id), ToSlice(hash)); });
    PLUMBLINE_RETURN_IF_ERROR(
        FromRocks(db_->Write(write_options_, &batch), "storing snapshot " + std::to_string(sequence)));
    frontier_ = std::move(next);
    tree_size_.store(sequence);
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
    uint64_t size = tree_size_.load();
    if (size == 0) return std::nullopt;
    return size;
  }

  uint64_t TreeSize() const override { return tree_size_.load(); }

  Result<Hash32> RootHash(uint64_t tree_size) const override {
    PLUMBLINE_RETURN_IF_ERROR(CheckSize("tree size", tree_size));
    if (tree_size == 0) return log_tree::EmptyRoot();
    auto hashes = RangeHashes({Range{0, tree_size}});
    if (!hashes.ok()) return hashes.status();
    return hashes->front();
  }

  Result<Hash32> LeafHash(uint64_t leaf_index) const override {
    if (leaf_index >= TreeSize()) {
      return Status::InvalidArgument("leaf index " + std::to_string(leaf_index) +
                                     " is beyond the log (tree size " + std::to_string(TreeSize()) + ")");
    }
    auto hashes = ReadNodes({NodeId{0, leaf_index}});
    if (!hashes.ok()) return hashes.status();
    return hashes->front();
  }

  Result<std::vector<Hash32>> InclusionProof(uint64_t leaf_index, uint64_t tree_size) const override {
    PLUMBLINE_RETURN_IF_ERROR(CheckSize("tree size", tree_size));
    if (leaf_index >= tree_size) {
      return Status::InvalidArgument("leaf index " + std::to_string(leaf_index) +
                                     " is not in a tree of size " + std::to_string(tree_size));
    }
    return RangeHashes(log_tree::InclusionRanges(leaf_index, tree_size));
  }

  Result<std::vector<Hash32>> ConsistencyProof(uint64_t size1, uint64_t size2) const override {
    PLUMBLINE_RETURN_IF_ERROR(CheckSize("size2", size2));
    if (size1 > size2) {
      return Status::InvalidArgument("consistency proof from size " + std::to_string(size1) +
                                     " to the smaller size " + std::to_string(size2));
    }
    return RangeHashes(log_tree::ConsistencyRanges(size1, size2));
  }

  Status PutCheckpoint(uint64_t tree_size, const Hash32& root, std::string_view signed_note) override {
    if (signed_note.empty()) return Status::InvalidArgument("empty checkpoint note");
    std::lock_guard<std::mutex> lock(write_mu_);
    if (tree_size > TreeSize()) {
      return Status::FailedPrecondition("checkpoint for tree size " + std::to_string(tree_size) +
                                        " but the log has only " + std::to_string(TreeSize()) + " leaves");
    }
    std::string value(reinterpret_cast<const char*>(root.data()), root.size());
    value.append(signed_note);
    std::string existing;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), CheckpointKey(tree_size), &existing);
    if (s.ok()) {
      if (existing == value) return Status::Ok();
      return Status::FailedPrecondition("a different checkpoint is already stored for tree size " +
                                        std::to_string(tree_size) + "; checkpoints are never overwritten");
    }
    if (!s.IsNotFound()) return FromRocks(s, "reading checkpoint " + std::to_string(tree_size));
    if (auto latest = LatestCheckpointSize(); latest && tree_size < *latest) {
      return Status::FailedPrecondition("checkpoint for tree size " + std::to_string(tree_size) +
                                        " is older than the latest stored checkpoint (tree size " +
                                        std::to_string(*latest) + ")");
    }
    auto actual = RootHash(tree_size);
    if (!actual.ok()) return actual.status();
    if (*actual != root) {
      return Status::FailedPrecondition("checkpoint root does not match the log's root at tree size " +
                                        std::to_string(tree_size));
    }
    PLUMBLINE_RETURN_IF_ERROR(FromRocks(db_->Put(write_options_, CheckpointKey(tree_size), value),
                                        "storing checkpoint " + std::to_string(tree_size)));
    std::lock_guard<std::mutex> state(state_mu_);
    latest_checkpoint_ = tree_size;
    return Status::Ok();
  }

  Result<std::string> LatestCheckpoint() const override {
    auto latest = LatestCheckpointSize();
    if (!latest) return Status::NotFound("no checkpoint stored yet");
    return CheckpointAt(*latest);
  }

  Result<std::string> CheckpointAt(uint64_t tree_size) const override {
    auto value = ReadCheckpoint(tree_size);
    if (!value.ok()) return value.status();
    return value->substr(Hash32().size());
  }

  std::optional<uint64_t> LatestCheckpointSize() const override {
    std::lock_guard<std::mutex> state(state_mu_);
    return latest_checkpoint_;
  }

  Status PutCosignature(uint64_t tree_size, std::string_view witness_name,
                        std::string_view signature_line) override {
    if (witness_name.empty() || witness_name.find('\n') != std::string_view::npos) {
      return Status::InvalidArgument("witness name must be non-empty and on one line");
    }
    if (signature_line.empty()) return Status::InvalidArgument("empty cosignature line");
    std::lock_guard<std::mutex> lock(write_mu_);
    PLUMBLINE_RETURN_IF_ERROR(ReadCheckpoint(tree_size).status());
    std::string key = CosigPrefix(tree_size).append(witness_name);
    return FromRocks(db_->Put(write_options_, key, ToSlice(signature_line)),
                     "storing cosignature of " + std::string(witness_name));
  }

  Result<std::vector<std::pair<std::string, std::string>>> Cosignatures(uint64_t tree_size) const override {
    PLUMBLINE_RETURN_IF_ERROR(ReadCheckpoint(tree_size).status());
    std::string prefix = CosigPrefix(tree_size);
    std::vector<std::pair<std::string, std::string>> out;
    PLUMBLINE_RETURN_IF_ERROR(
        ScanPrefix(db_.get(), prefix, [&](std::string_view key, std::string_view value) {
          out.emplace_back(std::string(key.substr(prefix.size())), std::string(value));
          return Status::Ok();
        }));
    return out;
  }

  std::string CurrentKeyId() const override {
    std::lock_guard<std::mutex> state(state_mu_);
    return current_key_id_;
  }

  Status RotateKey(std::string_view new_key_id, std::string_view announcement) override {
    if (new_key_id.empty()) return Status::InvalidArgument("empty key id");
    if (announcement.empty()) return Status::InvalidArgument("empty key announcement");
    std::lock_guard<std::mutex> lock(write_mu_);
    std::string ignored;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), KeyIdKey(new_key_id), &ignored);
    if (s.ok()) {
      return Status::FailedPrecondition("signing key " + std::string(new_key_id) +
                                        " is already in the key history of " + path_ +
                                        "; a key id is never used twice");
    }
    if (!s.IsNotFound()) return FromRocks(s, "reading the key history");
    uint64_t n = key_rotations_ + 1;
    rocksdb::WriteBatch batch;
    batch.Put(KeyHistKey(n), ToSlice(announcement));
    batch.Put(KeyIdKey(new_key_id), U64Value(n));
    batch.Put(kKeyIdKey, ToSlice(new_key_id));
    PLUMBLINE_RETURN_IF_ERROR(FromRocks(db_->Write(write_options_, &batch), "rotating the signing key"));
    key_rotations_ = n;
    std::lock_guard<std::mutex> state(state_mu_);
    current_key_id_ = std::string(new_key_id);
    return Status::Ok();
  }

  Result<std::vector<std::string>> KeyHistory() const override {
    std::vector<std::string> out;
    PLUMBLINE_RETURN_IF_ERROR(
        ScanPrefix(db_.get(), kKeyHistPrefix, [&](std::string_view, std::string_view value) {
          out.emplace_back(value);
          return Status::Ok();
        }));
    return out;
  }

 private:
  Status CheckSize(const char* what, uint64_t tree_size) const {
    if (tree_size > TreeSize()) {
      return Status::InvalidArgument(std::string(what) + " " + std::to_string(tree_size) +
                                     " is beyond the log (tree size " + std::to_string(TreeSize()) + ")");
    }
    return Status::Ok();
  }

  // The stored subtree hashes `ids`, in one MultiGet. A missing or malformed node is Corruption:
  // every node of a tree size <= TreeSize() was written with its leaf.
  Result<std::vector<Hash32>> ReadNodes(const std::vector<NodeId>& ids) const {
    std::vector<std::string> keys;
    keys.reserve(ids.size());
    for (const NodeId& id : ids) keys.push_back(NodeKey(id));
    std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
    std::vector<rocksdb::PinnableSlice> values(ids.size());
    std::vector<rocksdb::Status> statuses(ids.size());
    db_->MultiGet(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), ids.size(), slices.data(),
                  values.data(), statuses.data());
    std::vector<Hash32> out;
    out.reserve(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      if (statuses[i].IsNotFound()) {
        return CorruptDirectory(path_, "log node " + Describe(ids[i]) + " is missing");
      }
      PLUMBLINE_RETURN_IF_ERROR(FromRocks(statuses[i], "reading log node " + Describe(ids[i])));
      if (values[i].size() != Hash32().size()) {
        return CorruptDirectory(path_, "log node " + Describe(ids[i]) + " has " +
                                           std::to_string(values[i].size()) + " bytes, not 32");
      }
      out.push_back(ToHash(View(values[i])));
    }
    return out;
  }

  // MTH of each range, from the perfect subtrees covering them, read in one MultiGet.
  Result<std::vector<Hash32>> RangeHashes(const std::vector<Range>& ranges) const {
    std::vector<NodeId> ids;
    std::vector<size_t> ends;  // ids of ranges[i] end at ends[i]
    for (const Range& range : ranges) {
      for (const NodeId& id : log_tree::Cover(range)) ids.push_back(id);
      ends.push_back(ids.size());
    }
    auto hashes = ReadNodes(ids);
    if (!hashes.ok()) return hashes.status();
    std::vector<Hash32> out;
    out.reserve(ranges.size());
    size_t begin = 0;
    for (size_t end : ends) {
      out.push_back(log_tree::FoldCover(hashes->data() + begin, end - begin));
      begin = end;
    }
    return out;
  }

  // The stored "root || note" of a checkpoint; NotFound if none.
  Result<std::string> ReadCheckpoint(uint64_t tree_size) const {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), CheckpointKey(tree_size), &value);
    if (s.IsNotFound()) return Status::NotFound("no checkpoint for tree size " + std::to_string(tree_size));
    PLUMBLINE_RETURN_IF_ERROR(FromRocks(s, "reading checkpoint " + std::to_string(tree_size)));
    if (value.size() <= Hash32().size()) {
      return CorruptDirectory(path_,
                              "checkpoint of tree size " + std::to_string(tree_size) + " is truncated");
    }
    return value;
  }

  Status Initialize(const std::string& key_id);
  Status UpgradeFromV1();
  Status LoadLog();

  std::unique_ptr<rocksdb::DB> db_;
  const std::string path_;
  rocksdb::WriteOptions write_options_;

  std::mutex write_mu_;                 // serializes all writes
  Frontier frontier_;                   // guarded by write_mu_: the right edge of the tree of TreeSize()
  uint64_t key_rotations_ = 0;          // guarded by write_mu_
  std::atomic<uint64_t> tree_size_{0};  // published after the nodes are written

  mutable std::mutex state_mu_;
  std::string current_key_id_;                 // guarded by state_mu_
  std::optional<uint64_t> latest_checkpoint_;  // guarded by state_mu_
};

Status RocksSnapshotStore::Load(const StoreOptions& options) {
  std::string format, key_id;
  rocksdb::Status fs = db_->Get(rocksdb::ReadOptions(), kFormatKey, &format);
  rocksdb::Status ks = db_->Get(rocksdb::ReadOptions(), kKeyIdKey, &key_id);
  if (fs.IsNotFound() && ks.IsNotFound()) {
    // A fresh directory, unless it already holds something that is not ours.
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    it->SeekToFirst();
    PLUMBLINE_RETURN_IF_ERROR(FromRocks(it->status(), "scanning " + path_));
    if (it->Valid()) {
      return Status::FailedPrecondition("data directory " + path_ +
                                        " holds data that is not a Plumbline snapshot store");
    }
    return Initialize(options.key_id);
  }
  if (fs.IsNotFound() || ks.IsNotFound()) {
    return CorruptDirectory(path_, std::string(fs.IsNotFound() ? kFormatKey : kKeyIdKey) + " is missing");
  }
  PLUMBLINE_RETURN_IF_ERROR(FromRocks(fs, "reading format of " + path_));
  PLUMBLINE_RETURN_IF_ERROR(FromRocks(ks, "reading key id of " + path_));
  if (format != kFormatV1 && format != kFormatV2) {
    return Status::FailedPrecondition("data directory " + path_ + " has format \"" + format +
                                      "\", expected \"" + kFormatV2 + "\"");
  }
  if (!options.key_id.empty() && options.key_id != key_id) {
    std::string ignored;
    rocksdb::Status hs = db_->Get(rocksdb::ReadOptions(), KeyIdKey(options.key_id), &ignored);
    if (hs.ok()) {
      return Status::FailedPrecondition("signing key " + options.key_id +
                                        " was rotated out of data directory " + path_ +
                                        "; its current key is " + key_id +
                                        " (configure the current key; a rotated-out key signs nothing more)");
    }
    if (!hs.IsNotFound()) return FromRocks(hs, "reading the key history of " + path_);
    return Status::FailedPrecondition("data directory " + path_ + " belongs to signing key " + key_id +
                                      ", but the configured key is " + options.key_id +
                                      "; refusing to mix histories (use the original key or a new "
                                      "data directory)");
  }
  current_key_id_ = key_id;
  if (format == kFormatV1) PLUMBLINE_RETURN_IF_ERROR(UpgradeFromV1());
  return LoadLog();
}

Status RocksSnapshotStore::Initialize(const std::string& key_id) {
  if (key_id.empty()) {
    return Status::InvalidArgument("data directory " + path_ +
                                   " is new and must be bound to a signing key, but the key id is empty");
  }
  rocksdb::WriteBatch batch;
  batch.Put(kFormatKey, kFormatV2);
  batch.Put(kKeyIdKey, key_id);
  batch.Put(KeyIdKey(key_id), U64Value(0));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  PLUMBLINE_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &batch), "initialising " + path_));
  current_key_id_ = key_id;
  return Status::Ok();
}

Status RocksSnapshotStore::UpgradeFromV1() {
  // Nodes are rewritten with the same values if an earlier upgrade was interrupted; the format
  // flips to v2 only in the final synced batch.
  Frontier frontier;
  rocksdb::WriteBatch batch;
  rocksdb::WriteOptions unsynced;
  PLUMBLINE_RETURN_IF_ERROR(
      ScanPrefix(db_.get(), kSnapPrefix, [&](std::string_view key, std::string_view value) {
        uint64_t sequence = DecodeU64(key.substr(sizeof(kSnapPrefix) - 1));
        if (sequence != frontier.size() + 1) {
          return CorruptDirectory(path_, "snapshot " + std::to_string(frontier.size() + 1) +
                                             " is missing (the next stored one is " +
                                             std::to_string(sequence) + ")");
        }
        frontier.Push(log_tree::LeafHash(value),
                      [&](NodeId id, const Hash32& hash) { batch.Put(NodeKey(id), ToSlice(hash)); });
        if (frontier.size() % kUpgradeBatchLeaves == 0) {
          PLUMBLINE_RETURN_IF_ERROR(FromRocks(db_->Write(unsynced, &batch), "upgrading " + path_));
          batch.Clear();
        }
        return Status::Ok();
      }));
  batch.Put(kFormatKey, kFormatV2);
  batch.Put(KeyIdKey(current_key_id_), U64Value(0));
  rocksdb::WriteOptions synced;
  synced.sync = true;
  return FromRocks(db_->Write(synced, &batch), "upgrading " + path_ + " to " + kFormatV2);
}

Status RocksSnapshotStore::LoadLog() {
  auto last_snap = LastWithPrefix(db_.get(), kSnapPrefix);
  if (!last_snap.ok()) return last_snap.status();
  auto last_leaf = LastWithPrefix(db_.get(), std::string(kNodePrefix) + '\0');
  if (!last_leaf.ok()) return last_leaf.status();
  uint64_t last_sequence =
      *last_snap ? DecodeU64(std::string_view((*last_snap)->first).substr(sizeof(kSnapPrefix) - 1)) : 0;
  uint64_t leaves =
      *last_leaf ? DecodeU64(std::string_view((*last_leaf)->first).substr(sizeof(kNodePrefix))) + 1 : 0;
  if (leaves != last_sequence) {
    return CorruptDirectory(path_, "the Merkle log has " + std::to_string(leaves) +
                                       " leaves but the last snapshot is sequence " +
                                       std::to_string(last_sequence));
  }

  // The right edge of the tree, and the last leaf against the last envelope.
  std::vector<NodeId> ids = log_tree::Cover(Range{0, leaves});
  if (leaves > 0) ids.push_back(NodeId{0, leaves - 1});
  auto hashes = ReadNodes(ids);
  if (!hashes.ok()) return hashes.status();
  if (leaves > 0 && hashes->back() != log_tree::LeafHash((*last_snap)->second)) {
    return CorruptDirectory(path_, "the leaf hash of snapshot " + std::to_string(last_sequence) +
                                       " does not match its stored envelope");
  }
  std::vector<Frontier::Entry> entries;
  for (size_t i = 0; i + (leaves > 0 ? 1 : 0) < ids.size(); ++i) entries.push_back({ids[i], (*hashes)[i]});
  frontier_ = Frontier(leaves, std::move(entries));
  tree_size_.store(leaves);

  PLUMBLINE_RETURN_IF_ERROR(ScanPrefix(db_.get(), kKeyHistPrefix, [&](std::string_view, std::string_view) {
    ++key_rotations_;
    return Status::Ok();
  }));

  auto checkpoint = LastWithPrefix(db_.get(), kCheckpointPrefix);
  if (!checkpoint.ok()) return checkpoint.status();
  if (!*checkpoint) return Status::Ok();
  uint64_t size = DecodeU64(std::string_view((*checkpoint)->first).substr(sizeof(kCheckpointPrefix) - 1));
  const std::string& value = (*checkpoint)->second;
  if (size > leaves) {
    return CorruptDirectory(path_, "the latest checkpoint is for tree size " + std::to_string(size) +
                                       " but the log has only " + std::to_string(leaves) + " leaves");
  }
  if (value.size() <= Hash32().size()) {
    return CorruptDirectory(path_, "checkpoint of tree size " + std::to_string(size) + " is truncated");
  }
  auto root = RootHash(size);
  if (!root.ok()) return root.status();
  if (*root != ToHash(value)) {
    return CorruptDirectory(path_, "the log's root at tree size " + std::to_string(size) +
                                       " does not match the root recorded with the checkpoint of that size");
  }
  latest_checkpoint_ = size;
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<SnapshotStore>> SnapshotStore::Open(const StoreOptions& options) {
  if (options.key_id.empty()) {
    // A new directory would be unbound: refuse before RocksDB creates anything (it creates the
    // directory and its info LOG even with create_if_missing = false).
    std::error_code ec;
    if (!std::filesystem::exists(std::filesystem::path(options.path) / "CURRENT", ec)) {
      return Status::InvalidArgument("data directory " + options.path +
                                     " holds no store; a new data directory must be bound to a signing "
                                     "key, but the key id is empty");
    }
  }
  rocksdb::Options ro;
  ro.create_if_missing = !options.key_id.empty();
  ro.paranoid_checks = true;
  // Writes are synced and a process kill leaves no torn tail, so a WAL record that fails its
  // checksum is damage: stop, never truncate it away.
  ro.wal_recovery_mode = rocksdb::WALRecoveryMode::kAbsoluteConsistency;
  // Appends write a few keys per prefix ("snap/" + seq, "node/" + level + index), each prefix in
  // ascending order: a per-prefix insert hint makes the memtable insert O(1) instead of a skiplist
  // search. The hint needs the single-writer memtable path; writes are serialized here anyway.
  ro.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(6));
  ro.allow_concurrent_memtable_write = false;
  // Small, append-only data: keep the footprint modest and the WAL always on.
  ro.max_open_files = 256;
  ro.keep_log_file_num = 5;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(ro, options.path, &raw);
  if (!s.ok()) {
    if (s.IsCorruption())
      return CorruptDirectory(options.path, "RocksDB cannot recover it (" + s.ToString() + ")");
    return Status::IOError("cannot open data directory " + options.path + ": " + s.ToString());
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  s = db->VerifyChecksum();
  if (!s.ok()) {
    if (s.IsCorruption())
      return CorruptDirectory(options.path, "checksum verification failed (RocksDB: " + s.ToString() + ")");
    return Status::IOError("verifying the checksums of data directory " + options.path + ": " + s.ToString());
  }
  auto store = std::make_unique<RocksSnapshotStore>(std::move(db), options.path, options.sync_writes);
  PLUMBLINE_RETURN_IF_ERROR(store->Load(options));
  return std::unique_ptr<SnapshotStore>(std::move(store));
}

}  // namespace plumbline::storage
