#include "plumbline/margin/json.h"

#include <gtest/gtest.h>

#include "margin/test_support.h"

namespace plumbline::margin {
namespace {

using nlohmann::json;

std::string ErrorOf(const char* text, const std::string& prefix = "") {
  auto a = AccountFromJson(json::parse(text), prefix);
  EXPECT_FALSE(a.ok());
  return a.status().message();
}

TEST(MarginJson, ParsesAnAccount) {
  auto a = AccountFromJson(json::parse(R"({"id":"a1","region":"EU",
    "collateral":[{"asset":"USD","quantity":"10000.50"}],
    "positions":[{"id":"p1","asset":"BTC","kind":"spot_margin","side":"short","quantity":"1",
                  "entry_price":"20000","leverage":"5","opened_time":"1763780000000000000"},
                 {"asset":"BTC","kind":"dated","side":"long","quantity":"2","entry_price":"1",
                  "expiry_time":"1763790000000000000","funding_accrued":"-1.5"}]})"));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->region, "EU");
  EXPECT_EQ(a->collateral[0].quantity.ToString(), "10000.50");
  EXPECT_EQ(a->positions[0].side, Side::kShort);
  EXPECT_EQ(a->positions[0].opened_unix_nanos, 1763780000000000000);
  EXPECT_EQ(a->positions[1].kind, PositionKind::kDated);
  EXPECT_EQ(*a->positions[1].expiry_unix_nanos, 1763790000000000000);
  EXPECT_EQ(a->positions[1].funding_accrued.ToString(), "-1.5");
}

TEST(MarginJson, MalformedInputNamesTheField) {
  EXPECT_EQ(ErrorOf(R"({"collateral":[{"asset":"USD","quantity":"1e5"}]})"),
            "collateral[0].quantity: not a decimal number: \"1e5\" (unexpected character)");
  EXPECT_EQ(ErrorOf(R"({"collateral":[{"asset":"USD","quantity":100}]})"),
            "collateral[0].quantity: expected a decimal string such as \"1.5\" (not a JSON number), got number");
  EXPECT_EQ(ErrorOf(R"({"positions":[{"asset":"BTC","kind":"swap","side":"long","quantity":"1","entry_price":"1"}]})", "accounts[2]."),
            "accounts[2].positions[0].kind: expected \"spot_margin\", \"perpetual\" or \"dated\", got \"swap\"");
  EXPECT_EQ(ErrorOf(R"({"collateral":[{"asset":"USD","qty":"1"}]})"), "collateral[0].quantity: missing; expected a decimal string such as \"1.5\"");
  EXPECT_EQ(ErrorOf(R"({"colateral":[]})"), "colateral: unknown member");
  EXPECT_EQ(ErrorOf(R"([1])"), "account: expected a JSON object, got array");
  EXPECT_EQ(ErrorOf(R"({"positions":[{"asset":"BTC","kind":"spot_margin","side":"long","quantity":"1","entry_price":"1","opened_time":"soon"}]})"),
            "positions[0].opened_time: expected positive Unix nanoseconds as a decimal string, got \"soon\"");
}

TEST(MarginJson, ValuationRoundTripsThroughTheEvaluator) {
  using namespace testing;  // NOLINT
  Evaluator ev(TestParams(), View({Quote("BTC", "20000")}));
  auto a = AccountFromJson(json::parse(R"({"id":"a1","collateral":[{"asset":"USD","quantity":"10000"}],
    "positions":[{"id":"p1","asset":"BTC","kind":"spot_margin","side":"long","quantity":"1",
                  "entry_price":"20000","leverage":"5","opened_time":"1763780000000000000"}]})"));
  ASSERT_TRUE(a.ok());
  auto v = ev.Evaluate(*a, kNow);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  json j = ValuationToJson(*v);
  EXPECT_EQ(j["snapshot"]["sequence"], 7);
  EXPECT_EQ(j["snapshot"]["payload_hash"], std::string(64, 'a'));
  EXPECT_EQ(j["state"], "healthy");
  EXPECT_EQ(j["totals"]["used_margin"], "4000.00");
  EXPECT_EQ(j["totals"]["margin_level"], "2.5");
  EXPECT_EQ(j["positions"][0]["liquidation_price"], "11600");
  EXPECT_EQ(j["positions"][0]["margin_call_price"], "13200");
  EXPECT_EQ(j["requirements"]["liquidation"], "1600.00");
  EXPECT_EQ(j["stress"]["scenarios"].size(), 2u);
}

// The direct writer prints decimals exactly like Decimal::Normalized(...).ToString().
TEST(MarginJson, WriterPrintsDecimalsExactly) {
  Valuation v;
  const char* values[] = {"0", "-0.05", "123.450000000000", "-5000", "0.000000000001", "-99999999999.999999999999",
                          "340282366920938463463.374607431768"};
  for (const char* text : values) {
    Decimal d = *Decimal::Parse(text);
    v.equity = d;        // money: at least cents
    v.margin_level = d;  // ratio: no trailing zeros
    json j = ValuationToJson(v);
    EXPECT_EQ(j["totals"]["equity"], d.Normalized(2).ToString()) << text;
    EXPECT_EQ(j["totals"]["margin_level"], d.Normalized(0).ToString()) << text;
  }
  v.account_id = "quote\" and \\ and \n";
  EXPECT_EQ(ValuationToJson(v)["account_id"], "quote\" and \\ and \n");
}

}  // namespace
}  // namespace plumbline::margin
