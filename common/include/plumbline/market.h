// Market data values shared by feeds/ (which produces them) and attest/ (which signs them).
//
// Times are integer Unix nanoseconds (UTC). Prices are exact Decimals in the quote currency.
// Plain values; thread safety is the holder's concern.
#pragma once

#include <cstdint>
#include <optional>
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
};

// Stable wire name: "ok", "stale", "insufficient_sources".
const char* MarkStatusName(MarkStatus status);
std::optional<MarkStatus> ParseMarkStatus(std::string_view name);

// The aggregated price of one symbol in one publish round.
struct Mark {
  std::string symbol;
  MarkStatus status = MarkStatus::kInsufficientSources;
  std::optional<Decimal> price;             // present only when status == kOk; never a stale value
  std::optional<int64_t> newest_observation_unix_nanos;  // newest contributing (or, if none
                                                         // contributes, newest seen) observation
  uint32_t quorum = 3;                      // fresh sources required
  std::vector<Observation> contributions;   // fresh observations that made the price, by source name
};

}  // namespace plumbline
