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
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "plumbline/market.h"
#include "plumbline/status.h"

namespace plumbline::feeds {

enum class VenueFormat { kKraken, kCoinbase, kBitstamp };

// "kraken", "coinbase", "bitstamp".
const char* VenueFormatName(VenueFormat format);
Result<VenueFormat> ParseVenueFormat(std::string_view name);

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
