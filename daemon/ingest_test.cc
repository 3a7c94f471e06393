#include "plumbline/daemon/ingest.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "daemon/push_test_support.h"

namespace plumbline::daemon {
namespace {

using testing::Ob;
using testing::SignBatch;

using testing::FileSizeLimit;

class IngestTest : public testing::PushFixture {
 protected:
  // Everything a batch could change: the book's entries for every symbol, with all fields.
  std::string BookState() const {
    std::string out;
    for (const char* symbol : {"BTC/USD", "ETH/USD"}) {
      for (const Observation& o : book_.ForSymbol(symbol)) {
        out += o.source + " " + o.symbol + " " + o.price.ToString() + " " + (o.bid ? o.bid->ToString() : "-") + " " +
               (o.ask ? o.ask->ToString() : "-") + " " + std::to_string(o.observed_unix_nanos) + "\n";
      }
    }
    return out;
  }
  // Asserts an RFC 9457 problem with `status` and `type`, that `detail` contains `mention`, and
  // that the book is exactly as it was before the request.
  void ExpectRejected(const std::string& body, int status, const std::string& type, const std::string& mention) {
    const std::string before = BookState();
    auto r = Post(body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, status) << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/problem+json");
    auto doc = nlohmann::json::parse(r->body, nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << r->body;
    EXPECT_EQ(doc.value("type", ""), "/problems/" + type) << r->body;
    EXPECT_EQ(doc.value("status", 0), status);
    EXPECT_NE(doc.value("detail", "").find(mention), std::string::npos) << doc.value("detail", "");
    EXPECT_EQ(BookState(), before) << "a rejected batch changed the book";
    Pace();
  }
  // desk1 may send 2 batches per second: tests that send many let the clock refill its bucket.
  void Pace() { clock_.Advance(kNanosPerSecond / 2); }
  void ExpectAccepted(const std::string& body, size_t count) {
    auto r = Post(body);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(nlohmann::json::parse(r->body).value("accepted", 0u), count);
    Pace();
  }
  int64_t now() const { return clock_.NowUnixNanos(); }
};

TEST_F(IngestTest, AcceptedObservationsCountAsASourceInTheNextRound) {
  const int64_t t = now() - kNanosPerSecond;
  ExpectAccepted(SignBatch(desk1_, "desk1", 1,
                           {Ob("BTC/USD", "67000.50", t, {{"bid", "67000.00"}, {"ask", "67001.00"}}),
                            Ob("ETH/USD", "3500.25", t, {{"confidence", "0.75"}})}),
                 2);
  auto btc = book_.ForSymbol("BTC/USD");
  ASSERT_EQ(btc.size(), 1u);
  EXPECT_EQ(btc[0].source, "desk1");
  EXPECT_EQ(btc[0].price.ToString(), "67000.50");
  EXPECT_EQ(btc[0].observed_unix_nanos, t);
  EXPECT_EQ(btc[0].received_unix_nanos, t + kNanosPerSecond);  // the clock when it arrived
  auto eth = book_.ForSymbol("ETH/USD");
  ASSERT_EQ(eth.size(), 1u);
  EXPECT_EQ(eth[0].bid->ToString(), "3499.50");  // confidence c is stored as price -/+ c
  EXPECT_EQ(eth[0].ask->ToString(), "3501.00");

  // With two polled sources the pushed one completes the quorum of 3.
  book_.Put(testing::Obs("a", "BTC/USD", "67000.10", now()));
  book_.Put(testing::Obs("b", "BTC/USD", "67000.30", now()));
  auto round = publisher_->PublishRound();
  ASSERT_TRUE(round.ok());
  const Mark& mark = (*round)->signed_snapshot.snapshot.marks[0];
  EXPECT_EQ(mark.symbol, "BTC/USD");
  EXPECT_EQ(mark.status, MarkStatus::kOk);
  EXPECT_EQ(mark.price->ToString(), "67000.30");
  ASSERT_EQ(mark.contributions.size(), 3u);
  EXPECT_EQ(mark.contributions[2].source, "desk1");

  // After the publisher's max_age_ms the pushed observation is no longer fresh.
  clock_.Advance(10 * kNanosPerSecond);
  book_.Put(testing::Obs("a", "BTC/USD", "67000.10", now()));
  book_.Put(testing::Obs("b", "BTC/USD", "67000.30", now()));
  round = publisher_->PublishRound();
  ASSERT_TRUE(round.ok());
  EXPECT_EQ((*round)->signed_snapshot.snapshot.marks[0].status, MarkStatus::kStale);
}

TEST_F(IngestTest, UnknownKeyIs401AndChangesNothing) {
  ExpectRejected(SignBatch(outsider_, "desk1", 1, {Ob("BTC/USD", "1", now())}), 401, "unknown-key",
                 outsider_.KeyId());
}

TEST_F(IngestTest, AlteredPayloadIs401BadSignature) {
  std::string body = SignBatch(desk1_, "desk1", 1, {Ob("BTC/USD", "67000.50", now())});
  auto env = attest::ParseEnvelope(body);
  ASSERT_TRUE(env.ok());
  const size_t at = env->payload.find("67000.50");
  ASSERT_NE(at, std::string::npos);
  env->payload.replace(at, 8, "17000.50");  // same length, still canonical
  ExpectRejected(attest::EnvelopeToJson(*env), 401, "bad-signature", "does not verify");
  // A batch signed by desk2 but naming desk1 is refused too.
  ExpectRejected(SignBatch(desk2_, "desk1", 1, {Ob("BTC/USD", "1", now())}), 403, "publisher-mismatch", "desk2");
}

TEST_F(IngestTest, ClockSkewIs422AndTheWholeBatchIsRefused) {
  const int64_t good = now();
  ExpectRejected(SignBatch(desk1_, "desk1", 1, {Ob("ETH/USD", "3500", good), Ob("BTC/USD", "1", now() - 11 * kNanosPerSecond)}),
                 422, "stale-observation", "observations[1].observed_time: 11000 ms old");
  ExpectRejected(SignBatch(desk1_, "desk1", 2, {Ob("ETH/USD", "3500", good), Ob("BTC/USD", "1", now() + 3 * kNanosPerSecond)}),
                 422, "observation-in-future", "3000 ms ahead");
  // Within the skew it is fine, and the earlier refusals did not consume the sequence numbers.
  ExpectAccepted(SignBatch(desk1_, "desk1", 1, {Ob("BTC/USD", "1", now() + kNanosPerSecond)}), 1);
}

TEST_F(IngestTest, ReplaysAre409) {
  const int64_t t = now();
  const std::string batch = SignBatch(desk1_, "desk1", 5, {Ob("BTC/USD", "67000", t)});
  ExpectAccepted(batch, 1);
  ExpectRejected(batch, 409, "replayed-batch", "sequence 5 is not above the last accepted 5");
  ExpectRejected(SignBatch(desk1_, "desk1", 4, {Ob("BTC/USD", "67000", t + 1)}), 409, "replayed-batch", "sequence 4");
  // A fresh sequence cannot carry an observation that is not newer than the last one.
  ExpectRejected(SignBatch(desk1_, "desk1", 6, {Ob("ETH/USD", "3500", t), Ob("BTC/USD", "66000", t)}), 409,
                 "replayed-observation", "observations[1].observed_time");
  ExpectRejected(SignBatch(desk1_, "desk1", 6, {Ob("BTC/USD", "66000", t + 1), Ob("BTC/USD", "66001", t + 2)}), 409,
                 "duplicate-observation", "appears twice");
  ExpectAccepted(SignBatch(desk1_, "desk1", 6, {Ob("BTC/USD", "66000", t + 1)}), 1);
  EXPECT_EQ(book_.ForSymbol("BTC/USD")[0].price.ToString(), "66000");
}

TEST_F(IngestTest, UnknownOrForbiddenSymbol) {
  ExpectRejected(SignBatch(desk1_, "desk1", 1, {Ob("BTC/USD", "1", now()), Ob("DOGE/USD", "0.1", now())}), 422,
                 "unknown-symbol", "\"DOGE/USD\" is not a configured symbol");
  ExpectRejected(SignBatch(desk2_, "desk2", 1, {Ob("ETH/USD", "3500", now())}), 403, "symbol-not-allowed",
                 "publisher \"desk2\" may not publish \"ETH/USD\"");
}

TEST_F(IngestTest, MalformedInputIs400NamingTheField) {
  ExpectRejected("{not json", 400, "malformed-envelope", "DSSE envelope");
  ExpectRejected(attest::EnvelopeToJson(attest::SignEnvelope("application/json", "{}", desk1_)), 400,
                 "wrong-payload-type", kObservationsPayloadType);
  const int64_t t = now();
  struct Case {
    nlohmann::json ob;
    std::string mention;
  } cases[] = {
      {Ob("BTC/USD", "6.7e4", t), "observations[0].price: \"6.7e4\" is not a decimal"},
      {Ob("BTC/USD", "-5", t), "observations[0].price: must be positive"},
      {Ob("BTC/USD", "0", t), "observations[0].price: must be positive"},
      {{{"symbol", "BTC/USD"}, {"price", 67000}, {"observed_time", std::to_string(t)}}, "observations[0].price: expected a decimal string"},
      {{{"symbol", "BTC/USD"}, {"price", "1"}}, "observations[0].observed_time: missing"},
      {Ob("BTC/USD", "1", t, {{"bid", "2"}, {"ask", "1"}}), "observations[0].bid: bid 2 is above ask 1"},
      {Ob("BTC/USD", "1", t, {{"bid", "1"}}), "observations[0].ask: bid and ask come together"},
      {Ob("BTC/USD", "1", t, {{"venue", "x"}}), "observations[0].venue: unknown member"},
      {{{"symbol", "BTC/USD"}, {"price", "1"}, {"observed_time", "12x"}}, "observations[0].observed_time: \"12x\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.ob.dump());
    ExpectRejected(SignBatch(desk1_, "desk1", 1, {c.ob}), 400, "invalid-observations", c.mention);
  }
  ExpectRejected(SignBatch(desk1_, "desk1", 1, {}), 400, "invalid-observations", "observations");
  std::vector<nlohmann::json> five;
  for (int i = 0; i < 5; ++i) five.push_back(Ob("BTC/USD", "1", t + i));
  ExpectRejected(SignBatch(desk1_, "desk1", 1, five), 422, "batch-too-large", "max_observations is 4");
  // A body over http.max_body_bytes (1024 here) is 413 before anything is parsed.
  ExpectRejected(std::string(2000, ' ') + SignBatch(desk1_, "desk1", 1, {Ob("BTC/USD", "1", t)}), 413, "body-too-large",
                 "limit");
  // Nothing of the above consumed sequence 1.
  ExpectAccepted(SignBatch(desk1_, "desk1", 1, {Ob("BTC/USD", "1", t)}), 1);
}

TEST_F(IngestTest, OtherMethodsAre405) {
  auto r = client_->Get("/v1/observations");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->get_header_value("Allow"), "POST");
}

TEST_F(IngestTest, AFloodIsBoundedPerPublisherAndOthersAreUnaffected) {
  // desk1: burst 5, 2 batches per second. The clock stands still, so exactly 5 get through.
  std::atomic<int> accepted{0}, limited{0}, other{0};
  std::atomic<uint64_t> seq{0};
  std::vector<std::thread> flood;
  for (int th = 0; th < 4; ++th) {
    flood.emplace_back([&] {
      auto c = Client();
      for (int i = 0; i < 25; ++i) {
        const uint64_t s = ++seq;
        auto r = c->Post("/v1/observations",
                         SignBatch(desk1_, "desk1", s, {Ob("BTC/USD", "1", now() - 1000 + static_cast<int64_t>(s))}),
                         "application/json");
        if (!r) continue;
        if (r->status == 200) {
          ++accepted;
        } else if (r->status == 429) {
          ++limited;
          EXPECT_EQ(r->get_header_value("Retry-After"), "1");
        } else if (r->status != 409) {  // a later sequence may overtake an earlier one: replay
          ++other;
        }
      }
    });
  }
  // Meanwhile desk2 publishes normally, every batch accepted.
  auto c2 = Client();
  for (uint64_t s = 1; s <= 5; ++s) {
    auto r = c2->Post("/v1/observations", SignBatch(desk2_, "desk2", s, {Ob("BTC/USD", "2", now() - 100 + static_cast<int64_t>(s))}),
                      "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
  }
  for (auto& t : flood) t.join();
  EXPECT_LE(accepted.load(), 5);
  EXPECT_GE(limited.load(), 95 - 5);
  EXPECT_EQ(other.load(), 0);
  // The same counters are served to operators.
  auto served = client_->Get("/v1/publishers");
  ASSERT_TRUE(served);
  ASSERT_EQ(served->status, 200);
  auto doc = nlohmann::json::parse(served->body);
  ASSERT_EQ(doc["publishers"].size(), 2u);
  EXPECT_EQ(doc["publishers"][1]["publisher"], "desk2");
  EXPECT_EQ(doc["publishers"][1]["accepted_batches"], 5);
  EXPECT_EQ(doc["publishers"][1]["last_sequence"], 5);
  EXPECT_GE(doc["publishers"][0]["rate_limited"].get<int>(), 90);
  auto stats = ingest_->Stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].publisher, "desk1");
  EXPECT_GE(stats[0].rate_limited, 90u);
  EXPECT_EQ(stats[1].accepted_batches, 5u);
  EXPECT_EQ(stats[1].rejected_batches, 0u);

