#include "plumbline/feeds/aggregation.h"

#include <algorithm>
#include <cstdint>

namespace plumbline::feeds {
namespace {

using i128 = __int128;
using u128 = unsigned __int128;

// Values of one symbol at one common scale. The round's usual case (prices below ~5.7e17 units,
// e.g. 5.7e9 at 8 decimals) runs on int64_t; anything larger takes the same code on __int128.
// kFastLimit leaves headroom so every intermediate (p + c, twice a median, 2p - m, 4 x MAD,
// twice a confidence) stays below 2^63.
constexpr int64_t kFastLimit = int64_t{1} << 59;
constexpr i128 kWideLimit = i128{1} << 120;

template <typename T>
struct Weighted {
  T value;
  uint64_t weight;
};

bool ScaleUp(i128 units, int digits, i128* out) {
  i128 v = units;
  for (int i = 0; i < digits; ++i) {
    if (__builtin_mul_overflow(v, 10, &v)) return false;
  }
  *out = v;
  return true;
}

// 128 x 128 -> 256-bit product of magnitudes, as (high, low).
void Mul256(u128 a, u128 b, u128* hi, u128* lo) {
  const u128 mask = ~uint64_t{0};
  const u128 a0 = a & mask, a1 = a >> 64, b0 = b & mask, b1 = b >> 64;
  const u128 p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const u128 mid = (p00 >> 64) + (p01 & mask) + (p10 & mask);
  *lo = (p00 & mask) | (mid << 64);
  *hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
}

// a * b > c * d for non-negative operands, exactly (no overflow possible).
bool ProductGreater(i128 a, i128 b, i128 c, i128 d) {
  u128 p1, p2;  // the usual case: both products fit 128 bits
  if (!__builtin_mul_overflow(static_cast<u128>(a), static_cast<u128>(b), &p1) &&
      !__builtin_mul_overflow(static_cast<u128>(c), static_cast<u128>(d), &p2)) {
    return p1 > p2;
  }
  u128 h1, l1, h2, l2;
  Mul256(static_cast<u128>(a), static_cast<u128>(b), &h1, &l1);
  Mul256(static_cast<u128>(c), static_cast<u128>(d), &h2, &l2);
  return h1 != h2 ? h1 > h2 : l1 > l2;
}

i128 Pow10(int n) {
  i128 r = 1;
  for (int i = 0; i < n; ++i) r *= 10;
  return r;
}

// A weighted multiset being built and sorted: plain arrays (a handful of values per symbol).
template <typename T>
struct Multiset {
  Weighted<T>* v;
  size_t size = 0;
  uint64_t total = 0;
  void Add(T value, uint64_t weight) {
    v[size++] = {value, weight};
    total += weight;
  }
  // Ascending by value. Equal values may land in any order: every statistic below reads values
  // only, so the result does not depend on it. Insertion sort for the usual handful of values.
  void Sort() {
    if (size > 32) {
      std::sort(v, v + size, [](const Weighted<T>& x, const Weighted<T>& y) { return x.value < y.value; });
      return;
    }
    for (size_t i = 1; i < size; ++i) {
      const Weighted<T> x = v[i];
      size_t j = i;
      for (; j > 0 && x.value < v[j - 1].value; --j) v[j] = v[j - 1];
      v[j] = x;
    }
  }
  // Value at `pos` of the expanded multiset (sorted).
  T At(uint64_t pos) const {
    if (total == size) return v[pos].value;  // all weights 1 (pos < total)
    uint64_t seen = 0;
    for (size_t i = 0; i < size; ++i) {
      seen += v[i].weight;
      if (pos < seen) return v[i].value;
    }
    return v[size - 1].value;
  }
  // Twice the weighted median (an integer even when the median is a half-unit).
  T TwiceMedian() const {
    if (total % 2 == 1) return 2 * At((total - 1) / 2);
    return At(total / 2 - 1) + At(total / 2);
  }
};

// twice / 2 at `scale` (exact: one more digit when twice is odd).
Result<Decimal> Halve(i128 twice, int scale) {
  if (twice % 2 == 0) return Decimal::FromUnits(twice / 2, scale);
  if (scale + 1 > Decimal::kMaxScale) return Status::OutOfRange("aggregation: scale out of range");
  return Decimal::FromUnits(twice * 5, scale + 1);
}

// Decimal::Normalized, on 64-bit units when they fit (128-bit division is a library call).
Decimal Normalized(const Decimal& d, int min_scale) {
  const i128 u = d.units();
  if (d.scale() <= min_scale || u % 10 != 0) return d;
  if (u > INT64_MAX || u < -INT64_MAX) return d.Normalized(min_scale);
  int64_t v = static_cast<int64_t>(u);
  int s = d.scale();
  while (s > min_scale && v % 10 == 0) {
    v /= 10;
    --s;
  }
  return Decimal::FromUnits(v, s).value();  // fewer digits than d: always valid
}

// Up to kSmall quotes run on the stack; more use per-thread buffers (reused, never shrunk).
constexpr size_t kSmall = 16;

template <typename T>
struct Buffers {
  T* price;
  T* conf;
  T* d2;
  Weighted<T>* work;  // 3n
};

template <typename T>
struct Storage {
  T price[kSmall], conf[kSmall], d2[kSmall];
  Weighted<T> work[3 * kSmall];
  Buffers<T> For(size_t n) {
    if (n <= kSmall) return {price, conf, d2, work};
    thread_local std::vector<T> p, c, d;
    thread_local std::vector<Weighted<T>> w;
    p.resize(n);
    c.resize(n);
    d.resize(n);
    w.resize(3 * n);
    return {p.data(), c.data(), d.data(), w.data()};
  }
};

// The price and confidence from twice their values at `scale`, printed by the rules above.
template <typename T>
Status Finish(std::span<const Quote> quotes, const T* price, int scale, T p2, T c2, Aggregated* out) {
  // Print at the fewest digits that hold the value exactly, but never fewer than the narrowest
  // kept quote (a 2-decimal venue's price stays "65432.10" next to a 5-decimal venue).
  int min_scale = Decimal::kMaxScale;
  for (size_t i : out->kept) min_scale = std::min(min_scale, quotes[i].price.scale());
  bool quoted = false;
  for (size_t i : out->kept) {  // the price one venue quoted keeps that venue's text
    if (price[i] * 2 == p2) {
      out->price = quotes[i].price;
      quoted = true;
      break;
    }
  }
  if (!quoted) {  // p2 is even when a venue quoted it, so Halve cannot fail there
    Result<Decimal> p = Halve(p2, scale);
    if (!p.ok()) return p.status();
    out->price = Normalized(*p, min_scale);
  }
  Result<Decimal> c = Halve(std::max<T>(c2, 0), scale);
  if (!c.ok()) return c.status();
  out->confidence = Normalized(*c, min_scale);
  return Status::Ok();
}

// The rules of AggregateQuotes over the quotes' values at `scale` (b.price and b.conf); the
// same code for T = int64_t (fast) and __int128 (wide).
template <typename T>
Status Aggregate(std::span<const Quote> quotes, const OutlierRule& rule, int scale, const Buffers<T>& b,
                 Aggregated* out) {
  const T* price = b.price;
  const T* conf = b.conf;
  const size_t n = quotes.size();
  out->kept.clear();
  out->outliers.clear();
  // ---- outliers around the median ----
  if (rule.mad_k.is_positive() && n >= 3) {
    Multiset<T> prices{b.work};
    for (size_t i = 0; i < n; ++i) prices.Add(price[i], quotes[i].weight);
    prices.Sort();
    const T m2 = prices.TwiceMedian();
    Multiset<T> dev{b.work};
    for (size_t i = 0; i < n; ++i) {
      const T d = 2 * price[i] - m2;
      b.d2[i] = d < 0 ? -d : d;
      dev.Add(b.d2[i], quotes[i].weight);
    }
    dev.Sort();
    const T mad4 = dev.TwiceMedian();  // 4 x MAD
    const i128 k_units = rule.mad_k.units(), k_pow = Pow10(rule.mad_k.scale());
    const i128 b_units = rule.min_band.is_negative() ? 0 : rule.min_band.units();
    const i128 b_pow = Pow10(rule.min_band.scale());
    for (size_t i = 0; i < n; ++i) {
      // |p-m| > k*MAD  <=>  2*d2*10^ks > ku*mad4;   |p-m| > b*m  <=>  d2*10^bs > bu*m2
      const bool beyond_mad = ProductGreater(2 * i128{b.d2[i]}, k_pow, k_units, mad4);
      const bool beyond_band = ProductGreater(b.d2[i], b_pow, b_units, m2);
      (beyond_mad && beyond_band ? out->outliers : out->kept).push_back(i);
    }
  } else {
    for (size_t i = 0; i < n; ++i) out->kept.push_back(i);
  }

  // ---- Pyth votes over the kept quotes ----
  Multiset<T> votes{b.work};
  for (size_t i : out->kept) {
    const uint64_t w = quotes[i].weight;
    votes.Add(price[i] - conf[i], w);
    votes.Add(price[i], w);
    votes.Add(price[i] + conf[i], w);
  }
  votes.Sort();
  const uint64_t v = votes.total;
  const T p2 = votes.TwiceMedian();
  const T p25 = votes.At(v / 4);
  const T p75 = votes.At(v - 1 - v / 4);
  const T c2 = std::max<T>(p2 - 2 * p25, 2 * p75 - p2);
  return Finish(quotes, price, scale, p2, c2, out);
}

void SortInts(int64_t* a, size_t n) {
  for (size_t i = 1; i < n; ++i) {
    const int64_t x = a[i];
    size_t j = i;
    for (; j > 0 && x < a[j - 1]; --j) a[j] = a[j - 1];
    a[j] = x;
  }
}

// Aggregate<int64_t> when every weight is 1 and n <= kSmall (the round's usual case), with the
// same results and fewer moves: one sort of the prices; the votes come as three lists in price
// order (p - c and p + c are then nearly sorted), each sorted and then merged.
Status AggregateUnitWeights(std::span<const Quote> quotes, const OutlierRule& rule, int scale,
                            const Buffers<int64_t>& b, Aggregated* out) {
  const int64_t* price = b.price;
  const int64_t* conf = b.conf;
  const size_t n = quotes.size();
  out->kept.clear();
  out->outliers.clear();
  struct ByPrice {
    int64_t value;
    size_t index;
  };
  ByPrice sorted[kSmall];
  for (size_t i = 0; i < n; ++i) {
    ByPrice x{price[i], i};
    size_t j = i;
    for (; j > 0 && x.value < sorted[j - 1].value; --j) sorted[j] = sorted[j - 1];
    sorted[j] = x;
  }
  auto twice_median = [n](auto at) { return n % 2 == 1 ? 2 * at((n - 1) / 2) : at(n / 2 - 1) + at(n / 2); };
  bool keep[kSmall];
  std::fill(keep, keep + n, true);
  if (rule.mad_k.is_positive() && n >= 3) {
    const int64_t m2 = twice_median([&](size_t i) { return sorted[i].value; });
    int64_t dev[kSmall];
    for (size_t i = 0; i < n; ++i) {
      const int64_t d = 2 * price[i] - m2;
      b.d2[i] = dev[i] = d < 0 ? -d : d;
    }
    SortInts(dev, n);
    const int64_t mad4 = twice_median([&](size_t i) { return dev[i]; });  // 4 x MAD
    const i128 k_units = rule.mad_k.units(), k_pow = Pow10(rule.mad_k.scale());
    const i128 b_units = rule.min_band.is_negative() ? 0 : rule.min_band.units();
    const i128 b_pow = Pow10(rule.min_band.scale());
    // Every value here is below 2^62, so with factors below 2^62 the products fit 128 bits.
    const i128 f = i128{1} << 62;
    const bool direct = k_units < f && k_pow < f && b_units < f && b_pow < f;
    for (size_t i = 0; i < n; ++i) {
      const i128 d2 = b.d2[i];
      const bool beyond_mad = direct ? 2 * d2 * k_pow > k_units * mad4 : ProductGreater(2 * d2, k_pow, k_units, mad4);
      const bool beyond_band = direct ? d2 * b_pow > b_units * m2 : ProductGreater(d2, b_pow, b_units, m2);
      keep[i] = !(beyond_mad && beyond_band);
      (keep[i] ? out->kept : out->outliers).push_back(i);
    }
  } else {
    for (size_t i = 0; i < n; ++i) out->kept.push_back(i);
  }
  int64_t lo[kSmall], mid[kSmall], hi[kSmall];
  size_t k = 0;
  for (size_t j = 0; j < n; ++j) {
    const size_t i = sorted[j].index;
    if (!keep[i]) continue;
    lo[k] = price[i] - conf[i];
    mid[k] = price[i];
    hi[k] = price[i] + conf[i];
    ++k;
  }
  SortInts(lo, k);
  SortInts(hi, k);
  int64_t votes[3 * kSmall];
  size_t a = 0, m = 0, h = 0;
  for (size_t t = 0; t < 3 * k; ++t) {
    if (a < k && (m == k || lo[a] <= mid[m]) && (h == k || lo[a] <= hi[h])) {
      votes[t] = lo[a++];
    } else if (m < k && (h == k || mid[m] <= hi[h])) {
      votes[t] = mid[m++];
    } else {
      votes[t] = hi[h++];
    }
  }
  const size_t v = 3 * k;
  const int64_t p2 = v % 2 == 1 ? 2 * votes[(v - 1) / 2] : votes[v / 2 - 1] + votes[v / 2];
  const int64_t p25 = votes[v / 4];
  const int64_t p75 = votes[v - 1 - v / 4];
  const int64_t c2 = std::max<int64_t>(p2 - 2 * p25, 2 * p75 - p2);
  return Finish(quotes, price, scale, p2, c2, out);
}

}  // namespace

Result<Decimal> SpreadConfidence(const Observation& o) {
  if (!o.bid || !o.ask) return Decimal();
  if (!o.bid->is_positive() || !o.ask->is_positive()) {
    return Status::InvalidArgument("bid and ask must be positive");
  }
  if (o.bid->scale() == o.ask->scale()) {  // the usual case: one venue prints both at one scale
    if (o.bid->units() <= o.ask->units()) return Halve(o.ask->units() - o.bid->units(), o.ask->scale());
  }
  if (*o.bid > *o.ask) {
    return Status::InvalidArgument("crossed quote: bid " + o.bid->ToString() + " > ask " + o.ask->ToString());
  }
  Result<Decimal> spread = Decimal::Sub(*o.ask, *o.bid);
  if (!spread.ok()) return spread.status();
  const int s = spread->scale();
  return Halve(spread->units(), s);
}

bool RelativeMoveExceeds(const Decimal& a, const Decimal& b, const Decimal& fraction, bool inclusive) {
  const int scale = std::max(a.scale(), b.scale());
  i128 ua, ub;
  if (!ScaleUp(a.units(), scale - a.scale(), &ua) || !ScaleUp(b.units(), scale - b.scale(), &ub)) return true;
  i128 diff = ua - ub;
  if (diff < 0) diff = -diff;
  // diff / 10^s > (fu / 10^fs) * (ub / 10^s)  <=>  diff * 10^fs > fu * ub
  const i128 lhs_factor = Pow10(fraction.scale());
  const bool greater = ProductGreater(diff, lhs_factor, fraction.units(), ub);
  if (greater) return true;
  if (!inclusive) return false;
  return !ProductGreater(fraction.units(), ub, diff, lhs_factor);  // equal
}

namespace {

Status AggregateWith(std::span<const Quote> quotes, const OutlierRule& rule, bool allow_fast, Aggregated* out) {
  if (quotes.empty()) return Status::InvalidArgument("aggregation: no quotes");
  int scale = 0;
  for (const Quote& q : quotes) {
    if (!q.price.is_positive()) {
      return Status::InvalidArgument("aggregation: source " + std::string(q.source) + ": price must be > 0");
    }
    if (q.confidence.is_negative()) {
      return Status::InvalidArgument("aggregation: source " + std::string(q.source) + ": confidence must be >= 0");
    }
    if (q.weight == 0) return Status::InvalidArgument("aggregation: source " + std::string(q.source) + ": weight must be >= 1");
    scale = std::max({scale, q.price.scale(), q.confidence.scale()});
  }
  const size_t n = quotes.size();
  Storage<i128> wide_storage;
  const Buffers<i128> wide = wide_storage.For(n);
  bool fits = true;
  bool unit_weights = n <= kSmall;
  for (size_t i = 0; i < n; ++i) {
    unit_weights = unit_weights && quotes[i].weight == 1;
    i128& p = wide.price[i];
    i128& c = wide.conf[i];
    if (!ScaleUp(quotes[i].price.units(), scale - quotes[i].price.scale(), &p) ||
        !ScaleUp(quotes[i].confidence.units(), scale - quotes[i].confidence.scale(), &c) || p > kWideLimit ||
        c > kWideLimit) {
      return Status::OutOfRange("aggregation: source " + std::string(quotes[i].source) + ": value too large at scale " +
                                std::to_string(scale));
    }
    fits = fits && p < kFastLimit && c < kFastLimit;
  }
  if (!fits || !allow_fast) return Aggregate<i128>(quotes, rule, scale, wide, out);
  Storage<int64_t> fast_storage;
  const Buffers<int64_t> fast = fast_storage.For(n);
  for (size_t i = 0; i < n; ++i) {
    fast.price[i] = static_cast<int64_t>(wide.price[i]);
    fast.conf[i] = static_cast<int64_t>(wide.conf[i]);
  }
  if (unit_weights) return AggregateUnitWeights(quotes, rule, scale, fast, out);
  return Aggregate<int64_t>(quotes, rule, scale, fast, out);
}

}  // namespace

Status AggregateQuotesInto(std::span<const Quote> quotes, const OutlierRule& rule, Aggregated* out) {
  return AggregateWith(quotes, rule, /*allow_fast=*/true, out);
}

namespace detail {
Status AggregateQuotesWide(std::span<const Quote> quotes, const OutlierRule& rule, Aggregated* out) {
  return AggregateWith(quotes, rule, /*allow_fast=*/false, out);
}
}  // namespace detail

Result<Aggregated> AggregateQuotes(const std::vector<Quote>& quotes, const OutlierRule& rule) {
  Aggregated out;
  out.kept.reserve(quotes.size());  // one allocation, not one per doubling
  Status s = AggregateQuotesInto(quotes, rule, &out);
  if (!s.ok()) return s;
  return out;
}

}  // namespace plumbline::feeds
