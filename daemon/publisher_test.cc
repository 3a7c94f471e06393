#include "plumbline/daemon/publisher.h"

#include <gtest/gtest.h>

#include "daemon/test_support.h"

namespace plumbline::daemon {
namespace {

using testing::DaemonFixture;

class PublisherTest : public DaemonFixture {};

// The move bound must not forget the accepted price across a restart just because the last
// marks before it were stale: the daemon seeds its engine from the stored history.
TEST_F(PublisherTest, ARestartAfterAnOutageKeepsTheMoveBound) {
  auto btc = [](const std::shared_ptr<const Published>& p) { return p->signed_snapshot.snapshot.marks[0]; };
  for (int i = 0; i < 3; ++i) {
    FillFresh("67000.10", "67000.30", "67000.20");
    ASSERT_TRUE(publisher_->PublishRound().ok());
    clock_.Advance(kNanosPerSecond);
  }
  clock_.Advance(60 * kNanosPerSecond);  // the venues go quiet: the mark goes stale
  auto stale = publisher_->PublishRound();
  ASSERT_TRUE(stale.ok());
  ASSERT_EQ(btc(*stale).status, MarkStatus::kStale);
  OpenStore();  // restart
  FillFresh("90000.10", "90000.30", "90000.20");  // +34%, beyond max_move 10%
  auto after = publisher_->PublishRound();
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(btc(*after).status, MarkStatus::kClamped);
  EXPECT_EQ(btc(*after).price->ToString(), "67000.20");
  EXPECT_EQ(btc(*after).proposed_price->ToString(), "90000.20");
}

// A config reload rebuilds the round engine the same way.
TEST_F(PublisherTest, AReloadKeepsTheMoveBoundToo) {
  FillFresh("67000.10", "67000.30", "67000.20");
  ASSERT_TRUE(publisher_->PublishRound().ok());
  clock_.Advance(60 * kNanosPerSecond);
  ASSERT_TRUE(publisher_->PublishRound().ok());  // stale
  auto reloaded = ParseConfig(testing::TestConfigText(), "reloaded.toml");
  ASSERT_TRUE(reloaded.ok());
  publisher_->SetConfig(std::make_shared<const Config>(std::move(reloaded).value()));
  FillFresh("90000.10", "90000.30", "90000.20");
  auto after = publisher_->PublishRound();
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ((*after)->signed_snapshot.snapshot.marks[0].status, MarkStatus::kClamped);
}

TEST_F(PublisherTest, FirstSnapshotStartsTheChainAndVerifies) {
  FillFresh("67000.10", "67000.30", "67000.20");
  auto published = publisher_->PublishRound();
  ASSERT_TRUE(published.ok()) << published.status().ToString();
  const auto& signed_snapshot = (*published)->signed_snapshot;
  EXPECT_EQ(signed_snapshot.snapshot.sequence, 1u);
  EXPECT_EQ(signed_snapshot.snapshot.previous_hash, attest::kGenesisPreviousHash);
  EXPECT_EQ(signed_snapshot.snapshot.config_digest, config_->digest);

  auto verified = attest::VerifySnapshotEnvelope(*store_->Get(1), key_->public_key());
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  ASSERT_EQ(verified->snapshot.marks.size(), 2u);
  const Mark& btc = verified->snapshot.marks[0];
  EXPECT_EQ(btc.symbol, "BTC/USD");
  EXPECT_EQ(btc.status, MarkStatus::kOk);
  EXPECT_EQ(btc.price->ToString(), "67000.20");
  const Mark& eth = verified->snapshot.marks[1];
  EXPECT_EQ(eth.status, MarkStatus::kInsufficientSources);
  EXPECT_FALSE(eth.price.has_value());
}

TEST_F(PublisherTest, EachSnapshotLinksToThePreviousPayload) {
  for (int i = 0; i < 3; ++i) {
    FillFresh("1.0", "2.0", "3.0");
    ASSERT_TRUE(publisher_->PublishRound().ok());
    clock_.Advance(kNanosPerSecond);
  }
  auto s1 = attest::DecodeSnapshotEnvelope(*store_->Get(1));
  auto s2 = attest::DecodeSnapshotEnvelope(*store_->Get(2));
  auto s3 = attest::DecodeSnapshotEnvelope(*store_->Get(3));
  ASSERT_TRUE(s1.ok() && s2.ok() && s3.ok());
  EXPECT_EQ(s2->snapshot.previous_hash, attest::Sha256Hex(s1->payload));
  EXPECT_EQ(s3->snapshot.previous_hash, attest::Sha256Hex(s2->payload));
  EXPECT_LT(s1->snapshot.time_unix_nanos, s2->snapshot.time_unix_nanos);
}

TEST_F(PublisherTest, RestartResumesSequenceAndChain) {
  FillFresh("1.0", "2.0", "3.0");
  ASSERT_TRUE(publisher_->PublishRound().ok());
  ASSERT_TRUE(publisher_->PublishRound().ok());
  const std::string hash2 = publisher_->Latest()->signed_snapshot.payload_hash;
  OpenStore();  // a new process over the same directory
  ASSERT_NE(publisher_->Latest(), nullptr);
  EXPECT_EQ(publisher_->Latest()->signed_snapshot.snapshot.sequence, 2u);
  EXPECT_EQ(publisher_->next_sequence(), 3u);
  auto third = publisher_->PublishRound();
  ASSERT_TRUE(third.ok());
  EXPECT_EQ((*third)->signed_snapshot.snapshot.sequence, 3u);
  EXPECT_EQ((*third)->signed_snapshot.snapshot.previous_hash, hash2);
}

TEST_F(PublisherTest, StaleSourcesNeverCarryAnOldPrice) {
  FillFresh("100", "101", "102");
  ASSERT_TRUE(publisher_->PublishRound().ok());
  clock_.Advance(6 * kNanosPerSecond);  // past every source's 5 s max age
  auto published = publisher_->PublishRound();
  ASSERT_TRUE(published.ok());
  const Mark& btc = (*published)->signed_snapshot.snapshot.marks[0];
  EXPECT_EQ(btc.status, MarkStatus::kStale);
  EXPECT_FALSE(btc.price.has_value());
  EXPECT_EQ(btc.newest_observation_unix_nanos, testing::kStart);
}

TEST_F(PublisherTest, ResumeRefusesAnUndecodableStoredSnapshot) {
  ASSERT_TRUE(store_->Append(1, "not an envelope").ok());
  Publisher fresh(*config_, &book_, store_.get(), *key_, clock_);
  Status s = fresh.Resume();
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("stored snapshot 1"), std::string::npos) << s.message();
}

TEST_F(PublisherTest, ANewConfigTakesEffectAtTheNextRoundAndKeepsTheChain) {
  FillFresh("100", "101", "102");
  auto first = publisher_->PublishRound();
  ASSERT_TRUE(first.ok());
  const std::string served = (*first)->signed_snapshot.envelope_json;
  auto next = ParseConfig(testing::TestConfigText() + "[[symbols]]\nsymbol = \"SOL/USD\"\n", "reloaded.toml");
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  publisher_->SetConfig(std::make_shared<const Config>(std::move(next).value()));
  // Until the next round the served snapshot is the old one, unchanged.
  EXPECT_EQ(publisher_->Latest()->signed_snapshot.envelope_json, served);
  auto second = publisher_->PublishRound();
  ASSERT_TRUE(second.ok());
  const auto& snap = (*second)->signed_snapshot.snapshot;
  EXPECT_EQ(snap.sequence, 2u);
  EXPECT_EQ(snap.previous_hash, (*first)->signed_snapshot.payload_hash);
  ASSERT_EQ(snap.marks.size(), 3u);
  EXPECT_EQ(snap.marks[2].symbol, "SOL/USD");
  EXPECT_EQ(snap.config_digest, publisher_->config()->digest);
  EXPECT_NE(snap.config_digest, (*first)->signed_snapshot.snapshot.config_digest);
  EXPECT_EQ(*store_->Get(1), served);
}

}  // namespace
}  // namespace plumbline::daemon
