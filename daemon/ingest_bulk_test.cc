// POST /v1/observations/bulk over real HTTP on loopback with real signatures (docs/ingest.md, "Bulk").
#include <gtest/gtest.h>

#include <sstream>

#include "daemon/push_test_support.h"
#include "plumbline/daemon/ingest.h"

namespace plumbline::daemon {
namespace {

using testing::Ob;
using testing::SignBatch;

class BulkIngestTest : public testing::PushFixture {
 protected:
  void SetUp() override {
    PushFixture::SetUp();
    // [http].max_body_bytes stays 1024 (single batches); bulk requests get their own limits.
    StopServer();
    config_->ingest.bulk_max_lines = 24;
    config_->ingest.bulk_max_bytes = 32768;
    config_->ingest.bulk_verify_threads = 2;  // (ManyLinesAreVerifiedOnTwoThreadsInOrder)
    StartServer();
  }

  static std::string Lines(const std::vector<std::string>& envelopes) {
    std::string body;
    for (const std::string& e : envelopes) body += e + "\n";
    return body;
  }
  httplib::Result PostBulk(const std::string& body, const char* type = "application/x-ndjson") {
    return client_->Post("/v1/observations/bulk", body, type);
  }
  // The NDJSON answer, one parsed object per line; asserts 200 and one line per envelope.
  std::vector<nlohmann::json> ExpectResults(const std::string& body, size_t lines) {
    auto r = PostBulk(body);
    EXPECT_TRUE(r);
    if (!r) return {};
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/x-ndjson");
    std::vector<nlohmann::json> out;
    std::istringstream in(r->body);
    for (std::string line; std::getline(in, line);) {
      out.push_back(nlohmann::json::parse(line));
      EXPECT_EQ(out.back().dump(), line);  // each result line exactly as nlohmann writes it
    }
    EXPECT_EQ(out.size(), lines) << r->body;
    return out;
  }
  static void ExpectLine(const nlohmann::json& result, int line, int status, const std::string& type,
                         const std::string& mention) {
    SCOPED_TRACE(result.dump());
    EXPECT_EQ(result.value("line", 0), line);
    EXPECT_EQ(result.value("status", 0), status);
    EXPECT_EQ(result.value("type", ""), "/problems/" + type);
    const std::string detail = result.value("detail", "");
    EXPECT_EQ(detail.rfind("line " + std::to_string(line) + ": ", 0), 0u) << detail;
    EXPECT_NE(detail.find(mention), std::string::npos) << detail;
  }
  static void ExpectAcceptedLine(const nlohmann::json& result, int line, const std::string& publisher,
                                 uint64_t sequence) {
    SCOPED_TRACE(result.dump());
    EXPECT_EQ(result.value("line", 0), line);
    EXPECT_EQ(result.value("status", 0), 200);
    EXPECT_EQ(result.value("publisher", ""), publisher);
    EXPECT_EQ(result.value("sequence", 0u), sequence);
    EXPECT_EQ(result.value("accepted", 0u), 1u);
  }
  std::string BookState() const {
    std::string out;
    for (const char* symbol : {"BTC/USD", "ETH/USD"}) {
      for (const Observation& o : book_.ForSymbol(symbol)) {
        out += o.source + " " + o.symbol + " " + o.price.ToString() + " " + std::to_string(o.observed_unix_nanos) + "\n";
      }
    }
    return out;
  }
  std::optional<JournalRecord> Journaled(const std::string& publisher) {
    auto r = journal_->Latest(publisher);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::nullopt;
  }
  int64_t now() const { return clock_.NowUnixNanos(); }
};

TEST_F(BulkIngestTest, EachLineIsJudgedOnItsOwnAndOnlyTheGoodOnesAreJournaledAndApplied) {
  const int64_t t = now();
  auto envelope = attest::ParseEnvelope(SignBatch(desk1_, "desk1", 20, {Ob("BTC/USD", "67000.50", t + 3)}));
  ASSERT_TRUE(envelope.ok());
  envelope->payload.replace(envelope->payload.find("67000.50"), 8, "17000.50");  // same length, still canonical
  const std::string altered = attest::EnvelopeToJson(*envelope);
  const std::vector<std::string> lines = {
      SignBatch(desk1_, "desk1", 10, {Ob("BTC/USD", "67000", t)}),                          // 1 good
      SignBatch(outsider_, "desk1", 11, {Ob("BTC/USD", "99999", t + 1)}),                   // 2 unknown key
      SignBatch(desk2_, "desk2", 1, {Ob("BTC/USD", "67001", t)}),                           // 3 good, other publisher
      altered,                                                                              // 4 bad signature
      SignBatch(desk1_, "desk1", 12, {Ob("BTC/USD", "99999", t - 11 * kNanosPerSecond)}),   // 5 stale
      SignBatch(desk1_, "desk1", 10, {Ob("ETH/USD", "99999", t + 2)}),                      // 6 replays line 1's sequence
      "{\"payload\": not json",                                                             // 7 malformed
      SignBatch(desk1_, "desk1", 13, {Ob("ETH/USD", "3500", t + 2)}),                       // 8 good
  };
  const auto writes_before = journal_->commit_stats();
  auto results = ExpectResults(Lines(lines), lines.size());
  ASSERT_EQ(results.size(), 8u);
  ExpectAcceptedLine(results[0], 1, "desk1", 10);
  ExpectLine(results[1], 2, 401, "unknown-key", outsider_.KeyId());
  ExpectAcceptedLine(results[2], 3, "desk2", 1);
  ExpectLine(results[3], 4, 401, "bad-signature", "does not verify");
  ExpectLine(results[4], 5, 422, "stale-observation", "observations[0].observed_time: 11000 ms old");
  ExpectLine(results[5], 6, 409, "replayed-batch", "batch sequence 10 is not above the batch being written, 10");
  ExpectLine(results[6], 7, 400, "malformed-envelope", "");
  ExpectAcceptedLine(results[7], 8, "desk1", 13);

  // The book holds exactly the three good envelopes' observations.
  EXPECT_EQ(BookState(), "desk1 BTC/USD 67000 " + std::to_string(t) + "\ndesk2 BTC/USD 67001 " + std::to_string(t) +
                             "\ndesk1 ETH/USD 3500 " + std::to_string(t + 2) + "\n");
  // One synced write held all three; the journal keeps each publisher's latest, byte for byte.
  const auto writes_after = journal_->commit_stats();
  EXPECT_EQ(writes_after.writes - writes_before.writes, 1u);
  EXPECT_EQ(writes_after.records - writes_before.records, 3u);
  auto desk1 = Journaled("desk1");
  ASSERT_TRUE(desk1.has_value());
  EXPECT_EQ(desk1->sequence, 13u);
  EXPECT_EQ(desk1->envelope, lines[7]);
  auto desk2 = Journaled("desk2");
  ASSERT_TRUE(desk2.has_value());
  EXPECT_EQ(desk2->envelope, lines[2]);
  auto stats = ingest_->Stats();
  EXPECT_EQ(stats[0].accepted_batches, 2u);
  EXPECT_EQ(stats[0].last_sequence, 13u);
  EXPECT_EQ(stats[1].accepted_batches, 1u);

  // The single endpoint agrees: both accepted sequences are now replays there too.
  clock_.Advance(kNanosPerSecond);
  auto single = client_->Post("/v1/observations", lines[0], "application/json");
  ASSERT_TRUE(single);
  EXPECT_EQ(single->status, 409) << single->body;
}

TEST_F(BulkIngestTest, ManyLinesAreVerifiedOnTwoThreadsInOrder) {
  // desk2 (burst 40): 20 envelopes, more than Ingestor::kParallelVerifyMin, so a helper thread
  // verifies the second half; one forged signature in each half.
  const int64_t t = now();
  std::vector<std::string> lines;
  for (uint64_t s = 1; s <= 20; ++s) {
    lines.push_back(SignBatch(desk2_, "desk2", s, {Ob("BTC/USD", std::to_string(100 + s), t - 100 + static_cast<int64_t>(s))}));
  }
  ASSERT_GE(lines.size(), Ingestor::kParallelVerifyMin);
  for (size_t forged : {3u, 15u}) {
    std::string& l = lines[forged];
    l.replace(l.find("\"sig\":\"") + 7, 4, "AAAA");
  }
  auto results = ExpectResults(Lines(lines), 20);
  ASSERT_EQ(results.size(), 20u);
  for (size_t i = 0; i < 20; ++i) {
    if (i == 3 || i == 15) {
      ExpectLine(results[i], static_cast<int>(i + 1), 401, "bad-signature", "does not verify");
    } else {
      ExpectAcceptedLine(results[i], static_cast<int>(i + 1), "desk2", i + 1);
    }
  }
  auto btc = book_.ForSymbol("BTC/USD");
  ASSERT_EQ(btc.size(), 1u);
  EXPECT_EQ(btc[0].price.ToString(), "120");  // the last line's, applied in order
  EXPECT_EQ(Journaled("desk2")->sequence, 20u);
}

TEST_F(BulkIngestTest, OversizeRequestsAre413AndApplyNothing) {
  const int64_t t = now();
  std::vector<std::string> lines;
  for (uint64_t s = 1; s <= 25; ++s) {
    lines.push_back(SignBatch(desk2_, "desk2", s, {Ob("BTC/USD", "1", t - 100 + static_cast<int64_t>(s))}));
  }
  auto r = PostBulk(Lines(lines));  // 25 lines > bulk_max_lines 24 (and under 32768 bytes)
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/problem+json");
  auto doc = nlohmann::json::parse(r->body);
  EXPECT_EQ(doc.value("type", ""), "/problems/too-many-envelopes");
  EXPECT_NE(doc.value("detail", "").find("[ingest].bulk_max_lines"), std::string::npos) << r->body;

  // Over [ingest].bulk_max_bytes: refused by its Content-Length, before it is read.
  std::string big = Lines({lines[0]}) + std::string(40000, '\n');
  r = PostBulk(big);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413) << r->body;
  doc = nlohmann::json::parse(r->body);
  EXPECT_EQ(doc.value("type", ""), "/problems/body-too-large");
  EXPECT_NE(doc.value("detail", "").find("[ingest].bulk_max_bytes (32768)"), std::string::npos) << r->body;
  // The single endpoint keeps [http].max_body_bytes (1024) although the server reads more for bulk.
  client_ = Client();
  r = client_->Post("/v1/observations", std::string(2000, ' ') + lines[0], "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413) << r->body;
  EXPECT_NE(r->body.find("[http].max_body_bytes (1024)"), std::string::npos) << r->body;

  EXPECT_EQ(BookState(), "");
  EXPECT_FALSE(Journaled("desk2").has_value());
  EXPECT_EQ(ingest_->Stats()[1].accepted_batches, 0u);
  // Nothing was consumed: the first 24 lines are accepted as they are.
  client_ = Client();
  auto results = ExpectResults(Lines(std::vector<std::string>(lines.begin(), lines.begin() + 24)), 24);
  ASSERT_EQ(results.size(), 24u);
  ExpectAcceptedLine(results[23], 24, "desk2", 24);
}

TEST_F(BulkIngestTest, OnlyNdjsonOnlyPost) {
  const std::string line = SignBatch(desk2_, "desk2", 1, {Ob("BTC/USD", "1", now())});
  auto r = PostBulk(line, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 415) << r->body;
  EXPECT_NE(r->body.find("application/x-ndjson"), std::string::npos) << r->body;
  r = PostBulk("");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  r = client_->Get("/v1/observations/bulk");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->get_header_value("Allow"), "POST");
  EXPECT_EQ(BookState(), "");
  // A last line without its LF and CRLF line ends are fine.
  auto results = ExpectResults(line + "\r\n" + SignBatch(desk2_, "desk2", 2, {Ob("BTC/USD", "2", now() + 1)}), 2);
  ASSERT_EQ(results.size(), 2u);
  ExpectAcceptedLine(results[1], 2, "desk2", 2);
}

TEST_F(BulkIngestTest, LimitsComeFromTheIngestTable) {
  auto parse = [](const std::string& ingest) { return ParseConfig(testing::TestConfigText() + ingest, "b.toml"); };
  auto defaults = parse("");
  ASSERT_TRUE(defaults.ok()) << defaults.status().ToString();
  EXPECT_EQ(defaults->ingest.bulk_max_lines, 1024);
  EXPECT_EQ(defaults->ingest.bulk_max_bytes, 1 << 20);
  EXPECT_EQ(defaults->ingest.bulk_verify_threads, 2);
  auto set = parse("[ingest]\nbulk_max_lines = 10\nbulk_max_bytes = 5000\nbulk_verify_threads = 1\n");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->ingest.bulk_max_lines, 10);
  EXPECT_EQ(set->ingest.bulk_max_bytes, 5000);
  EXPECT_EQ(set->ingest.bulk_verify_threads, 1);
  for (const char* bad : {"bulk_max_lines = 0", "bulk_max_bytes = -1", "bulk_verify_threads = 0"}) {
    auto c = parse(std::string("[ingest]\n") + bad + "\n");
    ASSERT_FALSE(c.ok()) << bad;
    const std::string key = std::string(bad).substr(0, std::string(bad).find(' '));
    EXPECT_NE(c.status().message().find("'ingest." + key + "'"), std::string::npos) << c.status().message();
  }
}

