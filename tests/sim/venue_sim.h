// A loopback simulator of real venues' public ticker endpoints, for tests and demos.
//
// Each venue (Kraken REST Ticker, Coinbase Exchange product ticker, Bitstamp v2 ticker, Binance
// 24 h ticker, OKX v5 ticker, Alpaca stock snapshot, Polygon last NBBO, Finnhub quote) is a real
// HTTP server on its own port, answering in that venue's real format (see
// plumbline/feeds/venue_formats.h): crypto venues for BTC/USD, ETH/USD, SOL/USD; equity venues
// for AAPL/USD, TSLA/USD, SPY/USD; Kraken, Binance and OKX also list the tokens AAPLx/USD and
// TSLAx/USD, priced from their underlying's tape (the demo multiplier is 1). Prices come from a price
// tape (deploy/demo/recording.jsonl): the tape offset is (now - start) mod duration seconds, with
// now read from the injected Clock, so a ManualClock drives the simulator exactly.
//
// Venues differ on purpose, deterministically and in exact integer/Decimal arithmetic:
//   - each venue serves the tape price moved by a small venue-specific deviation (-3..+3 bp);
//     bid/ask sit 0.5 bp either side (rounded outward at the tape's scale);
//   - a venue may lag: it serves the price from `lag_seconds` ago with that older timestamp
//     (Kraken has no timestamp in its format, so its lag only shows in the price);
//   - a venue may glitch: a seeded glitch_percent of its requests answer HTTP 500, a truncated
//     body, price "abc" or a negative price (never a hang);
//   - a test may force a mode for every request (SetMode), including kHang, which holds the
//     request for hang_ms before answering normally (Stop() cuts the hold short).
// Defaults: bitstamp lags 2 s, coinbase glitches on 5% of requests, kraken behaves.
//
// Unknown symbols get each venue's real error shape: Kraken HTTP 200
// {"error":["EQuery:Unknown asset pair"]}, Coinbase HTTP 404 {"message":"NotFound"}, Bitstamp
// HTTP 404.
//
// Thread safety: all methods may be called from any thread while the servers run.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "plumbline/clock.h"
#include "plumbline/decimal.h"
#include "plumbline/feeds/venue_formats.h"
#include "plumbline/status.h"

namespace plumbline::sim {

using feeds::VenueFormat;

enum class VenueMode {
  kNormal,
  kHttp500,                // HTTP 500 with a short text body
  kHang,                   // hold the request hang_ms, then answer normally
  kTruncated,              // a 200 whose JSON body is cut in half
  kNotANumber,             // price "abc"
  kNegative,               // price "-<price>"
  kNumberInsteadOfString,  // price as a JSON number (same digits, no quotes)
};

// "normal", "http500", "hang", "truncated", "nan", "negative", "number".
const char* VenueModeName(VenueMode mode);
Result<VenueMode> ParseVenueMode(std::string_view name);

// Prices per symbol, one per second from offset 0. Every symbol has the same length.
struct PriceTape {
  int64_t duration_seconds = 0;
  std::map<std::string, std::vector<Decimal>> prices;  // Plumbline symbol -> price at offset t
};

// Reads JSON lines {"t": <offset s>, "symbol": "BTC/USD", "price": "<decimal string>"}; every
// symbol must have every offset 0..N-1 exactly once. Errors name the file and line.
Result<PriceTape> LoadPriceTape(const std::string& path);

struct VenueBehavior {
  int port = 0;               // 0 = an ephemeral port (see VenueSim::port)
  int64_t lag_seconds = 0;    // serve the tape this many seconds behind now
  uint32_t glitch_percent = 0;  // 0..100: share of requests answered with a random glitch
  VenueMode mode = VenueMode::kNormal;  // forced for every request when not kNormal
};

struct VenueSimOptions {
  std::string host = "127.0.0.1";
  VenueBehavior kraken;
  VenueBehavior coinbase{.glitch_percent = 5};
  VenueBehavior bitstamp{.lag_seconds = 2};
  // Added formats (crypto: Binance, OKX; equities: Alpaca, Polygon, Finnhub); tokens AAPLx/TSLAx
  // on Kraken, Binance and OKX follow their underlying's tape.
  VenueBehavior binance;
  VenueBehavior okx;
  VenueBehavior alpaca;
  VenueBehavior polygon;
  VenueBehavior finnhub;
  uint64_t seed = 1;        // glitch choice is a pure function of (seed, venue, request number)
  int64_t hang_ms = 5000;
  int threads_per_venue = 4;
};

class VenueSim {
 public:
  // Binds all three servers (failing if a port is taken) and starts serving.
  static Result<std::unique_ptr<VenueSim>> Start(PriceTape tape, VenueSimOptions options,
                                                 const Clock& clock);
  ~VenueSim();  // calls Stop()
  VenueSim(const VenueSim&) = delete;
  VenueSim& operator=(const VenueSim&) = delete;

  // Stops the servers and releases hanging requests; idempotent.
  void Stop();

  int port(VenueFormat venue) const;
  std::string base_url(VenueFormat venue) const;  // "http://127.0.0.1:<port>"

  void SetMode(VenueFormat venue, VenueMode mode);
  void SetLagSeconds(VenueFormat venue, int64_t lag_seconds);
  void SetGlitchPercent(VenueFormat venue, uint32_t percent);
  uint64_t requests(VenueFormat venue) const;  // requests answered so far (any outcome)

  // Plumbline symbol -> this venue's symbol (the SourceConfig::symbols a client needs).
  static std::map<std::string, std::string> VenueSymbols(VenueFormat venue);

  // The last price `venue` serves for `symbol` in normal mode at `now` (lag included), exactly as
  // printed in its body. NotFound for an unknown symbol.
  Result<Decimal> ServedPrice(VenueFormat venue, const std::string& symbol, int64_t now_unix_nanos) const;

  struct Impl;

 private:
  explicit VenueSim(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace plumbline::sim
