// Market data values shared by feeds/ (which produces them) and attest/ (which signs them).
//
// Times are integer Unix nanoseconds (UTC). Prices are exact Decimals in the quote currency.
// Plain values; thread safety is the holder's concern.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <string_view>
#include <string>
#include <utility>
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

// An immutable array of observations shared without copying (ObservationBook keeps each
// symbol's observations in one and replaces it on write; nothing changes it while shared).
using SharedObservations = std::shared_ptr<const std::vector<Observation>>;

// The observations that made a mark's price, in source-name order. Either owned (a plain vector:
// decoded and hand-built marks) or shared: the entries of a SharedObservations array at the set
// bits of a 64-bit mask (bit i = entry i), so a round's marks copy no observation. Reading is the
// same either way; any non-const access first turns a shared one into an owned copy. Copying a
// shared one copies a reference. Thread safety: as a std::vector (the shared array never changes).
class Contributions {
 public:
  using value_type = Observation;
  using size_type = size_t;
  using iterator = std::vector<Observation>::iterator;
  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Observation;
    using difference_type = std::ptrdiff_t;
    using pointer = const Observation*;
    using reference = const Observation&;
    const_iterator() = default;
    reference operator*() const { return shared_ ? base_[std::countr_zero(mask_)] : *base_; }
    pointer operator->() const { return &**this; }
    const_iterator& operator++() {
      if (shared_) mask_ &= mask_ - 1; else ++base_;
      return *this;
    }
    const_iterator operator++(int) { const_iterator old = *this; ++*this; return old; }
    bool operator==(const const_iterator& o) const { return base_ == o.base_ && mask_ == o.mask_; }

   private:
    friend class Contributions;
    const_iterator(const Observation* base, uint64_t mask, bool shared) : base_(base), mask_(mask), shared_(shared) {}
    const Observation* base_ = nullptr;  // shared: the array; owned: the current element
    uint64_t mask_ = 0;                  // shared: entries still to visit, lowest first
    bool shared_ = false;
  };

  Contributions() = default;
  Contributions(std::vector<Observation> owned) : owned_(std::move(owned)) {}  // implicit
  Contributions(std::initializer_list<Observation> owned) : owned_(owned) {}
  // Entries of `all` at the set bits of `kept`; bits beyond all->size() must be clear.
  Contributions(SharedObservations all, uint64_t kept) : shared_(std::move(all)), kept_(kept) {}

  size_t size() const { return shared_ ? static_cast<size_t>(std::popcount(kept_)) : owned_.size(); }
  bool empty() const { return size() == 0; }
  const Observation& operator[](size_t i) const {
    if (!shared_) return owned_[i];
    uint64_t m = kept_;
    for (; i > 0; --i) m &= m - 1;
    return (*shared_)[std::countr_zero(m)];
  }
  const Observation& front() const { return (*this)[0]; }
  const Observation& back() const { return (*this)[size() - 1]; }
  const_iterator begin() const {
    return shared_ ? const_iterator(shared_->data(), kept_, true) : const_iterator(owned_.data(), 0, false);
  }
  const_iterator end() const {
    return shared_ ? const_iterator(shared_->data(), 0, true)
                   : const_iterator(owned_.data() + owned_.size(), 0, false);
  }
  const_iterator cbegin() const { return begin(); }
  const_iterator cend() const { return end(); }
  bool is_shared() const { return shared_ != nullptr; }

  // Mutation (owned first).
  Observation& operator[](size_t i) { return Own()[i]; }
  iterator begin() { return Own().begin(); }
  iterator end() { return Own().end(); }
  void push_back(Observation o) { Own().push_back(std::move(o)); }
  void reserve(size_t n) { Own().reserve(n); }
  void clear() {
    shared_.reset();
    kept_ = 0;
    owned_.clear();
  }

 private:
  std::vector<Observation>& Own() {
    if (shared_) {
      std::vector<Observation> copy;
      copy.reserve(size());
      for (const_iterator it = std::as_const(*this).begin(); it != std::as_const(*this).end(); ++it) copy.push_back(*it);
      owned_ = std::move(copy);
      shared_.reset();
      kept_ = 0;
    }
    return owned_;
  }
  std::vector<Observation> owned_;
  SharedObservations shared_;
  uint64_t kept_ = 0;
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
  // Every member has an initializer. User-provided so that `Mark()` (a vector of them) does not
  // first clear all 720 bytes: a round writes 5,000 marks, and the absent token's bytes need no
  // writing at all.
  Mark() {}
  std::string symbol;
  MarkStatus status = MarkStatus::kInsufficientSources;
  std::optional<Decimal> price;             // present only when status == kOk; never a stale value
  std::optional<int64_t> newest_observation_unix_nanos;  // newest contributing (or, if none
                                                         // contributes, newest seen) observation
  uint32_t quorum = 3;                      // fresh sources required
  Contributions contributions;              // fresh observations that made the price, by source name
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
