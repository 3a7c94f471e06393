// The simulator itself, checked with a plain HTTP client so its formats do not depend on feeds/.
#include "venue_sim.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

namespace plumbline::sim {
namespace {

constexpr int64_t kStart = 1714564800'000000000;

PriceTape Tape() {
  auto tape = LoadPriceTape(PLUMBLINE_DEMO_RECORDING);
  EXPECT_TRUE(tape.ok()) << tape.status().ToString();
  return std::move(tape).value();
}

httplib::Result Get(const VenueSim& sim, VenueFormat f, const std::string& path) {
  httplib::Client cli(sim.base_url(f));
  cli.set_connection_timeout(std::chrono::seconds(1));
  cli.set_read_timeout(std::chrono::seconds(2));
  cli.set_write_timeout(std::chrono::seconds(1));
  return cli.Get(path);
}

TEST(PriceTape, BundledRecordingShape) {
  PriceTape tape = Tape();
  EXPECT_EQ(tape.duration_seconds, 600);
  ASSERT_EQ(tape.prices.size(), 6u);
  EXPECT_EQ(tape.prices.at("AAPL/USD").at(0).ToString(), "190.00");
  EXPECT_EQ(tape.prices.at("BTC/USD").at(0).ToString(), "67000.00");
  EXPECT_EQ(tape.prices.at("ETH/USD").at(0).ToString(), "3500.00");
  EXPECT_EQ(tape.prices.at("SOL/USD").at(0).ToString(), "150.000");
}

TEST(PriceTape, BadTapesAreRejectedWithLine) {
  char name[] = "/tmp/plumbline_tape_XXXXXX";
  int fd = mkstemp(name);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(name) << R"({"t":0,"symbol":"BTC/USD","price":"1.0"})" "\n"
                      << R"({"t":1,"symbol":"BTC/USD","price":1.5})" "\n";
  auto tape = LoadPriceTape(name);
  EXPECT_EQ(tape.status().code(), Code::kInvalidArgument);
  EXPECT_NE(tape.status().message().find("line 2"), std::string::npos) << tape.status().message();
  std::ofstream(name) << R"({"t":0,"symbol":"BTC/USD","price":"1.0"})" "\n"
                      << R"({"t":2,"symbol":"BTC/USD","price":"1.5"})" "\n";
  EXPECT_NE(LoadPriceTape(name).status().message().find("gaps"), std::string::npos);
  std::remove(name);
}

TEST(VenueSim, ServesTheRealFormatsOnEphemeralPorts) {
  ManualClock clock(kStart + 1'500'000);
  VenueSimOptions options;
  options.coinbase.glitch_percent = 0;
  options.bitstamp.lag_seconds = 0;
  auto sim = VenueSim::Start(Tape(), options, clock);
  ASSERT_TRUE(sim.ok()) << sim.status().ToString();
  const VenueSim& s = **sim;
  EXPECT_GT(s.port(VenueFormat::kKraken), 0);
  EXPECT_NE(s.port(VenueFormat::kKraken), s.port(VenueFormat::kCoinbase));
  EXPECT_NE(s.port(VenueFormat::kCoinbase), s.port(VenueFormat::kBitstamp));

  auto k = Get(s, VenueFormat::kKraken, "/0/public/Ticker?pair=XBTUSD");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->status, 200);
  auto kj = nlohmann::json::parse(k->body);
  EXPECT_TRUE(kj["error"].empty());
  ASSERT_TRUE(kj["result"].contains("XXBTZUSD")) << k->body;
  // Kraken pads prices to 5 decimals; the tape's BTC/USD starts at 67000.00.
  EXPECT_EQ(kj["result"]["XXBTZUSD"]["c"][0], s.ServedPrice(VenueFormat::kKraken, "BTC/USD", clock.NowUnixNanos())->ToString());
  EXPECT_EQ(kj["result"]["XXBTZUSD"]["c"][0].get<std::string>().substr(0, 3), "669");  // -3 bp at t=0
  EXPECT_TRUE(nlohmann::json::parse(Get(s, VenueFormat::kKraken, "/0/public/Ticker?pair=ETHUSD")->body)["result"]
                  .contains("XETHZUSD"));

  auto c = Get(s, VenueFormat::kCoinbase, "/products/SOL-USD/ticker");
  ASSERT_TRUE(c);
  auto cj = nlohmann::json::parse(c->body);
  EXPECT_EQ(cj["time"], "2024-05-01T12:00:00.001500Z");
  EXPECT_EQ(cj["price"], s.ServedPrice(VenueFormat::kCoinbase, "SOL/USD", clock.NowUnixNanos())->ToString());

