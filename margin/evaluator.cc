#include "plumbline/margin/evaluator.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <type_traits>
#include <unordered_map>

#include "margin/evaluator_testing.h"
#include "margin/fixed.h"

namespace plumbline::margin {
namespace internal {
namespace {
thread_local bool wide_only = false;
thread_local PathCounts path_counts;
}  // namespace
void SetWideOnlyForTesting(bool on) { wide_only = on; }
PathCounts& PathCountsForTesting() { return path_counts; }
}  // namespace internal

using internal::Arith;
using internal::Arith64;
using internal::Fx;
using internal::Fx64;
using internal::FromFx;
using internal::ToFx;

const char* SessionName(Session s) {
  switch (s) {
    case Session::kRegular: return "regular";
    case Session::kPreMarket: return "pre_market";
    case Session::kPostMarket: return "post_market";
    case Session::kOvernight: return "overnight";
    case Session::kClosed: return "closed";
    case Session::kUnknown: return "unknown";
  }
  return "unknown";
}
std::optional<Session> ParseSession(std::string_view name) {
  for (Session s : {Session::kRegular, Session::kPreMarket, Session::kPostMarket, Session::kOvernight,
                    Session::kClosed, Session::kUnknown}) {
    if (name == SessionName(s)) return s;
  }
  return std::nullopt;
}
const char* PositionKindName(PositionKind k) {
  switch (k) {
    case PositionKind::kSpotMargin: return "spot_margin";
    case PositionKind::kPerpetual: return "perpetual";
    case PositionKind::kDated: return "dated";
  }
  return "spot_margin";
}
const char* AccountStateName(AccountState s) {
  switch (s) {
    case AccountState::kHealthy: return "healthy";
    case AccountState::kNoNewPositions: return "no_new_positions";
    case AccountState::kMarginCall: return "margin_call";
    case AccountState::kLiquidation: return "liquidation";
    case AccountState::kUndetermined: return "undetermined";
  }
  return "undetermined";
}
const char* ReasonName(Reason r) {
  static constexpr std::array<const char*, 7> kNames = {"tier",          "session",       "reserve_under_backed",
                                                       "reserve_stale", "reserve_unknown", "mark_degraded",
                                                       "unpriced"};
  const uint32_t bit = static_cast<uint32_t>(r);
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (bit == (1u << i)) return kNames[i];
  }
  return "unknown";
}
std::vector<std::string> ReasonNames(uint32_t reasons) {
  std::vector<std::string> out;
  for (uint32_t i = 0; i < 32; ++i) {
    if (reasons & (1u << i)) out.emplace_back(ReasonName(static_cast<Reason>(1u << i)));
  }
  return out;
}

namespace {

// a[0, n) == b[0, n) with a few fixed-size loads (asset and position ids are short): two
// overlapping words cover every byte of a 2..16-byte string.
inline bool SameBytes(const char* a, const char* b, size_t n) {
  auto same = [&](size_t at, auto word) {
    decltype(word) x, y;
    std::memcpy(&x, a + at, sizeof x);
    std::memcpy(&y, b + at, sizeof y);
    return x == y;
  };
  if (n >= 8) {
    if (n > 16) return std::memcmp(a, b, n) == 0;
    return same(0, uint64_t{}) && same(n - 8, uint64_t{});
  }
  if (n >= 4) return same(0, uint32_t{}) && same(n - 4, uint32_t{});
  if (n >= 2) return same(0, uint16_t{}) && same(n - 2, uint16_t{});
  return n == 0 || a[0] == b[0];
}

constexpr int64_t kNanosPerMs = 1'000'000;
// "account state is " + AccountStateName(state), by AccountState.
constexpr std::string_view kStateRefusal[] = {
    "account state is healthy", "account state is no_new_positions", "account state is margin_call",
    "account state is liquidation", "account state is undetermined"};
constexpr int64_t kNanosPer4h = 4LL * 3600 * 1'000'000'000;
constexpr Rounding kDown = Rounding::kFloor;
constexpr Rounding kUp = Rounding::kCeiling;
const Fx kOne = Fx::Int(1);

Fx Must(const Decimal& d) {
  Fx f;
  ToFx(d, kDown, &f);  // parameters are checked to <= 12 fractional digits and small ranges
  return f;
}

// Padded to a power of two (8 amounts): the hot loops take tier counts from vector sizes, and
// a size is then a shift instead of a multiplication.
template <class F>
struct alignas(8 * sizeof(F)) TierT {
  F lo;  // lower bound of the tier (0 for the first)
  F a;   // haircut, or IM rate
  F b;   // MM rate (futures tiers)
  F cum_a, cum_b;  // Binance-style cumulative amounts: amount = V x rate_k - cum_k
};
using FxTier = TierT<Fx>;

// The amounts of one asset that the account arithmetic reads, at one width (Fx, or Fx64 for the
// 64-bit account path).
template <class F>
struct TablesT {
  F price;
  F opening_fee;
  std::vector<TierT<F>> haircut;   // a = haircut rate
  // Per "mark degraded" (0/1): a = factor 1 - min(1, haircut + add-ons), cum_a = cumulative
  // amount, so counted = V x a_k - cum_a_k (rounded down).
  std::array<std::vector<TierT<F>>, 2> counted;
  std::vector<TierT<F>> futures;   // a = IM rate, b = MM rate, cumulative amounts precomputed
};

// Everything about one risk-file asset that does not depend on the account or on "now".
struct PAsset {
  const AssetParams* p = nullptr;
  const AssetQuote* quote = nullptr;  // null: no quote in the snapshot
  bool cash = false;
  bool priced = false;       // a usable price > 0 (cash: always, at 1)
  std::optional<Decimal> mark;  // the price as the lines show it (absent when unpriced)
  bool status_degraded = false;  // status other than ok / market_closed
  bool check_age = true;
  bool zero_value = false;   // tokenized stock under_backed: counts zero
  Fx add;                    // haircut add-on from session and reserve status
  uint32_t reasons = 0;      // reasons from session / reserve
  TablesT<Fx> t;
  // The same in 64 bits (tier bounds beyond 64 bits as INT64_MAX); fits64 false when a price,
  // rate or cumulative amount does not fit, and accounts using the asset take the 128-bit path.
  TablesT<Fx64> t64;
  bool fits64 = false;
  std::optional<Fx> spot_cap, futures_cap;
  std::vector<std::pair<int64_t, Fx>> rollover;  // (last 4h period covered, rate per period)
  int64_t max_age_nanos = 0;
  // Refusal texts (built once): for a missing, unusable or degraded quote (empty when the quote
  // is fine), and for a newest observation older than the limit.
  std::string refusal, refusal_age;
};

// Risk-file asset id -> index: an open-addressing table over (length, first, last byte) hashes,
// built once per evaluator, so the per-account lookups hash no whole strings and allocate nothing.
class AssetIndex {
 public:
  void Build(const std::vector<AssetParams>& assets) {
    size_t n = 16;
    while (n < assets.size() * 4) n *= 2;
    mask_ = n - 1;
    slots_.assign(n, Slot{});
    for (size_t i = 0; i < assets.size(); ++i) {
      const std::string_view id = assets[i].id;
      size_t h = Hash(id);
      while (slots_[h].index >= 0) h = (h + 1) & mask_;
      slots_[h] = Slot{id, static_cast<int>(i)};
    }
  }
  // -1 when the id is not in the risk file.
  int Find(std::string_view id) const {
    for (size_t h = Hash(id);; h = (h + 1) & mask_) {
      const Slot& s = slots_[h];
      if (s.index < 0) return -1;
      if (Same(s.id, id)) return s.index;
    }
  }

 private:
  struct Slot {
    std::string_view id;  // points into the RiskParams the evaluator keeps alive
    int index = -1;
  };
  static bool Same(std::string_view a, std::string_view b) {
    return a.size() == b.size() && SameBytes(a.data(), b.data(), a.size());
  }
  size_t Hash(std::string_view id) const {
    if (id.empty()) return 0;
    const size_t h = id.size() * 0x9E3779B1u + static_cast<unsigned char>(id[0]) * 0x85EBCA77u +
                     static_cast<unsigned char>(id.back()) * 0xC2B2AE3Du +
                     static_cast<unsigned char>(id[id.size() / 2]) * 0x27D4EB2Fu;
    return (h ^ (h >> 15)) & mask_;
  }
  std::vector<Slot> slots_;  // at most a quarter full: probes stay short
  size_t mask_ = 0;
};

}  // namespace

