// Replay: rounds logged by a real Publisher over a real RocksDB store re-run to identical bytes;
// a tampered log line is caught with the sequence and the offset.
#include "plumbline/daemon/replay.h"

#include <gtest/gtest.h>

#include <fstream>

#include "daemon/test_support.h"

namespace plumbline::daemon {
namespace {

using testing::DaemonFixture;
using testing::Obs;

class ReplayTest : public DaemonFixture {
 protected:
  void EnableLog() {
    log_path_ = (dir_.string() + ".observations.jsonl");
    std::filesystem::remove(log_path_);
    config_->observation_log = log_path_;
    OpenStore();
  }
  void TearDown() override {
    DaemonFixture::TearDown();
    std::filesystem::remove(log_path_);
  }
  EnvelopeFetcher Fetch() {
    return [this](uint64_t seq) -> Result<std::string> {
      if (!store_->LastSequence() || seq > *store_->LastSequence()) return Status::NotFound("none");
      return store_->Get(seq);
    };
  }
  // Rounds with moving prices, a spike (clamped), a stale spell and a restart in the middle.
  void Run(int rounds) {
    for (int i = 0; i < rounds; ++i) {
      const int64_t t = clock_.NowUnixNanos();
      const std::string base = std::to_string(67000 + (i * 37) % 101) + "." + std::to_string(10 + i % 80);
      if (i % 11 != 5) book_.Put(Obs("a", "BTC/USD", base.c_str(), t));
      book_.Put(Obs("b", "BTC/USD", (i == 7 ? "90000.00" : base.c_str()), t));
      book_.Put(Obs("c", "BTC/USD", base.c_str(), t - (i % 3) * kNanosPerSecond));
      book_.Put(Obs("a", "ETH/USD", "3500.5", t));
      ASSERT_TRUE(publisher_->PublishRound().ok());
      clock_.Advance(kNanosPerSecond);
      if (i == rounds / 2) OpenStore();  // restart: Resume seeds the engine and logs it
    }
  }
  std::string log_path_;
};

TEST_F(ReplayTest, LoggedRoundsReplayToIdenticalBytes) {
  EnableLog();
  Run(30);
  auto log = feeds::LoadObservationLog(log_path_);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_EQ(std::count_if(log->begin(), log->end(), [](const feeds::LoggedRound& r) { return r.seed; }), 1);
  auto report = Replay(*config_, *log, Fetch());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->rounds, 30u);
  EXPECT_EQ(report->identical, 30u) << report->first_difference;
  EXPECT_EQ(report->differing, 0u);
}

TEST_F(ReplayTest, TamperedObservationIsCaught) {
  EnableLog();
  Run(12);
  std::ifstream in(log_path_);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  in.close();
  // Change one venue price of round 4 (4th line; no seed line before the restart at round 6).
  const size_t at = lines[3].find("\"price\":\"");
  ASSERT_NE(at, std::string::npos);
  lines[3].replace(at + 9, 1, "1");
  std::ofstream out(log_path_, std::ios::trunc);
  for (const auto& l : lines) out << l << "\n";
  out.close();
  auto log = feeds::LoadObservationLog(log_path_);
  ASSERT_TRUE(log.ok());
  auto report = Replay(*config_, *log, Fetch());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_GE(report->differing, 1u);
  EXPECT_EQ(report->first_differing_sequence, 4u);
  EXPECT_NE(report->first_difference.find("bytes differ at offset"), std::string::npos);
}

TEST_F(ReplayTest, WrongConfigIsRefused) {
  EnableLog();
  Run(2);
  auto log = feeds::LoadObservationLog(log_path_);
  ASSERT_TRUE(log.ok());
  Config other = *config_;
  other.digest = std::string(64, 'e');
  auto report = Replay(other, *log, Fetch());
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("config digest"), std::string::npos);
}

TEST_F(ReplayTest, HaltFileHaltsAtRunTimeAndReplays) {
  const std::string halt = dir_.string() + ".halt";
  config_->halt_file = halt;
  EnableLog();
  std::ofstream(halt) << "# emergency\nBTC/USD\nNOPE/USD\n";
  FillFresh("67000.10", "67000.30", "67000.20");
  auto halted = publisher_->PublishRound();
  ASSERT_TRUE(halted.ok());
  EXPECT_EQ((*halted)->signed_snapshot.snapshot.marks[0].status, MarkStatus::kHalted);
  EXPECT_FALSE((*halted)->signed_snapshot.snapshot.marks[0].price.has_value());
  std::filesystem::remove(halt);  // lifted: the next round prices again
  clock_.Advance(kNanosPerSecond);
  FillFresh("67000.10", "67000.30", "67000.20");
  auto resumed = publisher_->PublishRound();
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ((*resumed)->signed_snapshot.snapshot.marks[0].status, MarkStatus::kOk);
  auto log = feeds::LoadObservationLog(log_path_);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)[0].halted, std::vector<std::string>{"BTC/USD"});
  auto report = Replay(*config_, *log, Fetch());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->identical, 2u) << report->first_difference;
}

TEST(ObservationLog, TornLineIsNamed) {
  const std::string path = std::filesystem::temp_directory_path() / "plumbline-torn-log.jsonl";
  std::ofstream(path) << feeds::ObservationLogSeedLine(3) << "\n{\"sequence\":4,\"ti";
  auto log = feeds::LoadObservationLog(path);
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.status().message().find("line 2: not a JSON object (torn write?)"), std::string::npos);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace plumbline::daemon
