#include "plumbline/feeds/venue_formats.h"

#include <gtest/gtest.h>

namespace plumbline::feeds {
namespace {

constexpr int64_t kRecv = 1714564805'000000000;  // 2024-05-01T12:00:05Z

// Modeled on real responses of GET https://api.kraken.com/0/public/Ticker?pair=XBTUSD.
constexpr const char* kKrakenBody = R"({"error":[],"result":{"XXBTZUSD":{
  "a":["67012.20000","1","1.000"],"b":["67012.10000","3","3.000"],
  "c":["67012.10000","0.00150000"],"v":["1021.41437318","2310.93512460"],
  "p":["66873.46421","66712.99118"],"t":[13217,29843],"l":["66310.00000","66100.00000"],
  "h":["67220.00000","67220.00000"],"o":"66530.00000"}}})";

// GET https://api.exchange.coinbase.com/products/BTC-USD/ticker
constexpr const char* kCoinbaseBody = R"({"ask":"67012.11","bid":"67012.1","volume":"8125.33812077",
  "trade_id":634197511,"price":"67012.10","size":"0.00215",
  "time":"2024-05-01T12:00:00.123456Z","rfq_volume":"12.504531"})";

// GET https://www.bitstamp.net/api/v2/ticker/btcusd/
constexpr const char* kBitstampBody = R"({"timestamp":"1714564800","open":"66530","high":"67220",
  "low":"66100","last":"67012","volume":"1432.61820754","vwap":"66873","bid":"67011",
  "ask":"67013","side":"0","open_24":"66498","percent_change_24":"0.77"})";

TEST(VenueFormats, KrakenKeepsPriceTextAndUsesReceiptTime) {
  Result<Observation> obs = ParseTicker(VenueFormat::kKraken, kKrakenBody, kRecv);
  ASSERT_TRUE(obs.ok()) << obs.status().ToString();
  EXPECT_EQ(obs->price.ToString(), "67012.10000");
  EXPECT_EQ(obs->bid->ToString(), "67012.10000");
  EXPECT_EQ(obs->ask->ToString(), "67012.20000");
  EXPECT_EQ(obs->observed_unix_nanos, kRecv);
  EXPECT_EQ(obs->received_unix_nanos, kRecv);
  EXPECT_TRUE(obs->source.empty());
  EXPECT_TRUE(obs->symbol.empty());
}

