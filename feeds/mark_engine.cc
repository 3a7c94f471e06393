#include "plumbline/feeds/mark_engine.h"

#include <malloc.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <set>
#include <string_view>

#include "plumbline/clock.h"
#include "same_text.h"

namespace plumbline::feeds {
namespace {

constexpr int kTokenScale = 8;  // fraction digits of theoretical prices before normalising
constexpr int kBasisScale = 6;
constexpr size_t kSessions = static_cast<size_t>(Session::kClosed) + 1;

bool MovedBeyond(const Decimal& a, const Decimal& b, const Decimal& fraction) {
  return RelativeMoveExceeds(a, b, fraction, /*inclusive=*/false);
}

bool MovedAtLeast(const Decimal& a, const Decimal& b, const Decimal& fraction) {
  return RelativeMoveExceeds(a, b, fraction, /*inclusive=*/true);
}

std::optional<Decimal> Widen(const Decimal& confidence, const Decimal& factor) {
  const int scale = std::min(Decimal::kMaxScale, confidence.scale() + factor.scale());
  Result<Decimal> r = Decimal::Mul(confidence, factor, scale, Rounding::kCeiling);
  if (!r.ok()) return std::nullopt;
  return r->Normalized(confidence.scale());
}

// A copy of `d` read as two 64-bit halves. A Decimal just returned in a Result was stored as two
// halves; the compiler's one 128-bit load of it cannot be forwarded from those stores and waits
// for them to reach the cache (~15 cycles, 40,000 times a round). The empty asm keeps the halves
// in registers.
Decimal CopyByHalves(const Decimal& d) {
  const auto u = static_cast<unsigned __int128>(d.units());
  uint64_t lo = static_cast<uint64_t>(u), hi = static_cast<uint64_t>(u >> 64);
  asm("" : "+r"(lo), "+r"(hi));
  return Decimal::FromUnitsInRange(static_cast<__int128>((static_cast<unsigned __int128>(hi) << 64) | lo), d.scale());
}

// SpreadConfidence(o) for the usual quote, inline (a round prices 40,000 of them): without a bid
// or an ask 0; with both at one scale below the maximum, 0 < bid <= ask and a spread under 2^62
// units, half the spread, exact (one more digit when the spread is odd). False = another case:
// ask SpreadConfidence, which defines the value (and the errors) for every quote.
[[gnu::always_inline]] inline bool UsualSpreadConfidence(const Observation& o, Decimal* out) {
  if (!o.bid || !o.ask) {
    *out = Decimal();
    return true;
  }
  const Decimal& bid = *o.bid;
  const Decimal& ask = *o.ask;
  if (bid.scale() != ask.scale() || bid.scale() >= Decimal::kMaxScale || !bid.is_positive() ||
      bid.units() > ask.units() || ask.units() - bid.units() >= (__int128{1} << 62)) {
    return false;
  }
  const int64_t twice = static_cast<int64_t>(ask.units() - bid.units());  // in [0, 2^62)
  *out = twice % 2 == 0 ? Decimal::FromUnitsInRange(twice / 2, bid.scale())
                        : Decimal::FromUnitsInRange(__int128{twice} * 5, bid.scale() + 1);
  return true;
}

}  // namespace

void KeepRoundMemory() {
  // Fixed thresholds (this also stops glibc's dynamic mmap threshold from moving): blocks up to
  // 32 MB come from the heap, and the heap keeps up to 256 MB of free top instead of trimming it.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

struct MarkEngine::SymbolState {
  std::optional<Decimal> accepted_price;  // last ok price: the base of the move bound
  uint32_t pending = 0;                   // consecutive rounds beyond the bound
  int pending_sign = 0;
  std::optional<Decimal> last_regular_price;
  std::optional<int64_t> last_regular_time;
  std::optional<MarkStatus> last_status;
  std::optional<Decimal> last_update_price;
  int64_t last_update_time = 0;
  // The policy's lookups, resolved once at Create: weight by source index (empty = all 1) and the
  // max age per session in nanoseconds (INT64_MAX = the sources' own only).
  std::vector<uint32_t> weights;
  std::array<int64_t, kSessions> session_age;
  TextKey symbol;  // the policy's symbol, to check each observation's
};

struct MarkEngine::Scratch {
  std::vector<std::pair<std::string_view, const Observation*>> named;  // the general case's sort
  std::vector<Quote> quotes;    // sized for the most observations a symbol had (never shrunk)
  std::vector<uint32_t> fresh;  // as many
  Aggregated agg;
};

MarkEngine::~MarkEngine() = default;

Result<std::unique_ptr<MarkEngine>> MarkEngine::Create(std::vector<SymbolPolicy> symbols,
                                                       std::map<std::string, int64_t> max_age_nanos_by_source,
                                                       std::shared_ptr<const EquityCalendar> calendar) {
  std::unique_ptr<MarkEngine> e(new MarkEngine());
  std::map<std::string, AssetClass> classes;
  for (const SymbolPolicy& p : symbols) classes[p.symbol] = p.asset_class;
  for (const SymbolPolicy& p : symbols) {
    if (p.asset_class != AssetClass::kCrypto && calendar == nullptr) {
      return Status::InvalidArgument("symbol " + p.symbol + " is " + AssetClassName(p.asset_class) +
                                     " but no equity calendar is configured");
    }
    if ((p.asset_class == AssetClass::kToken) != p.token.has_value()) {
      return Status::InvalidArgument("symbol " + p.symbol + ": token settings go with asset class token");
    }
    if (p.token) {
      auto it = classes.find(p.token->underlying);
      if (it == classes.end() || it->second != AssetClass::kEquity) {
        return Status::InvalidArgument("symbol " + p.symbol + ": underlying '" + p.token->underlying +
                                       "' is not a configured equity symbol");
      }
    }
  }
  e->symbols_ = std::move(symbols);
  for (auto& [name, age] : max_age_nanos_by_source) {  // a std::map: sorted, unique
    e->source_names_.push_back(name);
    e->source_ages_.push_back(age);
  }
  for (const std::string& name : e->source_names_) e->source_keys_.emplace_back(name);
  e->calendar_ = std::move(calendar);
  e->scratch_ = std::make_unique<Scratch>();
  e->halted_ = std::make_unique<std::atomic<bool>[]>(e->symbols_.size());
  e->state_.resize(e->symbols_.size());
  for (size_t i = 0; i < e->symbols_.size(); ++i) {
    const SymbolPolicy& p = e->symbols_[i];
    SymbolState& st = e->state_[i];
    e->halted_[i] = p.halted;
    if (p.asset_class != AssetClass::kToken) e->order_.push_back(i);
    if (p.asset_class != AssetClass::kCrypto) e->needs_session_ = true;
    if (!p.weights.empty()) {
      for (const std::string& name : e->source_names_) {
        auto w = p.weights.find(name);
        st.weights.push_back(w == p.weights.end() ? 1 : w->second);
      }
    }
    st.symbol = TextKey(p.symbol);
    st.session_age.fill(INT64_MAX);
    for (const auto& [session, ms] : p.session_max_age_ms) {
      st.session_age[static_cast<size_t>(session)] = ms * kNanosPerMilli;
    }
  }
  for (size_t i = 0; i < e->symbols_.size(); ++i) {
    if (e->symbols_[i].asset_class == AssetClass::kToken) e->order_.push_back(i);
  }
  // Each token's underlying, resolved once (the last equity of that name, as configured).
  std::map<std::string_view, size_t> equity_index;
  for (size_t i = 0; i < e->symbols_.size(); ++i) {
    if (e->symbols_[i].asset_class == AssetClass::kEquity) equity_index[e->symbols_[i].symbol] = i;
  }
  e->underlying_.assign(e->symbols_.size(), SIZE_MAX);
  for (size_t i = 0; i < e->symbols_.size(); ++i) {
    if (e->symbols_[i].token) e->underlying_[i] = equity_index.at(e->symbols_[i].token->underlying);
  }
  return e;
}

Status MarkEngine::SetHalted(const std::string& symbol, bool halted) {
  for (size_t i = 0; i < symbols_.size(); ++i) {
    if (symbols_[i].symbol == symbol) {
      halted_[i] = halted;
      return Status::Ok();
    }
  }
  return Status::NotFound("no symbol " + symbol);
}

bool MarkEngine::halted(const std::string& symbol) const {
  for (size_t i = 0; i < symbols_.size(); ++i) {
    if (symbols_[i].symbol == symbol) return halted_[i].load();
  }
  return false;
}

void MarkEngine::Aggregate(size_t index, Lent& lent, int64_t session_age, int64_t now, Mark& out) {
  const SymbolPolicy& policy = symbols_[index];
  const SymbolState& st = state_[index];
  Scratch& s = *scratch_;
  const std::span<const Observation> observations = lent.observations;
  if (s.quotes.size() < observations.size()) {
    s.quotes.resize(observations.size());
    s.fresh.resize(observations.size());
  }
  // Plain arrays and a local count (vectors' ends would be reloaded after every call).
  Quote* const quotes_at = s.quotes.data();
  uint32_t* const fresh = s.fresh.data();  // quotes_at[i] is observations[fresh[i]]'s
  size_t fresh_count = 0;
  uint64_t fresh_mask = 0;      // bit k: observations[k] is fresh (k < 64)
  int64_t fresh_newest = INT64_MIN;
  bool seen = false;
  int64_t newest_seen = 0;
  // Counts observations[k] of configured source `source` (kUnknown: not configured, never
  // fresh): one per source, in source-name order.
  constexpr size_t kUnknown = SIZE_MAX;
  auto consider = [&](size_t k, size_t source) __attribute__((always_inline)) {
    const Observation& o = observations[k];
    if (!seen || o.observed_unix_nanos > newest_seen) newest_seen = o.observed_unix_nanos;
    seen = true;
    if (source == kUnknown) return;
    const int64_t bound = std::min(session_age, source_ages_[source]);
    const int64_t delta = now - o.observed_unix_nanos;
    // Same bound both ways: a source clock far ahead is as untrustworthy as an old reading.
    if (delta > bound || -delta > bound) return;
    if (!o.price.is_positive()) return;
    Quote& q = quotes_at[fresh_count];
    if (!UsualSpreadConfidence(o, &q.confidence)) {
      Result<Decimal> conf = SpreadConfidence(o);
      if (!conf.ok()) return;  // crossed or non-positive book: not a usable quote
      q.confidence = CopyByHalves(*conf);
    }
    q.source = o.source;
    q.price = o.price;
    q.weight = st.weights.empty() ? 1 : st.weights[source];
    fresh[fresh_count++] = static_cast<uint32_t>(k);
    if (k < 64) fresh_mask |= uint64_t{1} << k;
    fresh_newest = std::max(fresh_newest, o.observed_unix_nanos);
  };
  // One observation per source (the newest), so duplicates cannot vote twice; sorted by source.
  // The usual case (what ObservationBook gives): all of this symbol, one per configured source,
  // sorted by name - checked by matching each source against the configured ones in order, so
  // strictly ascending indices also prove the order.
  bool unique_sorted = true;
  size_t counted = 0;  // observations counted (one per source)
  {
    size_t j = 0;
    const size_t sources = source_names_.size();
    const TextKey* const source_keys = source_keys_.data();
    for (size_t k = 0; k < observations.size(); ++k) {
      const Observation& o = observations[k];
      if (!st.symbol.Matches(o.symbol)) {
        unique_sorted = false;
        break;
      }
      while (j < sources && !source_keys[j].Matches(o.source)) ++j;
      if (j == sources) {
        unique_sorted = false;
        break;
      }
      consider(k, j++);
    }
    counted = observations.size();
  }
  if (!unique_sorted) {
    // Any other input: start again. Other symbols' entries dropped, sorted by name, the newest
    // per source.
    fresh_count = 0;
    fresh_mask = 0;
    fresh_newest = INT64_MIN;
    seen = false;
    auto& named = s.named;
    named.clear();
    for (const Observation& o : observations) {
      if (o.symbol == policy.symbol) named.emplace_back(o.source, &o);
    }
    auto by_name = [](const auto& x, const auto& y) { return x.first < y.first; };
    // One comparison per neighbour pair: strictly ascending means sorted and without duplicates.
    unique_sorted =
        std::adjacent_find(named.begin(), named.end(),
                           [](const auto& x, const auto& y) { return !(x.first < y.first); }) == named.end();
    if (!unique_sorted && !std::is_sorted(named.begin(), named.end(), by_name)) {
      std::stable_sort(named.begin(), named.end(), by_name);
    }
    size_t w = unique_sorted ? named.size() : 0;
    for (size_t r = w; r < named.size(); ++r) {
      if (w > 0 && named[w - 1].first == named[r].first) {
        if (named[r].second->observed_unix_nanos > named[w - 1].second->observed_unix_nanos) {
          named[w - 1] = named[r];
        }
      } else {
        named[w++] = named[r];
      }
    }
    named.resize(w);
    for (const auto& [name, o] : named) {
      auto it = std::lower_bound(source_names_.begin(), source_names_.end(), name,
                                 [](const std::string& e, std::string_view n) { return e < n; });
      const bool known = it != source_names_.end() && *it == name;
      consider(static_cast<size_t>(o - observations.data()),
               known ? static_cast<size_t>(it - source_names_.begin()) : kUnknown);
    }
    counted = named.size();
  }
  if (seen) out.newest_observation_unix_nanos = newest_seen;
  const std::span<const Quote> quotes(quotes_at, fresh_count);
  const size_t needed = std::max<uint32_t>(policy.quorum, 1);
  if (fresh_count < needed) {
    out.status = counted >= needed ? MarkStatus::kStale : MarkStatus::kInsufficientSources;
    return;
  }
  Aggregated& agg = s.agg;  // its vectors are reused from symbol to symbol
  if (!AggregateQuotesInto(quotes, policy.outliers, &agg).ok() || !agg.price.is_positive()) {
    out.status = MarkStatus::kInsufficientSources;
    return;
  }
  if (!agg.outliers.empty()) {
    out.outliers.reserve(agg.outliers.size());
    for (size_t i : agg.outliers) out.outliers.emplace_back(quotes[i].source);
  }
  // The quorum counts fresh sources; the kept (non-outlier) ones must be a strict majority of
  // them, or there is no consensus to publish.
  if (agg.kept.size() * 2 <= fresh_count) {
    out.status = MarkStatus::kInsufficientSources;
    return;
  }
  out.status = MarkStatus::kOk;
  out.price = agg.price;
  out.confidence = agg.confidence;
  // Usually every fresh quote is kept (no outliers): then the fresh ones' figures are the kept ones'.
  const bool all_kept = agg.kept.size() == fresh_count;
  int64_t newest = fresh_newest;
  if (!all_kept) {
    newest = observations[fresh[agg.kept.front()]].observed_unix_nanos;
    for (size_t i : agg.kept) newest = std::max(newest, observations[fresh[i]].observed_unix_nanos);
  }
  out.newest_observation_unix_nanos = newest;
  // Over a shared array in source order (the book's), the mark points at its kept entries:
  // fresh (and so kept, ascending) follow the array's order, which the mask iterates in.
  if (lent.shared != nullptr && unique_sorted && observations.size() <= 64 &&
      observations.data() == lent.shared->data()) {
    uint64_t mask = all_kept ? fresh_mask : 0;
    if (!all_kept) {
      for (size_t i : agg.kept) mask |= uint64_t{1} << fresh[i];
    }
    out.contributions = Contributions(std::move(lent.shared), mask);  // the round's reference
    return;
  }
  // Otherwise the only copies of the round: the kept observations, into the mark (by source name).
  std::vector<Observation> kept;
  kept.reserve(agg.kept.size());
  for (size_t i : agg.kept) kept.push_back(observations[fresh[i]]);
  out.contributions = std::move(kept);
}

namespace {

// The token block's configured part (a halted token mark carries only this).
TokenQuote ConfiguredTokenQuote(const TokenPolicy& tp, int64_t now) {
  TokenQuote tq;
  tq.underlying = tp.underlying;
  tq.basis_bound = tp.basis_bound;
  tq.multiplier = tp.multiplier.At(now).ToString();
  if (tp.multiplier.next) {
    tq.next_multiplier = tp.multiplier.next->ToString();
    tq.multiplier_activation_unix_nanos = tp.multiplier.activation_unix_nanos;
  }
  return tq;
}

}  // namespace

void MarkEngine::Build(size_t index, Lent& lent, const std::vector<Mark>& marks, int64_t now,
                       std::optional<Session> round_session, Mark& mark) {
  const SymbolPolicy& policy = symbols_[index];
  SymbolState& st = state_[index];
  mark.symbol = policy.symbol;
  mark.quorum = policy.quorum;
  mark.asset_class = policy.asset_class;
  // Equity and token marks carry the round's session (set: such a symbol needs a calendar). Kept
  // as a plain value: an optional<Session> is assembled on the stack in pieces and read back
  // whole, which stalls on every use.
  const bool has_session = policy.asset_class != AssetClass::kCrypto;
  const Session session = has_session ? *round_session : Session::kClosed;  // read only if has_session
  if (has_session) mark.session = session;  // (a fresh mark has none)

  if (lent.halted) {
    mark.status = MarkStatus::kHalted;
    // A token mark always carries its token block (the snapshot format requires it): what the
    // configuration says, no prices.
    if (policy.token) mark.token = ConfiguredTokenQuote(*policy.token, now);
  } else {
    const int64_t session_age = has_session ? state_[index].session_age[static_cast<size_t>(session)] : INT64_MAX;
    Aggregate(index, lent, session_age, now, mark);

    if (policy.token) {
      const TokenPolicy& tp = *policy.token;
      TokenQuote tq = ConfiguredTokenQuote(tp, now);
      const Multiplier& m = tp.multiplier.At(now);
      tq.venue_price = mark.price;  // the venues' own median (or none)
      const Mark* under = &marks[underlying_[index]];  // built earlier this round (order_)
      const bool under_live = under != nullptr && under->status == MarkStatus::kOk;
      if (under != nullptr && under->price) {
        tq.underlying_price = under->price;
        const int scale = std::max(kTokenScale, under->price->scale());
        Result<Decimal> theo = m.Apply(*under->price, scale, Rounding::kFloor);
        if (theo.ok()) tq.theoretical_price = theo->Normalized(under->price->scale());
      }
      if (tq.venue_price && tq.theoretical_price && tq.theoretical_price->is_positive()) {
        Result<Decimal> diff = Decimal::Sub(*tq.venue_price, *tq.theoretical_price);
        if (diff.ok()) {
          Result<Decimal> basis = Decimal::Div(*diff, *tq.theoretical_price, kBasisScale, Rounding::kHalfEven);
          if (basis.ok()) {
            tq.basis = *basis;
            tq.basis_exceeded = basis->Abs() > tp.basis_bound;
          }
        }
      }
      if (session == Session::kRegular && under_live && tq.theoretical_price) {
        // Regular session: the underlying leads.
        mark.status = MarkStatus::kOk;
        mark.price = tq.theoretical_price;
        mark.confidence.reset();
        if (under->confidence) {
          Result<Decimal> c = m.Apply(*under->confidence, std::max(kTokenScale, under->confidence->scale()),
                                      Rounding::kCeiling);
          if (c.ok()) mark.confidence = c->Normalized(under->confidence->scale());
        }
        if (!mark.newest_observation_unix_nanos ||
            (under->newest_observation_unix_nanos &&
             *under->newest_observation_unix_nanos > *mark.newest_observation_unix_nanos)) {
          mark.newest_observation_unix_nanos = under->newest_observation_unix_nanos;
        }
      } else if (mark.status == MarkStatus::kOk && mark.confidence) {
        // Outside the regular session (or without a live underlying) the venues lead, less sure.
        mark.confidence = Widen(*mark.confidence, tp.off_session_confidence_factor);
      }
      mark.token = std::move(tq);
    } else if (policy.asset_class == AssetClass::kEquity &&
               (session == Session::kClosed || (session != Session::kRegular && mark.status != MarkStatus::kOk))) {
      // A closed market is not an outage: carry the last regular price and its time.
      mark.status = MarkStatus::kMarketClosed;
      mark.price = st.last_regular_price;
      mark.price_unix_nanos = st.last_regular_time;
      mark.confidence.reset();
      mark.contributions.clear();
    }

    // Move bound.
    if (mark.status == MarkStatus::kOk && policy.max_move.is_positive() && st.accepted_price &&
        MovedBeyond(*mark.price, *st.accepted_price, policy.max_move)) {
      const int sign = *mark.price > *st.accepted_price ? 1 : -1;
      st.pending = (st.pending > 0 && st.pending_sign == sign) ? st.pending + 1 : 1;
      st.pending_sign = sign;
      if (st.pending < policy.confirm_rounds) {
        mark.status = MarkStatus::kClamped;
        mark.proposed_price = mark.price;
        mark.price = st.accepted_price;
      }
    } else if (mark.status == MarkStatus::kOk) {
      st.pending = 0;
    }
    if (mark.status == MarkStatus::kOk) {
      st.pending = 0;
      st.accepted_price = mark.price;
      if (policy.asset_class == AssetClass::kEquity && session == Session::kRegular) {
        st.last_regular_price = mark.price;
        st.last_regular_time = mark.newest_observation_unix_nanos;
      }
    }
  }
  if (mark.status != MarkStatus::kOk && mark.status != MarkStatus::kClamped &&
      mark.status != MarkStatus::kMarketClosed) {
    mark.price.reset();
    mark.confidence.reset();
  }

  // Publish reason.
  if (!st.last_status) {
    mark.publish_reason = PublishReason::kInitial;
  } else if (*st.last_status != mark.status) {
    mark.publish_reason = PublishReason::kStatusChange;
  } else if (mark.price && st.last_update_price && st.last_update_price->is_positive() &&
             MovedAtLeast(*mark.price, *st.last_update_price, policy.deviation)) {
    mark.publish_reason = PublishReason::kDeviation;
  } else if (now - st.last_update_time >= policy.heartbeat_ms * kNanosPerMilli) {
    mark.publish_reason = PublishReason::kHeartbeat;
  } else {
    mark.publish_reason = PublishReason::kUnchanged;
  }
  if (mark.publish_reason != PublishReason::kUnchanged) {
    st.last_update_price = mark.price;
    st.last_update_time = now;
  }
  st.last_status = mark.status;
}

std::vector<Mark> MarkEngine::Round(const Lookup& latest, int64_t now) {
  std::deque<std::vector<Observation>> held;  // lent spans live to the end of the round
  return RoundLent(
      [&](const std::string& symbol) {
        held.push_back(latest(symbol));
        return std::span<const Observation>(held.back());
      },
      now);
}

std::vector<Mark> MarkEngine::RoundLent(const Lend& latest, int64_t now) {
  return RoundOver([&](const std::string& symbol) { return Lent{false, latest(symbol), nullptr}; }, now);
}

std::vector<Mark> MarkEngine::RoundShared(const Share& latest, int64_t now) {
  return RoundOver(
      [&](const std::string& symbol) {
        Lent lent{false, {}, latest(symbol)};
        if (lent.shared != nullptr) lent.observations = *lent.shared;
        return lent;
      },
      now);
}

template <typename LendFn>
std::vector<Mark> MarkEngine::RoundOver(const LendFn& lend_one, int64_t now) {
  // Each mark is constructed just before it is built, while its memory is in cache (the round
  // writes every mark once instead of clearing them all first); a token's mark, built after
  // every non-token one, waits default-constructed meanwhile.
  std::vector<Mark> marks;
  marks.reserve(symbols_.size());
  // The session is a function of the round's time alone: asked once.
  std::optional<Session> session;
  if (needs_session_) session = calendar_->SessionAt(now);
  // A round is bound by memory reads (5,000 symbols x 8 observations are ~8 MB), so it looks one
  // symbol ahead: lends the next symbol's observations and prefetches them while this one is
  // built. Each symbol is still lent once, in order_, and a halted one not at all.
  auto lend = [&](size_t i) {
    Lent next;
    next.halted = halted_[i].load();
    if (!next.halted) {
      next = lend_one(symbols_[i].symbol);
      const char* p = reinterpret_cast<const char*>(next.observations.data());
      const char* end = p + next.observations.size_bytes();
      for (; p + 3 * 64 < end; p += 4 * 64) {  // (unrolled: ~26 lines a symbol)
        __builtin_prefetch(p);
        __builtin_prefetch(p + 64);
        __builtin_prefetch(p + 2 * 64);
        __builtin_prefetch(p + 3 * 64);
      }
      for (; p < end; p += 64) __builtin_prefetch(p);
    }
    return next;
  };
  Lent current = order_.empty() ? Lent{} : lend(order_.front());
  for (size_t k = 0; k < order_.size(); ++k) {
    Lent next = k + 1 < order_.size() ? lend(order_[k + 1]) : Lent{};
    const size_t i = order_[k];
    while (marks.size() <= i) marks.emplace_back();  // order_ ascends until the tokens
    Build(i, current, marks, now, session, marks[i]);  // each mark built in place
    current = std::move(next);
  }
  return marks;
}

void MarkEngine::Seed(const std::vector<Mark>& marks, int64_t snapshot_unix_nanos) {
  for (const Mark& m : marks) {
    for (size_t i = 0; i < symbols_.size(); ++i) {
      if (symbols_[i].symbol != m.symbol) continue;
      SymbolState& st = state_[i];
      st.last_status = m.status;
      st.last_update_price = m.price;
      st.last_update_time = snapshot_unix_nanos;
      if (m.status == MarkStatus::kOk || m.status == MarkStatus::kClamped) st.accepted_price = m.price;
      if (m.status == MarkStatus::kMarketClosed) {
        st.last_regular_price = m.price;
        st.last_regular_time = m.price_unix_nanos;
      } else if (m.status == MarkStatus::kOk && m.session == Session::kRegular &&
                 symbols_[i].asset_class == AssetClass::kEquity) {
        st.last_regular_price = m.price;
        st.last_regular_time = m.newest_observation_unix_nanos;
      }
    }
  }
}

}  // namespace plumbline::feeds
