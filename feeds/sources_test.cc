// PollOnce and Poller over real HTTP against the venue simulator on ephemeral loopback ports.
#include "plumbline/feeds/sources.h"

#include <gtest/gtest.h>

#include <span>

#include <chrono>
#include <thread>

#include "venue_sim.h"

namespace plumbline::feeds {
namespace {

using sim::VenueMode;
using sim::VenueSim;

constexpr int64_t kStart = 1714564800'250000000;
constexpr VenueFormat kAll[] = {VenueFormat::kKraken, VenueFormat::kCoinbase, VenueFormat::kBitstamp};

class SourcesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto tape = sim::LoadPriceTape(PLUMBLINE_DEMO_RECORDING);
    ASSERT_TRUE(tape.ok()) << tape.status().ToString();
    sim::VenueSimOptions options;  // quiet venues unless a test asks otherwise
    options.coinbase.glitch_percent = 0;
    options.bitstamp.lag_seconds = 0;
    options.hang_ms = 5000;
    auto s = VenueSim::Start(std::move(tape).value(), options, clock_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    sim_ = std::move(s).value();
  }

  SourceConfig Config(VenueFormat f) const {
    SourceConfig c;
    c.name = VenueFormatName(f);
    c.format = f;
    c.base_url = sim_->base_url(f);
    c.connect_timeout_ms = 500;
    c.read_timeout_ms = 1000;
    c.symbols = VenueSim::VenueSymbols(f);
    c.retries = 0;  // tests that want retries say so
    return c;
  }

  static const Observation* Find(const std::vector<Observation>& v, const std::string& source) {
    for (const Observation& o : v) {
      if (o.source == source) return &o;
    }
    return nullptr;
  }