namespace {
template <class F>
struct LevelsT {
  F nn, call, liq, fut_call;
};

// 64-bit copies of the prepared amounts: a tier bound beyond 64 bits becomes INT64_MAX (it only
// takes part in comparisons with products, which Arith64 keeps below INT64_MAX); any other
// amount must fit exactly.
bool NarrowTiers(const std::vector<FxTier>& in, std::vector<TierT<Fx64>>* out) {
  bool ok = true;
  out->clear();
  for (const FxTier& t : in) {
    TierT<Fx64> n;
    n.lo.raw = internal::FitsI64(t.lo.raw) ? static_cast<int64_t>(t.lo.raw) : INT64_MAX;
    ok = ok && t.lo.raw >= 0;
    ok = internal::Narrow(t.a, &n.a) && ok;
    ok = internal::Narrow(t.b, &n.b) && ok;
    ok = internal::Narrow(t.cum_a, &n.cum_a) && ok;
    ok = internal::Narrow(t.cum_b, &n.cum_b) && ok;
    out->push_back(n);
  }
  return ok;
}
}  // namespace

struct Evaluator::Prepared {
  std::vector<PAsset> assets;  // index-aligned with params.assets
  AssetIndex index;
  std::map<std::string, Fx> region_caps;
  LevelsT<Fx> lv;
  LevelsT<Fx64> lv64;
  struct Shock {
    std::string name;
    std::vector<Fx> factor;  // 1 + shock per asset index
    std::vector<Fx64> factor64;
  };
  std::vector<Shock> stress;
  bool fits64 = true;  // levels and stress factors fit 64 bits
  // Per asset index: the price (0 when unpriced), at both widths.
  std::vector<Fx> price;
  std::vector<Fx64> price64;
};

Evaluator::Evaluator(std::shared_ptr<const RiskParams> params, std::shared_ptr<const MarketView> view)
    : params_(std::move(params)), view_(std::move(view)), prepared_(std::make_unique<Prepared>()) {
  Prepared& pr = *prepared_;
  Arith ar;
  std::unordered_map<std::string, const AssetQuote*> quotes;
  for (const AssetQuote& q : view_->quotes) quotes[q.asset] = &q;
  pr.assets.resize(params_->assets.size());
  pr.index.Build(params_->assets);
  for (size_t i = 0; i < params_->assets.size(); ++i) {
    const AssetParams& ap = params_->assets[i];
    PAsset& a = pr.assets[i];
    a.p = &ap;
    a.cash = ap.asset_class == AssetClass::kCash;
    auto it = quotes.find(ap.id);
    a.quote = it == quotes.end() ? nullptr : it->second;
    if (a.cash) {
      a.priced = true;
      a.t.price = kOne;
      a.check_age = false;
    } else if (a.quote != nullptr && a.quote->price && a.quote->price->is_positive() &&
               a.quote->price->scale() <= internal::kFxScale) {
      a.priced = ToFx(*a.quote->price, kDown, &a.t.price);
    }
    const ClassParams& cp = ap.params;
    const bool equity_like = ap.asset_class == AssetClass::kEquity || ap.asset_class == AssetClass::kTokenizedStock;
    if (a.quote != nullptr && !a.cash) {
      const std::string& st = a.quote->mark_status;
      // A closed market is not an outage: the last regular price is used with the session haircut.
      a.status_degraded = st != "ok" && st != "market_closed";
      if (st == "market_closed") a.check_age = false;
    }
    if (equity_like) {
      Session s = a.quote && a.quote->session ? *a.quote->session : Session::kUnknown;
      if (a.quote && a.quote->mark_status == "market_closed") s = Session::kClosed;
      if (s != Session::kRegular && cp.session_haircut.is_positive()) {
        a.add = ar.Add(a.add, Must(cp.session_haircut));
        a.reasons |= kReasonSession;
      }
    }
    if (ap.asset_class == AssetClass::kTokenizedStock) {
      ReserveStatus r = a.quote && a.quote->reserve ? *a.quote->reserve : ReserveStatus::kUnknown;
      if (r == ReserveStatus::kUnderBacked) {
        a.zero_value = true;
        a.reasons |= kReasonReserveUnder;
      } else if (r == ReserveStatus::kStale) {
        a.add = ar.Add(a.add, Must(cp.reserve_stale_penalty));
        a.reasons |= kReasonReserveStale;
      } else if (r == ReserveStatus::kUnknown) {
        a.add = ar.Add(a.add, Must(cp.reserve_unknown_penalty));
        a.reasons |= kReasonReserveUnknown;
      }
    }
    for (const Tier& t : cp.haircut_tiers) {
      FxTier f;
      f.lo = a.t.haircut.empty() ? Fx{} : a.t.haircut.back().lo;  // fixed below
      f.a = Must(t.rate);
      a.t.haircut.push_back(f);
    }
    for (size_t k = 0; k < cp.haircut_tiers.size(); ++k) {
      a.t.haircut[k].lo = k == 0 ? Fx{} : Must(*cp.haircut_tiers[k - 1].up_to);
    }
    for (int deg = 0; deg < 2; ++deg) {
      Fx add = a.add;
      if (deg) add = ar.Add(add, Must(cp.stale_mark_haircut));
      for (size_t k = 0; k < a.t.haircut.size(); ++k) {
        FxTier f;
        f.lo = a.t.haircut[k].lo;
        Fx h = ar.Add(a.t.haircut[k].a, add);
        if (h > kOne) h = kOne;
        f.a = ar.Sub(kOne, h);
        if (k > 0) {
          const FxTier& prev = a.t.counted[deg].back();
          // cum rounds up so the counted value rounds down.
          f.cum_a = ar.Add(prev.cum_a, ar.Mul(f.lo, ar.Sub(f.a, prev.a), kUp));
        }
        a.t.counted[deg].push_back(f);
      }
    }
    for (size_t k = 0; k < cp.futures_tiers.size(); ++k) {
      const MarginTier& t = cp.futures_tiers[k];
      FxTier f;
      f.lo = k == 0 ? Fx{} : Must(*cp.futures_tiers[k - 1].up_to);
      f.a = Must(t.im);
      f.b = Must(t.mm);
      if (k > 0) {
        const FxTier& prev = a.t.futures.back();
        // Requirement = N x rate_k - cum_k: cum rounds down so the requirement rounds up.
        f.cum_a = ar.Add(prev.cum_a, ar.Mul(f.lo, ar.Sub(f.a, prev.a), kDown));
        f.cum_b = ar.Add(prev.cum_b, ar.Mul(f.lo, ar.Sub(f.b, prev.b), kDown));
      }
      a.t.futures.push_back(f);
    }
    if (cp.spot_max_leverage) a.spot_cap = Must(*cp.spot_max_leverage);
    if (cp.futures_max_leverage) a.futures_cap = Must(*cp.futures_max_leverage);
    a.t.opening_fee = Must(cp.opening_fee);
    for (const RolloverTier& t : cp.rollover) a.rollover.emplace_back(t.up_to_hours / 4, Must(t.rate_per_4h));
    a.max_age_nanos = cp.max_mark_age_ms * kNanosPerMs;
    a.fits64 = internal::Narrow(a.t.price, &a.t64.price) && internal::Narrow(a.t.opening_fee, &a.t64.opening_fee);
    if (!a.fits64) a.t64.price = Fx64{};  // never read (accounts using the asset take 128 bits)
    a.fits64 = NarrowTiers(a.t.haircut, &a.t64.haircut) && a.fits64;
    a.fits64 = NarrowTiers(a.t.counted[0], &a.t64.counted[0]) && a.fits64;
    a.fits64 = NarrowTiers(a.t.counted[1], &a.t64.counted[1]) && a.fits64;
    a.fits64 = NarrowTiers(a.t.futures, &a.t64.futures) && a.fits64;
    if (!a.cash) {
      const std::string name = "asset " + ap.id + " (mark " + ap.mark + ")";
      if (a.quote == nullptr) {
        a.refusal = name + ": not in the snapshot";
      } else if (!a.priced) {
        a.refusal = name + ": no usable price (status \"" + a.quote->mark_status + "\")";
      } else if (a.status_degraded) {
        a.refusal = name + ": status \"" + a.quote->mark_status + "\"";
      }
      a.refusal_age = name + ": newest observation older than " + std::to_string(a.max_age_nanos / kNanosPerMs) + " ms";
    }
  }
  for (PAsset& a : pr.assets) {
    if (a.priced) a.mark = a.cash ? Decimal::FromInt(1) : *a.quote->price;
    pr.price.push_back(a.priced ? a.t.price : Fx{});
    pr.price64.push_back(a.priced ? a.t64.price : Fx64{});
  }
  for (const auto& [region, cap] : params_->region_max_leverage) pr.region_caps[region] = Must(cap);
  pr.lv.nn = Must(params_->levels.no_new_positions);
  pr.lv.call = Must(params_->levels.margin_call);
  pr.lv.liq = Must(params_->levels.liquidation);
  pr.lv.fut_call = Must(params_->levels.futures_margin_call);
  pr.fits64 = internal::Narrow(pr.lv.nn, &pr.lv64.nn) && internal::Narrow(pr.lv.call, &pr.lv64.call) &&
              internal::Narrow(pr.lv.liq, &pr.lv64.liq) && internal::Narrow(pr.lv.fut_call, &pr.lv64.fut_call);
  for (const StressScenario& s : params_->stress) {
    Prepared::Shock sh;
    sh.name = s.name;
    for (const AssetParams& ap : params_->assets) {
      Decimal shock;
      if (auto it = s.asset_shocks.find(ap.id); it != s.asset_shocks.end()) {
        shock = it->second;
      } else if (auto ct = s.class_shocks.find(ap.asset_class); ct != s.class_shocks.end()) {
        shock = ct->second;
      }
      sh.factor.push_back(ar.Add(kOne, Must(shock)));
      sh.factor64.emplace_back();
      pr.fits64 = internal::Narrow(sh.factor.back(), &sh.factor64.back()) && pr.fits64;
    }
    pr.stress.push_back(std::move(sh));
  }
}

