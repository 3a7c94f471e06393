#include "plumbline/decimal.h"

#include <array>
#include <cstdint>

namespace plumbline {
namespace {

using u128 = unsigned __int128;
using i128 = __int128;

// 256-bit unsigned integer, just enough for exact products and quotients of Decimal units.
// Written here because no Debian-packaged C++ library offers fixed-width 256-bit arithmetic
// without pulling in a multiprecision runtime.
struct U256 {
  std::array<uint64_t, 4> limb{};  // little-endian

  static U256 From(u128 v) {
    U256 r;
    r.limb[0] = static_cast<uint64_t>(v);
    r.limb[1] = static_cast<uint64_t>(v >> 64);
    return r;
  }
  bool IsZero() const { return (limb[0] | limb[1] | limb[2] | limb[3]) == 0; }
  bool FitsU128() const { return limb[2] == 0 && limb[3] == 0; }
  u128 Low128() const { return (static_cast<u128>(limb[1]) << 64) | limb[0]; }
  int Compare(const U256& o) const {
    for (int i = 3; i >= 0; --i) {
      if (limb[i] != o.limb[i]) return limb[i] < o.limb[i] ? -1 : 1;
    }
    return 0;
  }
  // Multiplies by a 64-bit factor; returns false on overflow.
  bool MulSmall(uint64_t f) {
    u128 carry = 0;
    for (auto& l : limb) {
      u128 p = static_cast<u128>(l) * f + carry;
      l = static_cast<uint64_t>(p);
      carry = p >> 64;
    }
    return carry == 0;
  }
  bool Mul(const U256& o, U256* out) const {
    std::array<uint64_t, 8> acc{};
    for (int i = 0; i < 4; ++i) {
      u128 carry = 0;
      for (int j = 0; j < 4; ++j) {
        u128 p = static_cast<u128>(limb[i]) * o.limb[j] + acc[i + j] + carry;
        acc[i + j] = static_cast<uint64_t>(p);
        carry = p >> 64;
      }
      acc[i + 4] = static_cast<uint64_t>(carry);
    }
    for (int k = 4; k < 8; ++k) {
      if (acc[k] != 0) return false;
    }
    for (int k = 0; k < 4; ++k) out->limb[k] = acc[k];
    return true;
  }
  void ShiftLeft1() {
    for (int i = 3; i > 0; --i) limb[i] = (limb[i] << 1) | (limb[i - 1] >> 63);
    limb[0] <<= 1;
  }
  bool Bit(int i) const { return (limb[i / 64] >> (i % 64)) & 1; }
  void SetBit(int i) { limb[i / 64] |= (uint64_t{1} << (i % 64)); }
  void Sub(const U256& o) {
    uint64_t borrow = 0;
    for (int i = 0; i < 4; ++i) {
      u128 d = static_cast<u128>(limb[i]) - o.limb[i] - borrow;
      limb[i] = static_cast<uint64_t>(d);
      borrow = (d >> 64) ? 1 : 0;
    }
  }
};

// Schoolbook binary long division; den must be non-zero.
void DivMod(const U256& num, const U256& den, U256* quot, U256* rem) {
  U256 q, r;
  for (int i = 255; i >= 0; --i) {
    r.ShiftLeft1();
    if (num.Bit(i)) r.limb[0] |= 1;
    if (r.Compare(den) >= 0) {
      r.Sub(den);
      q.SetBit(i);
    }
  }
  *quot = q;
  *rem = r;
}

bool Pow10(int n, U256* out) {
  U256 r = U256::From(1);
  for (int i = 0; i < n; ++i) {
    if (!r.MulSmall(10)) return false;
  }
  *out = r;
  return true;
}

i128 Pow10I(int n) {
  i128 r = 1;
  for (int i = 0; i < n; ++i) r *= 10;
  return r;
}

const i128 kUnitsLimit = Pow10I(Decimal::kMaxDigits);

u128 Magnitude(i128 v) { return v < 0 ? static_cast<u128>(-(v + 1)) + 1 : static_cast<u128>(v); }

// Rounds num/den (magnitudes) for a result of the given sign.
Result<u128> RoundedQuotient(bool negative, const U256& num, const U256& den, Rounding rounding) {
  U256 q, r;
  DivMod(num, den, &q, &r);
  bool round_away = false;  // away from zero in magnitude
  if (!r.IsZero()) {
    switch (rounding) {
      case Rounding::kFloor: round_away = negative; break;
      case Rounding::kCeiling: round_away = !negative; break;
      case Rounding::kHalfEven: {
        U256 other = den;
        other.Sub(r);  // den - r
        int c = r.Compare(other);
        round_away = c > 0 || (c == 0 && (q.limb[0] & 1));
        break;
      }
    }
  }
  if (round_away) {
    U256 one = U256::From(1);
    // q + 1: add with carry
    for (auto& l : q.limb) {
      if (++l != 0) break;
    }
    (void)one;
  }
  if (!q.FitsU128()) return Status::OutOfRange("decimal result exceeds 36 digits");
  return q.Low128();
}

}  // namespace

Result<Decimal> Decimal::Make(i128 units, int scale) {
  if (units >= kUnitsLimit || units <= -kUnitsLimit) {
    return Status::OutOfRange("decimal result exceeds 36 digits");
  }
  if (scale < 0 || scale > kMaxScale) return Status::OutOfRange("decimal scale out of range");
  return Decimal(units, scale);
}

Result<Decimal> Decimal::Parse(std::string_view text) {
  auto fail = [&](const char* why) {
    return Status::InvalidArgument("not a decimal number: \"" + std::string(text.substr(0, 64)) +
                                   "\" (" + why + ")");
  };
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && text[i] == '-') {
    negative = true;
    ++i;
  }
  i128 units = 0;
  int digits = 0, scale = 0, int_digits = 0;
  bool seen_point = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.') {
      if (seen_point) return fail("two decimal points");
      if (int_digits == 0) return fail("no digits before the decimal point");
      seen_point = true;
      continue;
    }
    if (c < '0' || c > '9') return fail("unexpected character");
    if (seen_point) {
      ++scale;
    } else {
      ++int_digits;
    }
    if (units != 0 || c != '0' || seen_point) ++digits;
    if (digits > kMaxDigits) return fail("more than 36 significant digits");
    if (scale > kMaxScale) return fail("more than 30 fractional digits");
    units = units * 10 + (c - '0');
  }
  if (int_digits == 0) return fail("no digits");
  if (seen_point && scale == 0) return fail("no digits after the decimal point");
  return Decimal(negative ? -units : units, scale);
}

