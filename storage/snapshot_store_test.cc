#include "plumbline/storage/snapshot_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "store_test_support.h"

namespace plumbline::storage {
namespace {

namespace fs = std::filesystem;

using SnapshotStoreTest = testing::StoreTest;

TEST_F(SnapshotStoreTest, AppendsInOrderAndReadsBack) {
  auto store = SnapshotStore::Open(Opts());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_FALSE((*store)->LastSequence().has_value());
  ASSERT_TRUE((*store)->Append(1, "{\"one\":1}").ok());
  ASSERT_TRUE((*store)->Append(2, "{\"two\":2}").ok());
  EXPECT_EQ(*(*store)->Get(1), "{\"one\":1}");
  EXPECT_EQ(*(*store)->Get(2), "{\"two\":2}");
  EXPECT_EQ((*store)->LastSequence(), 2u);
  auto missing = (*store)->Get(3);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
}

TEST_F(SnapshotStoreTest, RefusesGapsAndRewritesWithoutTouchingStoredData) {
  auto store = SnapshotStore::Open(Opts());
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Append(1, "first").ok());
  Status gap = (*store)->Append(3, "third");
  EXPECT_EQ(gap.code(), Code::kFailedPrecondition);
  EXPECT_NE(gap.message().find("next is 2"), std::string::npos) << gap.message();
  Status rewrite = (*store)->Append(1, "forged");
  EXPECT_EQ(rewrite.code(), Code::kFailedPrecondition);
  EXPECT_EQ(*(*store)->Get(1), "first");
  EXPECT_EQ((*store)->LastSequence(), 1u);
}

TEST_F(SnapshotStoreTest, ReopenResumesSequence) {
  {
    auto store = SnapshotStore::Open(Opts());
    ASSERT_TRUE(store.ok());
    for (uint64_t i = 1; i <= 300; ++i) ASSERT_TRUE((*store)->Append(i, "s" + std::to_string(i)).ok());
  }
  auto store = SnapshotStore::Open(Opts());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->LastSequence(), 300u);
  EXPECT_EQ(*(*store)->Get(256), "s256");
  EXPECT_TRUE((*store)->Append(301, "s301").ok());
}

TEST_F(SnapshotStoreTest, RefusesADirectoryOfAnotherKeyAndKeepsItsData) {
  {
    auto store = SnapshotStore::Open(Opts(std::string(64, 'a')));
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Append(1, "kept").ok());
  }
  auto other = SnapshotStore::Open(Opts(std::string(64, 'b')));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(other.status().message().find("belongs to signing key " + std::string(64, 'a')),
            std::string::npos)
      << other.status().message();
  auto again = SnapshotStore::Open(Opts(std::string(64, 'a')));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*(*again)->Get(1), "kept");
}

TEST_F(SnapshotStoreTest, RefusesACorruptDirectory) {
  {
    auto store = SnapshotStore::Open(Opts());
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Append(1, "x").ok());
  }
  // Overwrite the MANIFEST with garbage: RocksDB can no longer recover the DB state.
  bool damaged = false;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    if (entry.path().filename().string().rfind("MANIFEST-", 0) == 0) {
      std::ofstream(entry.path(), std::ios::binary | std::ios::trunc) << std::string(100, '\x5a');
      damaged = true;
    }
  }
  ASSERT_TRUE(damaged);
  auto store = SnapshotStore::Open(Opts());
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(store.status().code() == Code::kCorruption || store.status().code() == Code::kIOError)
      << store.status().ToString();
  EXPECT_NE(store.status().message().find(dir_.string()), std::string::npos);
}

TEST_F(SnapshotStoreTest, AFreshDirectoryMustBeBoundToAKey) {
  auto unbound = SnapshotStore::Open(Opts(""));
  ASSERT_FALSE(unbound.ok());
  EXPECT_EQ(unbound.status().code(), Code::kInvalidArgument);
  EXPECT_NE(unbound.status().message().find("must be bound to a signing key"), std::string::npos)
      << unbound.status().message();
  EXPECT_FALSE(fs::exists(dir_)) << "a refused open must not create the directory";
}

TEST_F(SnapshotStoreTest, AnEmptyKeyIdSkipsTheOwnershipCheck) {
  {
    auto store = MustOpen(Opts(std::string(64, 'a')));
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->Append(1, "kept").ok());
  }
  auto store = MustOpen(Opts(""));
  ASSERT_TRUE(store);
  EXPECT_EQ(store->CurrentKeyId(), std::string(64, 'a'));
  EXPECT_EQ(*store->Get(1), "kept");
  EXPECT_TRUE(store->Append(2, "more").ok());
}

}  // namespace
}  // namespace plumbline::storage