Evaluator::~Evaluator() = default;
Evaluator::Evaluator(Evaluator&&) noexcept = default;

namespace {

// One account, resolved against the prepared view: asset indices and constant amounts, at one
// width (Fx; Fx64 for the 64-bit account path).
template <class F>
struct RCT {  // collateral
  int asset;
  F qty;
};
template <class F>
struct RPT {  // position
  // From the input (Run::Resolve).
  int asset;
  PositionKind kind;
  bool is_long;
  F qty, entry;
  F lev;        // spot: the position's leverage; futures: effective leverage cap for IM
  int64_t periods = 0;  // spot: completed 4-hour periods
  F rate_sum;   // spot: sum of the rollover rates of those periods
  F funding;    // futures
  // Derived (Core::Derive, at the width of the evaluation).
  F cost;
  F qty_per_lev;  // spot: quantity / leverage (rounded up), the slope of a short's used margin
  F fees;       // spot: opening + rollover fees owed
  F opening, rollover;
};
using RC = RCT<Fx>;
using RP = RPT<Fx>;

template <class F>
struct TotalsT {
  F collateral, pnl, fees, funding, equity, um, im, mm;
};

// Per-evaluation state of an asset.
struct AState {
  bool used = false;
  bool has_position = false;  // the account has a position in this asset
  bool degraded = false;      // status or age
  uint32_t reasons = 0;
};

// dst = src for short strings (asset ids, position ids) of a reused Valuation: a batch repeats
// them from account to account, and comparing a few bytes inline is cheaper than assigning.
inline void SetShort(std::string& dst, const std::string& src) {
  if (dst.size() == src.size() && SameBytes(dst.data(), src.data(), src.size())) return;
  dst = src;
}

Status FieldError(const std::string& field, const std::string& what) {
  return Status::InvalidArgument(field + ": " + what);
}

// "positions[3]" + ".leverage", built only when an error is reported.
struct FieldPath {
  const char* list;
  size_t index;
  std::string operator+(const char* member) const {
    return std::string(list) + "[" + std::to_string(index) + "]" + member;
  }
};

__attribute__((noinline)) Status ToFxFieldError(const Decimal& d, const FieldPath& f, const char* member) {
  if (d.scale() > internal::kFxScale) return FieldError(f + member, "at most 12 fractional digits, got \"" + d.ToString() + "\"");
  return Status::OutOfRange(f + member + ": value is too large");
}

// An input decimal as Fx; false for more than 12 fractional digits or a value out of range (the
// caller returns ToFxFieldError). The success path builds no Status.
inline bool ToFxIn(const Decimal& d, Fx* out) { return d.scale() <= internal::kFxScale && ToFx(d, kDown, out); }

// Tier index of amount v in a schedule (tiers sorted by lower bound).
template <class F>
inline size_t TierOf(const std::vector<TierT<F>>& tiers, F v) {
  // Sizes are read once: the element size is not a power of two, so size() costs a multiply.
  const size_t last = tiers.size() - 1;
  const TierT<F>* t = tiers.data();
  size_t k = 0;
  while (k < last && v >= t[k + 1].lo) ++k;
  return k;
}

// Counted value of a positive balance worth `gross` in tier k (TierOf(gross)):
// Σ portion_i x factor_i = V x f_k - cum_k.
template <class A, class F>
inline F CountedPositive(A& ar, const TierT<F>& k, F gross) {
  F v = ar.Sub(ar.Mul(gross, k.a, kDown), k.cum_a);
  return v.negative() ? F{} : v;
}

// The prepared amounts at width F.
template <class F>
const TablesT<F>& Tab(const PAsset& a) {
  if constexpr (std::is_same_v<F, Fx>) {
    return a.t;
  } else {
    return a.t64;
  }
}
template <class F>
const LevelsT<F>& Lv(const Evaluator::Prepared& p) {
  if constexpr (std::is_same_v<F, Fx>) {
    return p.lv;
  } else {
    return p.lv64;
  }
}
template <class F>
const std::vector<F>& Factors(const Evaluator::Prepared::Shock& s) {
  if constexpr (std::is_same_v<F, Fx>) {
    return s.factor;
  } else {
    return s.factor64;
  }
}
template <class F>
const std::vector<F>& Prices(const Evaluator::Prepared& p) {
  if constexpr (std::is_same_v<F, Fx>) {
    return p.price;
  } else {
    return p.price64;
  }
}
inline Fx Wide(Fx v) { return v; }
inline Fx Wide(Fx64 v) { return internal::Widen(v); }

template <class F>
struct TargetT {
  F alpha, beta;
  F g_mark;  // G at the mark, from the totals
};

// What both widths share about one account: the assets it uses and how they stand.
struct Ctx {
  const Evaluator::Prepared* pr_ = nullptr;
  std::vector<AState> st;  // per asset index
  std::vector<int> used;   // asset indices this account uses, in order of first use
  Arith* wide = nullptr;   // the 128-bit arithmetic of the account (Run::ar)
};

// What an evaluation reads besides the account (EvaluateInto's arguments and the evaluator's).
struct Inputs {
  const RiskParams& params;
  const MarketView& view;
  int64_t now;
  const EvaluateOptions& options;
  bool solve, any_unpriced, unpriced_long;
};

// The account arithmetic after Resolve, at one width: Ar is Arith (Fx, 128 bits, the reference)
// or Arith64 (Fx64). Both compute the same values with the same roundings; Arith64 flags any
// result beyond 64 bits, and the caller then runs the account again with Arith.
template <class Ar>
class Core {
 public:
  using F = typename Ar::F;
  using Totals = TotalsT<F>;
  using Target = TargetT<F>;
  explicit Core(Ctx* cx) : cx_(cx) {}

  Ar ar;
  std::vector<RCT<F>> coll;
  std::vector<RPT<F>> pos;
  std::vector<F> shocked;
  struct Cached {
    int asset;
    bool down;
    std::optional<Fx> price[3];  // margin call, liquidation, bankruptcy
  };
  std::vector<Cached> cache;  // entries [0, n_cached) are this account's (storage reused)
  size_t n_cached = 0;