  ManualClock clock_{kStart};
  std::unique_ptr<VenueSim> sim_;
  ObservationBook book_;
};

TEST_F(SourcesTest, PollOnceFillsTheBookFromAllThreeVenues) {
  for (VenueFormat f : kAll) {
    Status st = PollOnce(Config(f), &book_, clock_);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  for (const char* symbol : {"BTC/USD", "ETH/USD", "SOL/USD"}) {
    std::vector<Observation> obs = book_.ForSymbol(symbol);
    ASSERT_EQ(obs.size(), 3u) << symbol;
    EXPECT_EQ(obs[0].source, "bitstamp");
    EXPECT_EQ(obs[1].source, "coinbase");
    EXPECT_EQ(obs[2].source, "kraken");
    for (const Observation& o : obs) {
      EXPECT_EQ(o.symbol, symbol);
      Result<VenueFormat> f = ParseVenueFormat(o.source);
      ASSERT_TRUE(f.ok());
      Result<Decimal> served = sim_->ServedPrice(*f, symbol, kStart);
      ASSERT_TRUE(served.ok());
      EXPECT_EQ(o.price.ToString(), served->ToString()) << o.source << " " << symbol;
      ASSERT_TRUE(o.bid && o.ask);
      EXPECT_LT(*o.bid, o.price);
      EXPECT_GT(*o.ask, o.price);
      EXPECT_EQ(o.received_unix_nanos, kStart);
    }
    EXPECT_EQ(Find(obs, "kraken")->observed_unix_nanos, kStart);     // no venue time: receipt
    EXPECT_EQ(Find(obs, "coinbase")->observed_unix_nanos, kStart);   // microsecond time
    EXPECT_EQ(Find(obs, "bitstamp")->observed_unix_nanos, 1714564800'000000000);  // whole seconds
  }
  // The tape prices at t=0 start from these, so venues stay within a few basis points.
  EXPECT_EQ(Find(book_.ForSymbol("BTC/USD"), "coinbase")->price.ToString().substr(0, 3), "670");
}

TEST_F(SourcesTest, LaggingVenueServesOlderPriceWithOlderTimestamp) {
  sim_->SetLagSeconds(VenueFormat::kBitstamp, 2);
  clock_.Advance(10 * kNanosPerSecond);
  ASSERT_TRUE(PollOnce(Config(VenueFormat::kBitstamp), &book_, clock_).ok());
  const Observation o = book_.ForSymbol("BTC/USD").at(0);
  EXPECT_EQ(o.observed_unix_nanos, 1714564808'000000000);
  EXPECT_EQ(o.price, sim_->ServedPrice(VenueFormat::kBitstamp, "BTC/USD", clock_.NowUnixNanos()).value());
}

struct BadMode {
  VenueMode mode;
  Code code;
  const char* needle;
};

TEST_F(SourcesTest, BadResponsesAreErrorsAndLeaveTheBookUnchanged) {
  const BadMode kModes[] = {
      {VenueMode::kHttp500, Code::kUnavailable, "HTTP 500"},
      {VenueMode::kTruncated, Code::kInvalidArgument, "malformed or truncated JSON"},
      {VenueMode::kNotANumber, Code::kInvalidArgument, "'abc' is not a decimal"},
      {VenueMode::kNegative, Code::kInvalidArgument, "price must be positive"},
      {VenueMode::kNumberInsteadOfString, Code::kInvalidArgument, "price must be a decimal string"},
  };
  for (VenueFormat f : kAll) {
    SourceConfig config = Config(f);
    ASSERT_TRUE(PollOnce(config, &book_, clock_).ok());
    const Observation before = *Find(book_.ForSymbol("ETH/USD"), config.name);
    for (const BadMode& bad : kModes) {
      clock_.Advance(3 * kNanosPerSecond);  // the venue would now serve a newer price
      sim_->SetMode(f, bad.mode);
      Status st = PollOnce(config, &book_, clock_);
      sim_->SetMode(f, VenueMode::kNormal);
      SCOPED_TRACE(config.name + " " + sim::VenueModeName(bad.mode) + ": " + st.ToString());
      ASSERT_FALSE(st.ok());
      EXPECT_EQ(st.code(), bad.code);
      EXPECT_NE(st.message().find(bad.needle), std::string::npos);
      EXPECT_NE(st.message().find("source " + config.name + ", symbol "), std::string::npos);
      const Observation after = *Find(book_.ForSymbol("ETH/USD"), config.name);
      EXPECT_EQ(after.price.ToString(), before.price.ToString());
      EXPECT_EQ(after.observed_unix_nanos, before.observed_unix_nanos);
      EXPECT_EQ(after.received_unix_nanos, before.received_unix_nanos);
    }
  }
}

TEST_F(SourcesTest, HangingVenueTimesOutAndLeavesTheBookUnchanged) {
  SourceConfig config = Config(VenueFormat::kCoinbase);
  config.symbols = {{"BTC/USD", "BTC-USD"}};
  config.read_timeout_ms = 300;
  ASSERT_TRUE(PollOnce(config, &book_, clock_).ok());
  const Observation before = book_.ForSymbol("BTC/USD").at(0);
  clock_.Advance(5 * kNanosPerSecond);
  sim_->SetMode(VenueFormat::kCoinbase, VenueMode::kHang);
  const auto t0 = std::chrono::steady_clock::now();
  Status st = PollOnce(config, &book_, clock_);
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(st.code(), Code::kDeadlineExceeded) << st.ToString();
  EXPECT_NE(st.message().find("source coinbase, symbol BTC/USD (BTC-USD): no response within 300 ms"),
            std::string::npos)
      << st.message();
  EXPECT_LT(elapsed, std::chrono::milliseconds(1000));
  EXPECT_GE(elapsed, std::chrono::milliseconds(250));
  const Observation after = book_.ForSymbol("BTC/USD").at(0);
  EXPECT_EQ(after.price, before.price);
  EXPECT_EQ(after.observed_unix_nanos, before.observed_unix_nanos);
}

TEST_F(SourcesTest, UnknownSymbolsGetEachVenuesError) {
  SourceConfig kraken = Config(VenueFormat::kKraken);
  kraken.symbols = {{"DOGE/USD", "XDGUSD"}};
  Status st = PollOnce(kraken, &book_, clock_);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("EQuery:Unknown asset pair"), std::string::npos) << st.message();
  SourceConfig coinbase = Config(VenueFormat::kCoinbase);
  coinbase.symbols = {{"DOGE/USD", "DOGE-USD"}};
  st = PollOnce(coinbase, &book_, clock_);
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_NE(st.message().find("HTTP 404"), std::string::npos) << st.message();
  SourceConfig bitstamp = Config(VenueFormat::kBitstamp);
  bitstamp.symbols = {{"DOGE/USD", "dogeusd"}};
  EXPECT_EQ(PollOnce(bitstamp, &book_, clock_).code(), Code::kUnavailable);
  EXPECT_TRUE(book_.ForSymbol("DOGE/USD").empty());
}

TEST_F(SourcesTest, OneBadSymbolDoesNotStopTheOthers) {
  SourceConfig config = Config(VenueFormat::kKraken);
  config.symbols["AAA/USD"] = "AAAUSD";  // sorts first
  Status st = PollOnce(config, &book_, clock_);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("symbol AAA/USD (AAAUSD)"), std::string::npos) << st.message();
  EXPECT_EQ(book_.ForSymbol("BTC/USD").size(), 1u);
  EXPECT_EQ(book_.ForSymbol("SOL/USD").size(), 1u);
}

TEST_F(SourcesTest, UnreachableAndInvalidBaseUrls) {
  SourceConfig config = Config(VenueFormat::kKraken);
  config.base_url = "http://127.0.0.1:1";
  Status st = PollOnce(config, &book_, clock_);
  EXPECT_EQ(st.code(), Code::kUnavailable) << st.ToString();
  config.base_url = "not a url";
  st = PollOnce(config, &book_, clock_);
  EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("source kraken"), std::string::npos);
}

TEST_F(SourcesTest, PollerCountsSuccessesAndErrors) {
  std::vector<SourceConfig> configs = {Config(VenueFormat::kKraken), Config(VenueFormat::kCoinbase)};
  for (SourceConfig& c : configs) c.poll_interval_ms = 20;
  sim_->SetMode(VenueFormat::kCoinbase, VenueMode::kHttp500);
  Poller poller(configs, &book_, clock_);
  poller.Start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::vector<SourceHealth> health;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    health = poller.Health();
  } while ((health[0].errors < 3 || health[1].successes < 3) && std::chrono::steady_clock::now() < deadline);
  poller.Stop();
  health = poller.Health();
  ASSERT_EQ(health.size(), 2u);
  EXPECT_EQ(health[0].source, "coinbase");
  EXPECT_GE(health[0].errors, 3u);
  EXPECT_EQ(health[0].successes, 0u);
  EXPECT_EQ(health[0].last_success_unix_nanos, 0);
  EXPECT_NE(health[0].last_error.find("HTTP 500"), std::string::npos) << health[0].last_error;
  EXPECT_EQ(health[1].source, "kraken");
  EXPECT_GE(health[1].successes, 3u);
  EXPECT_EQ(health[1].errors, 0u);
  EXPECT_EQ(health[1].last_success_unix_nanos, kStart);
  EXPECT_TRUE(health[1].last_error.empty());
  EXPECT_EQ(book_.ForSymbol("BTC/USD").size(), 1u);  // only kraken's
}