  auto b = Get(s, VenueFormat::kBitstamp, "/api/v2/ticker/ethusd/");
  ASSERT_TRUE(b);
  auto bj = nlohmann::json::parse(b->body);
  EXPECT_EQ(bj["timestamp"], "1714564800");
  EXPECT_TRUE(bj["last"].is_string());
}

TEST(VenueSim, UnknownPairsUseEachVenuesErrorShape) {
  ManualClock clock(kStart);
  auto sim = VenueSim::Start(Tape(), {}, clock);
  ASSERT_TRUE(sim.ok());
  auto k = Get(**sim, VenueFormat::kKraken, "/0/public/Ticker?pair=NOPE");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->status, 200);
  EXPECT_EQ(k->body, R"({"error":["EQuery:Unknown asset pair"]})");
  auto c = Get(**sim, VenueFormat::kCoinbase, "/products/NOPE-USD/ticker");
  EXPECT_EQ(c->status, 404);
  EXPECT_EQ(c->body, R"({"message":"NotFound"})");
  EXPECT_EQ(Get(**sim, VenueFormat::kBitstamp, "/api/v2/ticker/nope/")->status, 404);
}

TEST(VenueSim, VenuesDifferSlightlyAndTheTapeLoops) {
  ManualClock clock(kStart);
  auto sim = VenueSim::Start(Tape(), {}, clock);
  ASSERT_TRUE(sim.ok());
  int differing = 0;
  for (int t = 0; t < 50; ++t) {
    const int64_t now = kStart + t * kNanosPerSecond;
    Decimal k = *(*sim)->ServedPrice(VenueFormat::kKraken, "BTC/USD", now);
    Decimal c = *(*sim)->ServedPrice(VenueFormat::kCoinbase, "BTC/USD", now);
    if (!(k == c)) ++differing;
    Decimal diff = Decimal::Sub(k, c).value().Abs();
    EXPECT_LE(diff, Decimal::Parse("50").value());  // 67000 * 6 bp = 40.2
  }
  EXPECT_GT(differing, 25);
  const int64_t later = kStart + 600 * kNanosPerSecond + 7 * kNanosPerSecond;
  EXPECT_EQ(*(*sim)->ServedPrice(VenueFormat::kKraken, "ETH/USD", later),
            *(*sim)->ServedPrice(VenueFormat::kKraken, "ETH/USD", kStart + 7 * kNanosPerSecond));
  // A lagging venue serves the tape from lag seconds ago.
  const Decimal at7 = *(*sim)->ServedPrice(VenueFormat::kKraken, "ETH/USD", kStart + 7 * kNanosPerSecond);
  (*sim)->SetLagSeconds(VenueFormat::kKraken, 2);
  EXPECT_EQ(*(*sim)->ServedPrice(VenueFormat::kKraken, "ETH/USD", kStart + 9 * kNanosPerSecond), at7);
}

TEST(VenueSim, GlitchesAreSeededAndRare) {
  auto count_failures = [](uint64_t seed) {
    ManualClock clock(kStart);
    VenueSimOptions options;
    options.seed = seed;
    auto sim = VenueSim::Start(Tape(), options, clock);
    EXPECT_TRUE(sim.ok());
    std::string pattern;
    httplib::Client cli((*sim)->base_url(VenueFormat::kCoinbase));
    cli.set_connection_timeout(std::chrono::seconds(1));
    cli.set_read_timeout(std::chrono::seconds(2));
    for (int i = 0; i < 300; ++i) {
      auto r = cli.Get("/products/BTC-USD/ticker");
      EXPECT_TRUE(r);
      bool good = r && r->status == 200;
      if (good) {
        auto j = nlohmann::json::parse(r->body, nullptr, false);
        good = !j.is_discarded() && j["price"].is_string() &&
               Decimal::Parse(j["price"].get<std::string>()).ok() &&
               Decimal::Parse(j["price"].get<std::string>())->is_positive();
      }
      pattern += good ? '.' : 'x';
    }
    return pattern;
  };
  const std::string a = count_failures(7);
  EXPECT_EQ(a, count_failures(7));
  const auto failures = std::count(a.begin(), a.end(), 'x');
  EXPECT_GE(failures, 5) << a;
  EXPECT_LE(failures, 35) << a;
}

TEST(VenueSim, BusyPortIsAnError) {
  ManualClock clock(kStart);
  auto first = VenueSim::Start(Tape(), {}, clock);
  ASSERT_TRUE(first.ok());
  VenueSimOptions options;
  options.bitstamp.port = (*first)->port(VenueFormat::kBitstamp);
  auto second = VenueSim::Start(Tape(), options, clock);
  EXPECT_EQ(second.status().code(), Code::kUnavailable);
  EXPECT_NE(second.status().message().find("bitstamp"), std::string::npos);
}

TEST(VenueSim, ModesRoundTripByName) {
  for (VenueMode m : {VenueMode::kNormal, VenueMode::kHttp500, VenueMode::kHang, VenueMode::kTruncated,
                      VenueMode::kNotANumber, VenueMode::kNegative, VenueMode::kNumberInsteadOfString}) {
    EXPECT_EQ(*ParseVenueMode(VenueModeName(m)), m);
  }
  EXPECT_FALSE(ParseVenueMode("flaky").ok());
}

}  // namespace
}  // namespace plumbline::sim
