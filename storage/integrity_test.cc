// Integrity checks of SnapshotStore::Open(): damaged files (SST, WAL) and an inconsistent log
// structure are Corruption, a failed Open() leaves the data as it was, and a v1 directory
// (snapshots only) is upgraded in place.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <vector>

#include "plumbline/storage/snapshot_store.h"
#include "store_test_support.h"

namespace plumbline::storage {
namespace {

namespace fs = std::filesystem;
using IntegrityTest = testing::StoreTest;

std::string U64(uint64_t v) {
  std::string out;
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
  return out;
}
std::string SnapKey(uint64_t seq) { return "snap/" + U64(seq); }
std::string NodeKey(uint8_t level, uint64_t index) {
  return "node/" + std::string(1, static_cast<char>(level)) + U64(index);
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
void WriteFile(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// The largest file in `dir` with the given extension.
fs::path LargestWithExtension(const fs::path& dir, const std::string& ext) {
  fs::path best;
  uintmax_t best_size = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ext && entry.file_size() > best_size) {
      best = entry.path();
      best_size = entry.file_size();
    }
  }
  return best;
}

// Direct access to the RocksDB underneath, to damage the structure on purpose.
std::unique_ptr<rocksdb::DB> RawDb(const fs::path& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir.string(), &raw);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return std::unique_ptr<rocksdb::DB>(raw);
}

void FillLog(SnapshotStore& store, uint64_t n) {
  for (uint64_t seq = store.TreeSize() + 1; seq <= n; ++seq) {
    ASSERT_TRUE(store
                    .Append(seq, "{\"snapshot\":" + std::to_string(seq) + ",\"pad\":\"" +
                                     std::string(100, 'x') + "\"}")
                    .ok());
  }
}

void ExpectCorruption(const Result<std::unique_ptr<SnapshotStore>>& opened, const fs::path& dir,
                      const std::string& what) {
  ASSERT_FALSE(opened.ok()) << "expected Corruption: " << what;
  EXPECT_EQ(opened.status().code(), Code::kCorruption) << opened.status().ToString();
  EXPECT_NE(opened.status().message().find(dir.string()), std::string::npos) << opened.status().message();
  EXPECT_NE(opened.status().message().find("restored from a backup"), std::string::npos)
      << opened.status().message();
  EXPECT_NE(opened.status().message().find(what), std::string::npos) << opened.status().message();
}

// Flips one byte of `file` in the middle, checks that Open() reports Corruption and leaves the
// damaged file as it was, then repairs the byte and checks that everything reads back.
void ExpectFlippedByteDetected(const fs::path& dir, const fs::path& file, const std::string& what) {
  std::string original = ReadFile(file);
  ASSERT_GT(original.size(), 64u);
  std::string damaged = original;
  damaged[damaged.size() / 2] = static_cast<char>(damaged[damaged.size() / 2] ^ 0x40);
  WriteFile(file, damaged);

  ExpectCorruption(SnapshotStore::Open({dir.string(), std::string(64, 'a')}), dir, what);
  ASSERT_TRUE(fs::exists(file)) << "the failed open removed " << file;
  EXPECT_TRUE(ReadFile(file) == damaged) << "the failed open rewrote " << file;

  WriteFile(file, original);
  auto store = SnapshotStore::Open({dir.string(), std::string(64, 'a')});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->TreeSize(), 40u);
  for (uint64_t seq = 1; seq <= 40; ++seq) ASSERT_TRUE((*store)->Get(seq).ok()) << seq;
  EXPECT_EQ(*(*store)->LatestCheckpointSize(), 40u);
}

TEST_F(IntegrityTest, AFlippedByteInAnSstFileIsCorruptionAtOpen) {
  {
    auto store = MustOpen();
    ASSERT_TRUE(store);
    FillLog(*store, 40);
    ASSERT_TRUE(store->PutCheckpoint(40, *store->RootHash(40), "note 40\n").ok());
  }
  { ASSERT_TRUE(MustOpen()); }  // recovery flushes the WAL into an SST file
  fs::path sst = LargestWithExtension(dir_, ".sst");
  ASSERT_FALSE(sst.empty()) << "no SST file after reopening";
  ExpectFlippedByteDetected(dir_, sst, "checksum");
}

TEST_F(IntegrityTest, AFlippedByteInTheWalIsCorruptionAtOpen) {
  {
    auto store = MustOpen();
    ASSERT_TRUE(store);
    FillLog(*store, 40);
    ASSERT_TRUE(store->PutCheckpoint(40, *store->RootHash(40), "note 40\n").ok());
  }
  ASSERT_TRUE(LargestWithExtension(dir_, ".sst").empty()) << "expected the data in the WAL only";
  fs::path wal = LargestWithExtension(dir_, ".log");
  ASSERT_FALSE(wal.empty());
  ExpectFlippedByteDetected(dir_, wal, "checksum mismatch");
}

