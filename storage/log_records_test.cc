// Checkpoints, witness cosignatures and the key history of SnapshotStore.
#include <gtest/gtest.h>

#include <string>

#include "plumbline/storage/snapshot_store.h"
#include "store_test_support.h"

namespace plumbline::storage {
namespace {

using LogRecordsTest = testing::StoreTest;

const std::string kKeyA(64, 'a');
const std::string kKeyB(64, 'b');
const std::string kKeyC(64, 'c');

std::string Note(uint64_t size) {
  return "plumbline.example/log\n" + std::to_string(size) + "\nroot\n\n— sig\n";
}

void AppendN(SnapshotStore& store, uint64_t n) {
  for (uint64_t seq = store.TreeSize() + 1; seq <= n; ++seq) {
    ASSERT_TRUE(store.Append(seq, "snapshot " + std::to_string(seq)).ok());
  }
}

TEST_F(LogRecordsTest, CheckpointsAreMonotonicIdempotentAndNeverOverwritten) {
  auto store = MustOpen();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->LatestCheckpoint().status().code(), Code::kNotFound);
  EXPECT_FALSE(store->LatestCheckpointSize().has_value());
  AppendN(*store, 10);

  // Beyond the log, or the wrong root: refused.
  EXPECT_EQ(store->PutCheckpoint(11, *store->RootHash(10), Note(11)).code(), Code::kFailedPrecondition);
  Status wrong = store->PutCheckpoint(5, *store->RootHash(6), Note(5));
  EXPECT_EQ(wrong.code(), Code::kFailedPrecondition);
  EXPECT_NE(wrong.message().find("does not match"), std::string::npos) << wrong.message();
  EXPECT_EQ(store->PutCheckpoint(5, *store->RootHash(5), "").code(), Code::kInvalidArgument);
  EXPECT_FALSE(store->LatestCheckpointSize().has_value());

  ASSERT_TRUE(store->PutCheckpoint(5, *store->RootHash(5), Note(5)).ok());
  ASSERT_TRUE(store->PutCheckpoint(5, *store->RootHash(5), Note(5)).ok());  // same bytes: OK
  Status different = store->PutCheckpoint(5, *store->RootHash(5), Note(5) + "— other sig\n");
  EXPECT_EQ(different.code(), Code::kFailedPrecondition);
  EXPECT_NE(different.message().find("never overwritten"), std::string::npos) << different.message();

  ASSERT_TRUE(store->PutCheckpoint(8, *store->RootHash(8), Note(8)).ok());
  Status older = store->PutCheckpoint(6, *store->RootHash(6), Note(6));
  EXPECT_EQ(older.code(), Code::kFailedPrecondition);
  EXPECT_NE(older.message().find("older than the latest"), std::string::npos) << older.message();
  EXPECT_TRUE(store->PutCheckpoint(5, *store->RootHash(5), Note(5)).ok());  // an idempotent retry

  EXPECT_EQ(store->LatestCheckpointSize(), 8u);
  EXPECT_EQ(*store->LatestCheckpoint(), Note(8));
  EXPECT_EQ(*store->CheckpointAt(5), Note(5));
  EXPECT_EQ(store->CheckpointAt(6).status().code(), Code::kNotFound);

  // Size 0 (the empty tree) is a valid checkpoint only before any other.
  EXPECT_EQ(store->PutCheckpoint(0, *store->RootHash(0), Note(0)).code(), Code::kFailedPrecondition);

  store.reset();
  store = MustOpen();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->LatestCheckpointSize(), 8u);
  EXPECT_EQ(*store->LatestCheckpoint(), Note(8));
  EXPECT_EQ(store->PutCheckpoint(7, *store->RootHash(7), Note(7)).code(), Code::kFailedPrecondition);
  ASSERT_TRUE(store->PutCheckpoint(10, *store->RootHash(10), Note(10)).ok());
  EXPECT_EQ(*store->LatestCheckpoint(), Note(10));
}

TEST_F(LogRecordsTest, CheckpointOfTheEmptyTree) {
  auto store = MustOpen();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->PutCheckpoint(0, *store->RootHash(0), Note(0)).ok());
  EXPECT_EQ(store->LatestCheckpointSize(), 0u);
  store.reset();
  store = MustOpen();
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->LatestCheckpoint(), Note(0));
}

