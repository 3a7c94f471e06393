#include "plumbline/multiplier.h"

#include <gtest/gtest.h>

namespace plumbline {
namespace {

Decimal D(const char* s) { return *Decimal::Parse(s); }
Multiplier M(const char* s) {
  auto r = Multiplier::Parse(s);
  EXPECT_TRUE(r.ok()) << s << ": " << r.status().ToString();
  return r.ok() ? *r : Multiplier();
}

TEST(MultiplierTest, ParsesDecimalsAndRationalsAndPrintsThemBack) {
  EXPECT_EQ(M("1").ToString(), "1");
  EXPECT_EQ(M("1.0023456").ToString(), "1.0023456");
  EXPECT_EQ(M("1/3").ToString(), "1/3");
  EXPECT_EQ(M("2.5/3").ToString(), "2.5/3");
  EXPECT_TRUE(M("1/2") == M("0.5"));
  EXPECT_FALSE(M("1/3") == M("0.333333333333"));
}

TEST(MultiplierTest, RejectsZeroNegativeAndGarbage) {
  for (const char* s : {"0", "-1", "1/0", "1/-2", "", "/", "1/", "abc", "1e3", "1/2/3"}) {
    auto r = Multiplier::Parse(s);
    EXPECT_FALSE(r.ok()) << s;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << s;
    }
  }
}

TEST(MultiplierTest, AppliesExactlyWithOneExplicitRounding) {
  // 100 shares-equivalent price x 1/3: floor and ceiling differ by one unit in the last place.
  EXPECT_EQ(M("1/3").Apply(D("100"), 4, Rounding::kFloor)->ToString(), "33.3333");
  EXPECT_EQ(M("1/3").Apply(D("100"), 4, Rounding::kCeiling)->ToString(), "33.3334");
  EXPECT_EQ(M("1.0023456").Apply(D("250.10"), 8, Rounding::kFloor)->ToString(), "250.68663456");
  EXPECT_EQ(M("1/3").ApplyInverse(D("33.3333"), 4, Rounding::kFloor)->ToString(), "99.9999");
}

TEST(MultiplierTest, ScheduleSwitchesExactlyAtActivation) {
  MultiplierSchedule s{M("1"), M("1.01"), int64_t{1'000}};
  EXPECT_EQ(s.At(999).ToString(), "1");
  EXPECT_EQ(s.At(1'000).ToString(), "1.01");
  EXPECT_EQ(s.At(5'000).ToString(), "1.01");
  EXPECT_TRUE(s.Validate(500, true).ok());
  EXPECT_EQ(s.Validate(2'000, true).code(), Code::kInvalidArgument);  // activation already passed
  EXPECT_TRUE(s.Validate(2'000, false).ok());
  MultiplierSchedule half{M("1"), M("2"), std::nullopt};
  EXPECT_EQ(half.Validate(0, false).code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace plumbline