  // Totals at the given prices (per asset index). Fills the lines when `v` is non-null.
  // With `lin_at_mark` (the pass at the marks, when prices will be solved) it also builds
  // LinAtMark() of every asset with a position: the coefficients at the mark come from the same
  // tiers as the totals (and the same operations as Coeffs(x, mark)).
  Totals Compute(const std::vector<F>& price, Valuation* v, bool lin_at_mark = false) {
    Totals t{};
    if (lin_at_mark) {
      if (lin_at_mark_.size() != Pr().assets.size()) lin_at_mark_.resize(Pr().assets.size());
      for (int i : cx_->used) {
        if (cx_->st[i].has_position) lin_at_mark_[i] = Lin{};
      }
    }
    for (size_t i = 0, n = coll.size(); i < n; ++i) {
      const RCT<F>& c = coll[i];
      const PAsset& a = Pr().assets[c.asset];
      F p = price[c.asset];
      F gross = ar.Mul(c.qty, p, kDown);
      F counted = gross;
      size_t tier = 0;  // haircut tier of a positive balance (used by the coefficients too)
      if (c.qty.positive()) {
        if (a.zero_value) {
          counted = F{};
        } else {
          const std::vector<TierT<F>>& ct = Tab<F>(a).counted[cx_->st[c.asset].degraded];
          tier = TierOf(ct, gross);
          counted = CountedPositive(ar, ct[tier], gross);
        }
      }
      t.collateral = ar.Add(t.collateral, counted);
      if (lin_at_mark && cx_->st[c.asset].has_position) {
        LinAddCollateral(lin_at_mark_[c.asset], a, c, cx_->st[c.asset].degraded,
                         [&](const std::vector<TierT<F>>&) { return tier; });
      }
      if (v != nullptr) {
        CollateralLine& l = v->collateral[i];
        l.gross_value = FromFx(gross);
        l.counted_value = FromFx(counted);
        F h{};
        if (gross.positive() && counted != gross) h = ar.Sub(F::One(), ar.Div(counted, gross, kDown));  // equal: exactly 0
        l.haircut = FromFx(h);
        // Debts take no haircut: only price problems are reasons for them.
        l.reasons = c.qty.positive() ? cx_->st[c.asset].reasons : (cx_->st[c.asset].reasons & (kReasonMarkDegraded | kReasonUnpriced));
        const std::vector<TierT<F>>& hc = Tab<F>(a).haircut;
        for (size_t k = 0, nh = hc.size(); c.qty.positive() && k < nh && gross > hc[k].lo; ++k) {
          if (hc[k].a.positive()) l.reasons |= kReasonTier;
        }
      }
    }
    for (size_t i = 0, n = pos.size(); i < n; ++i) {
      const RPT<F>& r = pos[i];
      const PAsset& a = Pr().assets[r.asset];
      F p = price[r.asset];
      F pnl = ar.Mul(r.qty, r.is_long ? ar.Sub(p, r.entry) : ar.Sub(r.entry, p), kDown);
      F notional = ar.Mul(r.qty, p, kUp);
      F um{}, im{}, mm{};
      size_t futures_tier = 0;
      if (r.kind == PositionKind::kSpotMargin) {
        um = ar.Div(r.is_long ? r.cost : notional, r.lev, kUp);
      } else {
        futures_tier = TierOf(Tab<F>(a).futures, notional);
        const TierT<F>& tier = Tab<F>(a).futures[futures_tier];
        im = ar.Sub(ar.Mul(notional, tier.a, kUp), tier.cum_a);
        F by_lev = ar.Div(notional, r.lev, kUp);
        if (by_lev > im) im = by_lev;
        mm = ar.Sub(ar.Mul(notional, tier.b, kUp), tier.cum_b);
      }
      t.pnl = ar.Add(t.pnl, pnl);
      t.fees = ar.Add(t.fees, r.fees);
      t.funding = ar.Add(t.funding, r.funding);
      t.um = ar.Add(t.um, um);
      t.im = ar.Add(t.im, im);
      t.mm = ar.Add(t.mm, mm);
      if (lin_at_mark) LinAddPosition(lin_at_mark_[r.asset], a, r, [&] { return futures_tier; });
      if (v != nullptr) {
        PositionLine& l = v->positions[i];
        l.cost = FromFx(r.cost);
        l.notional = FromFx(notional);
        l.unrealized_pnl = FromFx(pnl);
        l.used_margin = FromFx(um);
        l.opening_fee = FromFx(r.opening);
        l.rollover_fees = FromFx(r.rollover);
        l.rollover_periods = r.periods;
        l.initial_margin = FromFx(im);
        l.maintenance_margin = FromFx(mm);
        l.funding_accrued = FromFx(r.funding);
      }
    }
    t.equity = ar.Add(ar.Sub(ar.Add(t.collateral, t.pnl), t.fees), t.funding);
    return t;
  }

  struct Reqs {
    F nn, call, liq;
  };
  Reqs Requirements(const Totals& t) {
    return {ar.Add(ar.Mul(Lv<F>(Pr()).nn, t.um, kUp), t.im), ar.Add(ar.Mul(Lv<F>(Pr()).call, t.um, kUp), ar.Mul(Lv<F>(Pr()).fut_call, t.mm, kUp)),
            ar.Add(ar.Mul(Lv<F>(Pr()).liq, t.um, kUp), t.mm)};
  }
  AccountState State(const Totals& t, const Reqs& q) const {
    if (pos.empty()) return t.equity.negative() ? AccountState::kLiquidation : AccountState::kHealthy;
    if (t.equity <= q.liq) return AccountState::kLiquidation;
    if (t.equity <= q.call) return AccountState::kMarginCall;
    if (t.equity < q.nn) return AccountState::kNoNewPositions;
    return AccountState::kHealthy;
  }

  // ---- Liquidation solver (docs/margin.md, "Liquidation and bankruptcy prices") ----
  // G(P) = equity(P) - alpha x used_margin(P) - beta x MM(P), only asset x's price P moving.
  // Every term is piecewise linear in P (tiers switch at fixed amounts), so G is solved exactly
  // on each linear piece: G(P) = c + A + B x P, root P = -(c + A) / B.
  //
  // On one piece, split by what alpha and beta multiply:
  //   A + B x P = (a0 + b0 x P) + alpha x (bu x P) + beta x (am + bm x P)
  struct Lin {
    F a0, b0, bu, am, bm;
    uint64_t tiers = 0;  // tier index of every tiered line, 4 bits each: identifies the piece
    bool packed = true;
    // Every tiered line in its lowest (highest) tier: tiers can only fall (rise) as the price
    // falls (rises), so the whole way down (up) from here is this one piece.
    bool all_bottom = true, all_top = true;  // false when there are too many tiered lines to pack
    int shift = 0;  // next free bit of `tiers`

