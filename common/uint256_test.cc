#include "plumbline/uint256.h"

#include <gtest/gtest.h>

namespace plumbline {
namespace {

TEST(UInt256, ParsesEthCallWordsBeyond64Bits) {
  // 2^64 exactly, as a 32-byte eth_call word.
  auto v = UInt256::ParseHex("0x0000000000000000000000000000000000000000000000010000000000000000");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->ToString(), "18446744073709551616");
  EXPECT_FALSE(v->FitsU64());
  auto max = UInt256::ParseHex("0x" + std::string(64, 'f'));
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(max->ToString(),
            "115792089237316195423570985008687907853269984665640564039457584007913129639935");
  EXPECT_EQ(UInt256::ParseDecimal(max->ToString())->ToHex(), "0x" + std::string(64, 'f'));
  EXPECT_EQ(UInt256::ParseHex("0x0")->ToString(), "0");
  EXPECT_EQ(UInt256::ParseHex("0xDEADbeef")->ToString(), "3735928559");
}

TEST(UInt256, RejectsMalformedAndOversizedText) {
  EXPECT_EQ(UInt256::ParseHex("0x").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(UInt256::ParseHex("123").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(UInt256::ParseHex("0x12g4").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(UInt256::ParseHex("0x1" + std::string(64, '0')).status().code(), Code::kOutOfRange);
  EXPECT_EQ(UInt256::ParseDecimal("-1").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(UInt256::ParseDecimal("1.5").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(UInt256::ParseDecimal("").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(UInt256::ParseDecimal(
                "115792089237316195423570985008687907853269984665640564039457584007913129639936")
                .status()
                .code(),
            Code::kOutOfRange);
}

TEST(UInt256, SubtractionChecksUnderflowAndBorrowsAcrossLimbs) {
  auto big = *UInt256::ParseDecimal("18446744073709551616");  // 2^64
  auto one = UInt256::FromU64(1);
  EXPECT_EQ(UInt256::Sub(big, one)->ToString(), "18446744073709551615");
  auto under = UInt256::Sub(one, big);
  ASSERT_FALSE(under.ok());
  EXPECT_EQ(under.status().code(), Code::kOutOfRange);
  EXPECT_NE(under.status().message().find("underflow"), std::string::npos);
  auto max = *UInt256::ParseHex("0x" + std::string(64, 'f'));
  EXPECT_EQ(UInt256::Add(max, one).status().code(), Code::kOutOfRange);
  EXPECT_EQ(UInt256::Add(big, big)->ToString(), "36893488147419103232");
  EXPECT_TRUE(one < big);
}

}  // namespace
}  // namespace plumbline