Decimal Decimal::FromInt(int64_t value) { return Decimal(static_cast<i128>(value), 0); }

std::string Decimal::ToString() const {
  u128 mag = Magnitude(units_);
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(mag % 10)));
    mag /= 10;
  } while (mag != 0);
  if (static_cast<int>(digits.size()) <= scale_) {
    digits.insert(0, static_cast<size_t>(scale_ + 1 - static_cast<int>(digits.size())), '0');
  }
  if (scale_ > 0) digits.insert(digits.size() - static_cast<size_t>(scale_), ".");
  if (units_ < 0) digits.insert(0, "-");
  return digits;
}

namespace {
bool ScaleUp(i128 units, int by, i128* out) {
  i128 r = units;
  for (int i = 0; i < by; ++i) {
    if (__builtin_mul_overflow(r, static_cast<i128>(10), &r)) return false;
  }
  *out = r;
  return true;
}
}  // namespace

Result<Decimal> Decimal::Add(const Decimal& a, const Decimal& b) {
  int s = std::max(a.scale_, b.scale_);
  i128 x, y, sum;
  if (!ScaleUp(a.units_, s - a.scale_, &x) || !ScaleUp(b.units_, s - b.scale_, &y) ||
      __builtin_add_overflow(x, y, &sum)) {
    return Status::OutOfRange("decimal addition overflows");
  }
  return Make(sum, s);
}

Result<Decimal> Decimal::Sub(const Decimal& a, const Decimal& b) { return Add(a, b.Negated()); }

