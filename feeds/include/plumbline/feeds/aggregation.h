// The exact core of aggregation: a weighted median with a Pyth-style confidence interval and
// outlier rejection around the median, over one symbol's fresh source quotes. Stateless; the
// round-to-round rules (quorum, clamping, sessions, tokens, publish reasons) live in
// plumbline/feeds/mark_engine.h. The rules are documented with examples in docs/oracle.md.
//
// Rules (all in exact integer arithmetic on the quotes' Decimal units at one common scale, so the
// result is a pure function of the inputs and never depends on the order they were given in):
//
//   Weights. Each source has a positive integer weight w (default 1). A weighted multiset counts
//   each value w times; "position i" below is an index into that expanded, sorted multiset.
//
//   Weighted median of a multiset of total weight W: W odd -> the value at position (W-1)/2;
//   W even -> the exact midpoint of the values at positions W/2-1 and W/2 (printed at the
//   smallest scale that holds it exactly: at most one digit more than the inputs).
//
//   Outlier rejection (before pricing). m = weighted median of the quotes' prices,
//   MAD = weighted median of |p - m|. A quote is an outlier when |p - m| > k * MAD AND
//   |p - m| > min_band * m (the band keeps a tight cluster from rejecting honest venues when
//   MAD is ~0). k = 0 disables rejection.
//
//   Price and confidence (Pyth). Each kept quote votes three times, p - c, p, p + c, each vote
//   with the quote's weight, where c is the quote's confidence (half the bid/ask spread when it
//   has both, its stated confidence, else 0). Over the votes (total weight V = 3 * sum w):
//   price = weighted median; p25 = value at position floor(V/4); p75 = value at position
//   V-1-floor(V/4); confidence = max(price - p25, p75 - price).
//   A price equal to a kept quote's price is printed exactly as that quote (the first such in
//   input order) printed it; any other price, and the confidence, with trailing zeros dropped down
//   to the smallest scale among the kept quotes' prices.
//   Pyth's published examples hold: 100+-10 -> 100+-10; with 200+-20 -> 145+-55; with 300+-30
//   -> 200+-90; with 400+-40 -> 245+-85 (tests/vectors/aggregation/).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "plumbline/decimal.h"
#include "plumbline/market.h"
#include "plumbline/status.h"

namespace plumbline::feeds {

struct Quote {
  std::string_view source;  // borrowed: names the quote in errors only
  Decimal price;        // > 0
  Decimal confidence;   // >= 0, half-width
  uint32_t weight = 1;  // >= 1
};

struct OutlierRule {
  Decimal mad_k = Decimal::FromInt(5);                  // 0 disables rejection
  Decimal min_band = Decimal::Parse("0.001").value();   // fraction of the median (10 bp)
};

struct Aggregated {
  Decimal price;
  Decimal confidence;
  std::vector<size_t> kept;       // indices into the input, ascending
  std::vector<size_t> outliers;   // indices into the input, ascending
};

namespace detail {
// SpreadConfidence beyond its inline usual case (checks, errors, mixed scales).
Result<Decimal> SpreadConfidenceGeneral(const Observation& observation);
}  // namespace detail

// The confidence a quote carries: half its bid/ask spread when it has both (exact: at most one
// digit more than the inputs), else 0. InvalidArgument when bid > ask or either is not positive;
// OutOfRange when half the spread needs a 31st decimal or a 37th digit. Inline for its usual
// case (a round asks it of every observation): both at one scale, 0 < bid <= ask.
inline Result<Decimal> SpreadConfidence(const Observation& observation) {
  if (!observation.bid || !observation.ask) return Decimal();
  const Decimal& bid = *observation.bid;
  const Decimal& ask = *observation.ask;
  if (bid.scale() == ask.scale() && bid.is_positive() && bid.units() <= ask.units()) {
    const __int128 spread = ask.units() - bid.units();  // below the ask: within 36 digits
    const __int128 odd_limit = static_cast<__int128>(200'000'000'000'000'000) * 1'000'000'000'000'000'000;  // 2e35
    if (spread % 2 == 0) return Decimal::FromUnitsInRange(spread / 2, ask.scale());
    if (ask.scale() < Decimal::kMaxScale && spread < odd_limit) {
      return Decimal::FromUnitsInRange(spread * 5, ask.scale() + 1);  // 5 x spread: within 36 digits
    }
  }
  return detail::SpreadConfidenceGeneral(observation);
}

// Aggregates `quotes` (at least one). InvalidArgument on a non-positive price, negative
// confidence, zero weight or an empty input; OutOfRange if the values cannot be brought to one
// scale within 36 digits; FailedPrecondition when every quote is an outlier (possible only with
// mad_k below 1).
Result<Aggregated> AggregateQuotes(const std::vector<Quote>& quotes, const OutlierRule& rule);

// The same, into `out` (its vectors are cleared and reused, so a caller aggregating many symbols
// allocates nothing per symbol). On error `out` is unspecified. Values that fit 2^59 units at the
// common scale (every realistic price) run on 64-bit integers, larger ones on 128-bit; up to 16
// quotes of weight 1 (the round's usual symbol) take a branch-free path of comparator networks.
// The same rules and results on every path (aggregation_test.cc checks them against each other).
Status AggregateQuotesInto(std::span<const Quote> quotes, const OutlierRule& rule, Aggregated* out);

namespace detail {
// AggregateQuotesInto on the 128-bit path whatever the values' size (tests check both agree).
Status AggregateQuotesWide(std::span<const Quote> quotes, const OutlierRule& rule, Aggregated* out);
// AggregateQuotesInto without its unit-weight fast path (up to 16 quotes of weight 1: a sorting
// network and merges instead of weighted multisets); tests check the two agree.
Status AggregateQuotesGeneral(std::span<const Quote> quotes, const OutlierRule& rule, Aggregated* out);
}  // namespace detail

// |a - b| > fraction x b (or >= when `inclusive`), exactly, for b > 0 and fraction >= 0. Integer
// arithmetic only (the per-round clamp and deviation checks run for every symbol every round).
bool RelativeMoveExceeds(const Decimal& a, const Decimal& b, const Decimal& fraction, bool inclusive);

}  // namespace plumbline::feeds