TEST_F(LogRecordsTest, CosignaturesPerWitnessSortedAndReplaced) {
  auto store = MustOpen();
  ASSERT_TRUE(store);
  AppendN(*store, 4);
  EXPECT_EQ(store->PutCosignature(4, "w1", "— w1 sig").code(), Code::kNotFound);
  EXPECT_EQ(store->Cosignatures(4).status().code(), Code::kNotFound);
  ASSERT_TRUE(store->PutCheckpoint(3, *store->RootHash(3), Note(3)).ok());
  ASSERT_TRUE(store->PutCheckpoint(4, *store->RootHash(4), Note(4)).ok());
  EXPECT_TRUE(store->Cosignatures(4)->empty());

  ASSERT_TRUE(store->PutCosignature(4, "witness.zeta", "— witness.zeta AAAA").ok());
  ASSERT_TRUE(store->PutCosignature(4, "witness.alpha", "— witness.alpha BBBB").ok());
  ASSERT_TRUE(store->PutCosignature(4, "witness.alpha", "— witness.alpha CCCC").ok());  // replaces
  ASSERT_TRUE(store->PutCosignature(3, "witness.alpha", "— witness.alpha DDDD").ok());
  EXPECT_EQ(store->PutCosignature(4, "", "— x").code(), Code::kInvalidArgument);
  EXPECT_EQ(store->PutCosignature(4, "a\nb", "— x").code(), Code::kInvalidArgument);
  EXPECT_EQ(store->PutCosignature(4, "w", "").code(), Code::kInvalidArgument);

  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(*store->Cosignatures(4),
            (Pairs{{"witness.alpha", "— witness.alpha CCCC"}, {"witness.zeta", "— witness.zeta AAAA"}}));
  EXPECT_EQ(*store->Cosignatures(3), (Pairs{{"witness.alpha", "— witness.alpha DDDD"}}));
  store.reset();
  store = MustOpen();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->Cosignatures(4)->size(), 2u);
}

TEST_F(LogRecordsTest, KeyRotationRecordsHistoryAndRefusesRotatedOutKeys) {
  {
    auto store = MustOpen(Opts(kKeyA));
    ASSERT_TRUE(store);
    EXPECT_EQ(store->CurrentKeyId(), kKeyA);
    EXPECT_TRUE(store->KeyHistory()->empty());
    AppendN(*store, 3);
    EXPECT_EQ(store->RotateKey(kKeyA, "a again").code(), Code::kFailedPrecondition);
    EXPECT_EQ(store->RotateKey("", "x").code(), Code::kInvalidArgument);
    EXPECT_EQ(store->RotateKey(kKeyB, "").code(), Code::kInvalidArgument);
    ASSERT_TRUE(store->RotateKey(kKeyB, "announce b, signed by a").ok());
    EXPECT_EQ(store->CurrentKeyId(), kKeyB);
    Status reuse = store->RotateKey(kKeyA, "back to a");
    EXPECT_EQ(reuse.code(), Code::kFailedPrecondition);
    EXPECT_NE(reuse.message().find("already in the key history"), std::string::npos) << reuse.message();
    ASSERT_TRUE(store->RotateKey(kKeyC, "announce c, signed by b").ok());
    EXPECT_EQ(*store->KeyHistory(),
              (std::vector<std::string>{"announce b, signed by a", "announce c, signed by b"}));
    AppendN(*store, 5);  // snapshots continue across rotations
  }
  for (const std::string& old_key : {kKeyA, kKeyB}) {
    auto refused = SnapshotStore::Open(Opts(old_key));
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition);
    EXPECT_NE(refused.status().message().find("rotated out"), std::string::npos)
        << refused.status().message();
  }
  auto unknown = SnapshotStore::Open(Opts(std::string(64, 'd')));
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("belongs to signing key " + kKeyC), std::string::npos)
      << unknown.status().message();

  auto store = MustOpen(Opts(kKeyC));
  ASSERT_TRUE(store);
  EXPECT_EQ(store->CurrentKeyId(), kKeyC);
  EXPECT_EQ(store->KeyHistory()->size(), 2u);
  EXPECT_EQ(store->TreeSize(), 5u);
  ASSERT_TRUE(store->RotateKey(std::string(64, 'e'), "announce e, signed by c").ok());
  EXPECT_EQ(store->KeyHistory()->size(), 3u);
  store.reset();
  store = MustOpen(Opts(""));  // the daemon's rotation-aware path: no check, reads the current key
  ASSERT_TRUE(store);
  EXPECT_EQ(store->CurrentKeyId(), std::string(64, 'e'));
}

}  // namespace
}  // namespace plumbline::storage
