#include "plumbline/feeds/aggregation.h"

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <utility>

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

constexpr i128 Pow10(int n) {
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
  if (out->kept.empty()) return Status::FailedPrecondition("aggregation: every quote is an outlier");

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

// ---- the unit-weight fast path ----
//
// The round's usual symbol: 1..kSmall quotes, every weight 1, every value below 2^59 units at the
// common scale (kFastLimit) and the rule's factors within 64 bits. It computes what
// Aggregate<int64_t> computes with no data-dependent branches in the statistics (the venues'
// order changes from symbol to symbol and round to round, so branches on values mispredict):
//   - the prices are sorted by a comparator network (Batcher's, on W = 4, 8 or 16 wires with
//     sentinels above the n prices; the comparators a sentinel settles are left out at compile
//     time, so there is one network per count, chosen through a table);
//   - the deviations |2p - m2| of the sorted prices form two sorted runs leaving the median on
//     either side: one merge network sorts them, and the MAD is read off the middle;
//   - the outlier tests are two 64-bit comparisons per quote against bounds divided out once;
//   - the votes p - c and p + c are sorted by two networks and merged with each other and with
//     the sorted prices by merge networks, keeping only the comparators the positions read
//     depend on (and leaving out those dominance settles: see VoteNetwork).
// Anything outside that case (including the errors the core itself raises: halving an odd value
// at the largest scale, every quote an outlier) returns false and the caller runs the general
// path, which reports errors. aggregation_test.cc checks the two paths agree.

constexpr int64_t kSentinel = INT64_MAX;  // above every value here (all below 2^62)

// 10^d for d < 20; 0 beyond, where only a zero value passes the limit check below.
constexpr std::array<uint64_t, Decimal::kMaxScale + 1> kPow10U64 = [] {
  std::array<uint64_t, Decimal::kMaxScale + 1> t{};
  uint64_t p = 1;
  for (int d = 0; d < 20; ++d, p *= 10) t[d] = p;
  return t;
}();

// kScaleLimit[d]: the largest u with u * 10^d < kFastLimit (0 once 10^d alone exceeds it).
constexpr std::array<uint64_t, Decimal::kMaxScale + 1> kScaleLimit = [] {
  std::array<uint64_t, Decimal::kMaxScale + 1> t{};
  for (int d = 0; d < 20; ++d) t[d] = (kFastLimit - 1) / kPow10U64[d];
  return t;
}();

// A comparator network: pairs (i, j), i < j, each putting the smaller value on wire i.
struct Network {
  std::array<std::array<uint8_t, 2>, 512> pairs{};
  size_t size = 0;
};

// Appends the comparators of Batcher's odd-even merge sort on `width` wires (a power of two) from
// the phase merging sorted runs of `run` wires on (run = 1: a full sort; run = width / 2: one
// merge of two sorted halves), shifted by `offset`, without those touching a wire at or above
// `limit` (wires holding the sentinel: a comparator puts the larger value on its higher wire, so
// the sentinel never moves and those comparators do nothing). With `dominated`, the first merge
// layer (wire i of the lower run against wire i of the upper, i < run) is left out: the caller
// knows the lower run is elementwise at most the upper, so those comparators never swap.
constexpr void AppendBatcher(Network& net, size_t width, size_t run, size_t limit, size_t offset,
                             bool dominated = false) {
  for (size_t p = run; p < width; p <<= 1) {
    for (size_t k = p; k >= 1; k >>= 1) {
      if (dominated && p == run && k == p) continue;
      for (size_t j = k % p; j + k < width; j += 2 * k) {
        for (size_t i = 0; i < k && i + j + k < width; ++i) {
          if ((i + j) / (2 * p) == (i + j + k) / (2 * p) && i + j + k < limit) {
            net.pairs[net.size++] = {static_cast<uint8_t>(offset + i + j), static_cast<uint8_t>(offset + i + j + k)};
          }
        }
      }
    }
  }
}

// Only the comparators some wire of `outputs` (a bit mask) depends on.
constexpr Network Pruned(const Network& net, uint64_t outputs) {
  Network kept;
  bool used[512] = {};
  for (size_t c = net.size; c-- > 0;) {
    const auto [i, j] = net.pairs[c];
    if ((outputs >> i & 1) == 0 && (outputs >> j & 1) == 0) continue;
    used[c] = true;
    outputs |= uint64_t{1} << i | uint64_t{1} << j;
  }
  for (size_t c = 0; c < net.size; ++c) {
    if (used[c]) kept.pairs[kept.size++] = net.pairs[c];
  }
  return kept;
}

// A network as an array of exactly its size (for the unrolled Apply below).
template <const Network& net>
constexpr auto Trimmed() {
  std::array<std::array<uint8_t, 2>, net.size> pairs{};
  for (size_t i = 0; i < net.size; ++i) pairs[i] = net.pairs[i];
  return pairs;
}

// Only the comparators that can move a value, when just the wires of `real` (a bit mask) hold
// values and the others the sentinel: where a sentinel sits is known at compile time (it is
// above every value), so a comparator whose upper wire holds it does nothing and is left out.
constexpr Network WithoutSentinels(const Network& net, uint64_t real) {
  Network kept;
  for (size_t c = 0; c < net.size; ++c) {
    const auto [i, j] = net.pairs[c];
    if ((real >> j & 1) == 0) continue;
    kept.pairs[kept.size++] = net.pairs[c];
    if ((real >> i & 1) == 0) real ^= uint64_t{1} << i | uint64_t{1} << j;  // always swaps
  }
  return kept;
}

constexpr uint64_t Wires(size_t from, size_t count) { return ((uint64_t{1} << count) - 1) << from; }

// A count for the networks below meaning "any": no comparator is left out for the sentinels, one
// network serves every count (for W = 16, where a network per count would cost ~50 KB of code
// for a rare case).
constexpr size_t kAnyCount = SIZE_MAX;

// The sort of n <= W prices on [0, W).
template <size_t W, size_t N>
struct PriceNetwork {
  static constexpr Network kNet = [] {
    Network net;
    AppendBatcher(net, W, 1, W, 0);
    return WithoutSentinels(net, Wires(0, N == kAnyCount ? W : N));
  }();
  static constexpr auto kPairs = Trimmed<kNet>();
};

// The deviations of n <= W prices: two sorted runs on [0, W/2) (ceil(n/2) values) and [W/2, W)
// (floor(n/2)), merged, for the positions the MAD reads (n/2, and n/2 - 1 when n is even).
template <size_t W, size_t N>
struct DeviationNetwork {
  static constexpr Network kNet = [] {
    Network net;
    AppendBatcher(net, W, W / 2, W, 0);
    if constexpr (N == kAnyCount) {
      return Pruned(net, Wires(0, W / 2 + 1));
    } else {
      const uint64_t outputs = N < 2 ? 1 : (uint64_t{1} << N / 2 | uint64_t{1} << (N - 1) / 2);
      return Pruned(WithoutSentinels(net, Wires(0, (N + 1) / 2) | Wires(W / 2, N / 2)), outputs);
    }
  }();
  static constexpr auto kPairs = Trimmed<kNet>();
};

// The votes of k <= W quotes: p - c on wires [0, W) and p + c on [W, 2W), each sorted, then
// merged, then merged with the k sorted prices on [2W, 3W); only what the positions the price
// and the confidence read (of v = 3k) depend on.
//
// Dominance (c >= 0): the i-th smallest p - c <= the i-th smallest p <= the i-th smallest p + c
// (the lists are elementwise ordered before sorting, so sorted too). So the first layer of the
// first merge (the i-th p - c against the i-th p + c) never swaps, nor that of the second (the
// i-th of the merged pair, at most the i-th p - c, against the i-th p): both are left out.
template <size_t W, size_t K>
struct VoteNetwork {
  static constexpr Network kNet = [] {
    Network net;
    AppendBatcher(net, W, 1, W, 0);
    AppendBatcher(net, W, 1, W, W);
    AppendBatcher(net, 2 * W, W, 2 * W, 0, /*dominated=*/true);
    AppendBatcher(net, 4 * W, 2 * W, 3 * W, 0, /*dominated=*/true);
    if constexpr (K == kAnyCount) {
      return Pruned(net, Wires(0, 3 * W));
    } else {
      constexpr size_t v = 3 * K;
      const uint64_t outputs = K == 0 ? 0
                                      : (uint64_t{1} << v / 4 | uint64_t{1} << (v - 1 - v / 4) |
                                         uint64_t{1} << (v - 1) / 2 | uint64_t{1} << v / 2);
      return Pruned(WithoutSentinels(net, Wires(0, K) | Wires(W, K) | Wires(2 * W, K)), outputs);
    }
  }();
  static constexpr auto kPairs = Trimmed<kNet>();
};

[[gnu::always_inline]] inline void CompareExchange(int64_t& a, int64_t& b) {
  const int64_t x = a, y = b;
  a = y < x ? y : x;
  b = y < x ? x : y;
}

// Applies a network to v[Offset, ...), fully unrolled.
template <const auto& Pairs, size_t Offset, size_t... I>
[[gnu::always_inline]] inline void ApplyNetwork([[maybe_unused]] int64_t* v, std::index_sequence<I...>) {
  (CompareExchange(v[Offset + Pairs[I][0]], v[Offset + Pairs[I][1]]), ...);
}
template <const auto& Pairs, size_t Offset = 0>
[[gnu::always_inline]] inline void Apply(int64_t* v) {
  ApplyNetwork<Pairs, Offset>(v, std::make_index_sequence<Pairs.size()>{});
}

// floor(a * b / f), capped at 2^62, for f >= 1.
uint64_t Threshold(uint64_t a, uint64_t b, uint64_t f) {
  const u128 product = static_cast<u128>(a) * b;
  const u128 q = (product >> 64) == 0 ? static_cast<u128>(static_cast<uint64_t>(product) / f) : product / f;
  return q > (u128{1} << 62) ? uint64_t{1} << 62 : static_cast<uint64_t>(q);
}

// One function per count, chosen through a table (the counts are known only at run time).
using NetworkFn = void (*)(int64_t*);
template <typename Net>
void ApplyFn(int64_t* v) {
  Apply<Net::kPairs>(v);
}
template <template <size_t, size_t> class Net, size_t W, size_t... N>
constexpr std::array<NetworkFn, W + 1> Table(std::index_sequence<N...>) {
  return {&ApplyFn<Net<W, N>>...};
}
template <template <size_t, size_t> class Net, size_t W>
constexpr std::array<NetworkFn, W + 1> kTable = Table<Net, W>(std::make_index_sequence<W + 1>{});
template <template <size_t, size_t> class Net, size_t W>
NetworkFn NetworkFor(size_t count) {
  if constexpr (W > 8) {
    return &ApplyFn<Net<W, kAnyCount>>;
  } else {
    return kTable<Net, W>[count];
  }
}

// Decimal of v / 10^scale with trailing zeros dropped down to min_scale, as Normalized() above.
Decimal NormalizedUnits(int64_t v, int scale, int min_scale) {
  while (scale > min_scale && v % 10 == 0) {
    v /= 10;
    --scale;
  }
  return Decimal::FromUnitsInRange(v, scale);
}

// twice / 2 at `scale`, normalized as Finish does; false when that needs a scale beyond the
// largest (the general path then reports it).
bool HalveNormalized(int64_t twice, int scale, int min_scale, Decimal* out) {
  if (twice % 2 == 0) {
    *out = NormalizedUnits(twice / 2, scale, min_scale);
    return true;
  }
  if (scale + 1 > Decimal::kMaxScale) return false;
  *out = Decimal::FromUnitsInRange(i128{twice} * 5, scale + 1);  // ends in 5: already normal
  return true;
}

// 0, 1, 2, ...: the kept indices when no quote is an outlier.
constexpr std::array<size_t, kSmall> kIota = [] {
  std::array<size_t, kSmall> t{};
  for (size_t i = 0; i < kSmall; ++i) t[i] = i;
  return t;
}();

// The fast path for 1 <= n <= W quotes (Full: n = W, so every loop's trip count is known).
template <size_t W, bool Full>
bool AggregateUnitFast(std::span<const Quote> quotes, const OutlierRule& rule, Aggregated* out) {
  const size_t n = Full ? W : quotes.size();
  // votes[0, W): p - c;  votes[W, 2W): p + c;  votes[2W, 3W): p, sorted first for the median.
  int64_t votes[3 * W];
  int64_t* sorted = votes + 2 * W;
  int64_t price[W], conf[W];
  // ---- the values at one scale; anything unusual goes to the general path ----
  // High words zero: no negative and no wide value; then 0 < p, and both below kFastLimit once
  // at the common scale.
  uint64_t bad = 0, any = 0;
  const int first_scale = quotes[0].price.scale();
  int other_scale = 0;  // nonzero when some scale differs from the first
  for (size_t i = 0; i < n; ++i) {
    const Quote& q = quotes[i];
    const i128 pu = q.price.units(), cu = q.confidence.units();
    const uint64_t p = static_cast<uint64_t>(pu), c = static_cast<uint64_t>(cu);
    bad |= static_cast<uint64_t>(pu >> 64) | static_cast<uint64_t>(cu >> 64) | (q.weight ^ 1u) | (p == 0);
    any |= p | c;
    price[i] = sorted[i] = static_cast<int64_t>(p);
    conf[i] = static_cast<int64_t>(c);
    other_scale |= (q.price.scale() ^ first_scale) | (q.confidence.scale() ^ first_scale);
  }
  int scale = first_scale, min_price_scale = first_scale;
  if (other_scale == 0) {  // one scale (a venue set printing alike): nothing to multiply
    bad |= any >> 59;      // kFastLimit = 2^59
  } else {
    for (const Quote& q : quotes) {
      scale = std::max({scale, q.price.scale(), q.confidence.scale()});
      min_price_scale = std::min(min_price_scale, q.price.scale());
    }
    for (size_t i = 0; i < n; ++i) {
      const int dp = scale - quotes[i].price.scale(), dc = scale - quotes[i].confidence.scale();
      const uint64_t p = static_cast<uint64_t>(price[i]), c = static_cast<uint64_t>(conf[i]);
      bad |= (p > kScaleLimit[dp]) | (c > kScaleLimit[dc]);
      price[i] = sorted[i] = static_cast<int64_t>(p * kPow10U64[dp]);  // wraps only for a rejected value
      conf[i] = static_cast<int64_t>(c * kPow10U64[dc]);
    }
  }
  if (bad != 0) return false;
  for (size_t i = n; i < W; ++i) sorted[i] = kSentinel;
  NetworkFor<PriceNetwork, W>(n)(sorted);

  // ---- outliers around the median ----
  bool keep[W];
  size_t k = n;
  if (rule.mad_k.is_positive() && n >= 3) {
    const i128 k_units = rule.mad_k.units();
    const i128 b_units = rule.min_band.is_negative() ? 0 : rule.min_band.units();
    const int k_scale = rule.mad_k.scale(), b_scale = rule.min_band.scale();
    if (k_units > INT64_MAX || b_units > INT64_MAX || k_scale >= 20 || b_scale >= 20) return false;
    const int64_t m2 = n % 2 == 1 ? 2 * sorted[n / 2] : sorted[n / 2 - 1] + sorted[n / 2];
    // Deviations left of the median, nearest first, in dev[0, W/2); right of it in dev[W/2, W).
    const size_t left = (n + 1) / 2, right = n / 2;
    int64_t dev[W];
    for (size_t j = 0; j < W; ++j) dev[j] = kSentinel;
    for (size_t j = 0; j < left; ++j) dev[j] = m2 - 2 * sorted[left - 1 - j];
    for (size_t j = 0; j < right; ++j) dev[W / 2 + j] = 2 * sorted[left + j] - m2;
    NetworkFor<DeviationNetwork, W>(n)(dev);
    const int64_t mad4 = n % 2 == 1 ? 2 * dev[n / 2] : dev[n / 2 - 1] + dev[n / 2];  // 4 x MAD
    // |p-m| > k*MAD  <=>  2*d2*10^ks > ku*mad4;   |p-m| > b*m  <=>  d2*10^bs > bu*m2; and for
    // integers x*f > B <=> x > floor(B/f): two divisions per symbol, then two 64-bit comparisons
    // per quote (every 2*d2 is below 2^62, where the bounds are capped).
    const uint64_t mad_over = Threshold(static_cast<uint64_t>(k_units), static_cast<uint64_t>(mad4), kPow10U64[k_scale]);
    const uint64_t band_over = Threshold(static_cast<uint64_t>(b_units), static_cast<uint64_t>(m2), kPow10U64[b_scale]);
    auto outlier = [&](int64_t p) {
      const int64_t d = 2 * p - m2;
      const uint64_t d2 = static_cast<uint64_t>(d < 0 ? -d : d);
      return (2 * d2 > mad_over) & (d2 > band_over);
    };
    for (size_t i = 0; i < n; ++i) {
      keep[i] = !outlier(price[i]);
      k -= !keep[i];
    }
    if (k < n) {  // the outliers leave the sorted prices too (the test reads the value only)
      size_t m = 0;
      for (size_t j = 0; j < n; ++j) {
        sorted[m] = sorted[j];
        m += !outlier(sorted[j]);
      }
      for (size_t j = k; j < n; ++j) sorted[j] = kSentinel;
    }
  }

  // ---- Pyth votes over the kept quotes ----
  if (k == n) {
    for (size_t i = 0; i < n; ++i) {
      votes[i] = price[i] - conf[i];
      votes[W + i] = price[i] + conf[i];
    }
  } else {
    if (k == 0) return false;  // every quote an outlier (mad_k < 1): the general path says so
    size_t w = 0;
    min_price_scale = Decimal::kMaxScale;
    for (size_t i = 0; i < n; ++i) {
      votes[w] = price[i] - conf[i];
      votes[W + w] = price[i] + conf[i];
      w += keep[i];
      if (keep[i]) min_price_scale = std::min(min_price_scale, quotes[i].price.scale());
    }
  }
  for (size_t j = k; j < W; ++j) votes[j] = votes[W + j] = kSentinel;
  NetworkFor<VoteNetwork, W>(k)(votes);
  const size_t v = 3 * k;
  const int64_t p2 = v % 2 == 1 ? 2 * votes[(v - 1) / 2] : votes[v / 2 - 1] + votes[v / 2];
  const int64_t c2 = std::max<int64_t>({p2 - 2 * votes[v / 4], 2 * votes[v - 1 - v / 4] - p2, 0});

  // ---- print (as Finish) ----
  const Quote* quoted = nullptr;
  for (size_t i = 0; i < n; ++i) {
    if (2 * price[i] == p2 && (k == n || keep[i])) {
      quoted = &quotes[i];
      break;
    }
  }
  if (quoted != nullptr) {
    out->price = quoted->price;
  } else if (!HalveNormalized(p2, scale, min_price_scale, &out->price)) {
    return false;
  }
  if (!HalveNormalized(c2, scale, min_price_scale, &out->confidence)) return false;
  if (k == n) {
    out->kept.assign(kIota.begin(), kIota.begin() + n);
    out->outliers.clear();
  } else {
    out->kept.clear();
    out->outliers.clear();
    for (size_t i = 0; i < n; ++i) (keep[i] ? out->kept : out->outliers).push_back(i);
  }
  return true;
}

bool AggregateUnitFast(std::span<const Quote> quotes, const OutlierRule& rule, Aggregated* out) {
  const size_t n = quotes.size();
  if (n == 0) return false;
  if (n <= 4) return n == 4 ? AggregateUnitFast<4, true>(quotes, rule, out) : AggregateUnitFast<4, false>(quotes, rule, out);
  if (n <= 8) return n == 8 ? AggregateUnitFast<8, true>(quotes, rule, out) : AggregateUnitFast<8, false>(quotes, rule, out);
  if (n <= 16) return AggregateUnitFast<16, false>(quotes, rule, out);
  return false;
}

// RelativeMoveExceeds beyond its 64-bit case.
[[gnu::noinline]] bool RelativeMoveExceedsGeneral(const Decimal& a, const Decimal& b, const Decimal& fraction,
                                                  bool inclusive) {
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

}  // namespace

namespace detail {
Result<Decimal> SpreadConfidenceGeneral(const Observation& o) {
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
}  // namespace detail

bool RelativeMoveExceeds(const Decimal& a, const Decimal& b, const Decimal& fraction, bool inclusive) {
  // The usual case (a round's consecutive marks at one scale, values and fraction within 64 bits):
  // two 64 x 64 -> 128-bit products.
  const i128 ua64 = a.units(), ub64 = b.units(), fu64 = fraction.units();
  if (a.scale() == b.scale() && fraction.scale() < 20 && static_cast<u128>(ua64) <= INT64_MAX &&
      static_cast<u128>(ub64) <= INT64_MAX && static_cast<u128>(fu64) <= INT64_MAX) {
    const uint64_t x = static_cast<uint64_t>(ua64), y = static_cast<uint64_t>(ub64);
    const u128 lhs = static_cast<u128>(x > y ? x - y : y - x) * kPow10U64[fraction.scale()];
    const u128 rhs = static_cast<u128>(static_cast<uint64_t>(fu64)) * y;
    return inclusive ? lhs >= rhs : lhs > rhs;
  }
  return RelativeMoveExceedsGeneral(a, b, fraction, inclusive);
}

namespace {

// The general path: any weights and sizes; values on 64-bit integers when they fit (unless
// `wide_only`), else on 128-bit.
Status AggregateWith(std::span<const Quote> quotes, const OutlierRule& rule, bool wide_only, Aggregated* out) {
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
  for (size_t i = 0; i < n; ++i) {
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
  if (!fits || wide_only) return Aggregate<i128>(quotes, rule, scale, wide, out);
  Storage<int64_t> fast_storage;
  const Buffers<int64_t> fast = fast_storage.For(n);
  for (size_t i = 0; i < n; ++i) {
    fast.price[i] = static_cast<int64_t>(wide.price[i]);
    fast.conf[i] = static_cast<int64_t>(wide.conf[i]);
  }
  return Aggregate<int64_t>(quotes, rule, scale, fast, out);
}

}  // namespace

Status AggregateQuotesInto(std::span<const Quote> quotes, const OutlierRule& rule, Aggregated* out) {
  if (AggregateUnitFast(quotes, rule, out)) return Status::Ok();
  return AggregateWith(quotes, rule, /*wide_only=*/false, out);
}

namespace detail {
Status AggregateQuotesWide(std::span<const Quote> quotes, const OutlierRule& rule, Aggregated* out) {
  return AggregateWith(quotes, rule, /*wide_only=*/true, out);
}
Status AggregateQuotesGeneral(std::span<const Quote> quotes, const OutlierRule& rule, Aggregated* out) {
  return AggregateWith(quotes, rule, /*wide_only=*/false, out);
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
