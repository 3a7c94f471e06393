// Multiplier: how many underlying shares one token represents, as an exact rational, and its
// staged schedule (current / next / activation time). Shared by the oracle (token marks:
// theoretical price = underlying price x multiplier) and proof of reserve (required shares =
// circulating tokens x multiplier), so both always apply the same number at the same instant.
//
// Value = numerator / denominator, both positive Decimals (a 1:3 reverse split is "1/3", a
// dividend-adjusted multiplier "1.0023456"). Text form: "<decimal>" or "<decimal>/<decimal>".
// The rational is never rounded; rounding happens only when it is applied to an amount, in the
// direction the caller names.
//
// Staging: `current` applies before `activation_unix_nanos`; `next` applies from that instant on,
// inclusive (a change "applies exactly at its activation time"). A schedule without `next` is
// constant.
//
// Thread safety: immutable values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "plumbline/decimal.h"
#include "plumbline/status.h"

namespace plumbline {

class Multiplier {
 public:
  Multiplier() : numerator_(Decimal::FromInt(1)), denominator_(Decimal::FromInt(1)) {}

  // "1", "0.998", "1/3", "2.5/3". InvalidArgument names what is wrong (zero, negative, syntax).
  static Result<Multiplier> Parse(std::string_view text);
  // InvalidArgument unless both are > 0.
  static Result<Multiplier> Of(const Decimal& numerator, const Decimal& denominator);

  const Decimal& numerator() const { return numerator_; }
  const Decimal& denominator() const { return denominator_; }

  // The text form it was parsed from in canonical shape: "n" when the denominator is 1, else
  // "n/d" (each printed with Decimal::ToString()).
  std::string ToString() const;

  // amount x numerator / denominator, rounded to `scale` fractional digits in direction
  // `rounding`. OutOfRange on overflow.
  Result<Decimal> Apply(const Decimal& amount, int scale, Rounding rounding) const;
  // amount x denominator / numerator (the inverse), rounded likewise.
  Result<Decimal> ApplyInverse(const Decimal& amount, int scale, Rounding rounding) const;

  // Exact comparison of the rational values (1/2 == 0.5).
  friend bool operator==(const Multiplier& a, const Multiplier& b);

 private:
  Decimal numerator_;
  Decimal denominator_;
};

struct MultiplierSchedule {
  Multiplier current;
  std::optional<Multiplier> next;                // staged change, if any
  std::optional<int64_t> activation_unix_nanos;  // present iff next is present

  // The multiplier in force at `now_unix_nanos`.
  const Multiplier& At(int64_t now_unix_nanos) const {
    return (next && activation_unix_nanos && now_unix_nanos >= *activation_unix_nanos) ? *next : current;
  }

  // InvalidArgument if exactly one of next / activation is set. A staged activation in the past
  // relative to `now_unix_nanos` is InvalidArgument too when `reject_past_activation` (config
  // load: an operator staging a change that has already happened is almost surely a mistake).
  Status Validate(int64_t now_unix_nanos, bool reject_past_activation) const;
};

}  // namespace plumbline
