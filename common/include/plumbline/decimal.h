// Decimal: an exact signed decimal number for prices, amounts and ratios. No binary floating
// point is ever involved: values are parsed from their literal text and printed back exactly.
//
// Representation: value = units / 10^scale, with |units| < 10^36 and 0 <= scale <= kMaxScale.
// The scale is kept as written ("65432.10" has scale 2 and prints as "65432.10"), so a price read
// from a venue is reproduced byte for byte in signed documents. Equality and ordering compare
// values, not representations ("1.50" == "1.5").
//
// Errors: parsing and every operation that could overflow or needs rounding return Result;
// nothing is silently truncated. Rounding is always explicit (see Rounding).
//
// Thread safety: an immutable value type.
#pragma once

#include <cassert>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "plumbline/status.h"

namespace plumbline {

enum class Rounding {
  kFloor,     // toward negative infinity: use for values we may count (collateral)
  kCeiling,   // toward positive infinity: use for values we must cover (requirements)
  kHalfEven,  // banker's rounding: only for display-neutral statistics
};

class Decimal {
 public:
  static constexpr int kMaxScale = 30;
  static constexpr int kMaxDigits = 36;

  Decimal() = default;  // zero, scale 0

  // Parses "-123.4500", "0.1", "42". Grammar: optional '-', one or more digits, optionally '.'
  // followed by one or more digits. Rejected: empty, '+', leading/trailing spaces, exponents,
  // "NaN"/"Infinity", "1.", ".5", more than kMaxDigits digits or kMaxScale fractional digits.
  // Leading zeros are accepted ("007.5" reads as 7.5, printed "7.5").
  static Result<Decimal> Parse(std::string_view text);

  // Exact integer value.
  static Decimal FromInt(int64_t value);

  // Canonical text: "-" if negative, integer digits without leading zeros, then "." and exactly
  // scale() digits when scale() > 0. Never an exponent. Zero prints as "0" (or "0.00" at scale 2;
  // negative zero does not exist).
  std::string ToString() const;

  int scale() const { return scale_; }
  // Raw representation (value = units / 10^scale) for hot loops that bring many values to one
  // scale and then compare and add plain integers (the aggregator). FromUnits: OutOfRange beyond
  // kMaxDigits digits or a scale outside [0, kMaxScale].
  __int128 units() const { return units_; }
  static Result<Decimal> FromUnits(__int128 units, int scale) { return Make(units, scale); }
  // The same without the checks, for hot paths whose values are in range by construction
  // (|units| < 10^kMaxDigits, 0 <= scale <= kMaxScale; asserted in debug builds).
  static Decimal FromUnitsInRange(__int128 units, int scale) {
    assert(scale >= 0 && scale <= kMaxScale);
    return Decimal(units, scale);
  }
  bool is_zero() const { return units_ == 0; }
  bool is_negative() const { return units_ < 0; }
  bool is_positive() const { return units_ > 0; }

  // Exact arithmetic; OutOfRange on overflow. Result scale = max of the operand scales.
  static Result<Decimal> Add(const Decimal& a, const Decimal& b);
  static Result<Decimal> Sub(const Decimal& a, const Decimal& b);
  // Product rounded to `scale` fractional digits in the given direction.
  static Result<Decimal> Mul(const Decimal& a, const Decimal& b, int scale, Rounding rounding);
  // Quotient rounded to `scale` fractional digits; InvalidArgument on division by zero.
  static Result<Decimal> Div(const Decimal& a, const Decimal& b, int scale, Rounding rounding);
  // The exact midpoint (a+b)/2, printed at the smallest scale >= max(a.scale, b.scale) that
  // represents it exactly (at most one more digit).
  static Result<Decimal> Midpoint(const Decimal& a, const Decimal& b);

  // Same value at another scale; rounds when the scale shrinks.
  Result<Decimal> Rescale(int scale, Rounding rounding) const;
  // Drops trailing fractional zeros down to `min_scale` ("1.500" -> "1.5" with min_scale 0).
  Decimal Normalized(int min_scale = 0) const;

  Decimal Negated() const;
  Decimal Abs() const { return is_negative() ? Negated() : *this; }

  friend std::strong_ordering operator<=>(const Decimal& a, const Decimal& b);
  friend bool operator==(const Decimal& a, const Decimal& b) {
    return (a <=> b) == std::strong_ordering::equal;
  }

 private:
  Decimal(__int128 units, int scale) : units_(units), scale_(static_cast<int8_t>(scale)) {}
  static Result<Decimal> Make(__int128 units, int scale);

  __int128 units_ = 0;
  int8_t scale_ = 0;
};

}  // namespace plumbline