TEST_F(IntegrityTest, InconsistentLogStructureIsCorruptionAtOpen) {
  {
    auto store = MustOpen();
    ASSERT_TRUE(store);
    FillLog(*store, 13);  // right edge: level 3 index 0, level 2 index 2, level 0 index 12
    ASSERT_TRUE(store->PutCheckpoint(12, *store->RootHash(12), "note 12\n").ok());
  }
  std::string node_3_0, snap_13, ckpt_12;
  {
    auto db = RawDb(dir_);
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), NodeKey(3, 0), &node_3_0).ok());
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), SnapKey(13), &snap_13).ok());
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), "ckpt/" + U64(12), &ckpt_12).ok());
  }
  std::string forged_ckpt = ckpt_12;
  forged_ckpt[0] = static_cast<char>(forged_ckpt[0] ^ 1);
  struct Damage {
    std::string what;  // expected in the message
    std::string key;
    std::optional<std::string> value;  // nullopt: delete the key
  };
  const std::vector<Damage> damages = {
      {"log node level 3 index 0 is missing", NodeKey(3, 0), std::nullopt},
      {"log node level 3 index 0 has 31 bytes", NodeKey(3, 0), node_3_0.substr(1)},
      {"the Merkle log has 13 leaves but the last snapshot is sequence 14", SnapKey(14), "unlogged"},
      {"the Merkle log has 12 leaves but the last snapshot is sequence 13", NodeKey(0, 12), std::nullopt},
      {"the leaf hash of snapshot 13 does not match its stored envelope", SnapKey(13), snap_13 + " "},
      {"does not match the root recorded with the checkpoint", "ckpt/" + U64(12), forged_ckpt},
      {"the latest checkpoint is for tree size 20 but the log has only 13", "ckpt/" + U64(20), ckpt_12},
  };
  rocksdb::WriteOptions wo;
  for (const Damage& damage : damages) {
    SCOPED_TRACE(damage.what);
    std::string original;
    bool existed = false;
    {
      auto db = RawDb(dir_);
      rocksdb::Status s = db->Get(rocksdb::ReadOptions(), damage.key, &original);
      existed = s.ok();
      ASSERT_TRUE(damage.value ? db->Put(wo, damage.key, *damage.value).ok()
                               : db->Delete(wo, damage.key).ok());
    }
    ExpectCorruption(SnapshotStore::Open(Opts()), dir_, damage.what);
    {
      auto db = RawDb(dir_);
      std::string now;
      rocksdb::Status s = db->Get(rocksdb::ReadOptions(), damage.key, &now);
      EXPECT_EQ(s.ok(), damage.value.has_value()) << "the failed open changed the damaged key";
      if (damage.value) {
        EXPECT_EQ(now, *damage.value);
      }
      ASSERT_TRUE(existed ? db->Put(wo, damage.key, original).ok() : db->Delete(wo, damage.key).ok());
    }
    auto store = MustOpen();
    ASSERT_TRUE(store);
    EXPECT_EQ(store->TreeSize(), 13u);
  }
}

TEST_F(IntegrityTest, AVersion1DirectoryIsUpgradedInPlace) {
  constexpr uint64_t kSnapshots = 37;
  {
    // What the v1 store wrote: format, key id and snapshots only.
    auto db = RawDb(dir_);
    rocksdb::WriteOptions wo;
    ASSERT_TRUE(db->Put(wo, "meta/format", "plumbline-snapshots-v1").ok());
    ASSERT_TRUE(db->Put(wo, "meta/key_id", std::string(64, 'a')).ok());
    for (uint64_t seq = 1; seq <= kSnapshots; ++seq) {
      ASSERT_TRUE(db->Put(wo, SnapKey(seq), "v1 snapshot " + std::to_string(seq)).ok());
    }
  }
  auto wrong_key = SnapshotStore::Open(Opts(std::string(64, 'b')));
  EXPECT_EQ(wrong_key.status().code(), Code::kFailedPrecondition);  // checked before upgrading

  // The same snapshots appended to a new store give the reference log.
  fs::path fresh_dir = dir_.string() + "-fresh";
  fs::remove_all(fresh_dir);
  auto fresh = MustOpen({fresh_dir.string(), std::string(64, 'a'), false});
  ASSERT_TRUE(fresh);
  for (uint64_t seq = 1; seq <= kSnapshots; ++seq)
    ASSERT_TRUE(fresh->Append(seq, "v1 snapshot " + std::to_string(seq)).ok());

  for (int round = 0; round < 2; ++round) {  // upgrade, then a plain reopen
    auto store = MustOpen();
    ASSERT_TRUE(store);
    ASSERT_EQ(store->TreeSize(), kSnapshots);
    for (uint64_t n = 0; n <= kSnapshots; ++n) EXPECT_EQ(*store->RootHash(n), *fresh->RootHash(n)) << n;
    EXPECT_EQ(*store->InclusionProof(20, kSnapshots), *fresh->InclusionProof(20, kSnapshots));
    EXPECT_EQ(*store->ConsistencyProof(11, kSnapshots), *fresh->ConsistencyProof(11, kSnapshots));
    EXPECT_EQ(store->RotateKey(std::string(64, 'a'), "x").code(), Code::kFailedPrecondition);
  }
  {
    auto db = RawDb(dir_);
    std::string format;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), "meta/format", &format).ok());
    EXPECT_EQ(format, "plumbline-snapshots-v2");
  }
  auto store = MustOpen();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->Append(kSnapshots + 1, "after upgrade").ok());
  ASSERT_TRUE(fresh->Append(kSnapshots + 1, "after upgrade").ok());
  EXPECT_EQ(*store->RootHash(kSnapshots + 1), *fresh->RootHash(kSnapshots + 1));
  fresh.reset();
  fs::remove_all(fresh_dir);
}

}  // namespace
}  // namespace plumbline::storage
