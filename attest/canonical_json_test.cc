#include "plumbline/attest/canonical_json.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace plumbline::attest {
namespace {

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The cyberphone vectors are the reference every other JCS implementation agrees with.
TEST(CanonicalJson, Rfc8785TestVectors) {
  const std::filesystem::path dir =
      std::filesystem::path(PLUMBLINE_SHARED_DIR) / "testvectors/rfc8785/testdata";
  ASSERT_TRUE(std::filesystem::is_directory(dir / "input")) << dir;
  int cases = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir / "input")) {
    const std::string name = entry.path().filename().string();
    SCOPED_TRACE(name);
    auto got = CanonicalizeText(ReadFile(entry.path()));
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    const std::string want = ReadFile(dir / "output" / name);
    EXPECT_EQ(*got, want);
    EXPECT_TRUE(IsCanonical(want));
    ++cases;
  }
  EXPECT_GE(cases, 6);
}

std::string Canon(const std::string& text) {
  auto r = CanonicalizeText(text);
  return r.ok() ? *r : "ERROR: " + r.status().message();
}

TEST(CanonicalJson, NumbersFollowEcmaScript) {
  EXPECT_EQ(Canon("[0, -0, 1, -1, 1.5, 100, 1e21, 1e20, 1e-6, 1e-7, 123456789012345678901]"),
            "[0,0,1,-1,1.5,100,1e+21,100000000000000000000,0.000001,1e-7,123456789012345680000]");
  EXPECT_EQ(Canon("[9007199254740993, 5e-324, 1.7976931348623157e308, 0.1, 2.5e-8]"),
            "[9007199254740992,5e-324,1.7976931348623157e+308,0.1,2.5e-8]");
  EXPECT_EQ(Canon("[-1.5e300, 333333333.33333329, 1E30, 4.50, 2e-3]"),
            "[-1.5e+300,333333333.3333333,1e+30,4.5,0.002]");
}

TEST(CanonicalJson, RejectsNonFiniteNumbers) {
  auto r = CanonicalizeText("[1e400]");
  EXPECT_FALSE(r.ok());
  auto c = Canonicalize(nlohmann::json(std::numeric_limits<double>::infinity()));  // allowed: test
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
}

TEST(CanonicalJson, StringEscapes) {
  EXPECT_EQ(Canon(R"(["\u0001\u001f\b\f\n\r\t\"\\/\u007f\u00e9"])"),
            "[\"\\u0001\\u001f\\b\\f\\n\\r\\t\\\"\\\\/\x7f\xc3\xa9\"]");
}

TEST(CanonicalJson, SortsKeysByUtf16CodeUnits) {
  // U+FB33 sorts after U+1F602 in UTF-8 bytes, but before it in UTF-16 (0xFB33 > 0xD83D).
  EXPECT_EQ(Canon("{\"\\ufb33\":1,\"\\ud83d\\ude02\":2,\"a\":3,\"B\":4}"),
            "{\"B\":4,\"a\":3,\"\xf0\x9f\x98\x82\":2,\"\xef\xac\xb3\":1}");
}

TEST(CanonicalJson, StrictParseRejectsDuplicatesTrailingAndBadUtf8) {
  auto dup = ParseStrictJson(R"({"a":1,"b":{"c":1,"c":2}})");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), Code::kInvalidArgument);
  EXPECT_NE(dup.status().message().find("\"c\""), std::string::npos) << dup.status().message();
  // The same key in sibling objects is fine.
  EXPECT_TRUE(ParseStrictJson(R"([{"a":1},{"a":2}])").ok());
  EXPECT_TRUE(ParseStrictJson(R"({"a":{"a":{"a":1}}})").ok());

  auto trailing = ParseStrictJson("{} {}");
  ASSERT_FALSE(trailing.ok());
  EXPECT_EQ(trailing.status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(ParseStrictJson("[1] x").ok());
  EXPECT_FALSE(ParseStrictJson("\"\xff\"").ok());
  EXPECT_FALSE(ParseStrictJson("\"\xc0\xaf\"").ok());          // overlong '/'
  EXPECT_FALSE(ParseStrictJson("\"\\ud800\"").ok());           // lone surrogate escape
  EXPECT_FALSE(ParseStrictJson("[1,]").ok());
  EXPECT_FALSE(ParseStrictJson("// c\n1").ok());
  EXPECT_FALSE(ParseStrictJson("").ok());
}

TEST(CanonicalJson, CanonicalizeRejectsInvalidUtf8BuiltInCode) {
  nlohmann::json j = {{"k", std::string("\xed\xa0\x80")}};  // encoded surrogate
  EXPECT_EQ(Canonicalize(j).status().code(), Code::kInvalidArgument);
  nlohmann::json k;
  k[std::string("\xff")] = 1;
  EXPECT_EQ(Canonicalize(k).status().code(), Code::kInvalidArgument);
}

TEST(CanonicalJson, IsCanonical) {
  EXPECT_TRUE(IsCanonical(R"({"a":[1,"x",null,true]})"));
  EXPECT_FALSE(IsCanonical(R"({"a": 1})"));
  EXPECT_FALSE(IsCanonical(R"({"b":1,"a":2})"));
  EXPECT_FALSE(IsCanonical(R"({"a":1.0})"));
  EXPECT_FALSE(IsCanonical(R"(["\u0041"])"));
  EXPECT_FALSE(IsCanonical("{\"a\":1}\n"));
  EXPECT_FALSE(IsCanonical(R"({"a":1,"a":1})"));
}

}  // namespace
}  // namespace plumbline::attest