TEST_F(SourcesTest, PollerStopIsPromptWhileWaitingAndWhileAVenueHangs) {
  std::vector<SourceConfig> configs = {Config(VenueFormat::kKraken), Config(VenueFormat::kBitstamp)};
  configs[0].poll_interval_ms = 60'000;
  configs[1].read_timeout_ms = 400;  // three symbols: Stop must not wait for all three timeouts
  sim_->SetMode(VenueFormat::kBitstamp, VenueMode::kHang);
  Poller poller(configs, &book_, clock_);
  poller.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // kraken polled, now waiting 60 s
  const auto t0 = std::chrono::steady_clock::now();
  poller.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(700));
  EXPECT_EQ(poller.Health()[1].successes, 1u);
  EXPECT_TRUE(book_.ForSymbol("BTC/USD").size() == 1u);  // kraken only
}

TEST(ObservationBook, KeepsNewestPerSourceAndSymbol) {
  ObservationBook book;
  Observation o;
  o.source = "kraken";
  o.symbol = "BTC/USD";
  o.price = Decimal::Parse("2").value();
  o.observed_unix_nanos = 200;
  book.Put(o);
  Observation older = o;
  older.price = Decimal::Parse("1").value();
  older.observed_unix_nanos = 100;
  book.Put(older);
  EXPECT_EQ(book.ForSymbol("BTC/USD").at(0).price.ToString(), "2");
  Observation other = o;
  other.source = "bitstamp";
  book.Put(other);
  other.symbol = "BTC/EUR";
  book.Put(other);
  other.symbol = "BTC/USDT";
  book.Put(other);
  std::vector<Observation> v = book.ForSymbol("BTC/USD");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].source, "bitstamp");
  EXPECT_EQ(v[1].source, "kraken");
  EXPECT_TRUE(book.ForSymbol("ETH/USD").empty());
}