TEST(VenueFormats, CoinbaseExactPriceAndFractionalTime) {
  Result<Observation> obs = ParseTicker(VenueFormat::kCoinbase, kCoinbaseBody, kRecv);
  ASSERT_TRUE(obs.ok()) << obs.status().ToString();
  EXPECT_EQ(obs->price.ToString(), "67012.10");
  EXPECT_EQ(obs->bid->ToString(), "67012.1");
  EXPECT_EQ(obs->ask->ToString(), "67012.11");
  EXPECT_EQ(obs->observed_unix_nanos, 1714564800'123456000);
  EXPECT_EQ(obs->received_unix_nanos, kRecv);
}

TEST(VenueFormats, CoinbaseTimeWithoutFractionAndWithNanos) {
  std::string body = kCoinbaseBody;
  body.replace(body.find("00.123456Z"), 10, "00Z");
  Result<Observation> obs = ParseTicker(VenueFormat::kCoinbase, body, kRecv);
  ASSERT_TRUE(obs.ok()) << obs.status().ToString();
  EXPECT_EQ(obs->observed_unix_nanos, 1714564800'000000000);
  body = kCoinbaseBody;
  body.replace(body.find("00.123456Z"), 10, "01.123456789Z");
  obs = ParseTicker(VenueFormat::kCoinbase, body, kRecv);
  ASSERT_TRUE(obs.ok()) << obs.status().ToString();
  EXPECT_EQ(obs->observed_unix_nanos, 1714564801'123456789);
}

TEST(VenueFormats, CoinbaseBadTimeIsRejected) {
  for (const char* bad : {"2024-05-01 12:00:00Z", "yesterday", "2024-05-01T12:00:00.1+02:00", ""}) {
    std::string body = kCoinbaseBody;
    body.replace(body.find("2024-05-01T12:00:00.123456Z"), 27, bad);
    Result<Observation> obs = ParseTicker(VenueFormat::kCoinbase, body, kRecv);
    ASSERT_FALSE(obs.ok()) << bad;
    EXPECT_EQ(obs.status().code(), Code::kInvalidArgument);
    EXPECT_NE(obs.status().message().find("'time'"), std::string::npos) << obs.status().message();
  }
}

TEST(VenueFormats, BitstampSecondsTimestamp) {
  Result<Observation> obs = ParseTicker(VenueFormat::kBitstamp, kBitstampBody, kRecv);
  ASSERT_TRUE(obs.ok()) << obs.status().ToString();
  EXPECT_EQ(obs->price.ToString(), "67012");
  EXPECT_EQ(obs->bid->ToString(), "67011");
  EXPECT_EQ(obs->ask->ToString(), "67013");
  EXPECT_EQ(obs->observed_unix_nanos, 1714564800'000000000);
}

TEST(VenueFormats, FutureVenueTimeIsClampedToReceipt) {
  Result<Observation> obs = ParseTicker(VenueFormat::kBitstamp, kBitstampBody, 1714564700'000000000);
  ASSERT_TRUE(obs.ok());
  EXPECT_EQ(obs->observed_unix_nanos, 1714564700'000000000);
}

void ExpectInvalid(VenueFormat f, const std::string& body, const std::string& needle) {
  Result<Observation> obs = ParseTicker(f, body, kRecv);
  ASSERT_FALSE(obs.ok()) << "accepted: " << body;
  EXPECT_EQ(obs.status().code(), Code::kInvalidArgument);
  EXPECT_NE(obs.status().message().find(needle), std::string::npos)
      << "message '" << obs.status().message() << "' lacks '" << needle << "'";
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  size_t pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  return s.replace(pos, from.size(), to);
}

TEST(VenueFormats, MalformedAndTruncatedJson) {
  for (VenueFormat f : {VenueFormat::kKraken, VenueFormat::kCoinbase, VenueFormat::kBitstamp}) {
    ExpectInvalid(f, "not json at all", "malformed or truncated JSON");
    ExpectInvalid(f, "", "malformed or truncated JSON");
    ExpectInvalid(f, "[1,2,3]", "expected a JSON object");
  }
  const std::string kraken = kKrakenBody, coinbase = kCoinbaseBody, bitstamp = kBitstampBody;
  ExpectInvalid(VenueFormat::kKraken, kraken.substr(0, kraken.size() / 2), "truncated");
  ExpectInvalid(VenueFormat::kCoinbase, coinbase.substr(0, coinbase.size() - 1), "truncated");
  ExpectInvalid(VenueFormat::kBitstamp, bitstamp.substr(0, 40), "truncated");
}

TEST(VenueFormats, KrakenErrorArray) {
  ExpectInvalid(VenueFormat::kKraken, R"({"error":["EQuery:Unknown asset pair"]})",
                "kraken reported error: EQuery:Unknown asset pair");
  ExpectInvalid(VenueFormat::kKraken, R"({"error":["EService:Unavailable","EGeneral:Temporary lockout"]})",
                "EService:Unavailable; EGeneral:Temporary lockout");
}

TEST(VenueFormats, KrakenShapeErrors) {
  ExpectInvalid(VenueFormat::kKraken, R"({"result":{}})", "missing field 'error'");
  ExpectInvalid(VenueFormat::kKraken, R"({"error":[]})", "missing field 'result'");
  ExpectInvalid(VenueFormat::kKraken, R"({"error":[],"result":{}})", "expected exactly one pair, got 0");
  ExpectInvalid(VenueFormat::kKraken, Replace(kKrakenBody, R"("c":["67012.10000","0.00150000"],)", ""),
                "missing field 'c'");
  ExpectInvalid(VenueFormat::kKraken, Replace(kKrakenBody, R"(["67012.10000","0.00150000"])", "[]"),
                "field 'c': expected a non-empty array");
}

TEST(VenueFormats, MissingFields) {
  ExpectInvalid(VenueFormat::kCoinbase, Replace(kCoinbaseBody, R"("price":"67012.10",)", ""),
                "missing field 'price'");
  ExpectInvalid(VenueFormat::kCoinbase, Replace(kCoinbaseBody, R"("time":"2024-05-01T12:00:00.123456Z",)", ""),
                "missing field 'time'");
  ExpectInvalid(VenueFormat::kBitstamp, Replace(kBitstampBody, R"("last":"67012",)", ""), "missing field 'last'");
  ExpectInvalid(VenueFormat::kBitstamp, Replace(kBitstampBody, R"("timestamp":"1714564800",)", ""),
                "missing field 'timestamp'");
  ExpectInvalid(VenueFormat::kBitstamp, Replace(kBitstampBody, R"("1714564800")", R"("17145648xx")"),
                "is not Unix seconds");
  ExpectInvalid(VenueFormat::kBitstamp, Replace(kBitstampBody, R"("1714564800")", "1714564800"),
                "'timestamp': expected a string");
}

TEST(VenueFormats, BadPrices) {
  ExpectInvalid(VenueFormat::kCoinbase, Replace(kCoinbaseBody, R"("price":"67012.10")", R"("price":"abc")"),
                "field 'price': 'abc' is not a decimal");
  ExpectInvalid(VenueFormat::kCoinbase, Replace(kCoinbaseBody, R"("price":"67012.10")", R"("price":"-67012.10")"),
                "price must be positive, got '-67012.10'");
  ExpectInvalid(VenueFormat::kCoinbase, Replace(kCoinbaseBody, R"("price":"67012.10")", R"("price":"0.00")"),
                "price must be positive, got '0.00'");
  ExpectInvalid(VenueFormat::kCoinbase, Replace(kCoinbaseBody, R"("price":"67012.10")", R"("price":67012.10)"),
                "price must be a decimal string");
  ExpectInvalid(VenueFormat::kCoinbase, Replace(kCoinbaseBody, R"("price":"67012.10")", R"("price":"6.7e4")"),
                "is not a decimal");
  ExpectInvalid(VenueFormat::kKraken, Replace(kKrakenBody, R"("c":["67012.10000")", R"("c":["abc")"),
                "field 'c': 'abc' is not a decimal");
  ExpectInvalid(VenueFormat::kKraken, Replace(kKrakenBody, R"("c":["67012.10000")", R"("c":[67012.1)"),
                "price must be a decimal string");
  ExpectInvalid(VenueFormat::kKraken, Replace(kKrakenBody, R"("c":["67012.10000")", R"("c":["-1")"),
                "price must be positive");
  ExpectInvalid(VenueFormat::kBitstamp, Replace(kBitstampBody, R"("last":"67012")", R"("last":"0")"),
                "price must be positive, got '0'");
  ExpectInvalid(VenueFormat::kBitstamp, Replace(kBitstampBody, R"("last":"67012")", R"("last":null)"),
                "price must be a decimal string");
}

TEST(VenueFormats, CrossedBidAskIsRejected) {
  ExpectInvalid(VenueFormat::kCoinbase, Replace(kCoinbaseBody, R"("bid":"67012.1")", R"("bid":"67012.12")"),
                "bid 67012.12 > ask 67012.11");
  ExpectInvalid(VenueFormat::kKraken, Replace(kKrakenBody, R"("b":["67012.10000")", R"("b":["67013")"),
                "bid 67013 > ask 67012.20000");
  ExpectInvalid(VenueFormat::kBitstamp, Replace(kBitstampBody, R"("bid":"67011")", R"("bid":"67014")"), "bid");
  // A locked book (bid == ask) is legal.
  EXPECT_TRUE(ParseTicker(VenueFormat::kBitstamp, Replace(kBitstampBody, R"("bid":"67011")", R"("bid":"67013")"),
                          kRecv).ok());
}

TEST(VenueFormats, MessagesNameTheVenue) {
  Result<Observation> obs = ParseTicker(VenueFormat::kBitstamp, "{}", kRecv);
  ASSERT_FALSE(obs.ok());
  EXPECT_EQ(obs.status().message().rfind("bitstamp ticker: ", 0), 0u) << obs.status().message();
}

TEST(VenueFormats, NamesAndPaths) {
  EXPECT_EQ(TickerPath(VenueFormat::kKraken, "XBTUSD"), "/0/public/Ticker?pair=XBTUSD");
  EXPECT_EQ(TickerPath(VenueFormat::kCoinbase, "BTC-USD"), "/products/BTC-USD/ticker");
  EXPECT_EQ(TickerPath(VenueFormat::kBitstamp, "btcusd"), "/api/v2/ticker/btcusd/");
  for (VenueFormat f : {VenueFormat::kKraken, VenueFormat::kCoinbase, VenueFormat::kBitstamp}) {
    Result<VenueFormat> back = ParseVenueFormat(VenueFormatName(f));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, f);
  }
  EXPECT_EQ(ParseVenueFormat("binance").status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace plumbline::feeds
