#include "plumbline/daemon/ingest_journal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

namespace plumbline::daemon {
namespace {

class IngestJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("plumbline-ingest-journal-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<IngestJournal> Open() {
    auto j = IngestJournal::Open(dir_.string());
    EXPECT_TRUE(j.ok()) << j.status().ToString();
    return j.ok() ? std::move(j).value() : nullptr;
  }
  std::filesystem::path dir_;
};

TEST_F(IngestJournalTest, QueuedRecordsShareOneSyncedWriteAndSettleInAppendOrder) {
  auto journal = Open();
  ASSERT_NE(journal, nullptr);
  std::vector<std::string> settled;
  auto settle = [&settled](std::string what) {
    return [&settled, what](const Status& s) { settled.push_back(what + (s.ok() ? " ok" : " failed")); };
  };
  auto a = journal->Append("p1", 1, 10, "{\"a\":1}", settle("p1/1"));
  auto b = journal->Append("p2", 1, 11, "{\"b\":1}", settle("p2/1"));
  auto c = journal->Append("p1", 2, 12, "{\"a\":2}", settle("p1/2"));
  // The first waiter leads: everything queued goes into its one write, settled before it returns.
  ASSERT_TRUE(journal->Wait(b).ok());
  EXPECT_EQ(settled, (std::vector<std::string>{"p1/1 ok", "p2/1 ok", "p1/2 ok"}));
  EXPECT_TRUE(journal->Wait(a).ok());
  EXPECT_TRUE(journal->Wait(c).ok());
  EXPECT_EQ(journal->commit_stats().writes, 1u);
  EXPECT_EQ(journal->commit_stats().records, 3u);
  // Durable, and of p1's two records the later one stays.
  journal.reset();
  journal = Open();
  ASSERT_NE(journal, nullptr);
  auto p1 = journal->Latest("p1");
  ASSERT_TRUE(p1.ok() && p1->has_value());
  EXPECT_EQ((*p1)->sequence, 2u);
  EXPECT_EQ((*p1)->received_unix_nanos, 12);
  EXPECT_EQ((*p1)->envelope, "{\"a\":2}");
  auto p2 = journal->Latest("p2");
  ASSERT_TRUE(p2.ok() && p2->has_value());
  EXPECT_EQ((*p2)->sequence, 1u);
}

}  // namespace
}  // namespace plumbline::daemon