Result<Decimal> Decimal::Mul(const Decimal& a, const Decimal& b, int scale, Rounding rounding) {
  if (scale < 0 || scale > kMaxScale) return Status::OutOfRange("decimal scale out of range");
  bool negative = (a.units_ < 0) != (b.units_ < 0);
  U256 num;
  if (!U256::From(Magnitude(a.units_)).Mul(U256::From(Magnitude(b.units_)), &num)) {
    return Status::OutOfRange("decimal multiplication overflows");
  }
  int product_scale = a.scale_ + b.scale_;
  U256 den = U256::From(1);
  if (scale >= product_scale) {
    U256 f;
    if (!Pow10(scale - product_scale, &f) || !num.Mul(f, &num)) {
      return Status::OutOfRange("decimal multiplication overflows");
    }
  } else if (!Pow10(product_scale - scale, &den)) {
    return Status::OutOfRange("decimal multiplication overflows");
  }
  auto q = RoundedQuotient(negative, num, den, rounding);
  if (!q.ok()) return q.status();
  i128 units = static_cast<i128>(*q);
  if (*q >= static_cast<u128>(kUnitsLimit)) return Status::OutOfRange("decimal result exceeds 36 digits");
  return Make(negative ? -units : units, scale);
}

Result<Decimal> Decimal::Div(const Decimal& a, const Decimal& b, int scale, Rounding rounding) {
  if (b.units_ == 0) return Status::InvalidArgument("division by zero");
  if (scale < 0 || scale > kMaxScale) return Status::OutOfRange("decimal scale out of range");
  bool negative = (a.units_ < 0) != (b.units_ < 0);
  // a/b at `scale` = a.units * 10^(scale + b.scale - a.scale) / b.units
  int e = scale + b.scale_ - a.scale_;
  U256 num = U256::From(Magnitude(a.units_));
  U256 den = U256::From(Magnitude(b.units_));
  U256 f;
  if (!Pow10(e >= 0 ? e : -e, &f)) return Status::OutOfRange("decimal division overflows");
  if (!(e >= 0 ? num.Mul(f, &num) : den.Mul(f, &den))) {
    return Status::OutOfRange("decimal division overflows");
  }
  auto q = RoundedQuotient(negative, num, den, rounding);
  if (!q.ok()) return q.status();
  if (*q >= static_cast<u128>(kUnitsLimit)) return Status::OutOfRange("decimal result exceeds 36 digits");
  i128 units = static_cast<i128>(*q);
  return Make(negative ? -units : units, scale);
}

Result<Decimal> Decimal::Midpoint(const Decimal& a, const Decimal& b) {
  auto sum = Add(a, b);
  if (!sum.ok()) return sum.status();
  int s = sum->scale_;
  if (s + 1 > kMaxScale) return Status::OutOfRange("decimal scale out of range");
  auto half = Div(*sum, FromInt(2), s + 1, Rounding::kHalfEven);  // exact: x/2 = 5x/10
  if (!half.ok()) return half.status();
  return half->Normalized(s);
}

Result<Decimal> Decimal::Rescale(int scale, Rounding rounding) const {
  return Div(*this, FromInt(1), scale, rounding);
}

Decimal Decimal::Normalized(int min_scale) const {
  i128 u = units_;
  int s = scale_;
  while (s > min_scale && u % 10 == 0) {
    u /= 10;
    --s;
  }
  return Decimal(u, s);
}

Decimal Decimal::Negated() const { return Decimal(-units_, scale_); }

std::strong_ordering operator<=>(const Decimal& a, const Decimal& b) {
  // Compare floor integer parts, then fractional parts at a common scale (both < 10^30, so the
  // rescaled fractions fit in 128 bits even when the whole values would not).
  if (a.scale_ == b.scale_) {  // the usual case (two quotes of one venue): compare the units
    if (a.units_ == b.units_) return std::strong_ordering::equal;
    return a.units_ < b.units_ ? std::strong_ordering::less : std::strong_ordering::greater;
  }
  auto split = [](const Decimal& d, i128* ip, i128* fp) {
    i128 p = Pow10I(d.scale_);
    i128 q = d.units_ / p, r = d.units_ % p;
    if (r < 0) {
      r += p;
      q -= 1;
    }
    *ip = q;
    *fp = r;
  };
  i128 ia, fa, ib, fb;
  split(a, &ia, &fa);
  split(b, &ib, &fb);
  if (ia != ib) return ia < ib ? std::strong_ordering::less : std::strong_ordering::greater;
  int s = std::max(a.scale_, b.scale_);
  fa *= Pow10I(s - a.scale_);
  fb *= Pow10I(s - b.scale_);
  if (fa == fb) return std::strong_ordering::equal;
  return fa < fb ? std::strong_ordering::less : std::strong_ordering::greater;
}

}  // namespace plumbline
