// Market data values shared by feeds/ (which produces them) and attest/ (which signs them).
//
// Times are integer Unix nanoseconds (UTC). Prices are exact Decimals in the quote currency.
// Plain values; thread safety is the holder's concern.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "plumbline/decimal.h"

namespace plumbline {

// One price reading of one symbol from one source.
struct Observation {
  std::string source;                // configured source name, e.g. "kraken"
  std::string symbol;                // Plumbline symbol, e.g. "BTC/USD"
  Decimal price;                     // last trade price as published by the source (> 0)
  std::optional<Decimal> bid;        // best bid, when the format has one
  std::optional<Decimal> ask;        // best ask, when the format has one
  int64_t observed_unix_nanos = 0;   // the source's own timestamp, or receipt time if it has none
  int64_t received_unix_nanos = 0;   // when Plumbline received it
};

enum class MarkStatus {
  kOk,                   // quorum of fresh sources; price is their median
  kStale,                // enough sources answered, but too few of them recently enough
  kInsufficientSources,  // fewer sources than the quorum have ever answered for this symbol
  // Snapshot v2 statuses (docs/oracle.md):
  kMarketClosed,  // equity market closed: price = last regular-session price, price_time its time
  kHalted,        // operator kill switch for this symbol: no price
  kClamped,       // the move exceeded the per-round bound: price = the held previous mark,
                  // proposed_price = this round's median, until later rounds confirm the move
};

// Stable wire name: "ok", "stale", "insufficient_sources", "market_closed", "halted", "clamped".
const char* MarkStatusName(MarkStatus status);
std::optional<MarkStatus> ParseMarkStatus(std::string_view name);

enum class AssetClass { kCrypto, kEquity, kToken };
const char* AssetClassName(AssetClass asset_class);  // "crypto", "equity", "token"
std::optional<AssetClass> ParseAssetClass(std::string_view name);

// US equity session (America/New_York): pre_market 04:00-09:30, regular 09:30-16:00 (13:00 on
// early-close days), post_market 16:00-20:00, overnight 20:00-04:00, closed on weekends/holidays.
enum class Session { kPreMarket, kRegular, kPostMarket, kOvernight, kClosed };
const char* SessionName(Session session);  // "pre_market", "regular", "post_market", ...
std::optional<Session> ParseSession(std::string_view name);

// Why this round's mark differs from (or repeats) the previous one (Chainlink-style triggers).
enum class PublishReason {
  kInitial,       // first mark of this symbol since start
  kDeviation,     // |price - last published| / last published >= the symbol's deviation threshold
  kHeartbeat,     // no deviation, but the heartbeat interval passed since the last update
  kStatusChange,  // status differs from the previous round's
  kUnchanged,     // none of the above: consumers may keep their previous value
};
const char* PublishReasonName(PublishReason reason);  // "initial", "deviation", "heartbeat", ...
std::optional<PublishReason> ParsePublishReason(std::string_view name);

// Token fields of a tokenized-stock mark (asset class token). See docs/oracle.md.
struct TokenQuote {
  std::string underlying;                       // the underlying's Plumbline symbol, e.g. "AAPL/USD"
  std::optional<Decimal> underlying_price;      // underlying mark (or last regular price) used
  std::optional<Decimal> venue_price;           // median of the token's own venue prices
  std::string multiplier;                       // Multiplier::ToString() in force at the round time
  std::optional<std::string> next_multiplier;   // staged change, if any
  std::optional<int64_t> multiplier_activation_unix_nanos;
  std::optional<Decimal> theoretical_price;     // underlying_price x multiplier
  std::optional<Decimal> basis;                 // (venue_price - theoretical) / theoretical
  Decimal basis_bound;                          // configured |basis| bound
  bool basis_exceeded = false;                  // |basis| > basis_bound
};

// The aggregated price of one symbol in one publish round.
struct Mark {
  std::string symbol;
  MarkStatus status = MarkStatus::kInsufficientSources;
  std::optional<Decimal> price;             // present only when status == kOk; never a stale value
  std::optional<int64_t> newest_observation_unix_nanos;  // newest contributing (or, if none
                                                         // contributes, newest seen) observation
  uint32_t quorum = 3;                      // fresh sources required
  std::vector<Observation> contributions;   // fresh observations that made the price, by source name
  // ---- snapshot v2 (absent from v1 documents; defaults below are what a v1 mark decodes to) --
  AssetClass asset_class = AssetClass::kCrypto;
  std::optional<Decimal> confidence;          // Pyth-style half-width around price
  std::optional<Session> session;             // equity and token marks only
  PublishReason publish_reason = PublishReason::kInitial;
  std::optional<Decimal> proposed_price;      // kClamped: this round's median the bound held back
  std::optional<int64_t> price_unix_nanos;    // kMarketClosed: time of the last regular price
  std::vector<std::string> outliers;          // fresh sources rejected as outliers, sorted
  std::optional<TokenQuote> token;            // asset class token only
};

}  // namespace plumbline
