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
  EXPECT_EQ(TickerPath(VenueFormat::kBinance, "BTCUSD"), "/api/v3/ticker/24hr?symbol=BTCUSD");
  EXPECT_EQ(TickerPath(VenueFormat::kOkx, "BTC-USD"), "/api/v5/market/ticker?instId=BTC-USD");
  EXPECT_EQ(TickerPath(VenueFormat::kAlpaca, "AAPL"), "/v2/stocks/AAPL/snapshot");
  EXPECT_EQ(TickerPath(VenueFormat::kPolygon, "AAPL"), "/v2/last/nbbo/AAPL");
  EXPECT_EQ(TickerPath(VenueFormat::kFinnhub, "AAPL"), "/api/v1/quote?symbol=AAPL");
  EXPECT_EQ(AllVenueFormats().size(), 8u);
  for (VenueFormat f : AllVenueFormats()) {
    Result<VenueFormat> back = ParseVenueFormat(VenueFormatName(f));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, f);
  }
  EXPECT_EQ(ParseVenueFormat("bybit").status().code(), Code::kInvalidArgument);
}

// ---- added formats ----

// GET https://api.binance.com/api/v3/ticker/24hr?symbol=BTCUSDT (shape of the real response)
constexpr const char* kBinanceBody = R"({"symbol":"BTCUSD","priceChange":"-94.99","priceChangePercent":"-0.142",
  "weightedAvgPrice":"66873.1","prevClosePrice":"67100.00","lastPrice":"67012.01","lastQty":"0.00100000",
  "bidPrice":"67012.00","bidQty":"1.2","askPrice":"67012.02","askQty":"0.5","openPrice":"67107.00",
  "highPrice":"67220.00","lowPrice":"66100.00","volume":"1432.6","quoteVolume":"95000000.00",
  "openTime":1714478400123,"closeTime":1714564800123,"firstId":28385,"lastId":28460,"count":76})";

// GET https://www.okx.com/api/v5/market/ticker?instId=BTC-USDT
constexpr const char* kOkxBody = R"({"code":"0","msg":"","data":[{"instType":"SPOT","instId":"BTC-USD",
  "last":"67012.3","lastSz":"0.1","askPx":"67012.4","askSz":"11","bidPx":"67012.2","bidSz":"5",
  "open24h":"66530","high24h":"67220","low24h":"66100","volCcy24h":"2222","vol24h":"2222",
  "ts":"1714564800456","sodUtc0":"66600","sodUtc8":"66700"}]})";

// GET https://data.alpaca.markets/v2/stocks/AAPL/snapshot (prices are JSON numbers)
constexpr const char* kAlpacaBody = R"({"symbol":"AAPL","latestTrade":{"t":"2024-05-01T12:00:00.123456789Z",
  "x":"V","p":190.12,"s":100,"c":["@"],"i":52983525029461,"z":"C"},
  "latestQuote":{"t":"2024-05-01T12:00:00.2Z","ax":"V","ap":190.13,"as":1,"bx":"V","bp":190.11,"bs":2,
  "c":["R"],"z":"C"},"minuteBar":{"t":"2024-05-01T11:59:00Z","o":190.05,"h":190.2,"l":190,"c":190.12,"v":1200,"n":12,"vw":190.1}})";

// GET https://api.polygon.io/v2/last/nbbo/AAPL
constexpr const char* kPolygonBody = R"({"request_id":"b84e24636301f19f88e0dfbf9a45ed5c","results":{
  "P":190.13,"S":1,"T":"AAPL","X":11,"p":190.1,"q":23547,"s":2,"t":1714564800123456789,"x":11,
  "y":1714564800123456000,"z":3},"status":"OK"})";

// GET https://finnhub.io/api/v1/quote?symbol=AAPL
constexpr const char* kFinnhubBody = R"({"c":190.1234,"d":0.42,"dp":0.2214,"h":190.5,"l":189.3,"o":189.9,"pc":189.7034,"t":1714564800})";

