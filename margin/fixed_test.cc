#include "margin/fixed.h"

#include <gtest/gtest.h>

#include <random>

namespace plumbline::margin::internal {
namespace {

// The reciprocal division must equal long division for every product the hot path can see.
TEST(FixedPoint, ReciprocalDivisionMatchesLongDivision) {
  std::mt19937_64 rng(7);
  const u128 kMax = static_cast<u128>(1) << 126;
  std::vector<u128> samples = {0, 1, 999'999'999'999, 1'000'000'000'000, 1'000'000'000'001, kMax - 1,
                               kMax - 1'000'000'000'000, static_cast<u128>(1'000'000'000'000) * 12345678901234567ULL,
                               // the boundary of the one-instruction path: quotient 2^64 - 1 / 2^64
                               (static_cast<u128>(1'000'000'000'000) << 64) - 1, static_cast<u128>(1'000'000'000'000) << 64,
                               (static_cast<u128>(1'000'000'000'000) << 64) + 1, (static_cast<u128>(999'999'999'999) << 64) | UINT64_MAX};
  for (int i = 0; i < 200000; ++i) {
    u128 n = (static_cast<u128>(rng()) << 64 | rng()) >> (2 + rng() % 100);
    samples.push_back(n);
    samples.push_back(n - n % 1'000'000'000'000);  // exact multiples
  }
  for (u128 n : samples) {
    uint64_t rem = 0;
    u128 q = DivE12Small(n, &rem);
    ASSERT_TRUE(q == n / 1'000'000'000'000 && rem == static_cast<uint64_t>(n % 1'000'000'000'000));
  }
}

TEST(FixedPoint, MulAndDivRoundInTheRequestedDirection) {
  Arith ar;
  const Fx third = ar.Div(Fx::Int(1), Fx::Int(3), Rounding::kFloor);
  EXPECT_EQ(third.raw, 333'333'333'333);
  EXPECT_EQ(ar.Div(Fx::Int(1), Fx::Int(3), Rounding::kCeiling).raw, 333'333'333'334);
  EXPECT_EQ(ar.Div(Fx::Int(-1), Fx::Int(3), Rounding::kFloor).raw, -333'333'333'334);
  EXPECT_EQ(ar.Div(Fx::Int(-1), Fx::Int(3), Rounding::kCeiling).raw, -333'333'333'333);
  // 0.000000000001 x 0.5 = 0.0000000000005: floor 0, ceiling 1e-12, half-even 0.
  const Fx tiny{1}, half{500'000'000'000};
  EXPECT_EQ(ar.Mul(tiny, half, Rounding::kFloor).raw, 0);
  EXPECT_EQ(ar.Mul(tiny, half, Rounding::kCeiling).raw, 1);
  EXPECT_EQ(ar.Mul(tiny, half, Rounding::kHalfEven).raw, 0);
  EXPECT_EQ(ar.Mul(Fx{-1}, half, Rounding::kFloor).raw, -1);
  EXPECT_EQ(ar.Mul(Fx{-1}, half, Rounding::kCeiling).raw, 0);
  // Large operands take the slow path and agree with the fast one.
  const Fx big = Fx::Int(50'000'000);  // 5e19 raw: above 2^63
  EXPECT_EQ(ar.Mul(big, Fx::Int(3), Rounding::kFloor), Fx::Int(150'000'000));
  EXPECT_EQ(ar.Mul(big, third, Rounding::kFloor).raw, static_cast<i128>(1'666'666'666'665) * 10'000'000);
  EXPECT_FALSE(ar.overflow());
  ar.Mul(Fx{kFxLimit - 1}, Fx::Int(2), Rounding::kFloor);
  EXPECT_TRUE(ar.overflow());  // beyond the range: flagged, never wrapped
}

// Add/Sub check only the range (two in-range values cannot wrap 128 bits): both ends of it.
TEST(FixedPoint, AddAndSubFlagExactlyTheRangeBoundary) {
  const Fx top{kFxLimit - 1}, bottom{-(kFxLimit - 1)};
  Arith ar;
  EXPECT_EQ(ar.Add(top, Fx{}), top);
  EXPECT_EQ(ar.Sub(bottom, Fx{}), bottom);
  EXPECT_EQ(ar.Add(top, bottom), Fx{});
  EXPECT_FALSE(ar.overflow());
  Arith up;
  up.Add(top, Fx{1});
  EXPECT_TRUE(up.overflow());
  Arith down;
  down.Sub(bottom, Fx{1});
  EXPECT_TRUE(down.overflow());
  Arith both;
  both.Sub(top, bottom);  // 2 x 10^36 - 2: out of range, and still no 128-bit wrap
  EXPECT_TRUE(both.overflow());
}

// Checked accepts |v| < 2^119 from the high word alone; between 2^119 and kFxLimit (about
// 2^119.6) and beyond it the exact comparison decides.
TEST(FixedPoint, RangeCheckFastPathBoundary) {
  const i128 k119 = static_cast<i128>(1) << 119;
  for (i128 v : {k119 - 1, k119, k119 + 1, -k119, -k119 - 1, -k119 + 1, kFxLimit - 1, -(kFxLimit - 1), i128{0}, i128{-1}}) {
    Arith ar;
    EXPECT_TRUE(ar.Checked(v).raw == v);
    EXPECT_FALSE(ar.overflow());
  }
  for (i128 v : {kFxLimit, -kFxLimit, kFxLimit + 1, static_cast<i128>(1) << 120, -(static_cast<i128>(1) << 120),
                 static_cast<i128>(1) << 126}) {
    Arith ar;
    EXPECT_TRUE(ar.Checked(v).raw == 0);
    EXPECT_TRUE(ar.overflow());
  }
}

// The fast Mul and Div take 64-bit magnitudes: the extremes of int64 (INT64_MIN has no int64
// negation) agree with exact 128-bit arithmetic.
TEST(FixedPoint, MulAndDivAtTheInt64Extremes) {
  const i128 lo = INT64_MIN, hi = INT64_MAX;
  for (i128 a : {lo, hi, lo + 1, i128{-1}, i128{1}}) {
    for (i128 b : {lo, hi, static_cast<i128>(kFxOne), static_cast<i128>(-kFxOne), i128{3}}) {
      Arith ar;
      const i128 p = a * b;  // |p| <= 2^126: exact in 128 bits
      EXPECT_TRUE(ar.Mul(Fx{a}, Fx{b}, Rounding::kFloor).raw == FloorDiv(p, kFxOne));
      EXPECT_TRUE(ar.Mul(Fx{a}, Fx{b}, Rounding::kCeiling).raw == CeilDiv(p, kFxOne));
      // FloorDiv/CeilDiv want a positive divisor: a / b = (-a) / (-b).
      const i128 n = (b < 0 ? -a : a) * kFxOne, d = b < 0 ? -b : b;
      EXPECT_TRUE(ar.Div(Fx{a}, Fx{b}, Rounding::kFloor).raw == FloorDiv(n, d));
      EXPECT_TRUE(ar.Div(Fx{a}, Fx{b}, Rounding::kCeiling).raw == CeilDiv(n, d));
      EXPECT_FALSE(ar.overflow());
    }
  }
}

// ToFx takes a 64-bit fast path when the decimal's units fit in int64; at and beyond that
// boundary it must agree with the 128-bit path, and refuse values beyond the range.
TEST(FixedPoint, ToFxFastPathBoundary) {
  const i128 max64 = INT64_MAX, min64 = INT64_MIN;
  for (i128 units : {max64, max64 + 1, min64, min64 - 1, static_cast<i128>(0), static_cast<i128>(-1)}) {
    for (int scale : {0, 5, 12}) {
      Fx f;
      ASSERT_TRUE(ToFx(*Decimal::FromUnits(units, scale), Rounding::kFloor, &f));
      EXPECT_TRUE(f.raw == units * kPow10[kFxScale - scale]) << static_cast<int64_t>(units) << " scale " << scale;
    }
  }
  // 10^35 units at scale 0 = 10^47 raw: beyond the range, refused (never wrapped).
  Fx f;
  EXPECT_FALSE(ToFx(*Decimal::FromUnits(kFxLimit / 10, 0), Rounding::kFloor, &f));
  // The largest value in range at scale 12.
  ASSERT_TRUE(ToFx(*Decimal::FromUnits(kFxLimit - 1, 12), Rounding::kFloor, &f));
  EXPECT_TRUE(f.raw == kFxLimit - 1);
  // FromFx is exact at the range boundary.
  EXPECT_EQ(FromFx(Fx{kFxLimit - 1}), *Decimal::FromUnits(kFxLimit - 1, 12));
  EXPECT_EQ(FromFx(Fx{-(kFxLimit - 1)}), *Decimal::FromUnits(-(kFxLimit - 1), 12));
}

// Arith64 computes what Arith computes whenever it does not flag, and flags exactly where its
// documented bounds end: a product outside [-2^102, 2^102), a quotient beyond int64, a sum that
// wraps.
// Operands are drawn around those boundaries (and the int64 extremes), in every rounding.
TEST(FixedPoint, Arith64MatchesArithUpToItsBounds) {
  std::mt19937_64 rng(64);
  const i128 p102 = static_cast<i128>(1) << 102;
  std::vector<int64_t> edge = {0, 1, -1, 3, -3, kFxOne, -kFxOne, INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1,
                               999'999'999'999, 1'000'000'000'001, int64_t{1} << 62, -(int64_t{1} << 62),
                               // sqrt(2^102) = 2^51 and neighbours: products straddle the Mul bound
                               int64_t{1} << 51, (int64_t{1} << 51) - 1, (int64_t{1} << 51) + 1, -(int64_t{1} << 51)};
  auto draw = [&] {
    const uint64_t k = rng() % 4;
    if (k == 0) return edge[rng() % edge.size()];
    const int64_t v = static_cast<int64_t>(rng() >> (rng() % 63));
    return k == 1 ? -v : v;
  };
  size_t mul_flagged = 0, div_flagged = 0, add_flagged = 0;
  for (int i = 0; i < 300000; ++i) {
    const Fx64 a{draw()}, b{draw()};
    for (Rounding r : {Rounding::kFloor, Rounding::kCeiling, Rounding::kHalfEven}) {
      Arith wide;
      Arith64 ar;
      const Fx64 m = ar.Mul(a, b, r);
      const Fx mw = wide.Mul(Widen(a), Widen(b), r);
      const i128 p = static_cast<i128>(a.raw) * b.raw;
      ASSERT_EQ(ar.overflow(), p >= p102 || p < -p102) << a.raw << " x " << b.raw;  // [-2^102, 2^102)
      Fx64 tried;
      ASSERT_EQ(Arith64::TryMul(a, b, r, &tried), !ar.overflow());
      if (!ar.overflow()) {
        ASSERT_TRUE(Widen(m) == mw) << a.raw << " x " << b.raw;
        ASSERT_TRUE(tried == m);
        ASSERT_LT(m.raw, INT64_MAX);  // never reaches the stand-in for tier bounds beyond 64 bits
      }
      mul_flagged += ar.overflow();

      Arith64 ad;
      const Fx64 q = ad.Div(a, b, r);
      if (b.raw == 0) {
        ASSERT_TRUE(ad.overflow());
      } else {
        const Fx qw = wide.Div(Widen(a), Widen(b), r);
        ASSERT_EQ(ad.overflow(), !FitsI64(qw.raw) || qw.raw == INT64_MIN) << a.raw << " / " << b.raw;
        if (!ad.overflow()) {
          ASSERT_TRUE(Widen(q) == qw) << a.raw << " / " << b.raw;
        }
      }
      div_flagged += ad.overflow();
    }
    Arith64 s;
    const Fx64 sum = s.Add(a, b);
    ASSERT_EQ(s.overflow(), !FitsI64(static_cast<i128>(a.raw) + b.raw));
    if (!s.overflow()) {
      ASSERT_EQ(sum.raw, a.raw + b.raw);
    }
    Arith64 d;
    const Fx64 diff = d.Sub(a, b);
    ASSERT_EQ(d.overflow(), !FitsI64(static_cast<i128>(a.raw) - b.raw));
    if (!d.overflow()) {
      ASSERT_EQ(diff.raw, a.raw - b.raw);
    }
    add_flagged += s.overflow() + d.overflow();
  }
  // Both sides of every bound were exercised.
  EXPECT_GT(mul_flagged, 1000u);
  EXPECT_GT(div_flagged, 1000u);
  EXPECT_GT(add_flagged, 1000u);
  // The exact Mul boundary: 2^102 - 1 fits, 2^102 does not.
  Arith64 ar;
  EXPECT_EQ(ar.Mul(Fx64{int64_t{1} << 51}, Fx64{(int64_t{1} << 51) - 1}, Rounding::kFloor).raw,
            static_cast<int64_t>(((static_cast<i128>(1) << 102) - (static_cast<i128>(1) << 51)) / kFxOne));
  EXPECT_FALSE(ar.overflow());
  ar.Mul(Fx64{int64_t{1} << 51}, Fx64{int64_t{1} << 51}, Rounding::kFloor);
  EXPECT_TRUE(ar.overflow());
}

}  // namespace
}  // namespace plumbline::margin::internal
