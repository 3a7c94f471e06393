#include "plumbline/decimal.h"

#include <gtest/gtest.h>

namespace plumbline {
namespace {

Decimal D(const char* s) {
  auto r = Decimal::Parse(s);
  EXPECT_TRUE(r.ok()) << s << ": " << r.status().ToString();
  return r.ok() ? *r : Decimal();
}

TEST(DecimalTest, ParsesAndPrintsExactlyAsWritten) {
  for (const char* s : {"0", "1", "-1", "65432.10", "0.000000000000000001", "123456789012345678901234.5",
                        "-0.5", "100"}) {
    EXPECT_EQ(D(s).ToString(), s);
  }
  EXPECT_EQ(D("007.50").ToString(), "7.50");
  EXPECT_EQ(D("-0").ToString(), "0");
}

TEST(DecimalTest, RejectsEverythingThatIsNotAPlainDecimal) {
  for (const char* s : {"", "-", "+1", " 1", "1 ", "1e5", "1E5", "NaN", "Infinity", "1.", ".5", "1..2",
                        "1.2.3", "0x10", "1,5", "１"}) {
    auto r = Decimal::Parse(s);
    EXPECT_FALSE(r.ok()) << s;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    }
  }
  EXPECT_FALSE(Decimal::Parse("1234567890123456789012345678901234567").ok());  // 37 digits
  EXPECT_FALSE(Decimal::Parse("0.1234567890123456789012345678901").ok());      // scale 31
}

TEST(DecimalTest, ComparesValuesNotRepresentations) {
  EXPECT_EQ(D("1.50"), D("1.5"));
  EXPECT_LT(D("-2"), D("-1.99"));
  EXPECT_LT(D("-0.5"), D("0"));
  EXPECT_GT(D("100000000000000000000000000000000000"), D("99999.999999999999999999999999999999"));
  EXPECT_LT(D("-1.000000000000000000000000000001"), D("-1"));
}

TEST(DecimalTest, AddSubKeepLargestScale) {
  EXPECT_EQ(Decimal::Add(D("1.10"), D("2.005"))->ToString(), "3.105");
  EXPECT_EQ(Decimal::Sub(D("1"), D("2.5"))->ToString(), "-1.5");
  EXPECT_FALSE(Decimal::Add(D("999999999999999999999999999999999999"), D("1")).ok());
}

TEST(DecimalTest, MulAndDivRoundInTheRequestedDirection) {
  EXPECT_EQ(Decimal::Mul(D("1.25"), D("1.25"), 2, Rounding::kFloor)->ToString(), "1.56");
  EXPECT_EQ(Decimal::Mul(D("1.25"), D("1.25"), 2, Rounding::kCeiling)->ToString(), "1.57");
  EXPECT_EQ(Decimal::Mul(D("-1.25"), D("1.25"), 2, Rounding::kFloor)->ToString(), "-1.57");
  EXPECT_EQ(Decimal::Mul(D("-1.25"), D("1.25"), 2, Rounding::kCeiling)->ToString(), "-1.56");
  EXPECT_EQ(Decimal::Mul(D("2.5"), D("1"), 0, Rounding::kHalfEven)->ToString(), "2");
  EXPECT_EQ(Decimal::Mul(D("3.5"), D("1"), 0, Rounding::kHalfEven)->ToString(), "4");
  EXPECT_EQ(Decimal::Div(D("1"), D("3"), 6, Rounding::kFloor)->ToString(), "0.333333");
  EXPECT_EQ(Decimal::Div(D("1"), D("3"), 6, Rounding::kCeiling)->ToString(), "0.333334");
  EXPECT_EQ(Decimal::Div(D("-1"), D("3"), 2, Rounding::kFloor)->ToString(), "-0.34");
  EXPECT_FALSE(Decimal::Div(D("1"), D("0"), 2, Rounding::kFloor).ok());
  // Products whose intermediate exceeds 128 bits are still exact.
  EXPECT_EQ(Decimal::Mul(D("123456789012345678.123456789012345678"), D("1000000000000000000"), 0,
                         Rounding::kFloor)
                ->ToString(),
            "123456789012345678123456789012345678");
}

TEST(DecimalTest, MidpointIsExact) {
  EXPECT_EQ(Decimal::Midpoint(D("100.01"), D("100.02"))->ToString(), "100.015");
  EXPECT_EQ(Decimal::Midpoint(D("100.00"), D("100.02"))->ToString(), "100.01");
  EXPECT_EQ(Decimal::Midpoint(D("1"), D("2"))->ToString(), "1.5");
  EXPECT_EQ(Decimal::Midpoint(D("-1"), D("2"))->ToString(), "0.5");
}

TEST(DecimalTest, RescaleAndNormalize) {
  EXPECT_EQ(D("1.239").Rescale(2, Rounding::kFloor)->ToString(), "1.23");
  EXPECT_EQ(D("1.2").Rescale(4, Rounding::kFloor)->ToString(), "1.2000");
  EXPECT_EQ(D("1.500").Normalized().ToString(), "1.5");
  EXPECT_EQ(D("100").Normalized().ToString(), "100");
}

}  // namespace
}  // namespace plumbline
