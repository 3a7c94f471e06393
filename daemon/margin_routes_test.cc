// The margin endpoints over real HTTP on loopback, against snapshots published into a real
// RocksDB store and signed with a real key.
#include "plumbline/daemon/margin_routes.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "daemon/test_support.h"
#include "margin/test_support.h"
#include "plumbline/daemon/api_server.h"

namespace plumbline::daemon {
namespace {

using nlohmann::json;

// $10,000 and 1 BTC bought at 20,000 with 5x (issue 6, worked example 1).
const char* kAccount = R"({"id":"a1","collateral":[{"asset":"USD","quantity":"10000"}],
  "positions":[{"id":"p1","asset":"BTC","kind":"spot_margin","side":"long","quantity":"1",
                "entry_price":"20000","leverage":"5","opened_time":"1763780000000000000"}]})";

class MarginRoutesTest : public testing::DaemonFixture {
 protected:
  void SetUp() override {
    DaemonFixture::SetUp();
    risk_path_ = dir_.string() + "-risk.toml";
    WriteRisk(margin::testing::kRiskToml);
    config_->risk_file = risk_path_;
    config_->http.max_body_bytes = 65536;
    StartServer();
  }
  void TearDown() override {
    StopServer();
    std::filesystem::remove(risk_path_);
    DaemonFixture::TearDown();
  }
  void WriteRisk(const std::string& text) {
    std::ofstream out(risk_path_, std::ios::trunc);
    out << text;
  }
  void StartServer() {
    server_ = std::make_unique<ApiServer>(*config_, *publisher_, *store_, key_->public_key(), clock_,
                                          [] { return std::vector<feeds::SourceHealth>{}; });
    ASSERT_TRUE(server_->Bind().ok());
    thread_ = std::thread([this] { server_->Run(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(10, 0);
    for (int i = 0; i < 200; ++i) {
      if (client_->Get("/healthz")) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  void StopServer() {
    if (!server_) return;
    server_->Stop();
    thread_.join();
    server_.reset();
  }
  void Publish(const char* btc = "67000.20") {
    FillFresh(btc, btc, btc);
    ASSERT_TRUE(publisher_->PublishRound().ok());
    clock_.Advance(kNanosPerSecond);
  }
  httplib::Result Evaluate(const std::string& account, const std::string& extra = "") {
    return client_->Post("/v1/margin/evaluate", "{" + extra + "\"account\":" + account + "}", "application/json");
  }
  json Ok(const httplib::Result& r) {
    EXPECT_TRUE(r);
    if (!r) return {};
    EXPECT_EQ(r->status, 200) << r->body;
    return json::parse(r->body, nullptr, false);
  }
  json ExpectProblem(const httplib::Result& r, int status, const std::string& type) {
    EXPECT_TRUE(r);
    if (!r) return {};
    EXPECT_EQ(r->status, status) << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/problem+json");
    auto body = json::parse(r->body, nullptr, false);
    EXPECT_EQ(body.value("type", ""), "/problems/" + type) << r->body;
    return body;
  }
  std::string LatestEnvelope() { return client_->Get("/v1/snapshots/latest")->body; }

  std::string risk_path_;
  std::unique_ptr<ApiServer> server_;
  std::thread thread_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(MarginRoutesTest, EvaluatesAgainstTheLatestSnapshotAndNamesIt) {
  Publish();
  json v = Ok(Evaluate(kAccount));
  auto stored = attest::DecodeSnapshotEnvelope(*store_->Get(1));
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(v["snapshot"]["sequence"], 1);
  EXPECT_EQ(v["snapshot"]["payload_hash"], stored->payload_hash);
  EXPECT_EQ(v["risk_digest"].get<std::string>().size(), 64u);
  EXPECT_EQ(v["totals"]["used_margin"], "4000.00");
  EXPECT_EQ(v["positions"][0]["mark"], "67000.20");
  EXPECT_EQ(v["positions"][0]["margin_call_price"], "13200");
  EXPECT_EQ(v["positions"][0]["liquidation_price"], "11600");
  EXPECT_EQ(v["state"], "healthy");
  EXPECT_EQ(v["new_risk_allowed"], true);
}

TEST_F(MarginRoutesTest, EvaluatesAgainstANamedSnapshot) {
  Publish("20000");
  Publish("21000");  // within the oracle's default 10% per-round move bound
  json latest = Ok(Evaluate(kAccount));
  EXPECT_EQ(latest["snapshot"]["sequence"], 2);
  EXPECT_EQ(latest["totals"]["unrealized_pnl"], "1000.00");
  json first = Ok(Evaluate(kAccount, "\"snapshot\":1,"));
  EXPECT_EQ(first["snapshot"]["sequence"], 1);
  EXPECT_EQ(first["totals"]["unrealized_pnl"], "0.00");
  // The same request again gives the same valuation (apart from the evaluation time).
  json again = Ok(Evaluate(kAccount, "\"snapshot\":1,"));
  first.erase("evaluated_time");
  again.erase("evaluated_time");
  EXPECT_EQ(first, again);

  json p = ExpectProblem(Evaluate(kAccount, "\"snapshot\":99,"), 404, "unknown-snapshot");
  EXPECT_EQ(p["detail"], "snapshot: no snapshot with sequence 99; the latest is 2");
  p = ExpectProblem(Evaluate(kAccount, "\"snapshot\":\"1\","), 400, "invalid-sequence");
  EXPECT_EQ(p["detail"], "snapshot: expected a positive integer sequence number, got \"1\"");
}

TEST_F(MarginRoutesTest, BadInputIsAProblemNamingTheFieldAndChangesNothing) {
  Publish();
  const std::string envelope = LatestEnvelope();
  json before = Ok(Evaluate(kAccount));
  struct Case {
    std::string account;
    std::string detail;
  };
  const std::vector<Case> cases = {
      {R"({"collateral":[{"asset":"DOGE","quantity":"1"}]})", "account.collateral[0].asset: unknown asset \"DOGE\""},
      {R"({"collateral":[{"asset":"USD","quantity":"1,000"}]})",
       "account.collateral[0].quantity: not a decimal number: \"1,000\" (unexpected character)"},
      {R"({"collateral":[{"asset":"USD","quantity":1000}]})",
       "account.collateral[0].quantity: expected a decimal string such as \"1.5\" (not a JSON number), got number"},
      {R"({"positions":[{"asset":"BTC","kind":"spot_margin","side":"long","quantity":"-1","entry_price":"1","leverage":"2","opened_time":"1763780000000000000"}]})",
       "account.positions[0].quantity: must be positive (use side for shorts), got -1"},
      {R"({"positions":[{"asset":"BTC","kind":"spot_margin","side":"long","quantity":"1","entry_price":"1","leverage":"5.5","opened_time":"1763780000000000000"}]})",
       "account.positions[0].leverage: 5.5 exceeds the cap of 5 for \"BTC\""},
      {R"({"region":"EU","positions":[{"asset":"BTC","kind":"perpetual","side":"long","quantity":"1","entry_price":"1","leverage":"11"}]})",
       "account.positions[0].leverage: 11 exceeds the cap of 10 (region EU)"},
      {R"({"positions":[{"asset":"BTC","kind":"spot_margin","side":"long","quantity":"1","entry_price":"1","leverage":"2","opened_time":"1761000000000000000"}]})",
       "account.positions[0].opened_time: position is 772 hours old; the rollover table for \"BTC\" covers 720 hours"},
  };
  for (const Case& c : cases) {
    json p = ExpectProblem(Evaluate(c.account), 400, "invalid-account");
    EXPECT_EQ(p["detail"], c.detail);
  }
  ExpectProblem(client_->Post("/v1/margin/evaluate", "{\"account\":", "application/json"), 400, "invalid-json");
  json p = ExpectProblem(client_->Post("/v1/margin/evaluate", R"({"acount":{}})", "application/json"), 400, "invalid-account");
  EXPECT_NE(p["detail"].get<std::string>().find("acount: unknown member"), std::string::npos);
  // Nothing stored or served changed.
  EXPECT_EQ(LatestEnvelope(), envelope);
  EXPECT_EQ(*store_->LastSequence(), 1u);
  json after = Ok(Evaluate(kAccount));
  before.erase("evaluated_time");
  after.erase("evaluated_time");
  EXPECT_EQ(before, after);
}

TEST_F(MarginRoutesTest, DegradedMarksRefuseNewRiskAndSayWhy) {
  Publish();  // ETH/USD has no sources: "insufficient_sources", no price
  json v = Ok(Evaluate(R"({"collateral":[{"asset":"USD","quantity":"1000"},{"asset":"ETH","quantity":"2"}]})"));
  EXPECT_EQ(v["collateral"][1]["mark"], nullptr);
  EXPECT_EQ(v["collateral"][1]["counted_value"], "0.00");
  EXPECT_EQ(v["state"], "undetermined");
  EXPECT_EQ(v["new_risk_allowed"], false);
  EXPECT_EQ(v["refusals"][0], "asset ETH (mark ETH/USD): no usable price (status \"insufficient_sources\")");
  // 20 s later, without a new round, the snapshot itself is too old for new risk.
  clock_.Advance(20 * kNanosPerSecond);
  json old = Ok(Evaluate(kAccount));
  EXPECT_EQ(old["new_risk_allowed"], false);
  EXPECT_NE(old["refusals"][0].get<std::string>().find("snapshot 1 is"), std::string::npos) << old["refusals"];
}

TEST_F(MarginRoutesTest, BatchStreamsNdjsonInOrder) {
  Publish();
  const std::string body = std::string(R"({"accounts":[)") + kAccount + "," +
                           R"({"id":"bad","collateral":[{"asset":"DOGE","quantity":"1"}]})" + "," + kAccount + "]}";
  auto r = client_->Post("/v1/margin/evaluate-batch", body, "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/x-ndjson");
  EXPECT_EQ(r->get_header_value("Transfer-Encoding"), "chunked");
  std::vector<json> lines;
  std::istringstream in(r->body);
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0]["index"], 0);
  EXPECT_EQ(lines[0]["valuation"]["positions"][0]["liquidation_price"], "11600");
  EXPECT_EQ(lines[1]["index"], 1);
  EXPECT_EQ(lines[1]["error"]["detail"], "accounts[1].collateral[0].asset: unknown asset \"DOGE\"");
  EXPECT_EQ(lines[2]["valuation"]["account_id"], "a1");
  EXPECT_EQ(lines[3]["summary"]["accounts"], 3);
  EXPECT_EQ(lines[3]["summary"]["errors"], 1);
  EXPECT_EQ(lines[3]["summary"]["snapshot"], 1);
}

TEST_F(MarginRoutesTest, BatchLimitsAndMalformedBatches) {
  Publish();
  std::string four = R"({"accounts":[)";
  for (int i = 0; i < 4; ++i) four += std::string(i ? "," : "") + kAccount;
  four += "]}";
  json p = ExpectProblem(client_->Post("/v1/margin/evaluate-batch", four, "application/json"), 413, "batch-too-large");
  EXPECT_EQ(p["detail"], "accounts: 4 accounts exceed the limit of 3 (max_batch_accounts in the risk file)");
  // A malformed account anywhere: one 400 naming it, nothing streamed.
  p = ExpectProblem(client_->Post("/v1/margin/evaluate-batch",
                                  std::string(R"({"accounts":[)") + kAccount + R"(,{"collateral":[{"asset":"USD","quantity":"1e3"}]}]})",
                                  "application/json"),
                    400, "invalid-account");
  EXPECT_EQ(p["detail"], "accounts[1].collateral[0].quantity: not a decimal number: \"1e3\" (unexpected character)");
  // A body over http.max_body_bytes.
  ExpectProblem(client_->Post("/v1/margin/evaluate-batch", std::string(70000, ' '), "application/json"), 413, "body-too-large");
}

TEST_F(MarginRoutesTest, NoSnapshotYetIs503) {
  json p = ExpectProblem(Evaluate(kAccount), 503, "no-snapshot-yet");
  EXPECT_EQ(p["detail"], "no snapshot has been published yet");
}

TEST_F(MarginRoutesTest, WithoutARiskFileMarginIsNotConfigured) {
  StopServer();
  config_->risk_file.clear();
  StartServer();
  Publish();
  json p = ExpectProblem(Evaluate(kAccount), 503, "margin-not-configured");
  EXPECT_EQ(p["detail"], "margin is not configured: set risk_file in the daemon config");
  EXPECT_EQ(server_->ReloadRiskParams().code(), Code::kFailedPrecondition);
}

TEST_F(MarginRoutesTest, ReloadSwapsParametersAndKeepsThemOnError) {
  Publish();
  json before = Ok(Evaluate(kAccount));
  EXPECT_EQ(before["requirements"]["liquidation"], "1600.00");

  WriteRisk("[levels]\nliquidation = 0.5\n");  // a TOML float: refused
  Status bad = server_->ReloadRiskParams();
  EXPECT_EQ(bad.code(), Code::kInvalidArgument);
  EXPECT_NE(bad.message().find("key 'levels.liquidation': expected a decimal string"), std::string::npos) << bad.message();
  EXPECT_EQ(Ok(Evaluate(kAccount))["risk_digest"], before["risk_digest"]);

  std::string changed = margin::testing::kRiskToml;
  changed.replace(changed.find("liquidation = \"0.40\""), 20, "liquidation = \"0.50\"");
  WriteRisk(changed);
  ASSERT_TRUE(server_->ReloadRiskParams().ok());
  json after = Ok(Evaluate(kAccount));
  EXPECT_NE(after["risk_digest"], before["risk_digest"]);
  EXPECT_EQ(after["requirements"]["liquidation"], "2000.00");
}

TEST_F(MarginRoutesTest, ABrokenRiskFileStopsStartUp) {
  StopServer();
  WriteRisk("[assets.BTC]\nclass = \"crypto\"\n");
  ApiServer api(*config_, *publisher_, *store_, key_->public_key(), clock_, [] { return std::vector<feeds::SourceHealth>{}; });
  Status s = api.Bind();
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "risk file " + risk_path_ + ": key 'assets.BTC.mark': missing; expected a string");
}

TEST(MarketViewFromSnapshot, MapsMarksToAssetsAndKeepsUnknownStatusesNotOk) {
  auto params = margin::testing::TestParams();
  attest::SignedSnapshot s;
  s.snapshot.sequence = 5;
  s.snapshot.time_unix_nanos = 42;
  s.payload_hash = std::string(64, 'f');
  Mark btc;
  btc.symbol = "BTC/USD";
  btc.status = MarkStatus::kOk;
  btc.price = *Decimal::Parse("65000.5");
  btc.newest_observation_unix_nanos = 41;
  Mark eth;
  eth.symbol = "ETH/USD";
  eth.status = MarkStatus::kStale;
  s.snapshot.marks = {btc, eth};
  margin::MarketView v = MarketViewFromSnapshot(s, *params);
  EXPECT_EQ(v.snapshot_sequence, 5u);
  EXPECT_EQ(v.snapshot_hash, std::string(64, 'f'));
  ASSERT_EQ(v.quotes.size(), 2u);  // AAPLx/USD is not in the snapshot, USD is cash
  EXPECT_EQ(v.quotes[0].asset, "BTC");
  EXPECT_EQ(v.quotes[0].price->ToString(), "65000.5");
  EXPECT_EQ(v.quotes[1].asset, "ETH");
  EXPECT_EQ(v.quotes[1].mark_status, "stale");
  EXPECT_FALSE(v.quotes[1].price);
  EXPECT_FALSE(v.quotes[0].session);
  EXPECT_FALSE(v.quotes[0].reserve);
}

TEST(MarketViewFromSnapshot, TakesTheMarkSessionAndTheTokensReserveStatus) {
  auto params = margin::testing::TestParams();
  attest::SignedSnapshot s;
  s.snapshot.sequence = 7;
  s.payload_hash = std::string(64, 'a');
  Mark token;
  token.symbol = "AAPLx/USD";
  token.asset_class = AssetClass::kToken;
  token.status = MarkStatus::kOk;
  token.price = *Decimal::Parse("231.25");
  token.session = Session::kPostMarket;
  s.snapshot.marks = {token};
  attest::ReserveAttestation reserve;
  reserve.asset = "AAPLx";
  reserve.status = attest::ReserveStatus::kUnderBacked;
  s.snapshot.reserves = {reserve};
  margin::MarketView v = MarketViewFromSnapshot(s, *params);
  ASSERT_EQ(v.quotes.size(), 1u);
  EXPECT_EQ(v.quotes[0].asset, "AAPLx");
  ASSERT_TRUE(v.quotes[0].session);
  EXPECT_EQ(*v.quotes[0].session, margin::Session::kPostMarket);
  ASSERT_TRUE(v.quotes[0].reserve);
  EXPECT_EQ(*v.quotes[0].reserve, margin::ReserveStatus::kUnderBacked);
  // An under-backed token counts zero as collateral (DESIGN.md, Margin).
  margin::Account account;
  account.collateral.push_back({"AAPLx", *Decimal::Parse("10")});
  auto valuation = margin::Evaluator(params, std::make_shared<const margin::MarketView>(v)).Evaluate(account, 0);
  ASSERT_TRUE(valuation.ok()) << valuation.status().ToString();
  ASSERT_EQ(valuation->collateral.size(), 1u);
  EXPECT_TRUE(valuation->collateral[0].counted_value.is_zero()) << valuation->collateral[0].counted_value.ToString();
}

}  // namespace
}  // namespace plumbline::daemon
