#include "plumbline/feeds/mark_engine.h"

#include <malloc.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <set>
#include <string_view>

#include "plumbline/clock.h"

namespace plumbline::feeds {
namespace {

constexpr int kTokenScale = 8;  // fraction digits of theoretical prices before normalising
constexpr int kBasisScale = 6;

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
};

struct MarkEngine::Basic {
  MarkStatus status = MarkStatus::kInsufficientSources;
  std::optional<Decimal> price;
  std::optional<Decimal> confidence;
  std::optional<int64_t> newest;
  Contributions contributions;
  std::vector<std::string> outliers;
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
  e->max_age_ = std::move(max_age_nanos_by_source);
  e->max_age_sorted_.assign(e->max_age_.begin(), e->max_age_.end());
  e->calendar_ = std::move(calendar);
  e->halted_ = std::make_unique<std::atomic<bool>[]>(e->symbols_.size());
  for (size_t i = 0; i < e->symbols_.size(); ++i) {
    e->state_.push_back(std::make_unique<SymbolState>());
    e->halted_[i] = e->symbols_[i].halted;
    if (e->symbols_[i].asset_class != AssetClass::kToken) e->order_.push_back(i);
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

void MarkEngine::Aggregate(const SymbolPolicy& policy, std::span<const Observation> observations,
                           const SharedObservations& shared, std::optional<Session> session, int64_t now,
                           Basic& out) const {
  // One observation per source (the newest), so duplicates cannot vote twice; sorted by source.
  thread_local std::vector<std::pair<std::string_view, const Observation*>> by_source;
  by_source.clear();
  for (const Observation& o : observations) {
    if (o.symbol == policy.symbol) by_source.emplace_back(o.source, &o);
  }
  // ObservationBook::ForSymbol already gives them sorted and unique: only sort when not.
  auto by_name = [](const auto& x, const auto& y) { return x.first < y.first; };
  // One comparison per neighbour pair: strictly ascending means sorted and without duplicates.
  const bool unique_sorted =
      std::adjacent_find(by_source.begin(), by_source.end(),
                         [](const auto& x, const auto& y) { return !(x.first < y.first); }) == by_source.end();
  if (!unique_sorted && !std::is_sorted(by_source.begin(), by_source.end(), by_name)) {
    std::stable_sort(by_source.begin(), by_source.end(), by_name);
  }
  size_t w = unique_sorted ? by_source.size() : 0;
  for (size_t r = w; r < by_source.size(); ++r) {
    if (w > 0 && by_source[w - 1].first == by_source[r].first) {
      if (by_source[r].second->observed_unix_nanos > by_source[w - 1].second->observed_unix_nanos) {
        by_source[w - 1] = by_source[r];
      }
    } else {
      by_source[w++] = by_source[r];
    }
  }
  by_source.resize(w);
  std::optional<int64_t> session_age;
  if (session) {
    auto it = policy.session_max_age_ms.find(*session);
    if (it != policy.session_max_age_ms.end()) session_age = it->second * kNanosPerMilli;
  }
  // Per-thread scratch: a round aggregates thousands of symbols and should not allocate for each.
  thread_local std::vector<Quote> quotes;
  thread_local std::vector<const Observation*> fresh;
  quotes.clear();
  fresh.clear();
  // by_source and max_age_sorted_ are both sorted by name: walk them together, trying the next
  // configured source first (one comparison when, as usual, every source quotes the symbol).
  auto next_age = max_age_sorted_.begin();
  for (const auto& [source, o] : by_source) {
    if (!out.newest || o->observed_unix_nanos > *out.newest) out.newest = o->observed_unix_nanos;
    auto age = next_age;
    if (age == max_age_sorted_.end() || age->first != source) {
      age = std::lower_bound(next_age, max_age_sorted_.end(), source,
                             [](const auto& e, std::string_view name) { return e.first < name; });
    }
    next_age = age;
    if (age == max_age_sorted_.end() || age->first != source) continue;
    ++next_age;
    const int64_t bound = session_age ? std::min(*session_age, age->second) : age->second;
    const int64_t delta = now - o->observed_unix_nanos;
    // Same bound both ways: a source clock far ahead is as untrustworthy as an old reading.
    if (delta > bound || -delta > bound) continue;
    if (!o->price.is_positive()) continue;
    Result<Decimal> conf = SpreadConfidence(*o);
    if (!conf.ok()) continue;  // crossed or non-positive book: not a usable quote
    uint32_t weight = 1;
    if (!policy.weights.empty()) {
      auto wi = policy.weights.find(std::string(source));
      if (wi != policy.weights.end()) weight = wi->second;
    }
    quotes.push_back({source, o->price, *conf, weight});
    fresh.push_back(o);
  }
  const size_t needed = std::max<uint32_t>(policy.quorum, 1);
  if (fresh.size() < needed) {
    out.status = by_source.size() >= needed ? MarkStatus::kStale : MarkStatus::kInsufficientSources;
    return;
  }
  thread_local Aggregated agg;  // its vectors are reused from symbol to symbol
  if (!AggregateQuotesInto(quotes, policy.outliers, &agg).ok() || !agg.price.is_positive()) {
    out.status = MarkStatus::kInsufficientSources;
    return;
  }
  out.outliers.reserve(agg.outliers.size());
  for (size_t i : agg.outliers) out.outliers.emplace_back(quotes[i].source);
  // The quorum counts fresh sources; the kept (non-outlier) ones must be a strict majority of
  // them, or there is no consensus to publish.
  if (agg.kept.size() * 2 <= fresh.size()) {
    out.status = MarkStatus::kInsufficientSources;
    return;
  }
  out.status = MarkStatus::kOk;
  out.price = agg.price;
  out.confidence = agg.confidence;
  int64_t newest = fresh[agg.kept.front()]->observed_unix_nanos;
  for (size_t i : agg.kept) newest = std::max(newest, fresh[i]->observed_unix_nanos);
  out.newest = newest;
  // Over a shared array in source order (the book's), the mark points at its kept entries:
  // fresh (and so kept, ascending) follow the array's order, which the mask iterates in.
  if (shared != nullptr && unique_sorted && observations.size() <= 64 && observations.data() == shared->data()) {
    uint64_t mask = 0;
    for (size_t i : agg.kept) mask |= uint64_t{1} << (fresh[i] - observations.data());
    out.contributions = Contributions(shared, mask);
    return;
  }
  // Otherwise the only copies of the round: the kept observations, into the mark (by source name).
  std::vector<Observation> kept;
  kept.reserve(agg.kept.size());
  for (size_t i : agg.kept) kept.push_back(*fresh[i]);
  out.contributions = std::move(kept);
}

namespace {

TokenQuote HaltedTokenQuote(const TokenPolicy& tp, int64_t now) {
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

void MarkEngine::Build(size_t index, const Lent& lent, const std::vector<Mark>& marks, int64_t now, Mark& mark) {
  const SymbolPolicy& policy = symbols_[index];
  SymbolState& st = *state_[index];
  mark.symbol = policy.symbol;
  mark.quorum = policy.quorum;
  mark.asset_class = policy.asset_class;
  std::optional<Session> session;
  if (policy.asset_class != AssetClass::kCrypto) session = calendar_->SessionAt(now);
  mark.session = session;

  if (lent.halted) {
    mark.status = MarkStatus::kHalted;
    // A token mark always carries its token block (the snapshot format requires it): what the
    // configuration says, no prices.
    if (policy.token) mark.token = HaltedTokenQuote(*policy.token, now);
  } else {
    Basic basic;
    Aggregate(policy, lent.observations, lent.shared, session, now, basic);
    mark.newest_observation_unix_nanos = basic.newest;
    mark.outliers = std::move(basic.outliers);
    mark.status = basic.status;
    mark.price = basic.price;
    mark.confidence = basic.confidence;
    mark.contributions = std::move(basic.contributions);

    if (policy.token) {
      const TokenPolicy& tp = *policy.token;
      TokenQuote tq;
      tq.underlying = tp.underlying;
      tq.basis_bound = tp.basis_bound;
      const Multiplier& m = tp.multiplier.At(now);
      tq.multiplier = m.ToString();
      if (tp.multiplier.next) {
        tq.next_multiplier = tp.multiplier.next->ToString();
        tq.multiplier_activation_unix_nanos = tp.multiplier.activation_unix_nanos;
      }
      tq.venue_price = basic.price;
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
  std::vector<Mark> marks(symbols_.size());
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
      for (; p < end; p += 64) __builtin_prefetch(p);
    }
    return next;
  };
  Lent current = order_.empty() ? Lent{} : lend(order_.front());
  for (size_t k = 0; k < order_.size(); ++k) {
    Lent next = k + 1 < order_.size() ? lend(order_[k + 1]) : Lent{};
    const size_t i = order_[k];
    Build(i, current, marks, now, marks[i]);  // each mark built in place
    current = std::move(next);
  }
  return marks;
}

void MarkEngine::Seed(const std::vector<Mark>& marks, int64_t snapshot_unix_nanos) {
  for (const Mark& m : marks) {
    for (size_t i = 0; i < symbols_.size(); ++i) {
      if (symbols_[i].symbol != m.symbol) continue;
      SymbolState& st = *state_[i];
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
