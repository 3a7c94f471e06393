// Parsers for real public venue ticker formats. Prices are read from the literal JSON strings the
// venues publish into exact Decimals; a JSON number where a string belongs is an error, because
// its text could already have been rounded through binary floating point by the producer.
//
//   Kraken    GET {base}/0/public/Ticker?pair={PAIR}
//             {"error":[],"result":{"XXBTZUSD":{"a":["ask",..],"b":["bid",..],"c":["last","vol"],..}}}
//             No timestamp: observed time = receipt time.
//   Coinbase  GET {base}/products/{PRODUCT}/ticker   (Coinbase Exchange)
//             {"ask":"..","bid":"..","volume":"..","trade_id":1,"price":"..","size":"..",
//              "time":"2024-05-01T12:00:00.123456Z"}
//   Bitstamp  GET {base}/api/v2/ticker/{pair}/
//             {"timestamp":"1714564800","last":"..","bid":"..","ask":"..",..}
//   Binance   GET {base}/api/v3/ticker/24hr?symbol={SYMBOL}   (spot 24 h ticker)
//             {"symbol":"BTCUSDT","lastPrice":"..","bidPrice":"..","askPrice":"..",
//              "closeTime":1714564800123,..}     closeTime: Unix ms (JSON integer)
//   OKX       GET {base}/api/v5/market/ticker?instId={INST}   (v5 market ticker)
//             {"code":"0","msg":"","data":[{"instId":"BTC-USDT","last":"..","askPx":"..",
//              "bidPx":"..","ts":"1714564800123",..}]}   code != "0" is a venue error
//   Alpaca    GET {base}/v2/stocks/{SYMBOL}/snapshot   (market data v2 stock snapshot)
//             {"symbol":"AAPL","latestTrade":{"t":"2024-05-01T19:59:59.123456789Z","p":190.12,..},
//              "latestQuote":{"t":"..","bp":190.11,"ap":190.13,..},..}
//             price = latestTrade.p, time = latestTrade.t; bid/ask from latestQuote (a 0 bid or
//             ask means no quote on that side, and both are then omitted).
//   Polygon   GET {base}/v2/last/nbbo/{SYMBOL}   (last NBBO quote)
//             {"status":"OK","request_id":"..","results":{"T":"AAPL","p":190.11,"P":190.13,
//              "t":1714564799123456789,..}}    p = bid, P = ask, t = SIP time in Unix ns;
//             the quote has no trade price: price = the exact bid/ask midpoint.
//   Finnhub   GET {base}/api/v1/quote?symbol={SYMBOL}
//             {"c":190.12,"d":..,"dp":..,"h":..,"l":..,"o":..,"pc":..,"t":1714564799}
//             price = c (current), t = Unix seconds; no bid/ask. c = 0 and t = 0 is Finnhub's
//             answer for an unknown symbol, reported as an error.
// The equity formats publish prices as JSON numbers. They are read from the literal number text
// in the body (a SAX pass that never converts them to binary floating point), so "190.12" is
// exactly 190.12; an exponent form is refused. The crypto formats publish strings and a number
// there is still an error.
// Token pairs (tokenized stocks, e.g. AAPLx/USD) use whichever crypto venue format lists them.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "plumbline/market.h"
#include "plumbline/status.h"

namespace plumbline::feeds {

enum class VenueFormat { kKraken, kCoinbase, kBitstamp, kBinance, kOkx, kAlpaca, kPolygon, kFinnhub };

// "kraken", "coinbase", "bitstamp", "binance", "okx", "alpaca", "polygon", "finnhub".
const char* VenueFormatName(VenueFormat format);
Result<VenueFormat> ParseVenueFormat(std::string_view name);
// Every format name, quoted and comma-separated, for error messages.
std::string VenueFormatList();
// All formats, in declaration order.
const std::vector<VenueFormat>& AllVenueFormats();

// "2024-05-01T12:00:00.123456789Z" (UTC, 'Z', fraction of up to 9 digits optional) -> Unix ns,
// with integers only. InvalidArgument otherwise.
Result<int64_t> ParseRfc3339Utc(std::string_view text);

// Request path (with query) for one venue symbol, e.g. "/0/public/Ticker?pair=XBTUSD".
std::string TickerPath(VenueFormat format, std::string_view venue_symbol);

// Parses one ticker response body. Returns an Observation with price/bid/ask and
// observed_unix_nanos (venue time if the format has one, else received_unix_nanos; a venue time
// in the future of receipt is clamped to receipt) and received_unix_nanos set; source and symbol
// are left empty for the caller. Errors (InvalidArgument) say what is wrong: malformed or
// truncated JSON, a venue-reported error, a missing field, a price that is not a decimal string,
// a price that is zero or negative, bid > ask.
Result<Observation> ParseTicker(VenueFormat format, std::string_view body,
                                int64_t received_unix_nanos);

}  // namespace plumbline::feeds