    // Notes tier k of n of the next tiered line.
    void NoteTier(size_t k, size_t n) {
      if (k != 0) all_bottom = false;
      if (k + 1 != n) all_top = false;
      if (shift >= 64 || k > 15) {
        packed = false;
        return;
      }
      tiers |= static_cast<uint64_t>(k) << shift;
      shift += 4;
    }
  };
  // Adds collateral line c (of asset pa) to l; tier_at(tiers) gives a positive balance's haircut
  // tier on the piece. With kNote, also notes the tiers (the piece identifier, for the mark's
  // piece only).
  template <bool kNote = true, typename TierAt>
  void LinAddCollateral(Lin& l, const PAsset& pa, const RCT<F>& c, bool degraded, TierAt tier_at) {
    if (!c.qty.positive()) {
      l.b0 = ar.Add(l.b0, c.qty);
      return;
    }
    if (pa.zero_value) return;
    const std::vector<TierT<F>>& t = Tab<F>(pa).counted[degraded];
    const size_t k = tier_at(t);
    if (kNote && t.size() > 1) l.NoteTier(k, t.size());
    l.b0 = ar.Add(l.b0, ar.Mul(c.qty, t[k].a, kDown));
    l.a0 = ar.Sub(l.a0, t[k].cum_a);
  }
  // Adds position r (of asset pa) to l; tier_at() gives a futures position's margin tier.
  template <bool kNote = true, typename TierAt>
  void LinAddPosition(Lin& l, const PAsset& pa, const RPT<F>& r, TierAt tier_at) {
    if (r.is_long) {
      l.b0 = ar.Add(l.b0, r.qty);
      l.a0 = ar.Sub(l.a0, r.cost);
    } else {
      l.b0 = ar.Sub(l.b0, r.qty);
      l.a0 = ar.Add(l.a0, r.cost);
    }
    if (r.kind == PositionKind::kSpotMargin) {
      if (!r.is_long) l.bu = ar.Sub(l.bu, r.qty_per_lev);
    } else {
      const size_t k = tier_at();
      if (kNote && Tab<F>(pa).futures.size() > 1) l.NoteTier(k, Tab<F>(pa).futures.size());
      l.bm = ar.Sub(l.bm, ar.Mul(r.qty, Tab<F>(pa).futures[k].b, kUp));
      l.am = ar.Add(l.am, Tab<F>(pa).futures[k].cum_b);
    }
  }
  // Coeffs(x, mark) of an asset with a position, built by Compute at the marks.
  const Lin& LinAtMark(int x) const { return lin_at_mark_[x]; }
  __attribute__((always_inline)) void Combine(const Lin& l, const Target& t, F* A, F* B) {
    *A = l.a0;
    *B = l.b0;
    if (!t.alpha.zero() && !l.bu.zero()) *B = ar.Add(*B, ar.Mul(t.alpha, l.bu, kDown));
    if (!t.beta.zero()) {
      *A = ar.Add(*A, t.beta == F::One() ? l.am : ar.Mul(t.beta, l.am, kDown));
      *B = ar.Add(*B, t.beta == F::One() ? l.bm : ar.Mul(t.beta, l.bm, kDown));
    }
  }
  // TierOf(tiers, q x probe). At 64 bits a product beyond 64 bits (a probe far from the mark) is
  // taken at 128 bits, with the 128-bit arithmetic's range check, as Arith would.
  size_t TierAtProduct(const std::vector<TierT<F>>& tiers, const std::vector<FxTier>& wide, F q, F probe, Rounding r) {
    if constexpr (std::is_same_v<F, Fx>) {
      return TierOf(tiers, ar.Mul(q, probe, r));
    } else {
      Fx64 v;
      if (Arith64::TryMul(q, probe, r, &v)) [[likely]] return TierOf(tiers, v);
      return TierOf(wide, cx_->wide->Mul(Wide(q), Wide(probe), r));
    }
  }
  // Only the piece identifier of Coeffs(x, probe): the tier of every tiered line.
  uint64_t TiersAt(int x, F probe) {
    uint64_t tiers = 0;
    int shift = 0;
    const PAsset& pa = Pr().assets[x];
    if (Tab<F>(pa).haircut.size() > 1 && !pa.zero_value) {
      const std::vector<TierT<F>>& t = Tab<F>(pa).counted[cx_->st[x].degraded];
      for (const RCT<F>& c : coll) {
        if (c.asset != x || !c.qty.positive()) continue;
        tiers |= static_cast<uint64_t>(TierAtProduct(t, pa.t.counted[cx_->st[x].degraded], c.qty, probe, kDown)) << shift;
        shift += 4;
      }
    }
    if (Tab<F>(pa).futures.size() > 1) {
      for (const RPT<F>& r : pos) {
        if (r.asset != x || r.kind == PositionKind::kSpotMargin) continue;
        tiers |= static_cast<uint64_t>(TierAtProduct(Tab<F>(pa).futures, pa.t.futures, r.qty, probe, kUp)) << shift;
        shift += 4;
      }
    }
    return tiers;
  }
  // For each of the three targets of one (asset, direction): the first price from `mark` in that
  // direction where G <= 0; nullopt if none (> 0). `at_mark` are the coefficients of the piece
  // holding the mark.
  void Solve3(int x, F mark, const Lin& at_mark, const Target (&t)[3], bool downward, std::optional<Fx> (&out)[3]) {
    // Fast path: the root lies on the mark's own piece (same tier for every line). Each line's
    // tier is a monotone step function of P, so the piece holding the mark is an interval: when
    // the candidate farthest from the mark is on it, so is every candidate between, and one tier
    // check stands for all three.
    // kAtMark: G <= 0 already at the mark; kRoot: a root on the mark's piece (pending the tier
    // check unless one_piece); kNone: downward and G stays > 0 on the way to 0 (pending the same).
    enum Kind { kGeneral, kAtMark, kRoot, kNone };
    Kind kind[3];
    F A[3], B[3], c[3], p[3];
    const Rounding dir = downward ? kUp : kDown;  // report liquidation early, never late
    const bool one_piece = downward ? at_mark.all_bottom : at_mark.all_top;
    bool pending = false, any_none = false;
    F far{};
    for (int k = 0; k < 3; ++k) {
      kind[k] = kGeneral;
      if (!t[k].g_mark.positive()) {
        out[k] = Wide(mark);
        kind[k] = kAtMark;
        continue;
      }
      Combine(at_mark, t[k], &A[k], &B[k]);
      // c = G(mark) - (A + B x mark): the part of G that does not move with P.
      c[k] = ar.Sub(t[k].g_mark, ar.Add(A[k], ar.Mul(B[k], mark, kDown)));
      if (!at_mark.packed || !(downward ? B[k].positive() : B[k].negative())) continue;
      p[k] = ar.Div(ar.Sub(F{}, ar.Add(c[k], A[k])), B[k], dir);
      if (p[k].positive() && (downward ? p[k] <= mark : p[k] >= mark)) {
        kind[k] = kRoot;
        out[k] = Wide(p[k]);
        if (one_piece) continue;
        if (!pending || (downward ? p[k] < far : p[k] > far)) far = p[k];
        pending = true;
      } else if (!p[k].positive() && downward) {
        kind[k] = kNone;
        out[k].reset();
        if (one_piece) continue;
        any_none = pending = true;
      }
    }
    if (pending) {
      if (any_none) far = F{1};
      if (TiersAt(x, far) != at_mark.tiers) {
        // Not all on the mark's piece: check each candidate on its own, as a single solve would.
        for (int k = 0; k < 3; ++k) {
          if (kind[k] == kNone || (kind[k] == kRoot && (p[k] == far || TiersAt(x, p[k]) != at_mark.tiers))) {
            kind[k] = kGeneral;
          }
        }
      }
    }
    for (int k = 0; k < 3; ++k) {
      if (kind[k] != kGeneral) continue;
      const std::optional<F> g = SolveGeneral(x, mark, t[k], A[k], B[k], c[k], downward);
      out[k] = g ? std::optional<Fx>(Wide(*g)) : std::nullopt;
    }
  }
  // Coefficients of the piece holding `probe`; with `last` set, of the last piece (every tiered
  // line in its top tier: the piece extending to +infinity). Only the coefficients: the piece
  // identifier (Lin::tiers) is kept for the mark's piece alone.
  Lin Coeffs(int x, F probe, bool last = false) {
    Lin l;
    const PAsset& pa = Pr().assets[x];
    for (const RCT<F>& c : coll) {
      if (c.asset != x) continue;
      const bool degraded = cx_->st[x].degraded;
      LinAddCollateral<false>(l, pa, c, degraded, [&](const std::vector<TierT<F>>& t) {
        return last ? t.size() - 1 : TierAtProduct(t, pa.t.counted[degraded], c.qty, probe, kDown);
      });
    }
    for (const RPT<F>& r : pos) {
      if (r.asset != x) continue;
      LinAddPosition<false>(l, pa, r, [&] {
        return last ? Tab<F>(pa).futures.size() - 1 : TierAtProduct(Tab<F>(pa).futures, pa.t.futures, r.qty, probe, kUp);
      });
    }
    return l;
  }
  // The prices where a tiered line of asset x changes tier, ascending. At 64 bits each is the
  // 128-bit quotient (tier bounds may exceed 64 bits); one beyond 64 bits is kept as kBeyond,
  // and a walk that reaches it goes back to 128 bits (NextPiece).
  void Breakpoints(int x, std::vector<F>* out) {
    out->clear();
    const PAsset& pa = Pr().assets[x];
    auto add = [&](Fx lo, F q) {
      if constexpr (std::is_same_v<F, Fx>) {
        out->push_back(ar.Div(lo, q, kDown));
      } else {
        const Fx b = cx_->wide->Div(lo, Wide(q), kDown);
        out->push_back(internal::FitsI64(b.raw) ? Fx64{static_cast<int64_t>(b.raw)} : kBeyond);
      }
    };
    for (const RCT<F>& c : coll) {
      if (c.asset != x || !c.qty.positive()) continue;
      for (size_t i = 1; i < pa.t.haircut.size(); ++i) add(pa.t.haircut[i].lo, c.qty);
    }
    for (const RPT<F>& r : pos) {
      if (r.asset != x || r.kind == PositionKind::kSpotMargin) continue;
      for (size_t i = 1; i < pa.t.futures.size(); ++i) add(pa.t.futures[i].lo, r.qty);
    }
    std::sort(out->begin(), out->end());
  }
  // The general case of Solve3 for one target: A, B are the coefficients on the mark's piece, c
  // the constant part of G.
  std::optional<F> SolveGeneral(int x, F mark, const Target& t, F A, F B, F c, bool downward) {
    const Rounding dir = downward ? kUp : kDown;
    auto root = [&](F a, F b) { return ar.Div(ar.Sub(F{}, ar.Add(c, a)), b, dir); };
    // Upward with G not falling on the mark's piece: G is concave (the risk file's haircut and
    // margin rates never decrease from tier to tier, so the slope of G never increases with P);
    // if even the last piece does not fall, G never comes back down to 0 above the mark.
    if (!downward && !B.negative()) {
      if (last_asset_ != x) {  // the same for the three targets of the asset
        last_ = Coeffs(x, mark, /*last=*/true);
        last_asset_ = x;
      }
      F Al, Bl;
      Combine(last_, t, &Al, &Bl);
      if (!Bl.negative()) return std::nullopt;
    }
    // Walk the pieces from the mark outward. The pieces (and their coefficients) are the same for
    // the three targets of one (asset, direction), so they are built once.
    const int key = x * 2 + (downward ? 1 : 0);
    if (pieces_key_ != key) {
      pieces_.clear();
      Breakpoints(x, &bp_);
      pieces_key_ = key;
    }
    auto clamp_root = [&](F a, F b, F lo, F hi) -> std::optional<F> {
      if (b.zero()) return downward ? hi : lo;
      F p = root(a, b);
      if (p < lo) p = lo;
      if (p > hi) p = hi;
      if (!p.positive()) return std::nullopt;
      return p;
    };
    for (size_t i = 0;; ++i) {
      if (!NextPiece(x, mark, downward, i)) return std::nullopt;
      const Piece& pc = pieces_[i];
      Combine(pc.lin, t, &A, &B);
      if (downward) {
        F g_lo = ar.Add(ar.Add(c, A), ar.Mul(B, pc.lo, kDown));
        if (!g_lo.positive()) return clamp_root(A, B, pc.lo, pc.hi);
      } else if (pc.open_ended) {
        if (!B.negative()) return std::nullopt;
        return clamp_root(A, B, pc.lo, kBeyond);
      } else {
        F g_hi = ar.Add(ar.Add(c, A), ar.Mul(B, pc.hi, kDown));
        if (!g_hi.positive()) return clamp_root(A, B, pc.lo, pc.hi);
      }
    }
  }