// A round reads through a Reader: the same observations as ForSymbol(), without copies, and no
// Put() lands while it is held (the lent spans cannot change under the round).
TEST(ObservationBook, ReaderLendsTheBookAndHoldsPutsUntilItIsGone) {
  ObservationBook book;
  Observation o;
  o.symbol = "BTC/USD";
  o.price = Decimal::Parse("2").value();
  o.observed_unix_nanos = 200;
  for (const char* source : {"kraken", "bitstamp", "coinbase"}) {
    o.source = source;
    book.Put(o);
  }
  std::vector<Observation> copied = book.ForSymbol("BTC/USD");
  std::thread writer;
  {
    ObservationBook::Reader reader = book.Read();
    std::span<const Observation> lent = reader.ForSymbol("BTC/USD");
    ASSERT_EQ(lent.size(), copied.size());
    for (size_t i = 0; i < lent.size(); ++i) {
      EXPECT_EQ(lent[i].source, copied[i].source);
      EXPECT_EQ(lent[i].price, copied[i].price);
    }
    EXPECT_EQ(lent[0].source, "bitstamp");
    EXPECT_TRUE(reader.ForSymbol("ETH/USD").empty());
    writer = std::thread([&book, o] {
      Observation newer = o;
      newer.source = "bitstamp";
      newer.price = Decimal::Parse("3").value();
      newer.observed_unix_nanos = 300;
      book.Put(newer);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(lent[0].price.ToString(), "2");  // the writer waits for the reader
  }
  writer.join();
  EXPECT_EQ(book.ForSymbol("BTC/USD")[0].price.ToString(), "3");
}

// A shared array (what marks point into) never changes: a Put replaces it with a changed copy
// (new price, new source) that the next Reader sees; an array no one else holds changes in place.
TEST(ObservationBook, SharedArraysNeverChangeAfterPut) {
  ObservationBook book;
  Observation o;
  o.symbol = "BTC/USD";
  o.price = Decimal::Parse("2").value();
  o.observed_unix_nanos = 200;
  for (const char* source : {"kraken", "bitstamp"}) {
    o.source = source;
    book.Put(o);
  }
  SharedObservations held = book.Read().Shared("BTC/USD");
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(book.Read().Shared("ETH/USD"), nullptr);
  o.source = "bitstamp";
  o.price = Decimal::Parse("3").value();
  o.observed_unix_nanos = 300;
  book.Put(o);
  o.source = "coinbase";
  book.Put(o);
  o.source = "kraken";
  o.observed_unix_nanos = 100;  // older than the stored one: ignored
  o.price = Decimal::Parse("9").value();
  book.Put(o);
  ASSERT_EQ(held->size(), 2u);
  EXPECT_EQ((*held)[0].source, "bitstamp");
  EXPECT_EQ((*held)[0].price.ToString(), "2");
  EXPECT_EQ((*held)[1].price.ToString(), "2");
  std::vector<Observation> now = book.ForSymbol("BTC/USD");
  ASSERT_EQ(now.size(), 3u);
  EXPECT_EQ(now[0].price.ToString(), "3");
  EXPECT_EQ(now[1].source, "coinbase");
  EXPECT_EQ(now[2].price.ToString(), "2");
  // No one else holds the current array: a Put changes it in place (no copy per Put).
  const Observation* before = book.Read().Shared("BTC/USD")->data();
  o.source = "coinbase";
  o.observed_unix_nanos = 400;
  book.Put(o);
  SharedObservations after = book.Read().Shared("BTC/USD");
  EXPECT_EQ(after->data(), before);
  EXPECT_EQ((*after)[1].observed_unix_nanos, 400);
}

// Readers remember the previous sequence of asks; what they lend must still be the book's
// current content after in-place updates, new sources (the vector moves), new symbols and a
// different order of asks.
TEST(ObservationBook, RememberedAsksFollowTheBook) {
  ObservationBook book;
  auto put = [&](const std::string& source, const std::string& symbol, const std::string& price, int64_t t) {
    Observation o;
    o.source = source;
    o.symbol = symbol;
    o.price = Decimal::Parse(price).value();
    o.observed_unix_nanos = t;
    book.Put(o);
  };
  auto lend = [&](const std::vector<std::string>& symbols) {
    ObservationBook::Reader reader = book.Read();
    std::string out;
    for (const std::string& s : symbols) {
      for (const Observation& o : reader.ForSymbol(s)) out += s + ":" + o.source + "=" + o.price.ToString() + " ";
      out += "| ";
    }
    return out;
  };
  put("a", "X", "1", 1);
  put("a", "Y", "2", 1);
  EXPECT_EQ(lend({"X", "Y", "Z"}), "X:a=1 | Y:a=2 | | ");
  put("a", "X", "3", 2);  // in place
  EXPECT_EQ(lend({"X", "Y", "Z"}), "X:a=3 | Y:a=2 | | ");
  for (int i = 0; i < 20; ++i) put("s" + std::to_string(10 + i), "X", std::to_string(i), 3);  // moves
  put("b", "Y", "4", 3);
  put("a", "Z", "5", 3);  // a symbol that was asked for while absent
  const std::string expected = lend({"X", "Y", "Z"});
  EXPECT_NE(expected.find("X:s29=19 | Y:a=2 Y:b=4 | Z:a=5 | "), std::string::npos) << expected;
  EXPECT_EQ(lend({"Z", "Y"}), "Z:a=5 | Y:a=2 Y:b=4 | ");  // another order
  EXPECT_EQ(book.ForSymbol("Y").size(), 2u);
  EXPECT_EQ(lend({"X", "Y", "Z"}), expected);
}

TEST_F(SourcesTest, AddedVenuesServeTheirRealFormats) {
  for (VenueFormat f : {VenueFormat::kBinance, VenueFormat::kOkx, VenueFormat::kAlpaca, VenueFormat::kPolygon,
                        VenueFormat::kFinnhub}) {
    SCOPED_TRACE(VenueFormatName(f));
    SourceConfig c = Config(f);
    ASSERT_FALSE(c.symbols.empty());
    Status st = PollOnce(c, &book_, clock_);
    ASSERT_TRUE(st.ok()) << st.ToString();
    for (const auto& [symbol, venue_symbol] : c.symbols) {
      const std::vector<Observation> latest = book_.ForSymbol(symbol);  // Find points into it
      const Observation* o = Find(latest, c.name);
      ASSERT_NE(o, nullptr) << symbol;
      Result<Decimal> served = sim_->ServedPrice(f, symbol, kStart);
      ASSERT_TRUE(served.ok());
      if (f == VenueFormat::kPolygon) {
        EXPECT_EQ(o->price, Decimal::Midpoint(*o->bid, *o->ask).value());  // NBBO midpoint
      } else {
        EXPECT_EQ(o->price.ToString(), served->ToString()) << symbol;
      }
      EXPECT_LE(o->observed_unix_nanos, kStart);
    }
  }
  // Tokens on crypto venues follow their underlying's tape.
  ASSERT_TRUE(PollOnce(Config(VenueFormat::kOkx), &book_, clock_).ok());
  ASSERT_NE(Find(book_.ForSymbol("AAPLx/USD"), "okx"), nullptr);
}

TEST_F(SourcesTest, DeadVenueBacksOffAndHealthShowsLatency) {
  SourceConfig dead = Config(VenueFormat::kFinnhub);
  dead.poll_interval_ms = 20;
  dead.retries = 1;
  dead.retry_backoff_ms = 10;
  dead.max_backoff_ms = 160;
  SourceConfig live = Config(VenueFormat::kAlpaca);
  live.poll_interval_ms = 20;
  sim_->SetMode(VenueFormat::kFinnhub, VenueMode::kHttp500);
  const uint64_t before = sim_->requests(VenueFormat::kFinnhub);
  Poller poller({dead, live}, &book_, clock_);
  poller.Start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::vector<SourceHealth> health;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    health = poller.Health();
  } while ((health[1].consecutive_failures < 4 || health[0].successes < 2) && std::chrono::steady_clock::now() < deadline);
  poller.Stop();
  health = poller.Health();
  EXPECT_EQ(health[1].source, "finnhub");
  EXPECT_GE(health[1].consecutive_failures, 4u);
  EXPECT_EQ(health[1].next_poll_delay_ms, 160);  // 20 x 2^k, capped
  EXPECT_EQ(health[1].last_latency_ms, -1);
  // Every symbol was tried twice (one retry) in each of the failed polls.
  EXPECT_GE(sim_->requests(VenueFormat::kFinnhub) - before, 4 * 2 * dead.symbols.size());
  EXPECT_EQ(health[0].source, "alpaca");
  EXPECT_EQ(health[0].consecutive_failures, 0u);
  EXPECT_GE(health[0].last_latency_ms, 0);
  EXPECT_EQ(health[0].next_poll_delay_ms, 20);
}

}  // namespace
}  // namespace plumbline::feeds
