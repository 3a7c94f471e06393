// Evidence retention in the reserve store (reserves/store.h) and the monitor (reserves/monitor.h):
// only evidence nobody cites any more is pruned, statements and their order are never touched,
// and an upgraded store counts retention from its upgrade.
#include "plumbline/reserves/store.h"

#include <filesystem>
#include <set>

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "test_fixture.h"

namespace plumbline::reserves::testing {
namespace {

using Items = std::vector<std::pair<std::string, std::string>>;

class EvidenceRetentionTest : public ReservesTest {
 protected:
  bool Has(const std::string& sha) { return store_->GetEvidence(sha).ok(); }
};

TEST_F(EvidenceRetentionTest, PrunesWhatWasLastStoredBeforeTheCutoffUnlessCited) {
  ASSERT_TRUE(store_->PutEvidence({{"a", "aaaa"}, {"b", "bb"}, {"d", "dddddd"}}, 100).ok());
  ASSERT_TRUE(store_->PutEvidence({{"c", "c"}}, 200).ok());
  ASSERT_TRUE(store_->PutEvidence({{"a", "aaaa"}}, 300).ok());  // cited again: its stamp moves to 300
  ASSERT_TRUE(store_->PutEvidence({{"c", "c"}}, 150).ok());     // an older stamp never moves one back
  auto stats = store_->PruneEvidence(250, {"d"});
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->pruned, 2u);       // b (100) and c (200)
  EXPECT_EQ(stats->pruned_bytes, 3u);  // "bb" + "c"
  EXPECT_EQ(stats->kept, 1u);          // d is older but cited
  EXPECT_TRUE(Has("a"));
  EXPECT_FALSE(Has("b"));
  EXPECT_FALSE(Has("c"));
  EXPECT_TRUE(Has("d"));
  EXPECT_EQ(store_->EvidenceCount(), 2u);
  // Idempotent; and once nothing cites d it goes too.
  EXPECT_EQ(store_->PruneEvidence(250, {"d"})->pruned, 0u);
  EXPECT_EQ(store_->PruneEvidence(250, {})->pruned, 1u);
  EXPECT_EQ(store_->EvidenceCount(), 1u);
  EXPECT_EQ(*store_->GetEvidence("a"), "aaaa");
}

TEST_F(EvidenceRetentionTest, StatementsAndTheHeadsEvidenceSurvive) {
  ASSERT_TRUE(store_->AcceptStatement("s", 1, 100, "s1", "first").ok());
  ASSERT_TRUE(store_->AcceptStatement("s", 2, 200, "s2", "second").ok());
  auto stats = store_->PruneEvidence(1'000, {});
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->pruned, 1u);
  EXPECT_EQ(stats->kept, 1u);
  EXPECT_FALSE(Has("s1"));
  EXPECT_EQ(*store_->GetEvidence("s2"), "second");  // the head: Resume reads it
  EXPECT_EQ(store_->StatementCount("s"), 2u);       // replay order is never pruned
  EXPECT_EQ(store_->Head("s")->sequence, 2u);
  EXPECT_EQ(store_->AcceptStatement("s", 2, 300, "s3", "replay").code(), Code::kFailedPrecondition);
}

TEST_F(EvidenceRetentionTest, ManyBatchesWithKeptItemsBetweenThem) {
  Items items;
  std::set<std::string> keep;
  for (int i = 0; i < 25'000; ++i) {
    const std::string sha = "e" + std::to_string(i);
    items.emplace_back(sha, "x");
    if (i % 1000 == 0) keep.insert(sha);
  }
  store_.reset();
  auto fast = ReserveStore::Open({.path = dir_.string(), .sync_writes = false});
  ASSERT_TRUE(fast.ok());
  store_ = std::move(fast).value();
  ASSERT_TRUE(store_->PutEvidence(items, 100).ok());
  auto stats = store_->PruneEvidence(101, keep);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->pruned, 25'000u - keep.size());
  EXPECT_EQ(stats->kept, keep.size());
  EXPECT_EQ(store_->EvidenceCount(), keep.size());
  for (const std::string& sha : keep) EXPECT_TRUE(Has(sha)) << sha;
}

TEST_F(EvidenceRetentionTest, StampsSurviveAReopen) {
  ASSERT_TRUE(store_->PutEvidence({{"old", "1"}, {"new", "2"}}, 100).ok());
  ASSERT_TRUE(store_->PutEvidence({{"new", "2"}}, 500).ok());
  store_.reset();
  auto reopened = ReserveStore::Open({.path = dir_.string(), .sync_writes = true, .now_unix_nanos = 10'000});
  ASSERT_TRUE(reopened.ok());
  store_ = std::move(reopened).value();
  EXPECT_EQ(store_->PruneEvidence(300, {})->pruned, 1u);
  EXPECT_FALSE(Has("old"));
  EXPECT_TRUE(Has("new"));
}

TEST_F(EvidenceRetentionTest, EvidenceFromBeforeTheIndexCountsFromTheUpgrade) {
  store_.reset();
  std::filesystem::remove_all(dir_);
  {  // a store as the previous version wrote it: evidence without stamps
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, dir_.string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "meta/format", "plumbline-reserves-v1").ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "ev/legacy", "bytes").ok());
  }
  auto upgraded = ReserveStore::Open({.path = dir_.string(), .sync_writes = true, .now_unix_nanos = 5'000});
  ASSERT_TRUE(upgraded.ok()) << upgraded.status().ToString();
  store_ = std::move(upgraded).value();
  EXPECT_EQ(store_->PruneEvidence(4'000, {})->pruned, 0u);  // not "older than anything"
  EXPECT_EQ(*store_->GetEvidence("legacy"), "bytes");
  EXPECT_EQ(store_->PruneEvidence(6'000, {})->pruned, 1u);
  EXPECT_FALSE(Has("legacy"));
}

TEST_F(EvidenceRetentionTest, TheMonitorKeepsWhatItsAttestationsCite) {
  AssetConfig asset = Asset();
  ReservesConfig rc;
  rc.assets = {asset};
  rc.evidence_retention_ms = 86'400'000;  // one day
  monitor_ = std::make_unique<ReserveMonitor>(rc, store_.get(), clock_);
  ReserveMonitor& m = *monitor_;
  ASSERT_TRUE(m.SubmitStatement(Signed(Statement("1000", 1, kStart - 1000))).ok());
  ASSERT_TRUE(m.RunRound().ok());
  const uint64_t after_first = store_->EvidenceCount();
  // Two days later the chains have moved on: the second round reads new blocks.
  clock_.Advance(2 * 86'400 * kNanosPerSecond);
  for (int i = 0; i < 2; ++i) {
    evm_[i]->SetHead(2000);
    sol_[i]->SetHead(260'000'000 + static_cast<uint64_t>(i));
  }
  ASSERT_TRUE(m.RunRound().ok());
  ASSERT_GT(store_->EvidenceCount(), after_first);
  auto stats = m.PruneEvidence();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_GT(stats->pruned, 0u);
  EXPECT_GE(stats->kept, 1u);  // the custodian statement: two days old, still the holding
  // Everything the current attestation cites is still there: an auditor re-derives it.
  const auto attestations = m.AttestationsAt(clock_.NowUnixNanos());
  ASSERT_EQ(attestations.size(), 1u);
  auto fetch = [this](const std::string& sha) { return store_->GetEvidence(sha); };
  for (const auto& problem : attest::CheckReserveAttestation(attestations[0], fetch)) ADD_FAILURE() << problem;
  // And nothing else is left over from the first round.
  std::set<std::string> cited;
  for (const auto& c : attestations[0].chains) {
    for (const auto& e : c.evidence) cited.insert(e.sha256);
  }
  cited.insert(attestations[0].custodian->statement_sha256);
  EXPECT_EQ(store_->EvidenceCount(), cited.size());
}

TEST_F(EvidenceRetentionTest, NoRetentionConfiguredPrunesNothing) {
  ReserveMonitor& m = Monitor();
  ASSERT_TRUE(m.RunRound().ok());
  const uint64_t before = store_->EvidenceCount();
  clock_.Advance(400LL * 86'400 * kNanosPerSecond);
  auto stats = m.PruneEvidence();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->pruned, 0u);
  EXPECT_EQ(store_->EvidenceCount(), before);
}

}  // namespace
}  // namespace plumbline::reserves::testing
