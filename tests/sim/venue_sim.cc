#include "venue_sim.h"

#include <httplib.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

#include <date/date.h>
#include <nlohmann/json.hpp>

namespace plumbline::sim {
namespace {

constexpr size_t kVenueCount = 8;
constexpr std::array<VenueFormat, kVenueCount> kVenues = {
    VenueFormat::kKraken, VenueFormat::kCoinbase, VenueFormat::kBitstamp, VenueFormat::kBinance,
    VenueFormat::kOkx,    VenueFormat::kAlpaca,   VenueFormat::kPolygon,  VenueFormat::kFinnhub};

// Venue symbol per format (indexed by VenueFormat), nullptr where the venue does not list it.
struct SymbolNames {
  const char* symbol;
  const char* tape;        // the tape series it follows (a token follows its underlying)
  const char* kraken_key;  // what Kraken answers with
  std::array<const char*, kVenueCount> venue;
};
//                   kraken       coinbase   bitstamp  binance     okx          alpaca  polygon finnhub
const std::array<SymbolNames, 8> kSymbols = {{
    {"BTC/USD", "BTC/USD", "XXBTZUSD", {"XBTUSD", "BTC-USD", "btcusd", "BTCUSD", "BTC-USD", nullptr, nullptr, nullptr}},
    {"ETH/USD", "ETH/USD", "XETHZUSD", {"ETHUSD", "ETH-USD", "ethusd", "ETHUSD", "ETH-USD", nullptr, nullptr, nullptr}},
    {"SOL/USD", "SOL/USD", "SOLUSD", {"SOLUSD", "SOL-USD", "solusd", "SOLUSD", "SOL-USD", nullptr, nullptr, nullptr}},
    {"AAPL/USD", "AAPL/USD", "", {nullptr, nullptr, nullptr, nullptr, nullptr, "AAPL", "AAPL", "AAPL"}},
    {"TSLA/USD", "TSLA/USD", "", {nullptr, nullptr, nullptr, nullptr, nullptr, "TSLA", "TSLA", "TSLA"}},
    {"SPY/USD", "SPY/USD", "", {nullptr, nullptr, nullptr, nullptr, nullptr, "SPY", "SPY", "SPY"}},
    {"AAPLx/USD", "AAPL/USD", "AAPLxUSD", {"AAPLxUSD", nullptr, nullptr, "AAPLXUSD", "AAPLX-USD", nullptr, nullptr, nullptr}},
    {"TSLAx/USD", "TSLA/USD", "TSLAxUSD", {"TSLAxUSD", nullptr, nullptr, "TSLAXUSD", "TSLAX-USD", nullptr, nullptr, nullptr}},
}};

const char* VenueName(VenueFormat venue, const SymbolNames& n) { return n.venue[static_cast<size_t>(venue)]; }

const SymbolNames* FindByVenueSymbol(VenueFormat venue, const std::string& s) {
  for (const SymbolNames& n : kSymbols) {
    const char* v = VenueName(venue, n);
    if (v != nullptr && s == v) return &n;
  }
  return nullptr;
}

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
int64_t Mod(int64_t a, int64_t b) { return ((a % b) + b) % b; }

Decimal BasisPointFactor(int64_t tenths_of_bp) {  // 1 + tenths/100000, exact
  return Decimal::Div(Decimal::FromInt(100000 + tenths_of_bp), Decimal::FromInt(100000), 5,
                      Rounding::kHalfEven).value();
}

struct Quote {
  Decimal price, bid, ask;
  int64_t time_unix_nanos;
};

std::string Q(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

const char* VenueModeName(VenueMode mode) {
  switch (mode) {
    case VenueMode::kNormal: return "normal";
    case VenueMode::kHttp500: return "http500";
    case VenueMode::kHang: return "hang";
    case VenueMode::kTruncated: return "truncated";
    case VenueMode::kNotANumber: return "nan";
    case VenueMode::kNegative: return "negative";
    case VenueMode::kNumberInsteadOfString: return "number";
  }
  return "unknown";
}

Result<VenueMode> ParseVenueMode(std::string_view name) {
  for (VenueMode m : {VenueMode::kNormal, VenueMode::kHttp500, VenueMode::kHang, VenueMode::kTruncated,
                      VenueMode::kNotANumber, VenueMode::kNegative, VenueMode::kNumberInsteadOfString}) {
    if (name == VenueModeName(m)) return m;
  }
  return Status::InvalidArgument("unknown venue mode '" + std::string(name) +
                                 "' (expected normal, http500, hang, truncated, nan, negative or number)");
}

Result<PriceTape> LoadPriceTape(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IOError("price tape " + path + ": cannot open");
  std::map<std::string, std::map<int64_t, Decimal>> raw;
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    if (line.empty() || line[0] == '#') continue;
    const std::string where = "price tape " + path + " line " + std::to_string(line_no) + ": ";
    auto doc = nlohmann::json::parse(line, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return Status::InvalidArgument(where + "not a JSON object");
    auto t = doc.find("t");
    auto sym = doc.find("symbol");
    auto price = doc.find("price");
    if (t == doc.end() || !t->is_number_integer() || t->get<int64_t>() < 0) {
      return Status::InvalidArgument(where + "'t' must be a non-negative integer");
    }
    if (sym == doc.end() || !sym->is_string()) return Status::InvalidArgument(where + "'symbol' must be a string");
    if (price == doc.end() || !price->is_string()) {
      return Status::InvalidArgument(where + "'price' must be a decimal string");
    }
    Result<Decimal> p = Decimal::Parse(price->get<std::string>());
    if (!p.ok() || !p->is_positive()) return Status::InvalidArgument(where + "'price' must be a positive decimal");
    if (!raw[sym->get<std::string>()].emplace(t->get<int64_t>(), *p).second) {
      return Status::InvalidArgument(where + "duplicate offset");
    }
  }
  PriceTape tape;
  for (auto& [symbol, by_t] : raw) {
    const int64_t n = static_cast<int64_t>(by_t.size());
    if (by_t.rbegin()->first != n - 1) {
      return Status::InvalidArgument("price tape " + path + ": symbol " + symbol + " has gaps");
    }
    if (tape.duration_seconds != 0 && tape.duration_seconds != n) {
      return Status::InvalidArgument("price tape " + path + ": symbols have different lengths");
    }
    tape.duration_seconds = n;
    for (auto& [t, p] : by_t) tape.prices[symbol].push_back(p);
  }
  if (tape.duration_seconds == 0) return Status::InvalidArgument("price tape " + path + ": empty");
  return tape;
}

struct VenueSim::Impl {
  PriceTape tape;
  VenueSimOptions options;
  const Clock& clock;
  int64_t start_unix_nanos;

  struct Venue {
    VenueFormat format;
    httplib::Server server;
    std::thread thread;
    int port = 0;
    std::atomic<VenueMode> mode{VenueMode::kNormal};
    std::atomic<int64_t> lag_seconds{0};
    std::atomic<uint32_t> glitch_percent{0};
    std::atomic<uint64_t> requests{0};
  };
  std::array<Venue, kVenueCount> venues;

  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;

  Impl(PriceTape t, VenueSimOptions o, const Clock& c)
      : tape(std::move(t)), options(std::move(o)), clock(c), start_unix_nanos(c.NowUnixNanos()) {}

  Venue& V(VenueFormat f) { return venues[static_cast<size_t>(f)]; }
  const Venue& V(VenueFormat f) const { return venues[static_cast<size_t>(f)]; }

  Result<Quote> QuoteAt(VenueFormat venue, const std::string& symbol, int64_t now) const {
    std::string series = symbol;
    for (const SymbolNames& n : kSymbols) {
      if (symbol == n.symbol) series = n.tape;
    }
    auto it = tape.prices.find(series);
    if (it == tape.prices.end()) return Status::NotFound("no tape for " + symbol);
    const int64_t time = now - V(venue).lag_seconds.load() * kNanosPerSecond;
    const int64_t second = FloorDiv(time - start_unix_nanos, kNanosPerSecond);
    const int64_t offset = Mod(second, tape.duration_seconds);
    const Decimal& base = it->second[static_cast<size_t>(offset)];
    // Venue-specific wobble of -3..+3 bp, a pure function of (venue, offset).
    const int64_t v = static_cast<int64_t>(venue);
    const int64_t tenths_bp = (Mod(offset * 7 + v * 11, 7) - 3) * 10;
    const int scale = base.scale();
    Result<Decimal> price = Decimal::Mul(base, BasisPointFactor(tenths_bp), scale, Rounding::kHalfEven);
    if (!price.ok()) return price.status();
    Result<Decimal> bid = Decimal::Mul(*price, BasisPointFactor(-5), scale, Rounding::kFloor);
    Result<Decimal> ask = Decimal::Mul(*price, BasisPointFactor(5), scale, Rounding::kCeiling);
    if (!bid.ok() || !ask.ok()) return Status::Internal("bid/ask overflow");
    return Quote{*price, *bid, *ask, time};
  }

  VenueMode ModeFor(Venue& venue, uint64_t request_no) const {
    VenueMode forced = venue.mode.load();
    if (forced != VenueMode::kNormal) return forced;
    const uint64_t r = SplitMix64(options.seed ^ (static_cast<uint64_t>(venue.format) << 56) ^ request_no);
    if (r % 100 >= venue.glitch_percent.load()) return VenueMode::kNormal;
    constexpr std::array<VenueMode, 4> kGlitches = {VenueMode::kHttp500, VenueMode::kTruncated,
                                                    VenueMode::kNotANumber, VenueMode::kNegative};
    return kGlitches[(r >> 32) % kGlitches.size()];
  }

  // Kraken prints prices with 5 decimals whatever the pair's tick.
  static std::string KrakenPrice(const Decimal& d) {
    Result<Decimal> r = d.scale() < 5 ? d.Rescale(5, Rounding::kHalfEven) : Result<Decimal>(d);
    return r.ok() ? r->ToString() : d.ToString();
  }

  std::string Body(VenueFormat venue, const SymbolNames& names, const Quote& q, VenueMode mode) const {
    const bool kraken = venue == VenueFormat::kKraken;
    std::string price = kraken ? KrakenPrice(q.price) : q.price.ToString();
    std::string price_json = Q(price);
    if (mode == VenueMode::kNotANumber) price_json = Q("abc");
    if (mode == VenueMode::kNegative) price_json = Q("-" + price);
    // The equity formats publish JSON numbers (Polygon's quote has no trade price: its bid glitches).
    std::string number_json = price;
    if (mode == VenueMode::kNotANumber) number_json = Q("abc");
    if (mode == VenueMode::kNegative) number_json = "-" + price;
    std::string bid_number_json = q.bid.ToString();
    if (mode == VenueMode::kNotANumber) bid_number_json = Q("abc");
    if (mode == VenueMode::kNegative) bid_number_json = "-" + q.bid.ToString();
    if (mode == VenueMode::kNumberInsteadOfString) price_json = price;
    std::string body;
    switch (venue) {
      case VenueFormat::kKraken: {
        const std::string a = KrakenPrice(q.ask), b = KrakenPrice(q.bid);
        body = std::string("{\"error\":[],\"result\":{\"") + names.kraken_key + "\":{" +
               "\"a\":[" + Q(a) + ",\"1\",\"1.000\"],\"b\":[" + Q(b) + ",\"2\",\"2.000\"]," +
               "\"c\":[" + price_json + ",\"0.00150000\"],\"v\":[\"1021.41437318\",\"2310.93512460\"]," +
               "\"p\":[" + Q(price) + "," + Q(price) + "],\"t\":[13217,29843]," +
               "\"l\":[" + Q(b) + "," + Q(b) + "],\"h\":[" + Q(a) + "," + Q(a) + "],\"o\":" + Q(price) + "}}}";
        break;
      }
      case VenueFormat::kCoinbase: {
        using namespace std::chrono;
        const auto tp = date::sys_time<microseconds>(duration_cast<microseconds>(nanoseconds(q.time_unix_nanos)));
        body = "{\"ask\":" + Q(q.ask.ToString()) + ",\"bid\":" + Q(q.bid.ToString()) +
               ",\"volume\":\"8125.33812077\",\"trade_id\":" +
               std::to_string(q.time_unix_nanos / kNanosPerSecond) + ",\"price\":" + price_json +
               ",\"size\":\"0.00215\",\"time\":" + Q(date::format("%FT%TZ", tp)) +
               ",\"rfq_volume\":\"12.504531\"}";
        break;
      }
      case VenueFormat::kBitstamp: {
        const std::string secs = std::to_string(FloorDiv(q.time_unix_nanos, kNanosPerSecond));
        body = "{\"timestamp\":" + Q(secs) + ",\"open\":" + Q(q.price.ToString()) +
               ",\"high\":" + Q(q.ask.ToString()) + ",\"low\":" + Q(q.bid.ToString()) +
               ",\"last\":" + price_json + ",\"volume\":\"1432.61820754\",\"vwap\":" +
               Q(q.price.ToString()) + ",\"bid\":" + Q(q.bid.ToString()) + ",\"ask\":" +
               Q(q.ask.ToString()) + ",\"side\":\"0\",\"open_24\":" + Q(q.price.ToString()) +
               ",\"percent_change_24\":\"0.12\"}";
        break;
      }
      case VenueFormat::kBinance: {
        const int64_t ms = FloorDiv(q.time_unix_nanos, kNanosPerMilli);
        body = "{\"symbol\":" + Q(VenueName(venue, names)) + ",\"priceChange\":\"0.00\",\"priceChangePercent\":\"0.000\"," +
               "\"weightedAvgPrice\":" + Q(q.price.ToString()) + ",\"prevClosePrice\":" + Q(q.price.ToString()) +
               ",\"lastPrice\":" + price_json + ",\"lastQty\":\"0.00100000\",\"bidPrice\":" + Q(q.bid.ToString()) +
               ",\"bidQty\":\"1.00000000\",\"askPrice\":" + Q(q.ask.ToString()) + ",\"askQty\":\"1.00000000\"," +
               "\"openPrice\":" + Q(q.price.ToString()) + ",\"highPrice\":" + Q(q.ask.ToString()) + ",\"lowPrice\":" +
               Q(q.bid.ToString()) + ",\"volume\":\"1432.61820754\",\"quoteVolume\":\"95000000.00\"," +
               "\"openTime\":" + std::to_string(ms - 86400000) + ",\"closeTime\":" + std::to_string(ms) +
               ",\"firstId\":1,\"lastId\":2,\"count\":2}";
        break;
      }
      case VenueFormat::kOkx: {
        const std::string ms = std::to_string(FloorDiv(q.time_unix_nanos, kNanosPerMilli));
        body = "{\"code\":\"0\",\"msg\":\"\",\"data\":[{\"instType\":\"SPOT\",\"instId\":" + Q(VenueName(venue, names)) +
               ",\"last\":" + price_json + ",\"lastSz\":\"0.1\",\"askPx\":" + Q(q.ask.ToString()) +
               ",\"askSz\":\"1\",\"bidPx\":" + Q(q.bid.ToString()) + ",\"bidSz\":\"1\",\"open24h\":" +
               Q(q.price.ToString()) + ",\"high24h\":" + Q(q.ask.ToString()) + ",\"low24h\":" + Q(q.bid.ToString()) +
               ",\"volCcy24h\":\"1000\",\"vol24h\":\"10\",\"ts\":" + Q(ms) + ",\"sodUtc0\":" +
               Q(q.price.ToString()) + ",\"sodUtc8\":" + Q(q.price.ToString()) + "}]}";
        break;
      }
      case VenueFormat::kAlpaca: {
        using namespace std::chrono;
        const auto tp = date::sys_time<nanoseconds>(nanoseconds(q.time_unix_nanos));
        const std::string t = Q(date::format("%FT%TZ", tp));
        body = "{\"symbol\":" + Q(VenueName(venue, names)) + ",\"latestTrade\":{\"t\":" + t +
               ",\"x\":\"V\",\"p\":" + number_json + ",\"s\":100,\"c\":[\"@\"],\"i\":52983525029461,\"z\":\"C\"}," +
               "\"latestQuote\":{\"t\":" + t + ",\"ax\":\"V\",\"ap\":" + q.ask.ToString() + ",\"as\":1," +
               "\"bx\":\"V\",\"bp\":" + q.bid.ToString() + ",\"bs\":2,\"c\":[\"R\"],\"z\":\"C\"}}";
        break;
      }
      case VenueFormat::kPolygon: {
        const std::string ns = std::to_string(q.time_unix_nanos);
        body = "{\"request_id\":\"b84e24636301f19f88e0dfbf9a45ed5c\",\"results\":{\"P\":" + q.ask.ToString() +
               ",\"S\":1,\"T\":" + Q(VenueName(venue, names)) + ",\"X\":11,\"p\":" + bid_number_json +
               ",\"q\":23547,\"s\":2,\"t\":" + ns + ",\"x\":11,\"y\":" + ns + ",\"z\":3},\"status\":\"OK\"}";
        break;
      }
      case VenueFormat::kFinnhub: {
        const std::string secs = std::to_string(FloorDiv(q.time_unix_nanos, kNanosPerSecond));
        body = "{\"c\":" + number_json + ",\"d\":0.12,\"dp\":0.0631,\"h\":" + q.ask.ToString() + ",\"l\":" +
               q.bid.ToString() + ",\"o\":" + q.price.ToString() + ",\"pc\":" + q.price.ToString() + ",\"t\":" + secs + "}";
        break;
      }
    }
    if (mode == VenueMode::kTruncated) body.resize(body.size() / 2);
    return body;
  }

  void Serve(VenueFormat venue, const std::string& venue_symbol, httplib::Response& res) {
    Venue& v = V(venue);
    const uint64_t n = v.requests.fetch_add(1);
    const SymbolNames* names = FindByVenueSymbol(venue, venue_symbol);
    if (names == nullptr) {
      switch (venue) {
        case VenueFormat::kKraken:
          res.set_content("{\"error\":[\"EQuery:Unknown asset pair\"]}", "application/json");
          break;
        case VenueFormat::kCoinbase:
          res.status = 404;
          res.set_content("{\"message\":\"NotFound\"}", "application/json");
          break;
        case VenueFormat::kBitstamp:
          res.status = 404;
          res.set_content("Not Found", "text/html");
          break;
        case VenueFormat::kBinance:
          res.status = 400;
          res.set_content("{\"code\":-1121,\"msg\":\"Invalid symbol.\"}", "application/json");
          break;
        case VenueFormat::kOkx:
          res.set_content("{\"code\":\"51001\",\"msg\":\"Instrument ID does not exist\",\"data\":[]}", "application/json");
          break;
        case VenueFormat::kAlpaca:
          res.status = 404;
          res.set_content("{\"message\":\"not found\"}", "application/json");
          break;
        case VenueFormat::kPolygon:
          res.status = 404;
          res.set_content("{\"status\":\"NOT_FOUND\",\"request_id\":\"0\",\"message\":\"Data not found.\"}",
                          "application/json");
          break;
        case VenueFormat::kFinnhub:
          res.set_content("{\"c\":0,\"d\":null,\"dp\":null,\"h\":0,\"l\":0,\"o\":0,\"pc\":0,\"t\":0}", "application/json");
          break;
      }
      return;
    }
    VenueMode mode = ModeFor(v, n);
    if (mode == VenueMode::kHttp500) {
      res.status = 500;
      res.set_content("Internal Server Error", "text/plain");
      return;
    }
    if (mode == VenueMode::kHang) {
      std::unique_lock<std::mutex> lock(stop_mu);
      stop_cv.wait_for(lock, std::chrono::milliseconds(options.hang_ms), [&] { return stopping; });
    }
    Result<Quote> q = QuoteAt(venue, names->symbol, clock.NowUnixNanos());
    if (!q.ok()) {
      res.status = 500;
      res.set_content(q.status().ToString(), "text/plain");
      return;
    }
    res.set_content(Body(venue, *names, *q, mode), "application/json");
  }

  void Route(Venue& v) {
    const VenueFormat f = v.format;
    auto wrap = [this, f](std::string sym, httplib::Response& res) {
      try {
        Serve(f, sym, res);
      } catch (const std::exception& e) {
        res.status = 500;
        res.set_content(e.what(), "text/plain");
      }
    };
    switch (f) {
      case VenueFormat::kKraken:
        v.server.Get("/0/public/Ticker", [this, wrap](const httplib::Request& req, httplib::Response& res) {
          if (!req.has_param("pair")) {
            res.set_content("{\"error\":[\"EGeneral:Invalid arguments\"]}", "application/json");
            V(VenueFormat::kKraken).requests.fetch_add(1);
            return;
          }
          wrap(req.get_param_value("pair"), res);
        });
        break;
      case VenueFormat::kCoinbase:
        v.server.Get(R"(/products/([^/]+)/ticker)", [wrap](const httplib::Request& req, httplib::Response& res) {
          wrap(req.matches[1].str(), res);
        });
        break;
      case VenueFormat::kBitstamp:
        v.server.Get(R"(/api/v2/ticker/([^/]+)/?)", [wrap](const httplib::Request& req, httplib::Response& res) {
          wrap(req.matches[1].str(), res);
        });
        break;
      case VenueFormat::kBinance:
        v.server.Get("/api/v3/ticker/24hr", [wrap](const httplib::Request& req, httplib::Response& res) {
          wrap(req.get_param_value("symbol"), res);
        });
        break;
      case VenueFormat::kOkx:
        v.server.Get("/api/v5/market/ticker", [wrap](const httplib::Request& req, httplib::Response& res) {
          wrap(req.get_param_value("instId"), res);
        });
        break;
      case VenueFormat::kAlpaca:
        v.server.Get(R"(/v2/stocks/([^/]+)/snapshot)", [wrap](const httplib::Request& req, httplib::Response& res) {
          wrap(req.matches[1].str(), res);
        });
        break;
      case VenueFormat::kPolygon:
        v.server.Get(R"(/v2/last/nbbo/([^/]+))", [wrap](const httplib::Request& req, httplib::Response& res) {
          wrap(req.matches[1].str(), res);
        });
        break;
      case VenueFormat::kFinnhub:
        v.server.Get("/api/v1/quote", [wrap](const httplib::Request& req, httplib::Response& res) {
          wrap(req.get_param_value("symbol"), res);
        });
        break;
    }
  }
};

VenueSim::VenueSim(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<VenueSim>> VenueSim::Start(PriceTape tape, VenueSimOptions options, const Clock& clock) {
  if (tape.duration_seconds <= 0) return Status::InvalidArgument("venue sim: empty price tape");
  for (const auto& [symbol, prices] : tape.prices) {
    if (static_cast<int64_t>(prices.size()) != tape.duration_seconds) {
      return Status::InvalidArgument("venue sim: tape for " + symbol + " has the wrong length");
    }
  }
  auto impl = std::make_unique<Impl>(std::move(tape), options, clock);
  const std::array<const VenueBehavior*, kVenueCount> behaviors = {
      &options.kraken, &options.coinbase, &options.bitstamp, &options.binance,
      &options.okx,    &options.alpaca,   &options.polygon,  &options.finnhub};
  std::unique_ptr<VenueSim> sim(new VenueSim(std::move(impl)));
  Impl& im = *sim->impl_;
  for (size_t i = 0; i < kVenues.size(); ++i) {
    Impl::Venue& v = im.venues[i];
    const VenueBehavior& b = *behaviors[i];
    v.format = kVenues[i];
    v.mode = b.mode;
    v.lag_seconds = b.lag_seconds;
    v.glitch_percent = b.glitch_percent;
    const int threads = std::max(1, options.threads_per_venue);
    v.server.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
    v.server.set_read_timeout(std::chrono::seconds(5));
    v.server.set_write_timeout(std::chrono::seconds(5));
    v.server.set_keep_alive_timeout(1);  // a waiting keep-alive connection must not delay Stop()
    v.server.set_payload_max_length(64 * 1024);
    // httplib's default adds SO_REUSEPORT, which would let a second simulator share the port silently.
    v.server.set_socket_options([](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    im.Route(v);
    if (b.port == 0) {
      v.port = v.server.bind_to_any_port(options.host);
    } else {
      v.port = v.server.bind_to_port(options.host, b.port) ? b.port : -1;
    }
    if (v.port <= 0) {
      sim->Stop();
      return Status::Unavailable(std::string("venue sim: cannot bind ") + feeds::VenueFormatName(v.format) +
                                 " to " + options.host + ":" + std::to_string(b.port));
    }
    v.thread = std::thread([&v] { v.server.listen_after_bind(); });
    // Server::stop() is a no-op until the listen loop runs, so a Stop() racing ahead of it would
    // leave join() waiting forever; wait here instead.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!v.server.is_running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (!v.server.is_running()) {
      sim->Stop();
      return Status::Internal(std::string("venue sim: ") + feeds::VenueFormatName(v.format) + " did not start");
    }
  }
  return sim;
}

VenueSim::~VenueSim() { Stop(); }

void VenueSim::Stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->stop_mu);
    impl_->stopping = true;
  }
  impl_->stop_cv.notify_all();
  for (Impl::Venue& v : impl_->venues) {
    v.server.stop();
    if (v.thread.joinable()) v.thread.join();
  }
}

int VenueSim::port(VenueFormat venue) const { return impl_->V(venue).port; }

std::string VenueSim::base_url(VenueFormat venue) const {
  return "http://" + impl_->options.host + ":" + std::to_string(port(venue));
}

void VenueSim::SetMode(VenueFormat venue, VenueMode mode) { impl_->V(venue).mode = mode; }
void VenueSim::SetLagSeconds(VenueFormat venue, int64_t lag) { impl_->V(venue).lag_seconds = lag; }
void VenueSim::SetGlitchPercent(VenueFormat venue, uint32_t percent) {
  impl_->V(venue).glitch_percent = std::min<uint32_t>(percent, 100);
}
uint64_t VenueSim::requests(VenueFormat venue) const { return impl_->V(venue).requests.load(); }

std::map<std::string, std::string> VenueSim::VenueSymbols(VenueFormat venue) {
  std::map<std::string, std::string> out;
  for (const SymbolNames& n : kSymbols) {
    if (VenueName(venue, n) != nullptr) out[n.symbol] = VenueName(venue, n);
  }
  return out;
}

Result<Decimal> VenueSim::ServedPrice(VenueFormat venue, const std::string& symbol, int64_t now) const {
  Result<Quote> q = impl_->QuoteAt(venue, symbol, now);
  if (!q.ok()) return q.status();
  if (venue == VenueFormat::kKraken) return Decimal::Parse(Impl::KrakenPrice(q->price));
  return q->price;
}

}  // namespace plumbline::sim
