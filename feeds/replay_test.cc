#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "plumbline/feeds/aggregator.h"
#include "plumbline/feeds/sources.h"

namespace plumbline::feeds {
namespace {

constexpr int64_t kT0 = 1714564800'000000000;
constexpr int64_t kSec = kNanosPerSecond;

class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    char name[] = "/tmp/plumbline_replay_XXXXXX";
    int fd = mkstemp(name);
    EXPECT_GE(fd, 0);
    close(fd);
    path_ = name;
    std::ofstream(path_) << contents;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string Line(const std::string& source, const std::string& symbol, const std::string& price, int64_t t) {
  return R"({"source":")" + source + R"(","symbol":")" + symbol + R"(","price":")" + price +
         R"(","observed_time":")" + std::to_string(t) + "\"}\n";
}

// Three sources x 20 seconds, written out of order on purpose.
std::string Recording() {
  std::string out = "# recorded by a test\n\n";
  for (int s = 19; s >= 0; --s) {
    out += Line("kraken", "BTC/USD", std::to_string(67000 + s) + ".10", kT0 + s * kSec);
    out += Line("coinbase", "BTC/USD", std::to_string(67001 + s) + ".2", kT0 + s * kSec + 1);
    if (s % 3 != 0) out += Line("bitstamp", "BTC/USD", std::to_string(67002 - s), kT0 + s * kSec + 2);
  }
  return out;
}

TEST(LoadRecording, ReadsObservations) {
  TempFile f(Recording() +
             R"({"source":"x","symbol":"ETH/USD","price":"3500.00","bid":"3499.99","ask":"3500.01","observed_time":"5"})"
             "\n");
  Result<std::vector<Observation>> rec = LoadRecording(f.path());
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  ASSERT_EQ(rec->size(), 20u + 20u + 13u + 1u);
  EXPECT_EQ(rec->front().source, "kraken");
  EXPECT_EQ(rec->front().price.ToString(), "67019.10");
  EXPECT_EQ(rec->front().observed_unix_nanos, kT0 + 19 * kSec);
  EXPECT_FALSE(rec->front().bid.has_value());
  const Observation& last = rec->back();
  EXPECT_EQ(last.bid->ToString(), "3499.99");
  EXPECT_EQ(last.ask->ToString(), "3500.01");
  EXPECT_EQ(last.observed_unix_nanos, 5);
  EXPECT_EQ(last.received_unix_nanos, 5);
}

TEST(LoadRecording, BadLineIsNamed) {
  const std::string good = Line("kraken", "BTC/USD", "1.5", 1);
  struct Case {
    std::string line;
    std::string needle;
  } cases[] = {
      {"{not json", "not a JSON object"},
      {R"({"source":"k","symbol":"B","price":1.5,"observed_time":"1"})", "field 'price': expected a string"},
      {R"({"source":"k","symbol":"B","price":"abc","observed_time":"1"})", "field 'price'"},
      {R"({"source":"k","symbol":"B","price":"-1","observed_time":"1"})", "must be positive"},
      {R"({"source":"k","symbol":"B","price":"1","observed_time":1})", "field 'observed_time'"},
      {R"({"source":"k","symbol":"B","price":"1","observed_time":"1.5"})", "Unix nanoseconds"},
      {R"({"symbol":"B","price":"1","observed_time":"1"})", "missing field 'source'"},
  };
  for (const Case& c : cases) {
    TempFile f(good + "# comment\n" + c.line + "\n" + good);
    Result<std::vector<Observation>> rec = LoadRecording(f.path());
    ASSERT_FALSE(rec.ok()) << c.line;
    EXPECT_EQ(rec.status().code(), Code::kInvalidArgument);
    EXPECT_NE(rec.status().message().find("recording " + f.path() + " line 3: "), std::string::npos)
        << rec.status().message();
    EXPECT_NE(rec.status().message().find(c.needle), std::string::npos) << rec.status().message();
  }
  Result<std::vector<Observation>> missing = LoadRecording("/nonexistent/recording.jsonl");
  EXPECT_EQ(missing.status().code(), Code::kIOError);
}

TEST(ReplaySource, ReleasesInTimeOrder) {
  TempFile f(Recording());
  Result<std::vector<Observation>> rec = LoadRecording(f.path());
  ASSERT_TRUE(rec.ok());
  ReplaySource replay(std::move(rec).value());
  ObservationBook book;
  EXPECT_EQ(replay.ReleaseUntil(kT0 - 1, &book), 0u);
  EXPECT_TRUE(book.ForSymbol("BTC/USD").empty());
  EXPECT_EQ(replay.ReleaseUntil(kT0 + 1, &book), 2u);  // kraken@0 and coinbase@0+1ns
  EXPECT_EQ(book.ForSymbol("BTC/USD").size(), 2u);
  EXPECT_EQ(replay.ReleaseUntil(kT0 + 1, &book), 0u);   // nothing twice
  EXPECT_EQ(replay.ReleaseUntil(kT0 + 5 * kSec, &book), 3u + 2u + 2u + 2u + 3u);  // s=1..5; s=3 lacks bitstamp
  std::vector<Observation> latest = book.ForSymbol("BTC/USD");
  ASSERT_EQ(latest.size(), 3u);
  EXPECT_EQ(latest[0].source, "bitstamp");
  EXPECT_EQ(latest[0].price.ToString(), "66998");  // s = 4 (s = 5 is at +2 ns)
  EXPECT_EQ(latest[2].price.ToString(), "67005.10");
  EXPECT_EQ(latest[2].received_unix_nanos, latest[2].observed_unix_nanos);
  EXPECT_EQ(replay.ReleaseUntil(kT0 + 100 * kSec, &book), 53u - 14u);
}

std::vector<Mark> ReplayMarks(const std::string& path) {
  Result<std::vector<Observation>> rec = LoadRecording(path);
  EXPECT_TRUE(rec.ok());
  ReplaySource replay(std::move(rec).value());
  ObservationBook book;
  const std::map<std::string, int64_t> ages = {{"kraken", 3 * kSec}, {"coinbase", 3 * kSec}, {"bitstamp", 3 * kSec}};
  std::vector<Mark> marks;
  for (int64_t now = kT0; now <= kT0 + 25 * kSec; now += kSec / 2) {
    replay.ReleaseUntil(now, &book);
    marks.push_back(Aggregate({"BTC/USD", 3}, book.ForSymbol("BTC/USD"), ages, now));
  }
  return marks;
}

std::string Describe(const Mark& m) {
  std::string s = std::string(MarkStatusName(m.status)) + " " + (m.price ? m.price->ToString() : "-") + " " +
                  (m.newest_observation_unix_nanos ? std::to_string(*m.newest_observation_unix_nanos) : "-");
  for (const Observation& o : m.contributions) s += " " + o.source + "=" + o.price.ToString();
  return s;
}

TEST(ReplaySource, ReplayingTwiceGivesIdenticalMarks) {
  TempFile f(Recording());
  std::vector<Mark> a = ReplayMarks(f.path());
  std::vector<Mark> b = ReplayMarks(f.path());
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(Describe(a[i]), Describe(b[i])) << i;
  // The replay exercises every status: ok while all three are fresh, stale at the end.
  EXPECT_EQ(a[2].status, MarkStatus::kInsufficientSources);  // bitstamp@1s is 2 ns later
  EXPECT_EQ(Describe(a[3]), "ok 67001.10 " + std::to_string(kT0 + kSec + 2) +
                                " bitstamp=67001 coinbase=67002.2 kraken=67001.10");
  EXPECT_EQ(a.back().status, MarkStatus::kStale);
  EXPECT_EQ(a.front().status, MarkStatus::kInsufficientSources);
}

}  // namespace
}  // namespace plumbline::feeds