  // floor((lo + hi) / 2) for 0 <= lo <= hi, without forming lo + hi (it may not fit 64 bits).
  static F Mid(F lo, F hi) { return F{lo.raw + ((hi.raw - lo.raw) >> 1)}; }
  // Above every price: at 128 bits the range limit, at 64 bits INT64_MAX.
  static constexpr F kBeyond = [] {
    if constexpr (std::is_same_v<F, Fx>) {
      return Fx{internal::kFxLimit - 1};
    } else {
      return Fx64{INT64_MAX};
    }
  }();

  // One linear piece of G between two breakpoints (or 0, or open-ended above).
  struct Piece {
    F lo, hi;
    bool open_ended = false;
    Lin lin;
  };
  // Makes pieces_[i] exist; false when the walk has no further piece.
  bool NextPiece(int x, F mark, bool downward, size_t i) {
    while (pieces_.size() <= i) {
      Piece pc;
      if (downward) {
        const F cur = pieces_.empty() ? mark : pieces_.back().lo;
        if (!pieces_.empty() && cur.zero()) return false;
        pc.hi = cur;
        for (size_t n = bp_.size(); n > 0; --n) {
          if (bp_[n - 1] < cur) {
            pc.lo = bp_[n - 1];
            break;
          }
        }
        pc.lin = Coeffs(x, Mid(pc.lo, pc.hi));
      } else {
        if (!pieces_.empty() && pieces_.back().open_ended) return false;
        const F cur = pieces_.empty() ? mark : pieces_.back().hi;
        pc.lo = cur;
        pc.open_ended = true;
        for (const F& b : bp_) {
          if (cur < b) {
            pc.hi = b;
            pc.open_ended = false;
            break;
          }
        }
        if constexpr (!std::is_same_v<F, Fx>) {
          if (pc.hi == kBeyond) {  // a breakpoint beyond 64 bits: the account goes to 128 bits
            ar.SetOverflow();
            return false;
          }
        }
        pc.lin = Coeffs(x, pc.open_ended ? ar.Add(cur, F::One()) : Mid(pc.lo, pc.hi));
      }
      pieces_.push_back(pc);
    }
    return true;
  }

  // The amounts of each position that follow from its inputs alone.
  void Derive() {
    for (RPT<F>& r : pos) {
      r.cost = ar.Mul(r.qty, r.entry, kUp);
      if (r.kind == PositionKind::kSpotMargin) {
        r.qty_per_lev = ar.Div(r.qty, r.lev, kUp);
        // Rollover: one fee per completed 4-hour period on the borrowed amount (the cost).
        r.opening = ar.Mul(r.cost, Tab<F>(Pr().assets[r.asset]).opening_fee, kUp);
        r.rollover = ar.Mul(r.cost, r.rate_sum, kUp);
        r.fees = ar.Add(r.opening, r.rollover);
      } else {
        r.qty_per_lev = r.fees = r.opening = r.rollover = F{};
      }
    }
  }
  // Forgets the pieces of the previous account (or of an abandoned attempt).
  void ResetSolver() {
    pieces_key_ = -1;
    last_asset_ = -1;
  }
  // Everything after Resolve: totals, state, refusals, prices, stress; written into *v.
  void Finish(const Inputs& in, Valuation* v);

 protected:
  const Evaluator::Prepared& Pr() const { return *cx_->pr_; }
  Ctx* cx_;
  std::vector<Lin> lin_at_mark_;  // per asset index; valid for the assets with a position
  std::vector<F> bp_;
  std::vector<Piece> pieces_;
  int pieces_key_ = -1;
  Lin last_;  // Coeffs(last_asset_, .., last=true) of this account, once computed
  int last_asset_ = -1;
};

// Scratch state of one evaluation; one per thread, reused so that steady-state evaluation does
// not allocate. Resolve and the general piece walk of the solver run at 128 bits; the rest runs
// in `fast` (64 bits) when the account and the assets it uses fit, else in the Core<Arith> base.
class Run : public Ctx, public Core<Arith> {
 public:
  Run() : Core<Arith>(this), fast(this) { wide = &ar; }
  void Reset(const Evaluator::Prepared& pr) {
    pr_ = &pr;
    ar = Arith();
    ResetSolver();
    fast.ResetSolver();
  }

  Core<Arith64> fast;

  // Copies the resolved account into `fast`; false when something does not fit 64 bits.
  bool Narrow() {
    if (!pr_->fits64) return false;
    for (int i : used) {
      if (!pr_->assets[i].fits64) return false;
    }
    using internal::Narrow;
    bool ok = true;
    const size_t nc = coll.size(), np = pos.size();
    fast.coll.resize(nc);
    for (size_t i = 0; i < nc; ++i) {
      fast.coll[i].asset = coll[i].asset;
      ok = Narrow(coll[i].qty, &fast.coll[i].qty) && ok;
    }
    fast.pos.resize(np);
    for (size_t i = 0; i < np; ++i) {
      const RP& r = pos[i];
      RPT<Fx64>& n = fast.pos[i];
      n.asset = r.asset;
      n.kind = r.kind;
      n.is_long = r.is_long;
      n.periods = r.periods;
      ok = Narrow(r.qty, &n.qty) && Narrow(r.entry, &n.entry) && Narrow(r.lev, &n.lev) &&
           Narrow(r.rate_sum, &n.rate_sum) && Narrow(r.funding, &n.funding) && ok;
    }
    fast.ar = Arith64();
    return ok;
  }