TEST(VenueFormats, BinanceAndOkx) {
  Result<Observation> b = ParseTicker(VenueFormat::kBinance, kBinanceBody, kRecv);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->price.ToString(), "67012.01");
  EXPECT_EQ(b->bid->ToString(), "67012.00");
  EXPECT_EQ(b->ask->ToString(), "67012.02");
  EXPECT_EQ(b->observed_unix_nanos, 1714564800123000000);
  Result<Observation> o = ParseTicker(VenueFormat::kOkx, kOkxBody, kRecv);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->price.ToString(), "67012.3");
  EXPECT_EQ(o->bid->ToString(), "67012.2");
  EXPECT_EQ(o->observed_unix_nanos, 1714564800456000000);
  // Venue errors come through by name.
  Result<Observation> e = ParseTicker(VenueFormat::kOkx, R"({"code":"51001","msg":"Instrument ID does not exist","data":[]})", kRecv);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("okx reported error 51001: Instrument ID does not exist"), std::string::npos);
  e = ParseTicker(VenueFormat::kBinance, R"({"code":-1121,"msg":"Invalid symbol."})", kRecv);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("binance reported error -1121"), std::string::npos);
  // Crypto formats still refuse a price as a JSON number.
  std::string number = kBinanceBody;
  number.replace(number.find("\"67012.01\""), 10, "67012.01");
  EXPECT_FALSE(ParseTicker(VenueFormat::kBinance, number, kRecv).ok());
}

TEST(VenueFormats, EquityNumbersAreReadFromTheirLiteralText) {
  Result<Observation> a = ParseTicker(VenueFormat::kAlpaca, kAlpacaBody, kRecv);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->price.ToString(), "190.12");
  EXPECT_EQ(a->bid->ToString(), "190.11");
  EXPECT_EQ(a->ask->ToString(), "190.13");
  EXPECT_EQ(a->observed_unix_nanos, 1714564800123456789);
  Result<Observation> p = ParseTicker(VenueFormat::kPolygon, kPolygonBody, kRecv);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->bid->ToString(), "190.1");
  EXPECT_EQ(p->ask->ToString(), "190.13");
  EXPECT_EQ(p->price.ToString(), "190.115");  // exact midpoint: NBBO has no trade price
  EXPECT_EQ(p->observed_unix_nanos, 1714564800123456789);
  Result<Observation> f = ParseTicker(VenueFormat::kFinnhub, kFinnhubBody, kRecv);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->price.ToString(), "190.1234");
  EXPECT_FALSE(f->bid.has_value());
  EXPECT_EQ(f->observed_unix_nanos, 1714564800000000000);
  // 0.1 + 0.2 style values survive exactly (no double anywhere).
  Result<Observation> exact = ParseTicker(VenueFormat::kFinnhub, R"({"c":0.30000000000000004,"t":1714564800})", kRecv);
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact->price.ToString(), "0.30000000000000004");
}

TEST(VenueFormats, EquityBadInputs) {
  auto err = [](VenueFormat f, const std::string& body) {
    Result<Observation> r = ParseTicker(f, body, kRecv);
    EXPECT_FALSE(r.ok()) << body;
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_NE(err(VenueFormat::kFinnhub, R"({"c":0,"d":null,"dp":null,"h":0,"l":0,"o":0,"pc":0,"t":0})").find("unknown symbol"),
            std::string::npos);
  EXPECT_NE(err(VenueFormat::kFinnhub, R"({"c":-190.1,"t":1714564800})").find("must be positive"), std::string::npos);
  EXPECT_NE(err(VenueFormat::kFinnhub, R"({"c":1.9e2,"t":1714564800})").find("'1.9e2' is not a decimal"), std::string::npos);
  EXPECT_NE(err(VenueFormat::kPolygon, R"({"status":"OK","results":{"P":190.1,"p":190.2,"t":1}})").find("crossed book"),
            std::string::npos);
  EXPECT_NE(err(VenueFormat::kPolygon, R"({"status":"NOT_FOUND","message":"Data not found."})").find("NOT_FOUND"),
            std::string::npos);
  EXPECT_NE(err(VenueFormat::kAlpaca, R"({"message":"not found"})").find("alpaca reported error"), std::string::npos);
  EXPECT_NE(err(VenueFormat::kAlpaca, R"({"latestTrade":{"t":"2024-05-01T12:00:00Z","p":0}})").find("must be positive"),
            std::string::npos);
  EXPECT_NE(err(VenueFormat::kAlpaca, std::string(kAlpacaBody).substr(0, 60)).find("malformed or truncated"),
            std::string::npos);
  // Alpaca's quote side of 0 means "no quote": the trade still counts, without bid/ask.
  Result<Observation> no_quote = ParseTicker(
      VenueFormat::kAlpaca, R"({"latestTrade":{"t":"2024-05-01T12:00:00Z","p":190.5},"latestQuote":{"bp":0,"ap":0}})", kRecv);
  ASSERT_TRUE(no_quote.ok());
  EXPECT_FALSE(no_quote->bid.has_value());
}

}  // namespace
}  // namespace plumbline::feeds