  // Half a second later one more batch fits (2 per second), and only one.
  clock_.Advance(kNanosPerSecond / 2);
  auto r = Post(SignBatch(desk1_, "desk1", 1000, {Ob("BTC/USD", "3", now())}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  r = Post(SignBatch(desk1_, "desk1", 1001, {Ob("BTC/USD", "3", now() + 1)}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 429) << r->body;
  EXPECT_NE(r->body.find("exceeded 2 batches per second (burst 5)"), std::string::npos) << r->body;
}

TEST_F(IngestTest, PemKeyFileAndConfigErrors) {
  const auto pem = std::filesystem::path(dir_).concat(".pub.pem");
  {
    std::ofstream(pem) << desk1_.public_key().ToPem();
  }
  auto parse = [&](const std::string& publishers) { return ParseConfig(testing::TestConfigText() + publishers, "p.toml"); };
  auto config = parse("[[publishers]]\nname = \"desk1\"\npublic_key_file = \"" + pem.string() + "\"\nsymbols = [\"BTC/USD\"]\n");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto ingest = Ingestor::Create(*config, &book_, clock_, journal_.get());
  ASSERT_TRUE(ingest.ok()) << ingest.status().ToString();
  IngestResult r = (*ingest)->Submit(SignBatch(desk1_, "desk1", 1, {Ob("BTC/USD", "5", now())}));
  EXPECT_TRUE(r.ok()) << r.detail;
  std::filesystem::remove(pem);

  config = parse("[[publishers]]\nname = \"desk1\"\npublic_key_file = \"/nonexistent.pem\"\nsymbols = [\"BTC/USD\"]\n");
  ASSERT_TRUE(config.ok());
  auto missing = Ingestor::Create(*config, &book_, clock_, journal_.get());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("publishers[0].public_key_file"), std::string::npos) << missing.status().message();

  struct Bad {
    std::string text, mention;
  } bad[] = {
      {"[[publishers]]\nname = \"a\"\npublic_key = \"" + testing::RawBase64(desk1_.public_key()) + "\"\nsymbols = [\"BTC/USD\"]\n",
       "'publishers[0].name': \"a\" is already"},
      {"[[publishers]]\nname = \"x\"\npublic_key = \"AAAA\"\nsymbols = [\"BTC/USD\"]\n", "'publishers[0].public_key': expected the 32-byte"},
      {"[[publishers]]\nname = \"x\"\nsymbols = [\"BTC/USD\"]\n", "set exactly one of"},
      {"[[publishers]]\nname = \"x\"\npublic_key = \"" + testing::RawBase64(desk1_.public_key()) + "\"\nsymbols = [\"XRP/USD\"]\n",
       "'publishers[0].symbols': \"XRP/USD\" is not listed"},
      {"[[publishers]]\nname = \"x\"\npublic_key = \"" + testing::RawBase64(desk1_.public_key()) + "\"\nsymbols = [\"BTC/USD\"]\nburst = 0\n",
       "'publishers[0].burst'"},
      {"[ingest]\nmax_future_skew_ms = \"2s\"\n", "'ingest.max_future_skew_ms': expected an integer"},
      {"[stream]\nheartbeats = 5\n", "'stream.heartbeats': unknown key"},
  };
  for (const Bad& b : bad) {
    auto c = parse(b.text);
    ASSERT_FALSE(c.ok()) << b.text;
    EXPECT_NE(c.status().message().find(b.mention), std::string::npos) << c.status().message();
  }
}

TEST_F(IngestTest, RejectedBatchesLeaveTheNextMarksUnchanged) {
  const int64_t t = now();
  book_.Put(testing::Obs("a", "BTC/USD", "67000.10", t));
  book_.Put(testing::Obs("b", "BTC/USD", "67000.30", t));
  ExpectAccepted(SignBatch(desk1_, "desk1", 1, {Ob("BTC/USD", "67000.20", t)}), 1);
  clock_.Set(t);
  auto before = publisher_->PublishRound();
  ASSERT_TRUE(before.ok());
  // Every kind of refusal, each carrying a price that would move the median.
  ExpectRejected(SignBatch(outsider_, "desk1", 2, {Ob("BTC/USD", "99999", t + 1)}), 401, "unknown-key", "keyid");
  ExpectRejected(SignBatch(desk1_, "desk1", 1, {Ob("BTC/USD", "99999", t + 1)}), 409, "replayed-batch", "sequence 1");
  ExpectRejected(SignBatch(desk1_, "desk1", 2, {Ob("BTC/USD", "99999", t + 10 * kNanosPerSecond)}), 422,
                 "observation-in-future", "ahead");
  ExpectRejected(SignBatch(desk1_, "desk1", 2, {Ob("BTC/USD", "99999", t + 1), Ob("DOGE/USD", "1", t + 1)}), 422,
                 "unknown-symbol", "DOGE/USD");
  clock_.Set(t);
  auto after = publisher_->PublishRound();
  ASSERT_TRUE(after.ok());
  const Mark& m0 = (*before)->signed_snapshot.snapshot.marks[0];
  const Mark& m1 = (*after)->signed_snapshot.snapshot.marks[0];
  EXPECT_EQ(m1.price->ToString(), "67000.20");
  EXPECT_EQ(m1.price, m0.price);
  EXPECT_EQ(m1.newest_observation_unix_nanos, m0.newest_observation_unix_nanos);
  ASSERT_EQ(m1.contributions.size(), 3u);
  EXPECT_EQ(m1.contributions[2].price.ToString(), "67000.20");
}

TEST_F(IngestTest, AfterARestartReplaysAreStill409) {
  const int64_t t = now();
  const std::string first = SignBatch(desk1_, "desk1", 1, {Ob("BTC/USD", "1", t)});
  const std::string second = SignBatch(desk1_, "desk1", 2, {Ob("BTC/USD", "2", t + 1)});
  ExpectAccepted(first, 1);
  ExpectAccepted(second, 1);
  // Restart: server, Ingestor and journal closed; the journal directory reopened from disk.
  StopServer();
  OpenIngest();
  StartServer();
  ExpectRejected(second, 409, "replayed-batch", "sequence 2 is not above the last accepted 2");
  ExpectRejected(first, 409, "replayed-batch", "sequence 1 is not above the last accepted 2");
  // A new sequence still cannot carry the journaled observation time again.
  ExpectRejected(SignBatch(desk1_, "desk1", 3, {Ob("BTC/USD", "3", t + 1)}), 409, "replayed-observation",
                 "observations[0].observed_time");
  ExpectAccepted(SignBatch(desk1_, "desk1", 3, {Ob("BTC/USD", "3", t + 2)}), 1);
  EXPECT_EQ(book_.ForSymbol("BTC/USD")[0].price.ToString(), "3");
  // The served counters start from the journaled sequence.
  EXPECT_EQ(ingest_->Stats()[0].last_sequence, 3u);
  EXPECT_EQ(ingest_->Stats()[1].last_sequence, 0u);  // desk2 never published
}

TEST_F(IngestTest, AfterARestartTheLatestBatchIsBackInTheBookWhileFresh) {
  const int64_t t = now() - kNanosPerSecond;
  ExpectAccepted(SignBatch(desk1_, "desk1", 7,
                           {Ob("BTC/USD", "67000.50", t, {{"bid", "67000.00"}, {"ask", "67001.00"}}),
                            Ob("ETH/USD", "3500.25", t, {{"confidence", "0.75"}})}),
                 2);
  const std::string expected = BookState();
  const int64_t received = book_.ForSymbol("BTC/USD")[0].received_unix_nanos;
  StopServer();
  ingest_.reset();
  // A restarted daemon starts with an empty book; recovery fills it from the journal.
  feeds::ObservationBook restarted;
  auto recovered = Ingestor::Create(*config_, &restarted, clock_, journal_.get());
  ASSERT_TRUE(recovered.ok()) << recovered.status().ToString();
  auto btc = restarted.ForSymbol("BTC/USD");
  ASSERT_EQ(btc.size(), 1u);
  EXPECT_EQ(btc[0].source, "desk1");
  EXPECT_EQ(btc[0].price.ToString(), "67000.50");
  EXPECT_EQ(btc[0].bid->ToString(), "67000.00");
  EXPECT_EQ(btc[0].ask->ToString(), "67001.00");
  EXPECT_EQ(btc[0].observed_unix_nanos, t);
  EXPECT_EQ(btc[0].received_unix_nanos, received);
  auto eth = restarted.ForSymbol("ETH/USD");
  ASSERT_EQ(eth.size(), 1u);
  EXPECT_EQ(eth[0].bid->ToString(), "3499.50");
  EXPECT_EQ(eth[0].ask->ToString(), "3501.00");
  EXPECT_EQ((*recovered)->Submit(SignBatch(desk1_, "desk1", 7, {Ob("BTC/USD", "5", now())})).http_status, 409);
  recovered->reset();
  // Past desk1's max_age_ms (10 s) the batch's observations stay out, but its sequence floor holds.
  clock_.Advance(11 * kNanosPerSecond);
  feeds::ObservationBook later;
  auto stale = Ingestor::Create(*config_, &later, clock_, journal_.get());
  ASSERT_TRUE(stale.ok()) << stale.status().ToString();
  EXPECT_TRUE(later.ForSymbol("BTC/USD").empty());
  EXPECT_TRUE(later.ForSymbol("ETH/USD").empty());
  IngestResult r = (*stale)->Submit(SignBatch(desk1_, "desk1", 7, {Ob("BTC/USD", "5", now())}));
  EXPECT_EQ(r.http_status, 409);
  EXPECT_EQ(r.problem_type, "replayed-batch");
  EXPECT_TRUE((*stale)->Submit(SignBatch(desk1_, "desk1", 8, {Ob("BTC/USD", "5", now())})).ok());
  EXPECT_EQ(BookState(), expected);  // the fixture's book was not touched by the other Ingestors
}

TEST_F(IngestTest, RejectedBatchesWriteNothingToTheJournal) {
  const int64_t t = now();
  const std::string accepted = SignBatch(desk1_, "desk1", 1, {Ob("BTC/USD", "67000", t)});
  ExpectAccepted(accepted, 1);
  auto journaled = [&](const std::string& publisher) {
    auto r = journal_->Latest(publisher);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::nullopt;
  };
  auto before = journaled("desk1");
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(before->sequence, 1u);
  EXPECT_EQ(before->envelope, accepted);  // the exact bytes acknowledged
  EXPECT_EQ(before->received_unix_nanos, t);
  ExpectRejected(SignBatch(desk1_, "desk1", 1, {Ob("BTC/USD", "99999", t + 1)}), 409, "replayed-batch", "sequence 1");
  ExpectRejected(SignBatch(desk1_, "desk1", 2, {Ob("BTC/USD", "99999", t)}), 409, "replayed-observation", "observed_time");
  ExpectRejected(SignBatch(desk1_, "desk1", 2, {Ob("BTC/USD", "99999", t + 1), Ob("DOGE/USD", "1", t + 1)}), 422,
                 "unknown-symbol", "DOGE/USD");
  ExpectRejected(SignBatch(desk1_, "desk1", 2, {Ob("BTC/USD", "99999", now() - 20 * kNanosPerSecond)}), 422,
                 "stale-observation", "ms old");
  ExpectRejected(SignBatch(outsider_, "desk1", 2, {Ob("BTC/USD", "99999", t + 1)}), 401, "unknown-key", "keyid");
  ExpectRejected(SignBatch(desk2_, "desk2", 1, {Ob("ETH/USD", "3500", t)}), 403, "symbol-not-allowed", "ETH/USD");
  auto after = journaled("desk1");
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->sequence, 1u);
  EXPECT_EQ(after->envelope, accepted);
  EXPECT_EQ(after->received_unix_nanos, t);
  EXPECT_FALSE(journaled("desk2").has_value());
}

TEST_F(IngestTest, WithoutItsJournalTheSnapshotStillBoundsReplays) {
  const int64_t t = now();
  ExpectAccepted(SignBatch(desk1_, "desk1", 2, {Ob("BTC/USD", "2", t + 1)}), 1);
  // (Same price as desk1's, so the aggregator's outlier rejection keeps desk1 among the contributions.)
  book_.Put(testing::Obs("a", "BTC/USD", "2", t));
  book_.Put(testing::Obs("b", "BTC/USD", "2", t));
  auto round = publisher_->PublishRound();
  ASSERT_TRUE(round.ok());
  // The journal directory was moved aside: a fresh, empty journal, seeded from the latest snapshot.
  auto empty = IngestJournal::Open((dir_ / "ingest-fresh").string());
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  auto seeded = Ingestor::Create(*config_, &book_, clock_, empty->get());
  ASSERT_TRUE(seeded.ok());
  (*seeded)->RememberIncluded((*round)->signed_snapshot.snapshot.marks);
  IngestResult replay = (*seeded)->Submit(SignBatch(desk1_, "desk1", 2, {Ob("BTC/USD", "2", t + 1)}));
  EXPECT_EQ(replay.http_status, 409) << replay.detail;
  EXPECT_EQ(replay.problem_type, "replayed-observation");
  EXPECT_TRUE((*seeded)->Submit(SignBatch(desk1_, "desk1", 2, {Ob("BTC/USD", "3", t + 2)})).ok());
}

TEST_F(IngestTest, AFailedJournalWriteIs503WithNothingAppliedAndTheSameSequenceIsAcceptedOnceTheDiskRecovers) {
  const int64_t t = now();
  ExpectAccepted(SignBatch(desk1_, "desk1", 1, {Ob("BTC/USD", "67000", t)}), 1);
  const std::string batch = SignBatch(desk1_, "desk1", 2, {Ob("BTC/USD", "67001", t + 1), Ob("ETH/USD", "3500", t + 1)});
  const std::string book_before = BookState();
  {
    // The disk is "full": the synced write (and the reopen before the second attempt) fails for real.
    FileSizeLimit full(0);
    for (int attempt = 0; attempt < 2; ++attempt) {  // and keeps failing while the disk is full
      auto r = Post(batch);
      ASSERT_TRUE(r);
      EXPECT_EQ(r->status, 503) << r->body;
      EXPECT_EQ(r->get_header_value("Content-Type"), "application/problem+json");
      EXPECT_EQ(r->get_header_value("Retry-After"), "1");
      auto doc = nlohmann::json::parse(r->body, nullptr, false);
      EXPECT_EQ(doc.value("type", ""), "/problems/journal-unavailable") << r->body;
      const std::string detail = doc.value("detail", "");
      EXPECT_NE(detail.find("batch sequence 2 not stored, nothing applied"), std::string::npos) << detail;
      EXPECT_NE(detail.find("publisher \"desk1\""), std::string::npos) << detail;
      EXPECT_NE(detail.find("File too large"), std::string::npos) << detail;
      EXPECT_EQ(BookState(), book_before) << "a batch that is not on disk reached the book";
    }
  }
  auto stats = ingest_->Stats();
  EXPECT_EQ(stats[0].publisher, "desk1");
  EXPECT_EQ(stats[0].accepted_batches, 1u);
  EXPECT_EQ(stats[0].last_sequence, 1u);
  auto journaled = journal_->Latest("desk1");
  ASSERT_TRUE(journaled.ok() && journaled->has_value());
  EXPECT_EQ((*journaled)->sequence, 1u);

  // Space again: the journal resumes by itself and the publisher's retry of the same batch is accepted.
  Pace();
  ExpectAccepted(batch, 2);
  EXPECT_EQ(book_.ForSymbol("BTC/USD")[0].price.ToString(), "67001");
  EXPECT_EQ(book_.ForSymbol("ETH/USD")[0].price.ToString(), "3500");
  journaled = journal_->Latest("desk1");
  ASSERT_TRUE(journaled.ok() && journaled->has_value());
  EXPECT_EQ((*journaled)->sequence, 2u);
  EXPECT_EQ((*journaled)->envelope, batch);
  // And it is durable: after a restart the same batch is a replay.
  StopServer();
  ingest_.reset();
  journal_.reset();
  auto journal = IngestJournal::Open((dir_ / "ingest").string());
  ASSERT_TRUE(journal.ok()) << journal.status().ToString();
  feeds::ObservationBook restarted;
  auto recovered = Ingestor::Create(*config_, &restarted, clock_, journal->get());
  ASSERT_TRUE(recovered.ok()) << recovered.status().ToString();
  EXPECT_EQ((*recovered)->Submit(batch).problem_type, "replayed-batch");
  EXPECT_EQ(restarted.ForSymbol("BTC/USD")[0].price.ToString(), "67001");
}

TEST_F(IngestTest, ConcurrentBatchesWithOneSequenceAreAcceptedOnce) {
  // desk1's burst is 5: five different batches, all sequence 3, submitted at once.
  const int64_t t = now();
  std::vector<std::string> bodies;
  for (int i = 0; i < 5; ++i) {
    bodies.push_back(SignBatch(desk1_, "desk1", 3, {Ob("BTC/USD", "6700" + std::to_string(i), t + i)}));
  }
  std::vector<IngestResult> results(bodies.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < bodies.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = ingest_->Submit(bodies[i]); });
  }
  for (auto& th : threads) th.join();
  int accepted = -1, count = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i].ok()) {
      accepted = static_cast<int>(i);
      ++count;
    } else {
      EXPECT_EQ(results[i].http_status, 409) << results[i].detail;
      EXPECT_EQ(results[i].problem_type, "replayed-batch") << results[i].detail;
    }
  }
  ASSERT_EQ(count, 1);
  auto btc = book_.ForSymbol("BTC/USD");
  ASSERT_EQ(btc.size(), 1u);
  EXPECT_EQ(btc[0].price.ToString(), "6700" + std::to_string(accepted));
  auto journaled = journal_->Latest("desk1");
  ASSERT_TRUE(journaled.ok() && journaled->has_value());
  EXPECT_EQ((*journaled)->envelope, bodies[static_cast<size_t>(accepted)]);
  EXPECT_EQ(ingest_->Stats()[0].accepted_batches, 1u);
}

}  // namespace
}  // namespace plumbline::daemon