  Status Resolve(const Account& acct, int64_t now) {
    // Reset only what the previous account used: the cost stays independent of the number of
    // assets in the risk file.
    if (st.size() != pr_->assets.size()) {
      st.assign(pr_->assets.size(), AState{});  // another evaluator used this thread's scratch
      used.clear();
    }
    for (int i : used) st[i] = AState{};
    used.clear();
    auto use = [&](int i) __attribute__((always_inline)) {
      if (!st[i].used) used.push_back(i);
      st[i].used = true;
    };
    std::optional<Fx> region_cap;
    if (acct.region) {
      auto it = pr_->region_caps.find(*acct.region);
      if (it == pr_->region_caps.end()) return FieldError("region", "unknown region \"" + *acct.region + "\"");
      region_cap = it->second;
    }
    // Filled in place (no temporaries): every input member is assigned below.
    const size_t nc = acct.collateral.size(), np = acct.positions.size();
    coll.resize(nc);
    for (size_t i = 0; i < nc; ++i) {
      const CollateralBalance& c = acct.collateral[i];
      const FieldPath f{"collateral", i};
      const int ai = pr_->index.Find(c.asset);
      if (ai < 0) [[unlikely]] return FieldError(f + ".asset", "unknown asset \"" + c.asset + "\"");
      RC& rc = coll[i];
      rc.asset = ai;
      if (!ToFxIn(c.quantity, &rc.qty)) [[unlikely]] return ToFxFieldError(c.quantity, f, ".quantity");
      use(rc.asset);
    }
    pos.resize(np);
    for (size_t i = 0; i < np; ++i) {
      const Position& p = acct.positions[i];
      const FieldPath f{"positions", i};
      const int ai = pr_->index.Find(p.asset);
      if (ai < 0) [[unlikely]] return FieldError(f + ".asset", "unknown asset \"" + p.asset + "\"");
      const PAsset& a = pr_->assets[ai];
      if (a.cash) return FieldError(f + ".asset", "\"" + p.asset + "\" is cash and cannot be a position");
      RP& rp = pos[i];
      rp.asset = ai;
      rp.kind = p.kind;
      rp.is_long = p.side == Side::kLong;
      if (!ToFxIn(p.quantity, &rp.qty)) [[unlikely]] return ToFxFieldError(p.quantity, f, ".quantity");
      if (!rp.qty.positive()) return FieldError(f + ".quantity", "must be positive (use side for shorts), got " + p.quantity.ToString());
      if (!ToFxIn(p.entry_price, &rp.entry)) [[unlikely]] return ToFxFieldError(p.entry_price, f, ".entry_price");
      if (!rp.entry.positive()) return FieldError(f + ".entry_price", "must be positive, got " + p.entry_price.ToString());
      std::optional<Fx> lev;
      if (p.leverage) {
        Fx l;
        if (!ToFxIn(*p.leverage, &l)) [[unlikely]] return ToFxFieldError(*p.leverage, f, ".leverage");
        if (l < kOne) return FieldError(f + ".leverage", "must be at least 1, got " + p.leverage->ToString());
        lev = l;
      }
      const std::optional<Fx>& asset_cap = p.kind == PositionKind::kSpotMargin ? a.spot_cap : a.futures_cap;
      if (!asset_cap) {
        return FieldError(f + ".kind", std::string(p.kind == PositionKind::kSpotMargin ? "spot margin" : "futures") +
                                           " is not offered for \"" + p.asset + "\"");
      }
      Fx cap = *asset_cap;
      bool region_binds = region_cap && *region_cap < cap;
      if (region_binds) cap = *region_cap;
      if (lev && *lev > cap) {
        return FieldError(f + ".leverage", p.leverage->ToString() + " exceeds the cap of " + FromFx(cap).Normalized().ToString() +
                                               (region_binds ? " (region " + *acct.region + ")" : " for \"" + p.asset + "\""));
      }
      if (p.kind == PositionKind::kSpotMargin) {
        if (!lev) return FieldError(f + ".leverage", "missing; required for spot margin positions");
        rp.lev = *lev;
        rp.funding = Fx{};
        if (p.opened_unix_nanos <= 0) return FieldError(f + ".opened_time", "missing; required for spot margin positions");
        if (p.opened_unix_nanos > now) return FieldError(f + ".opened_time", "is in the future");
        rp.periods = (now - p.opened_unix_nanos) / kNanosPer4h;
        // Rollover: one fee per completed 4-hour period on the borrowed amount (the cost).
        const int64_t covered = a.rollover.empty() ? 0 : a.rollover.back().first;
        if (rp.periods > covered) {
          return FieldError(f + ".opened_time", "position is " + std::to_string(rp.periods * 4) +
                                                    " hours old; the rollover table for \"" + p.asset +
                                                    "\" covers " + std::to_string(covered * 4) + " hours");
        }
        Fx rate_sum{};
        int64_t done = 0;
        for (const auto& [upto, rate] : a.rollover) {
          if (done >= rp.periods) break;
          const int64_t n = std::min(upto, rp.periods) - done;
          rate_sum = ar.Add(rate_sum, Fx{rate.raw * n});
          done += n;
        }
        rp.rate_sum = rate_sum;
      } else {
        rp.lev = lev ? *lev : cap;
        rp.periods = 0;
        rp.rate_sum = Fx{};
        if (!ToFxIn(p.funding_accrued, &rp.funding)) [[unlikely]] return ToFxFieldError(p.funding_accrued, f, ".funding_accrued");
        if (p.kind == PositionKind::kDated) {
          if (!p.expiry_unix_nanos) return FieldError(f + ".expiry_time", "missing; required for dated futures");
          if (*p.expiry_unix_nanos <= now) return FieldError(f + ".expiry_time", "the contract has expired");
        } else if (p.expiry_unix_nanos) {
          return FieldError(f + ".expiry_time", "perpetual futures have no expiry");
        }
      }
      use(rp.asset);
      st[rp.asset].has_position = true;
    }
    for (int i : used) {
      const PAsset& a = pr_->assets[i];
      st[i].reasons = a.reasons;
      if (a.cash) continue;
      bool too_old = a.check_age && a.quote != nullptr &&
                     (!a.quote->newest_observation_unix_nanos ||
                      now - *a.quote->newest_observation_unix_nanos > a.max_age_nanos);
      st[i].degraded = a.priced && (a.status_degraded || too_old);
      if (st[i].degraded) st[i].reasons |= kReasonMarkDegraded;
      if (!a.priced) st[i].reasons |= kReasonUnpriced;
    }
    return Status::Ok();
  }
};

template <class Ar>
void Core<Ar>::Finish(const Inputs& in, Valuation* v) {
  const Evaluator::Prepared& pr = Pr();
  // Refusal texts are assigned over the previous account's strings (no allocation when they fit).
  size_t n_refusals = 0;
  auto refuse = [&](std::string_view text) {
    if (n_refusals < v->refusals.size()) {
      v->refusals[n_refusals].assign(text);
    } else {
      v->refusals.emplace_back(text);
    }
    ++n_refusals;
  };
  v->worst_stress_loss.reset();
  v->survives_all_stress = true;
  Derive();
  const std::vector<F>& price = Prices<F>(pr);

  Totals t = Compute(price, v, in.solve);
  auto q = Requirements(t);
  AccountState state = State(t, q);
  if (in.any_unpriced) {
    // Unpriced assets were valued at 0. With only debts/shorts unpriced that is the best case for
    // the account: liquidation then is certain. Otherwise the state cannot be decided.
    state = (!in.unpriced_long && state == AccountState::kLiquidation) ? AccountState::kLiquidation
                                                                        : AccountState::kUndetermined;
  }
  v->collateral_value = FromFx(t.collateral);
  v->unrealized_pnl = FromFx(t.pnl);
  v->fees = FromFx(t.fees);
  v->funding = FromFx(t.funding);
  v->equity = FromFx(t.equity);
  v->used_margin = FromFx(t.um);
  v->initial_margin = FromFx(t.im);
  v->maintenance_margin = FromFx(t.mm);
  v->margin_level = t.um.positive() ? std::optional<Decimal>(FromFx(ar.Div(t.equity, t.um, kDown))) : std::nullopt;
  v->requirement_no_new_positions = FromFx(q.nn);
  v->requirement_margin_call = FromFx(q.call);
  v->requirement_liquidation = FromFx(q.liq);
  v->state = state;

  // Refusals of new risk: degraded inputs first, then the account state.
  const int64_t snap_age = in.now - in.view.snapshot_time_unix_nanos;
  if (snap_age > in.params.max_snapshot_age_ms * kNanosPerMs) {
    refuse("snapshot " + std::to_string(in.view.snapshot_sequence) + " is " +
                          std::to_string(snap_age / kNanosPerMs) + " ms old (limit " +
                          std::to_string(in.params.max_snapshot_age_ms) + " ms)");
  }
  for (int i : cx_->used) {
    const AState& s = cx_->st[i];
    const PAsset& a = pr.assets[i];
    if (a.cash) continue;
    if (!a.refusal.empty()) {
      refuse(a.refusal);
    } else if (s.degraded) {
      refuse(a.refusal_age);
    }
  }
  if (state != AccountState::kHealthy) refuse(kStateRefusal[static_cast<int>(state)]);
  v->refusals.resize(n_refusals);
  v->new_risk_allowed = n_refusals == 0;

  if (in.solve) {
    // Per (asset, direction): {margin call, liquidation, bankruptcy}.
    n_cached = 0;
    const LevelsT<F>& lv = Lv<F>(pr);
    const Target call{lv.call, lv.fut_call, ar.Sub(t.equity, q.call)};
    const Target liq{lv.liq, F::One(), ar.Sub(t.equity, q.liq)};
    const Target bankrupt{F{}, F{}, t.equity};
    const Target targets[3] = {call, liq, bankrupt};
    for (size_t i = 0, n = pos.size(); i < n; ++i) {
      const RPT<F>& r = pos[i];
      const bool down = r.is_long;
      const Cached* it = cache.data();
      const Cached* const end = it + n_cached;
      while (it != end && !(it->asset == r.asset && it->down == down)) ++it;
      if (it == end) {
        if (n_cached == cache.size()) cache.emplace_back();
        Cached& c = cache[n_cached++];
        c.asset = r.asset;
        c.down = down;
        Solve3(r.asset, price[r.asset], LinAtMark(r.asset), targets, down, c.price);  // assigns all three
        it = &c;
      }
      PositionLine& l = v->positions[i];
      // Assigned either way: an abandoned 64-bit attempt may have written this line.
      const std::optional<Fx>(&pc)[3] = it->price;
      l.margin_call_price = pc[0] ? std::optional<Decimal>(FromFx(*pc[0])) : std::nullopt;
      l.liquidation_price = pc[1] ? std::optional<Decimal>(FromFx(*pc[1])) : std::nullopt;
      l.bankruptcy_price = pc[2] ? std::optional<Decimal>(FromFx(*pc[2])) : std::nullopt;
    }
  }

  if (!in.options.stress || in.any_unpriced) v->stress.clear();
  if (in.options.stress && !in.any_unpriced) {
    shocked.resize(price.size());
    F worst{};
    bool first = true;
    v->stress.resize(pr.stress.size());
    for (size_t n = 0; n < pr.stress.size(); ++n) {
      const Evaluator::Prepared::Shock& s = pr.stress[n];
      const std::vector<F>& factor = Factors<F>(s);
      for (size_t i = 0; i < price.size(); ++i) {
        if constexpr (!std::is_same_v<F, Fx>) {
          if (!pr.assets[i].fits64) {
            // Not used by this account (it would be at 128 bits): only the range check of its
            // shocked price, which the 128-bit path makes for every asset.
            if (!pr.assets[i].cash) cx_->wide->Mul(pr.price[i], s.factor[i], kDown);
            shocked[i] = F{};
            continue;
          }
        }
        shocked[i] = pr.assets[i].cash ? price[i] : ar.Mul(price[i], factor[i], kDown);
      }
      Totals st = Compute(shocked, nullptr);
      auto sq = Requirements(st);
      StressLine& line = v->stress[n];
      line.name = s.name;
      line.equity = FromFx(st.equity);
      F loss = ar.Sub(t.equity, st.equity);
      line.loss = FromFx(loss);
      line.state = State(st, sq);
      line.survives = line.state != AccountState::kLiquidation;
      v->survives_all_stress = v->survives_all_stress && line.survives;
      if (first || loss > worst) worst = loss;
      first = false;
    }
    if (!first) v->worst_stress_loss = FromFx(worst);
  }
}
}  // namespace

