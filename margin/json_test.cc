#include "plumbline/margin/json.h"

#include <gtest/gtest.h>

#include <random>

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

// Every field of an account as text, to compare the two readers.
std::string Describe(const Account& a) {
  std::string out = "id=" + a.id + " region=" + (a.region ? *a.region : "-") + "\n";
  for (const CollateralBalance& c : a.collateral) out += "  c " + c.asset + " " + c.quantity.ToString() + "\n";
  for (const Position& p : a.positions) {
    out += "  p " + p.id + " " + p.asset + " " + PositionKindName(p.kind) + " " + (p.side == Side::kLong ? "long" : "short") +
           " q=" + p.quantity.ToString() + " e=" + p.entry_price.ToString() + " l=" + (p.leverage ? p.leverage->ToString() : "-") +
           " o=" + std::to_string(p.opened_unix_nanos) +
           " x=" + (p.expiry_unix_nanos ? std::to_string(*p.expiry_unix_nanos) : "-") + " f=" + p.funding_accrued.ToString() + "\n";
  }
  return out;
}

// The batch reader without a DOM must produce exactly what nlohmann::json + AccountFromJson
// produce, for bodies with every optional member present or absent, in any member order, with
// any whitespace.
TEST(MarginJson, FastBatchReaderMatchesTheDomReader) {
  std::mt19937_64 rng(11);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  for (int round = 0; round < 200; ++round) {
    json accounts = json::array();
    const int n = pick(4);
    for (int i = 0; i < n; ++i) {
      json a = json::object();
      if (pick(2)) a["id"] = pick(2) ? "acct-" + std::to_string(i) : "";
      if (pick(3) == 0) a["region"] = pick(2) ? "EU" : "";
      json coll = json::array();
      for (int c = pick(4); c > 0; --c) coll.push_back({{"asset", pick(2) ? "BTC" : "USD"}, {"quantity", std::to_string(pick(1000) - 100) + ".25"}});
      if (pick(4)) a["collateral"] = coll;
      json pos = json::array();
      for (int k = pick(4); k > 0; --k) {
        json p = {{"asset", "ETH"}, {"kind", pick(2) ? "perpetual" : (pick(2) ? "dated" : "spot_margin")},
                  {"side", pick(2) ? "long" : "short"}, {"quantity", "0." + std::to_string(1 + pick(99))},
                  {"entry_price", std::to_string(1000 + pick(5000))}};
        if (pick(2)) p["id"] = "p" + std::to_string(k);
        if (pick(2)) p["leverage"] = std::to_string(1 + pick(5));
        if (pick(2)) p["opened_time"] = std::to_string(1763780000000000000 - pick(100000));
        if (pick(2)) p["expiry_time"] = std::to_string(1763790000000000000 + pick(100000));
        if (pick(2)) p["funding_accrued"] = "-" + std::to_string(pick(50)) + ".5";
        pos.push_back(p);
      }
      if (pick(4)) a["positions"] = pos;
      accounts.push_back(a);
    }
    json body = {{"accounts", accounts}};
    if (pick(2)) body["snapshot"] = 1 + pick(1000);
    const std::string text = body.dump(pick(2) ? -1 : 2);  // compact, or indented with newlines
    std::vector<Account> fast;
    std::optional<uint64_t> seq;
    ASSERT_TRUE(ReadBatchFast(text, &fast, &seq)) << text;
    ASSERT_EQ(fast.size(), accounts.size());
    for (size_t i = 0; i < fast.size(); ++i) {
      auto dom = AccountFromJson(accounts[i], "accounts[" + std::to_string(i) + "].");
      ASSERT_TRUE(dom.ok()) << dom.status().ToString();
      EXPECT_EQ(Describe(fast[i]), Describe(*dom)) << text;
    }
    EXPECT_EQ(seq, body.contains("snapshot") ? std::optional<uint64_t>(body["snapshot"].get<uint64_t>()) : std::nullopt);
  }
}

// Anything outside the common well-formed shape is left to the DOM reader (which names the error).
TEST(MarginJson, FastBatchReaderDeclinesWhatTheDomReaderMustJudge) {
  const char* ok = R"({"accounts":[{"id":"a","collateral":[{"asset":"USD","quantity":"1"}]}],"snapshot":3})";
  std::vector<Account> accounts;
  std::optional<uint64_t> seq;
  ASSERT_TRUE(ReadBatchFast(ok, &accounts, &seq));
  EXPECT_EQ(seq, 3u);
  const char* declined[] = {
      "",                                                                   // not JSON
      "[]",                                                                 // not an object
      R"({"accounts":[]} x)",                                               // trailing text
      R"({"accounts":[],"accounts":[]})",                                   // duplicate member
      R"({"accounts":[],"extra":1})",                                       // unknown member
      R"({"snapshot":3})",                                                  // no accounts
      R"({"accounts":[],"snapshot":0})",                                    // not a positive sequence
      R"({"accounts":[],"snapshot":3.0})",                                  // not an integer
      R"({"accounts":[],"snapshot":18446744073709551616})",                 // beyond uint64
      R"({"accounts":[],"snapshot":null})",                                 // null
      R"({"accounts":[{"id":"a\"b"}]})",                                    // an escape
      "{\"accounts\":[{\"id\":\"caf\xc3\xa9\"}]}",                          // non-ASCII
      R"({"accounts":[{"id":7}]})",                                         // wrong type
      R"({"accounts":[{"collateral":[{"asset":"USD","quantity":100}]}]})",  // decimal as a number
      R"({"accounts":[{"collateral":[{"asset":"USD","quantity":"1e5"}]}]})",  // malformed decimal
      R"({"accounts":[{"collateral":[{"asset":"","quantity":"1"}]}]})",     // empty asset
      R"({"accounts":[{"collateral":[{"quantity":"1"}]}]})",                // missing asset
      R"({"accounts":[{"positions":[{"asset":"BTC","kind":"swap","side":"long","quantity":"1","entry_price":"1"}]}]})",
      R"({"accounts":[{"positions":[{"asset":"BTC","kind":"dated","side":"long","quantity":"1"}]}]})",  // no entry price
      R"({"accounts":[{"positions":[{"asset":"BTC","kind":"dated","side":"long","quantity":"1","entry_price":"1","opened_time":"-5"}]}]})",
      R"({"accounts":[{"positions":[{"asset":"BTC","kind":"dated","side":"long","quantity":"1","entry_price":"1","expiry_time":"12x"}]}]})",
      R"({"accounts":[{"region":null}]})",                                  // null member
      R"({"accounts":[1]})",                                                // not an object
      R"({"accounts":[{}],)",                                               // truncated
  };
  for (const char* text : declined) EXPECT_FALSE(ReadBatchFast(text, &accounts, &seq)) << text;
}

}  // namespace
}  // namespace plumbline::margin
