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
  static constexpr Fx One() { return Fx{kFxOne}; }
  bool positive() const { return raw > 0; }
  bool negative() const { return raw < 0; }
  bool zero() const { return raw == 0; }
  friend constexpr auto operator<=>(Fx a, Fx b) = default;
};

inline constexpr i128 kPow10[13] = {1,       10,       100,       1000,       10000,       100000,
                                     1000000, 10000000, 100000000, 1000000000, 10000000000,
                                     100000000000, 1000000000000};

using u128 = unsigned __int128;

// floor(n / d) and ceil(n / d) for d > 0.
inline i128 FloorDiv(i128 n, i128 d) {
  i128 q = n / d;
  return (q * d != n && n < 0) ? q - 1 : q;
}
inline i128 CeilDiv(i128 n, i128 d) {
  i128 q = n / d;
  return (q * d != n && n > 0) ? q + 1 : q;
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

// n / 10^12 for the hot path: 10^12 = 2^12 x 5^12, and dividing by 5^12 (< 2^28) is done on
// 32-bit limbs so each step is a 64-bit division by a constant (a multiply and a shift) instead
// of a call to the generic 128-bit division. Returns the quotient; *rem gets the remainder.
inline u128 UDivE12(u128 n, uint64_t* rem) {
  constexpr uint64_t k5 = 244140625;  // 5^12
  const uint64_t low = static_cast<uint64_t>(n) & 0xFFF;
  const u128 m = n >> 12;
  uint64_t r = 0;
  u128 q = 0;
  for (int shift = 96; shift >= 0; shift -= 32) {
    const uint64_t cur = (r << 32) | static_cast<uint32_t>(m >> shift);
    const uint64_t qi = cur / k5;
    r = cur - qi * k5;
    q = (q << 32) | qi;
  }
  *rem = (r << 12) | low;
  return q;
}

// Whether a quotient magnitude `q` with remainder `rem` (of `divisor`) rounds away from zero in
// the direction `r`, for a result of sign `negative`. The one rounding rule of every division here.
__attribute__((always_inline)) inline bool RoundsAway(Rounding r, bool negative, u128 q, uint64_t rem,
                                                      uint64_t divisor) {
  if (rem == 0) return false;
  switch (r) {
    case Rounding::kFloor: return negative;
    case Rounding::kCeiling: return !negative;
    case Rounding::kHalfEven: {
      const u128 twice = static_cast<u128>(rem) * 2;
      return twice > divisor || (twice == divisor && (q & 1));
    }
  }
  return false;
}

// `mag` / `divisor` for a quotient below 2^64 (the caller checks mag >> 64 < divisor): one
// hardware 128/64 division on x86-64.
__attribute__((always_inline)) inline uint64_t Div128By64(u128 mag, uint64_t divisor, uint64_t* rem) {
#if defined(__x86_64__)
  uint64_t q, r;
  __asm__("divq %4" : "=a"(q), "=d"(r) : "a"(static_cast<uint64_t>(mag)), "d"(static_cast<uint64_t>(mag >> 64)),
          "rm"(divisor));
  *rem = r;
  return q;
#else
  *rem = static_cast<uint64_t>(mag % divisor);
  return static_cast<uint64_t>(mag / divisor);
#endif
}

// n / 10^12 rounded in the given direction.
inline i128 RoundDivE12(i128 n, Rounding r) {
  const bool neg = n < 0;
  const u128 mag = neg ? static_cast<u128>(0) - static_cast<u128>(n) : static_cast<u128>(n);
  uint64_t rem = 0;
  u128 q = UDivE12(mag, &rem);
  q += RoundsAway(r, neg, q, rem, static_cast<uint64_t>(kFxOne));
  return neg ? -static_cast<i128>(q) : static_cast<i128>(q);
}

inline bool FitsI64(i128 v) { return v == static_cast<int64_t>(v); }

// High 128 bits of the 256-bit product a x b.
inline u128 MulHi128(u128 a, u128 b) {
  const uint64_t a0 = static_cast<uint64_t>(a), a1 = static_cast<uint64_t>(a >> 64);
  const uint64_t b0 = static_cast<uint64_t>(b), b1 = static_cast<uint64_t>(b >> 64);
  const u128 p00 = static_cast<u128>(a0) * b0, p01 = static_cast<u128>(a0) * b1;
  const u128 p10 = static_cast<u128>(a1) * b0, p11 = static_cast<u128>(a1) * b1;
  const u128 mid = (p00 >> 64) + static_cast<uint64_t>(p01) + static_cast<uint64_t>(p10);
  return p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
}

// floor(n / 10^12) for n < 2^126 by multiplication with a reciprocal (Granlund & Montgomery,
// "Division by invariant integers using multiplication", 1994): with s = 126 + 40 and
// M = ceil(2^s / 10^12), M x 10^12 - 2^s < 2^(s-126), so floor(n x M / 2^s) = floor(n / 10^12)
// exactly for every n < 2^126. Checked against long division in margin/fixed_test.cc.
inline constexpr u128 kRecipE12 = (static_cast<u128>(0x465e6604b7a84465ULL) << 64) | 0xfc9fc3dba21722eaULL;
inline u128 DivE12Small(u128 n, uint64_t* rem) {
#if defined(__x86_64__)
  // Common case: the quotient fits 64 bits (n < 10^12 x 2^64, i.e. below about 1.8 x 10^7 in
  // value): one hardware 128/64 division gives quotient and remainder exactly.
  const uint64_t hi = static_cast<uint64_t>(n >> 64);
  if (hi < static_cast<uint64_t>(kFxOne)) [[likely]] {
    uint64_t q, r;
    __asm__("divq %4" : "=a"(q), "=d"(r) : "a"(static_cast<uint64_t>(n)), "d"(hi), "rm"(static_cast<uint64_t>(kFxOne)));
    *rem = r;
    return q;
  }
#endif
  const u128 q = MulHi128(n, kRecipE12) >> 38;
  *rem = static_cast<uint64_t>(n - q * static_cast<u128>(kFxOne));
  return q;
}

class Arith {
 public:
  using F = Fx;
  bool overflow() const { return overflow_; }
  Fx Checked(i128 v) {
    // Common case first: -2^119 <= v < 2^119 (2^119 < kFxLimit) from the high word alone.
    const uint64_t hi = static_cast<uint64_t>(static_cast<u128>(v) >> 64);
    if (hi + (uint64_t{1} << 55) < (uint64_t{1} << 56)) [[likely]] return Fx{v};
    // |v| < kFxLimit as one unsigned comparison: v + (kFxLimit - 1) in [0, 2 kFxLimit - 2].
    // (In unsigned arithmetic, where wrapping is defined: v <= -kFxLimit wraps above the bound.)
    if (static_cast<u128>(v) + static_cast<u128>(kFxLimit - 1) > static_cast<u128>(2 * (kFxLimit - 1))) [[unlikely]] {
      overflow_ = true;
      return Fx{};
    }
    return Fx{v};
  }

  // Every Fx holds |raw| < kFxLimit = 10^36 < 2^120 (Checked, ToFx), so a sum or difference of two
  // is below 2^121 and cannot wrap 128 bits: only the range check is needed.
  Fx Add(Fx a, Fx b) { return Checked(a.raw + b.raw); }
  Fx Sub(Fx a, Fx b) { return Checked(a.raw - b.raw); }
  // a * b rounded to 10^-12.
  __attribute__((always_inline)) Fx Mul(Fx a, Fx b, Rounding r) {
    // Hot path, inlined: both factors below 2^63, so the product is below 2^126 and one
    // 64x64->128 multiply plus a division by 10^12 through its reciprocal do it exactly.
    if (FitsI64(a.raw) && FitsI64(b.raw)) {
      const int64_t x = static_cast<int64_t>(a.raw), y = static_cast<int64_t>(b.raw);
      const bool neg = (x < 0) != (y < 0);
      // Magnitudes as 64-bit words (|INT64_MIN| = 2^63 still fits), so the product is one
      // 64x64->128 multiply.
      const uint64_t ux = x < 0 ? 0 - static_cast<uint64_t>(x) : static_cast<uint64_t>(x);
      const uint64_t uy = y < 0 ? 0 - static_cast<uint64_t>(y) : static_cast<uint64_t>(y);
      const u128 mag = static_cast<u128>(ux) * uy;
      uint64_t rem;
      i128 q = static_cast<i128>(DivE12Small(mag, &rem));
      if (rem != 0) {
        constexpr uint64_t kD = static_cast<uint64_t>(kFxOne);
        if (r == Rounding::kHalfEven) {
          q += (rem * 2 > kD || (rem * 2 == kD && (q & 1))) ? 1 : 0;
        } else if ((r == Rounding::kFloor) == neg) {
          ++q;  // away from zero: floor of a negative, ceiling of a positive
        }
      }
      // |q| <= 2^126 / 10^12 < 2^87: far inside kFxLimit.
      return Fx{neg ? -q : q};
    }
    return MulSlow(a, b, r);
  }
  __attribute__((noinline)) Fx MulSlow(Fx a, Fx b, Rounding r) {
    i128 p;
    if (!__builtin_mul_overflow(a.raw, b.raw, &p)) return Checked(RoundDivE12(p, r));
    // Split a = hi * 10^12 + lo with 0 <= lo < 10^12: a*b/10^12 = hi*b + lo*b/10^12.
    i128 hi = FloorDiv(a.raw, kFxOne);
    i128 lo = a.raw - hi * kFxOne;
    i128 x, y;
    i128 s;
    if (__builtin_mul_overflow(hi, b.raw, &x) || __builtin_mul_overflow(lo, b.raw, &y) ||
        __builtin_add_overflow(x, RoundDivE12(y, r), &s)) {
      overflow_ = true;
      return Fx{};
    }
    return Checked(s);
  }
  // a / b rounded to 10^-12; b must be non-zero (zero sets the overflow flag).
  __attribute__((always_inline)) Fx Div(Fx a, Fx b, Rounding r) {
#if defined(__x86_64__)
    // Hot path, inlined (the rounding folds away): |a| and |b| fit 64 bits and the quotient
    // fits 64 bits: one hardware 128/64 division instead of the generic 128-bit division
    // routine. The quotient is below 2^64 + 1, far inside kFxLimit: no range check.
    if (FitsI64(a.raw) && FitsI64(b.raw) && b.raw != 0) {
      const int64_t x = static_cast<int64_t>(a.raw), y = static_cast<int64_t>(b.raw);
      const bool neg = (x < 0) != (y < 0);
      const uint64_t ux = x < 0 ? 0 - static_cast<uint64_t>(x) : static_cast<uint64_t>(x);
      const uint64_t dd = y < 0 ? 0 - static_cast<uint64_t>(y) : static_cast<uint64_t>(y);
      const u128 mag = static_cast<u128>(ux) * static_cast<uint64_t>(kFxOne);
      const uint64_t hi = static_cast<uint64_t>(mag >> 64);
      if (hi < dd) [[likely]] {
        uint64_t rem;
        const uint64_t q = Div128By64(mag, dd, &rem);
        const u128 qq = static_cast<u128>(q) + RoundsAway(r, neg, q, rem, dd);
        return Fx{neg ? -static_cast<i128>(qq) : static_cast<i128>(qq)};
      }
    }
#endif
    return DivSlow(a, b, r);
  }
  __attribute__((noinline)) Fx DivSlow(Fx a, Fx b, Rounding r) {
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

// ---- The 64-bit account path ----
//
// Fx64 holds the same 10^-12 units as Fx in a signed 64-bit integer (about ±9.2e6 in value).
// Arith64 computes exactly what Arith computes, with the same rounding, as long as every result
// fits: a result that would not (a product outside [-2^102, 2^102), a quotient outside
// (INT64_MIN, INT64_MAX], a sum that wraps 64 bits) sets the sticky flag instead, and the caller
// then evaluates the whole account again with Fx / Arith. Mul results stay below
// 2^102 / 10^12 + 1 < 2^63 - 1 in magnitude, so they never reach INT64_MAX (tier bounds beyond
// 64 bits are stored as INT64_MAX and compare above every product).
struct Fx64 {
  int64_t raw = 0;
  static constexpr Fx64 One() { return Fx64{kFxOne}; }
  bool positive() const { return raw > 0; }
  bool negative() const { return raw < 0; }
  bool zero() const { return raw == 0; }
  friend constexpr auto operator<=>(Fx64 a, Fx64 b) = default;
};

class Arith64 {
 public:
  using F = Fx64;
  bool overflow() const { return overflow_; }
  void SetOverflow() { overflow_ = true; }
  Fx64 Add(Fx64 a, Fx64 b) {
    int64_t s;
    if (__builtin_add_overflow(a.raw, b.raw, &s)) [[unlikely]] overflow_ = true;
    return Fx64{s};
  }
  Fx64 Sub(Fx64 a, Fx64 b) {
    int64_t s;
    if (__builtin_sub_overflow(a.raw, b.raw, &s)) [[unlikely]] overflow_ = true;
    return Fx64{s};
  }
  // a * b rounded to 10^-12, as Arith::Mul.
  __attribute__((always_inline)) Fx64 Mul(Fx64 a, Fx64 b, Rounding r) {
    Fx64 out;
    if (!TryMul(a, b, r, &out)) [[unlikely]] overflow_ = true;
    return out;
  }
  // The same without touching the flag: false (and *out zero) when the result would not fit.
  __attribute__((always_inline)) static bool TryMul(Fx64 a, Fx64 b, Rounding r, Fx64* out) {
    const i128 p = static_cast<i128>(a.raw) * b.raw;
    const int64_t hi = static_cast<int64_t>(p >> 64);
    // -2^102 <= p < 2^102: |quotient| <= 2^102 / 10^12 < 5.1 x 10^18 < 2^63 (idiv cannot fault).
    if (hi != (static_cast<int64_t>(static_cast<uint64_t>(hi) << 25) >> 25)) [[unlikely]] {  // hi outside [-2^38, 2^38)
      *out = Fx64{};
      return false;
    }
#if defined(__x86_64__)
    int64_t q, rem;
    __asm__("idivq %4" : "=a"(q), "=d"(rem) : "a"(static_cast<int64_t>(p)), "d"(hi), "rm"(kFxOne));
#else
    int64_t q = static_cast<int64_t>(p / kFxOne), rem = static_cast<int64_t>(p % kFxOne);
#endif
    // q truncates toward zero; rem has the sign of p (branch-free for floor and ceiling).
    switch (r) {
      case Rounding::kFloor: q -= rem < 0; break;
      case Rounding::kCeiling: q += rem > 0; break;
      case Rounding::kHalfEven: {
        const uint64_t twice = 2 * static_cast<uint64_t>(rem < 0 ? -rem : rem);
        if (twice > static_cast<uint64_t>(kFxOne) || (twice == static_cast<uint64_t>(kFxOne) && (q & 1))) {
          q += rem < 0 ? -1 : 1;
        }
        break;
      }
    }
    *out = Fx64{q};
    return true;
  }
  // a / b rounded to 10^-12, as Arith::Div; b == 0 sets the flag (Arith then reports it too).
  __attribute__((always_inline)) Fx64 Div(Fx64 a, Fx64 b, Rounding r) {
    const bool neg = (a.raw < 0) != (b.raw < 0);
    const uint64_t ux = a.raw < 0 ? 0 - static_cast<uint64_t>(a.raw) : static_cast<uint64_t>(a.raw);
    const uint64_t dd = b.raw < 0 ? 0 - static_cast<uint64_t>(b.raw) : static_cast<uint64_t>(b.raw);
    const u128 mag = static_cast<u128>(ux) * static_cast<uint64_t>(kFxOne);
    const uint64_t hi = static_cast<uint64_t>(mag >> 64);
    if (hi >= dd) [[unlikely]] {  // b == 0, or a quotient of 2^64 or more
      overflow_ = true;
      return Fx64{};
    }
    uint64_t rem;
    uint64_t q = Div128By64(mag, dd, &rem);
    q += RoundsAway(r, neg, q, rem, dd);
    if (q >> 63) [[unlikely]] {
      overflow_ = true;
      return Fx64{};
    }
    return Fx64{neg ? -static_cast<int64_t>(q) : static_cast<int64_t>(q)};
  }
  Fx64 Min(Fx64 a, Fx64 b) { return a < b ? a : b; }
  Fx64 Max(Fx64 a, Fx64 b) { return a < b ? b : a; }

 private:
  bool overflow_ = false;
};

// Fx -> Fx64; false when it does not fit.
inline bool Narrow(Fx v, Fx64* out) {
  out->raw = static_cast<int64_t>(v.raw);
  return FitsI64(v.raw);
}
inline Fx Widen(Fx64 v) { return Fx{v.raw}; }

// Decimal -> Fx. Exact when the decimal has at most 12 fractional digits; otherwise rounds in the
// given direction. False if the value is out of Fx range.
inline bool ToFx(const Decimal& d, Rounding r, Fx* out) {
  const int s = d.scale();
  if (s <= kFxScale && FitsI64(d.units())) {
    // Fast path: |units| < 2^63 and 10^(12-s) <= 10^12 < 2^40, so the product is below 2^103,
    // far inside kFxLimit (10^36 > 2^119): one 64x64->128 multiply, no overflow check.
    out->raw = static_cast<i128>(static_cast<int64_t>(d.units())) * static_cast<int64_t>(kPow10[kFxScale - s]);
    return true;
  }
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

// Fx -> Decimal at scale 12 (exact; printers drop trailing zeros with Decimal::Normalized).
inline Decimal FromFx(Fx v) {
  // |raw| < kFxLimit = 10^36 (every Fx comes from Arith or ToFx): always a valid Decimal.
  return Decimal::FromUnitsInRange(v.raw, kFxScale);
}
inline Decimal FromFx(Fx64 v) { return Decimal::FromUnitsInRange(v.raw, kFxScale); }

}  // namespace plumbline::margin::internal
