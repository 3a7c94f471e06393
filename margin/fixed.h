// Internal: exact fixed-point arithmetic for the margin evaluator's hot path.
//
// A Fx is an integer count of 10^-12 units held in a signed 128-bit integer (range about
// ±1.7e26 in value). Every operation is exact integer arithmetic; the two that must round
// (Mul, Div) take an explicit Rounding. Overflow never wraps: it sets a sticky flag on the
// Arith object that the caller turns into an OutOfRange error. No floating point anywhere.
//
// Why not plumbline::Decimal directly: Decimal multiplies through a 256-bit bit-by-bit division,
// which is far too slow for the 1,000,000-account target; here the scale is fixed, so products
// and quotients need only 128-bit integers (with a split for large operands).
//
// Thread safety: Fx is a value; an Arith object belongs to one evaluation.
#pragma once

#include <cstdint>

#include "plumbline/decimal.h"

namespace plumbline::margin::internal {

using i128 = __int128;

inline constexpr int kFxScale = 12;
// Every Fx produced by Arith or ToFx stays below 10^36 in magnitude (the Decimal limit), so it
// always converts back to a Decimal; beyond that the overflow flag is set.
inline constexpr i128 kFxLimit = static_cast<i128>(1'000'000'000'000'000'000) * 1'000'000'000'000'000'000;
inline constexpr int64_t kFxOne = 1'000'000'000'000;  // 10^12

struct Fx {
  i128 raw = 0;
  static constexpr Fx Int(int64_t v) { return Fx{static_cast<i128>(v) * kFxOne}; }
  bool positive() const { return raw > 0; }
  bool negative() const { return raw < 0; }
  bool zero() const { return raw == 0; }
  friend constexpr auto operator<=>(Fx a, Fx b) = default;
};

inline constexpr i128 kPow10[13] = {1,       10,       100,       1000,       10000,       100000,
                                     1000000, 10000000, 100000000, 1000000000, 10000000000,
                                     100000000000, 1000000000000};

// floor(n / d) and ceil(n / d) for d > 0.
inline i128 FloorDiv(i128 n, i128 d) {
  i128 q = n / d;
  return (n % d != 0 && n < 0) ? q - 1 : q;
}
inline i128 CeilDiv(i128 n, i128 d) {
  i128 q = n / d;
  return (n % d != 0 && n > 0) ? q + 1 : q;
}
inline i128 RoundDiv(i128 n, i128 d, Rounding r) {
  if (r == Rounding::kCeiling) return CeilDiv(n, d);
  if (r == Rounding::kFloor) return FloorDiv(n, d);
  // half-even
  i128 q = FloorDiv(n, d);
  i128 rem = n - q * d;  // in [0, d)
  i128 twice = rem * 2;
  if (twice > d || (twice == d && (q & 1))) ++q;
  return q;
}

class Arith {
 public:
  bool overflow() const { return overflow_; }
  Fx Checked(i128 v) {
    if (v >= kFxLimit || v <= -kFxLimit) {
      overflow_ = true;
      return Fx{};
    }
    return Fx{v};
  }

  Fx Add(Fx a, Fx b) {
    i128 r;
    if (__builtin_add_overflow(a.raw, b.raw, &r)) overflow_ = true;
    return Checked(r);
  }
  Fx Sub(Fx a, Fx b) {
    i128 r;
    if (__builtin_sub_overflow(a.raw, b.raw, &r)) overflow_ = true;
    return Checked(r);
  }
  // a * b rounded to 10^-12.
  Fx Mul(Fx a, Fx b, Rounding r) {
    i128 p;
    if (!__builtin_mul_overflow(a.raw, b.raw, &p)) return Checked(RoundDiv(p, kFxOne, r));
    // Split a = hi * 10^12 + lo with 0 <= lo < 10^12: a*b/10^12 = hi*b + lo*b/10^12.
    i128 hi = FloorDiv(a.raw, kFxOne);
    i128 lo = a.raw - hi * kFxOne;
    i128 x, y, s;
    if (__builtin_mul_overflow(hi, b.raw, &x) || __builtin_mul_overflow(lo, b.raw, &y) ||
        __builtin_add_overflow(x, RoundDiv(y, kFxOne, r), &s)) {
      overflow_ = true;
      return Fx{};
    }
    return Checked(s);
  }
  // a / b rounded to 10^-12; b must be non-zero (zero sets the overflow flag).
  Fx Div(Fx a, Fx b, Rounding r) {
    if (b.raw == 0) {
      overflow_ = true;
      return Fx{};
    }
    i128 n = a.raw, d = b.raw;
    if (d < 0) {
      n = -n;
      d = -d;
    }
    i128 scaled;
    if (!__builtin_mul_overflow(n, static_cast<i128>(kFxOne), &scaled)) return Checked(RoundDiv(scaled, d, r));
    // n*10^12/d = q*10^12 + rem*10^12/d with q = floor(n/d), 0 <= rem < d.
    i128 q = FloorDiv(n, d);
    i128 rem = n - q * d;
    i128 x, y, s;
    if (__builtin_mul_overflow(q, static_cast<i128>(kFxOne), &x) ||
        __builtin_mul_overflow(rem, static_cast<i128>(kFxOne), &y) ||
        __builtin_add_overflow(x, RoundDiv(y, d, r), &s)) {
      overflow_ = true;
      return Fx{};
    }
    return Checked(s);
  }
  Fx Min(Fx a, Fx b) { return a < b ? a : b; }
  Fx Max(Fx a, Fx b) { return a < b ? b : a; }

 private:
  bool overflow_ = false;
};

// Decimal -> Fx. Exact when the decimal has at most 12 fractional digits; otherwise rounds in the
// given direction. False if the value is out of Fx range.
inline bool ToFx(const Decimal& d, Rounding r, Fx* out) {
  const int s = d.scale();
  if (s <= kFxScale) {
    i128 v;
    if (__builtin_mul_overflow(d.units(), kPow10[kFxScale - s], &v) || v >= kFxLimit || v <= -kFxLimit) {
      return false;
    }
    out->raw = v;
    return true;
  }
  i128 den = 1;
  for (int i = kFxScale; i < s; ++i) den *= 10;
  out->raw = RoundDiv(d.units(), den, r);
  return true;
}

// Fx -> Decimal at scale 12 (exact), with trailing zeros dropped down to `min_scale`.
inline Decimal FromFx(Fx v, int min_scale = 0) {
  auto d = Decimal::FromUnits(v.raw, kFxScale);
  return d.ok() ? d->Normalized(min_scale) : Decimal();  // unreachable: |raw| < kFxLimit
}

}  // namespace plumbline::margin::internal