TEST_F(BulkIngestTest, AFailedJournalWriteIs503ForTheWholeRequestWithNothingApplied) {
  const int64_t t = now();
  ExpectResults(Lines({SignBatch(desk1_, "desk1", 1, {Ob("BTC/USD", "67000", t)})}), 1);
  const std::string book_before = BookState();
  const std::string body = Lines({SignBatch(desk1_, "desk1", 2, {Ob("BTC/USD", "67001", t + 1)}),
                                  SignBatch(outsider_, "desk1", 3, {Ob("BTC/USD", "1", t + 1)}),
                                  SignBatch(desk2_, "desk2", 1, {Ob("BTC/USD", "67002", t + 1)})});
  {
    testing::FileSizeLimit full(0);  // the disk is "full": the synced write fails for real (EFBIG)
    auto r = PostBulk(body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503) << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/problem+json");
    EXPECT_EQ(r->get_header_value("Retry-After"), "1");
    auto doc = nlohmann::json::parse(r->body);
    EXPECT_EQ(doc.value("type", ""), "/problems/journal-unavailable");
    const std::string detail = doc.value("detail", "");
    EXPECT_NE(detail.find("2 envelopes passed every check but were not stored, nothing applied"), std::string::npos) << detail;
    EXPECT_NE(detail.find("File too large"), std::string::npos) << detail;
  }
  EXPECT_EQ(BookState(), book_before) << "envelopes that are not on disk reached the book";
  EXPECT_EQ(Journaled("desk1")->sequence, 1u);
  EXPECT_FALSE(Journaled("desk2").has_value());
  EXPECT_EQ(ingest_->Stats()[0].last_sequence, 1u);
  EXPECT_EQ(ingest_->Stats()[1].accepted_batches, 0u);

  // The disk is back: the same request is accepted as it is (the sequences were not consumed).
  clock_.Advance(kNanosPerSecond);
  auto results = ExpectResults(body, 3);
  ASSERT_EQ(results.size(), 3u);
  ExpectAcceptedLine(results[0], 1, "desk1", 2);
  ExpectLine(results[1], 2, 401, "unknown-key", "keyid");
  ExpectAcceptedLine(results[2], 3, "desk2", 1);
  EXPECT_EQ(Journaled("desk2")->sequence, 1u);
}

TEST_F(BulkIngestTest, AfterARestartTheAcceptedLinesAreReplays) {
  const int64_t t = now();
  const std::string body = Lines({SignBatch(desk1_, "desk1", 5, {Ob("BTC/USD", "67000", t)}),
                                  SignBatch(desk2_, "desk2", 7, {Ob("BTC/USD", "67001", t)}),
                                  SignBatch(desk1_, "desk1", 6, {Ob("ETH/USD", "3500", t)})});
  auto results = ExpectResults(body, 3);
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) EXPECT_EQ(r.value("status", 0), 200) << r.dump();
  // Restart: server, Ingestor and journal closed; the journal directory reopened from disk.
  StopServer();
  OpenIngest();
  StartServer();
  clock_.Advance(kNanosPerSecond);
  results = ExpectResults(body, 3);
  ASSERT_EQ(results.size(), 3u);
  ExpectLine(results[0], 1, 409, "replayed-batch", "sequence 5 is not above the last accepted 6");
  ExpectLine(results[1], 2, 409, "replayed-batch", "sequence 7 is not above the last accepted 7");
  ExpectLine(results[2], 3, 409, "replayed-batch", "sequence 6 is not above the last accepted 6");
}

}  // namespace
}  // namespace plumbline::daemon
