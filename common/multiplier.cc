#include "plumbline/multiplier.h"

namespace plumbline {

Result<Multiplier> Multiplier::Of(const Decimal& numerator, const Decimal& denominator) {
  if (!numerator.is_positive() || !denominator.is_positive()) {
    return Status::InvalidArgument("multiplier: numerator and denominator must be > 0, got " +
                                   numerator.ToString() + "/" + denominator.ToString());
  }
  Multiplier m;
  m.numerator_ = numerator;
  m.denominator_ = denominator;
  return m;
}

Result<Multiplier> Multiplier::Parse(std::string_view text) {
  const size_t slash = text.find('/');
  auto numerator = Decimal::Parse(text.substr(0, slash));
  if (!numerator.ok()) {
    return Status::InvalidArgument("multiplier '" + std::string(text) +
                                   "': expected a positive decimal or 'n/d', " + numerator.status().message());
  }
  Decimal denominator = Decimal::FromInt(1);
  if (slash != std::string_view::npos) {
    auto d = Decimal::Parse(text.substr(slash + 1));
    if (!d.ok()) {
      return Status::InvalidArgument("multiplier '" + std::string(text) +
                                     "': bad denominator, " + d.status().message());
    }
    denominator = *d;
  }
  return Of(*numerator, denominator);
}

std::string Multiplier::ToString() const {
  if (denominator_ == Decimal::FromInt(1)) return numerator_.ToString();
  return numerator_.ToString() + "/" + denominator_.ToString();
}

namespace {

// a x b / c with one rounding step: the product is taken exactly (at the sum of the scales, which
// Decimal::Mul represents without rounding when it fits), then divided once.
Result<Decimal> MulDiv(const Decimal& a, const Decimal& b, const Decimal& c, int scale, Rounding rounding) {
  const int exact_scale = std::min(Decimal::kMaxScale, a.scale() + b.scale());
  auto product = Decimal::Mul(a, b, exact_scale, rounding);
  if (!product.ok()) return product.status();
  return Decimal::Div(*product, c, scale, rounding);
}

}  // namespace

Result<Decimal> Multiplier::Apply(const Decimal& amount, int scale, Rounding rounding) const {
  return MulDiv(amount, numerator_, denominator_, scale, rounding);
}

Result<Decimal> Multiplier::ApplyInverse(const Decimal& amount, int scale, Rounding rounding) const {
  return MulDiv(amount, denominator_, numerator_, scale, rounding);
}

bool operator==(const Multiplier& a, const Multiplier& b) {
  // a.n / a.d == b.n / b.d  <=>  a.n * b.d == b.n * a.d, compared exactly.
  const int sl = std::min(Decimal::kMaxScale, a.numerator_.scale() + b.denominator_.scale());
  const int sr = std::min(Decimal::kMaxScale, b.numerator_.scale() + a.denominator_.scale());
  auto left = Decimal::Mul(a.numerator_, b.denominator_, sl, Rounding::kHalfEven);
  auto right = Decimal::Mul(b.numerator_, a.denominator_, sr, Rounding::kHalfEven);
  if (!left.ok() || !right.ok()) return false;
  return *left == *right;
}

Status MultiplierSchedule::Validate(int64_t now_unix_nanos, bool reject_past_activation) const {
  if (next.has_value() != activation_unix_nanos.has_value()) {
    return Status::InvalidArgument("multiplier schedule: 'next' and its activation time go together");
  }
  if (reject_past_activation && activation_unix_nanos && *activation_unix_nanos < now_unix_nanos) {
    return Status::InvalidArgument("multiplier schedule: activation time " + std::to_string(*activation_unix_nanos) +
                                   " is in the past (now " + std::to_string(now_unix_nanos) + ")");
  }
  return Status::Ok();
}

}  // namespace plumbline