Result<Valuation> Evaluator::Evaluate(const Account& account, int64_t now, const EvaluateOptions& options) const {
  Valuation v;
  PLUMBLINE_RETURN_IF_ERROR(EvaluateInto(account, now, options, &v));
  return v;
}

Status Evaluator::EvaluateInto(const Account& account, int64_t now, const EvaluateOptions& options,
                               Valuation* v) const {
  const Prepared& pr = *prepared_;
  thread_local Run run;
  run.Reset(pr);
  PLUMBLINE_RETURN_IF_ERROR(run.Resolve(account, now));

  v->account_id = account.id;
  v->snapshot_sequence = view_->snapshot_sequence;
  if (v->snapshot_hash != view_->snapshot_hash) v->snapshot_hash = view_->snapshot_hash;  // same for a whole batch
  v->snapshot_time_unix_nanos = view_->snapshot_time_unix_nanos;
  if (v->risk_digest != params_->digest) v->risk_digest = params_->digest;
  v->evaluated_unix_nanos = now;

  bool unpriced_long = false, unpriced_short = false;
  const size_t nc = account.collateral.size(), np = account.positions.size();
  v->collateral.resize(nc);
  for (size_t i = 0; i < nc; ++i) {
    const RC& c = run.coll[i];
    CollateralLine& l = v->collateral[i];
    SetShort(l.asset, account.collateral[i].asset);
    l.quantity = account.collateral[i].quantity;
    const PAsset& a = pr.assets[c.asset];
    l.mark = a.mark;
    if (!a.priced) (c.qty.positive() ? unpriced_long : unpriced_short) = true;
  }
  v->positions.resize(np);
  for (size_t i = 0; i < np; ++i) {
    const Position& p = account.positions[i];
    const RP& r = run.pos[i];
    PositionLine& l = v->positions[i];
    SetShort(l.id, p.id);
    SetShort(l.asset, p.asset);
    l.kind = p.kind;
    l.side = p.side;
    l.quantity = p.quantity;
    l.entry_price = p.entry_price;
    const PAsset& a = pr.assets[r.asset];
    l.mark = a.mark;  // never cash (Resolve)
    l.margin_call_price.reset();
    l.liquidation_price.reset();
    l.bankruptcy_price.reset();
    if (!a.priced) (r.is_long ? unpriced_long : unpriced_short) = true;
  }

  const bool any_unpriced = unpriced_long || unpriced_short;
  const Inputs in{*params_, *view_, now, options, options.liquidation_prices && !any_unpriced && !run.pos.empty(),
                  any_unpriced, unpriced_long};
  // The 64-bit path when the account fits it; if a result leaves 64 bits on the way, the whole
  // account again at 128 bits (the 128-bit arithmetic state goes back to what Resolve left).
  bool done = false;
  if (!internal::wide_only && run.Narrow()) {
    const Arith resolved = run.ar;
    run.fast.Finish(in, v);
    done = !run.fast.ar.overflow();
    if (!done) {
      run.ar = resolved;
      run.ResetSolver();
      ++internal::path_counts.fallback;
    } else {
      ++internal::path_counts.narrow;
    }
  } else {
    ++internal::path_counts.wide;
  }
  if (!done) run.Core<Arith>::Finish(in, v);
  if (run.ar.overflow()) return Status::OutOfRange("account amounts exceed the evaluator's range (about 10^24 USD)");
  return Status::Ok();
}

}  // namespace plumbline::margin
