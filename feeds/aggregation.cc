#include "plumbline/feeds/aggregation.h"

#include <algorithm>

namespace plumbline::feeds {
namespace {

using i128 = __int128;
using u128 = unsigned __int128;

struct Weighted {
  i128 value;
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

// Value at `pos` of the expanded multiset; `sorted` is ascending by value.
i128 ValueAt(const std::vector<Weighted>& sorted, uint64_t pos) {
  uint64_t seen = 0;
  for (const Weighted& w : sorted) {
    seen += w.weight;
    if (pos < seen) return w.value;
  }
  return sorted.back().value;
}

// Twice the weighted median (an integer even when the median is a half-unit).
i128 TwiceMedian(const std::vector<Weighted>& sorted, uint64_t total) {
  if (total % 2 == 1) return 2 * ValueAt(sorted, (total - 1) / 2);
  return ValueAt(sorted, total / 2 - 1) + ValueAt(sorted, total / 2);
}

void SortByValue(std::vector<Weighted>* v) {
  std::sort(v->begin(), v->end(), [](const Weighted& a, const Weighted& b) { return a.value < b.value; });
}

// twice / 2 at `scale` (exact: one more digit when twice is odd).
Result<Decimal> Halve(i128 twice, int scale) {
  if (twice % 2 == 0) return Decimal::FromUnits(twice / 2, scale);
  if (scale + 1 > Decimal::kMaxScale) return Status::OutOfRange("aggregation: scale out of range");
  return Decimal::FromUnits(twice * 5, scale + 1);
}

}  // namespace

Result<Decimal> SpreadConfidence(const Observation& o) {
  if (!o.bid || !o.ask) return Decimal();
  if (!o.bid->is_positive() || !o.ask->is_positive()) {
    return Status::InvalidArgument("bid and ask must be positive");
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

Result<Aggregated> AggregateQuotes(const std::vector<Quote>& quotes, const OutlierRule& rule) {
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
  // Reused per thread: a round aggregates thousands of symbols and must not allocate for each.
  thread_local std::vector<i128> price, conf, d2;
  thread_local std::vector<Weighted> work;
  price.resize(n);
  conf.resize(n);
  for (size_t i = 0; i < n; ++i) {
    if (!ScaleUp(quotes[i].price.units(), scale - quotes[i].price.scale(), &price[i]) ||
        !ScaleUp(quotes[i].confidence.units(), scale - quotes[i].confidence.scale(), &conf[i]) ||
        price[i] > (i128{1} << 120) || conf[i] > (i128{1} << 120)) {
      return Status::OutOfRange("aggregation: source " + std::string(quotes[i].source) + ": value too large at scale " +
                                std::to_string(scale));
    }
  }

  Aggregated out;
  out.kept.reserve(n);  // one allocation, not one per doubling
  work.clear();
  // ---- outliers around the median ----
  if (rule.mad_k.is_positive() && n >= 3) {
    uint64_t total = 0;
    for (size_t i = 0; i < n; ++i) {
      work.push_back({price[i], quotes[i].weight});
      total += quotes[i].weight;
    }
    SortByValue(&work);
    const i128 m2 = TwiceMedian(work, total);
    d2.resize(n);
    work.clear();
    for (size_t i = 0; i < n; ++i) {
      const i128 d = 2 * price[i] - m2;
      d2[i] = d < 0 ? -d : d;
      work.push_back({d2[i], quotes[i].weight});
    }
    SortByValue(&work);
    const i128 mad4 = TwiceMedian(work, total);  // 4 x MAD
    const i128 k_units = rule.mad_k.units(), k_pow = Pow10(rule.mad_k.scale());
    const i128 b_units = rule.min_band.is_negative() ? 0 : rule.min_band.units();
    const i128 b_pow = Pow10(rule.min_band.scale());
    for (size_t i = 0; i < n; ++i) {
      // |p-m| > k*MAD  <=>  2*d2*10^ks > ku*mad4;   |p-m| > b*m  <=>  d2*10^bs > bu*m2
      const bool beyond_mad = ProductGreater(2 * d2[i], k_pow, k_units, mad4);
      const bool beyond_band = ProductGreater(d2[i], b_pow, b_units, m2);
      (beyond_mad && beyond_band ? out.outliers : out.kept).push_back(i);
    }
  } else {
    for (size_t i = 0; i < n; ++i) out.kept.push_back(i);
  }

  // ---- Pyth votes over the kept quotes ----
  work.clear();
  uint64_t votes = 0;
  for (size_t i : out.kept) {
    const uint64_t w = quotes[i].weight;
    work.push_back({price[i] - conf[i], w});
    work.push_back({price[i], w});
    work.push_back({price[i] + conf[i], w});
    votes += 3 * w;
  }
  SortByValue(&work);
  const i128 p2 = TwiceMedian(work, votes);
  const i128 p25 = ValueAt(work, votes / 4);
  const i128 p75 = ValueAt(work, votes - 1 - votes / 4);
  const i128 c2 = std::max(p2 - 2 * p25, 2 * p75 - p2);
  Result<Decimal> p = Halve(p2, scale);
  if (!p.ok()) return p.status();
  Result<Decimal> c = Halve(std::max<i128>(c2, 0), scale);
  if (!c.ok()) return c.status();
  // Print at the fewest digits that hold the value exactly, but never fewer than the narrowest
  // kept quote (a 2-decimal venue's price stays "65432.10" next to a 5-decimal venue).
  int min_scale = Decimal::kMaxScale;
  for (size_t i : out.kept) min_scale = std::min(min_scale, quotes[i].price.scale());
  out.price = p->Normalized(min_scale);
  for (size_t i : out.kept) {  // the price one venue quoted keeps that venue's text
    if (price[i] * 2 == p2) {
      out.price = quotes[i].price;
      break;
    }
  }
  out.confidence = c->Normalized(min_scale);
  return out;
}

}  // namespace plumbline::feeds
