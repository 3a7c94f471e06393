// Proof of reserve through the daemon: [[reserves]] config, the round thread, snapshots carrying
// attestations, the HTTP routes, and `attest reserves` re-deriving from the served evidence.
#include <cstdio>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "chain_sim.h"
#include "daemon/reserve_runner.h"
#include "daemon/test_support.h"
#include "plumbline/daemon/api_server.h"
#include "plumbline/daemon/ops.h"

namespace plumbline::daemon {
namespace {

using nlohmann::json;
constexpr char kToken[] = "0x00000000000000000000000000000000000000aa";
constexpr char kTreasury[] = "0x00000000000000000000000000000000000000b1";

std::string ReservesToml(const std::string& a, const std::string& b, const std::string& pub) {
  return R"(
[reserves_round]
interval_ms = 3600000
evidence_retention_days = 1
[[reserves]]
asset = "TSLAx"
isin = "US88160R1014"
multiplier = "1"
tolerance = "0"
max_supply_age_ms = 60000
max_statement_age_ms = 3600000
custodian_id = "acme-custody"
custodian_account = "ACC-1"
custodian_public_key = ")" + pub + R"("
[[reserves.chains]]
name = "ethereum"
kind = "evm"
token = ")" + std::string(kToken) + R"("
decimals = 18
confirmations = 2
providers = [ { name = "eth-a", url = ")" + a + R"(" }, { name = "eth-b", url = ")" + b + R"(" } ]
excluded = [ { address = ")" + std::string(kTreasury) + R"(", label = "treasury" } ]
)";
}

class ReserveApiTest : public testing::DaemonFixture {
 protected:
  void SetUp() override {
    DaemonFixture::SetUp();
    for (auto& n : nodes_) {
      n = sim::RpcNodeSim::Start(sim::RpcNodeSim::Kind::kEvm).value();
      n->SetToken(kToken, 18);
      n->SetHead(500);
      n->SetSupply(*UInt256::ParseDecimal("1000000000000000000000"));   // 1000 tokens
      n->SetBalance(kTreasury, *UInt256::ParseDecimal("400000000000000000000"));  // 400 in treasury
    }
    custodian_ = std::make_unique<attest::SigningKey>(attest::SigningKey::Generate().value());
    std::filesystem::create_directories(dir_);
    pub_path_ = (dir_.parent_path() / (dir_.filename().string() + "-custodian.pub")).string();
    std::ofstream(pub_path_) << custodian_->public_key().ToPem();
    auto config = ParseConfig(testing::TestConfigText() + ReservesToml(nodes_[0]->url(), nodes_[1]->url(), pub_path_),
                              "test.toml");
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    config_->reserves = config->reserves;
    config_->data_dir = dir_.string();  // the reserve store goes to <data_dir>/reserves
    server_ = std::make_unique<ApiServer>(*config_, *publisher_, *store_, key_->public_key(), clock_,
                                          [] { return std::vector<feeds::SourceHealth>{}; });
    auto runner = ReserveRunner::Start(*config_, clock_, publisher_.get(), server_.get());
    ASSERT_TRUE(runner.ok()) << runner.status().ToString();
    runner_ = std::move(runner).value();
    ASSERT_TRUE(server_->Bind().ok());
    thread_ = std::thread([this] { server_->Run(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(5, 0);
    for (int i = 0; i < 200 && !client_->Get("/healthz"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  void TearDown() override {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
    runner_.reset();
    std::filesystem::remove(pub_path_);
    DaemonFixture::TearDown();
  }
  std::string Statement(const char* settled, uint64_t seq, const char* isin = "US88160R1014") {
    attest::CustodianStatement s{"acme-custody", "ACC-1", isin, *Decimal::Parse(settled), Decimal(),
                                 clock_.NowUnixNanos() - 1000, seq};
    return sim::SignStatementEd25519(s, *custodian_);
  }
  httplib::Result Post(const std::string& path, const std::string& body) {
    return client_->Post(path, body, "application/json");
  }
  void ExpectProblem(const httplib::Result& r, int status, const std::string& type, const std::string& detail) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, status) << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/problem+json");
    auto body = json::parse(r->body);
    EXPECT_EQ(body["type"], "/problems/" + type);
    EXPECT_NE(body["detail"].get<std::string>().find(detail), std::string::npos) << body["detail"];
  }
  void Round() {
    ASSERT_TRUE(runner_->monitor().RunRound().ok());
    FillFresh("67000.10", "67000.30", "67000.20");
    ASSERT_TRUE(publisher_->PublishRound().ok());
  }

  std::unique_ptr<sim::RpcNodeSim> nodes_[2];
  std::unique_ptr<attest::SigningKey> custodian_;
  std::string pub_path_;
  std::unique_ptr<ApiServer> server_;
  std::unique_ptr<ReserveRunner> runner_;
  std::thread thread_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ReserveApiTest, StatementsAreAcceptedOnceAndBadOnesGetProblemsThatNameTheField) {
  const std::string submitted = Statement("600", 1);
  auto ok = Post("/v1/custodian/statements", submitted);
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 201) << ok->body;
  const auto accepted = json::parse(ok->body);
  EXPECT_EQ(accepted["asset"], "TSLAx");
  auto stored = client_->Get(accepted["evidence_url"].get<std::string>());
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->body, submitted);  // stored byte for byte, served as evidence
  EXPECT_EQ(attest::Sha256Hex(stored->body), accepted["sha256"]);

  ExpectProblem(Post("/v1/custodian/statements", Statement("600", 1)), 409, "stale-statement", "replay");
  ExpectProblem(Post("/v1/custodian/statements", Statement("600", 2, "US0378331005")), 422, "unknown-isin",
                "no configured asset has ISIN US0378331005");
  ExpectProblem(Post("/v1/custodian/statements", "{not json"), 400, "invalid-statement", "custodian submission");
  auto stranger = attest::SigningKey::Generate().value();
  attest::CustodianStatement s{"acme-custody", "ACC-1", "US88160R1014", *Decimal::Parse("9999"), Decimal(),
                               clock_.NowUnixNanos(), 9};
  ExpectProblem(Post("/v1/custodian/statements", sim::SignStatementEd25519(s, stranger)), 403, "untrusted-statement",
                "pinned key");
  // None of that changed the holding: the next snapshot still cites statement 1.
  Round();
  auto r = client_->Get("/v1/reserves/TSLAx");
  ASSERT_TRUE(r);
  auto body = json::parse(r->body);
  EXPECT_EQ(body["reserve"]["custodian"]["sequence"], 1);
  EXPECT_EQ(body["reserve"]["custodian"]["settled_shares"], "600");
}

TEST_F(ReserveApiTest, SnapshotsCarryAttestationsThatAnAuditorRederivesFromServedEvidence) {
  ASSERT_EQ(Post("/v1/custodian/statements", Statement("600", 1))->status, 201);
  Round();
  auto r = client_->Get("/v1/reserves");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto body = json::parse(r->body);
  ASSERT_EQ(body["reserves"].size(), 1u);
  const json& a = body["reserves"][0];
  EXPECT_EQ(a["status"], "fully_backed");
  EXPECT_EQ(a["ratio"], "1.00000000");  // 600 shares / (1000 - 400 tokens x 1)
  EXPECT_EQ(a["chains"][0]["circulating"], "600000000000000000000");
  EXPECT_EQ(a["chains"][0]["block_number"], 498);
  const uint64_t seq = body["snapshot"]["sequence"];

  // The signed snapshot holds the same attestation.
  auto env = client_->Get("/v1/snapshots/" + std::to_string(seq));
  auto snap = attest::VerifySnapshotEnvelope(env->body, key_->public_key());
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  ASSERT_EQ(snap->snapshot.reserves.size(), 1u);
  EXPECT_EQ(*attest::ReserveAttestationJson(snap->snapshot.reserves[0]), a);

  // Evidence routes.
  for (const auto& e : a["chains"][0]["evidence"]) {
    auto bytes = client_->Get("/v1/reserves/evidence/" + e["sha256"].get<std::string>());
    ASSERT_TRUE(bytes);
    EXPECT_EQ(bytes->status, 200);
    EXPECT_EQ(attest::Sha256Hex(bytes->body), e["sha256"]);
  }
  ExpectProblem(client_->Get("/v1/reserves/evidence/xyz"), 400, "invalid-hash", "64 lowercase hex");
  ExpectProblem(client_->Get("/v1/reserves/evidence/" + std::string(64, '0')), 404, "unknown-evidence", "no evidence");
  ExpectProblem(client_->Get("/v1/reserves/NOPEx"), 404, "unknown-asset", "NOPEx");

  // Prometheus view of the same state.
  Registry registry;
  ASSERT_TRUE(runner_->RegisterMetrics(&registry, clock_).ok());
  const std::string exposed = registry.Expose();
  EXPECT_NE(exposed.find("plumbline_reserve_status{asset=\"TSLAx\",status=\"fully_backed\"} 1"), std::string::npos)
      << exposed;
  EXPECT_NE(exposed.find("plumbline_reserve_status{asset=\"TSLAx\",status=\"unknown\"} 0"), std::string::npos);
  EXPECT_NE(exposed.find("plumbline_reserve_ratio{asset=\"TSLAx\"} 1"), std::string::npos) << exposed;

  // The auditor CLI, against the live daemon.
  const std::string pub = (dir_.parent_path() / (dir_.filename().string() + "-daemon.pub")).string();
  std::ofstream(pub) << key_->public_key().ToPem();
  const std::string base = "http://127.0.0.1:" + std::to_string(server_->port());
  const std::string cmd = std::string(PLUMBLINE_ATTEST_BIN) + " reserves " + base + "/v1/snapshots/" +
                          std::to_string(seq) + " --key " + pub + " --evidence " + base + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int rc = pclose(p);
  std::filesystem::remove(pub);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("OK TSLAx fully_backed ratio=1.00000000 required_shares=600.000000000 evidence=7"),
            std::string::npos)
      << out;
}

TEST_F(ReserveApiTest, RetentionPrunesUncitedEvidenceAndCountsIt) {
  ASSERT_EQ(Post("/v1/custodian/statements", Statement("600", 1))->status, 201);
  Round();
  const attest::ReserveAttestation first = runner_->monitor().AttestationsAt(clock_.NowUnixNanos())[0];
  clock_.Advance(2LL * 86'400 * kNanosPerSecond);  // two days on, the chains have new blocks
  for (auto& n : nodes_) n->SetHead(700);
  Round();
  Registry registry;
  ASSERT_TRUE(runner_->RegisterMetrics(&registry, clock_).ok());
  runner_->PruneEvidence();
  const std::string exposed = registry.Expose();
  EXPECT_EQ(exposed.find("plumbline_reserve_evidence_pruned_total 0\n"), std::string::npos) << exposed;
  EXPECT_NE(exposed.find("plumbline_reserve_evidence_prune_failures_total 0\n"), std::string::npos) << exposed;
  // The old blocks' evidence is gone (404 naming the retention), what the latest snapshot cites is
  // served, and the two-day-old statement (still the holding) is kept.
  std::string gone;
  for (const auto& chain : first.chains) {
    for (const auto& e : chain.evidence) {
      if (client_->Get("/v1/reserves/evidence/" + e.sha256)->status == 404) gone = e.sha256;
    }
  }
  ASSERT_FALSE(gone.empty());
  ExpectProblem(client_->Get("/v1/reserves/evidence/" + gone), 404, "unknown-evidence", "older than 1 days is pruned");
  const attest::ReserveAttestation now = runner_->monitor().AttestationsAt(clock_.NowUnixNanos())[0];
  for (const auto& chain : now.chains) {
    for (const auto& e : chain.evidence) EXPECT_EQ(client_->Get("/v1/reserves/evidence/" + e.sha256)->status, 200);
  }
  EXPECT_EQ(client_->Get("/v1/reserves/evidence/" + now.custodian->statement_sha256)->status, 200);
}

TEST_F(ReserveApiTest, MintCheckAnswersFromTheLatestSnapshotAndCitesIt) {
  ASSERT_EQ(Post("/v1/custodian/statements", Statement("650", 1))->status, 201);
  Round();
  auto r = Post("/v1/reserves/TSLAx/mint-check", R"({"amount":"50"})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto body = json::parse(r->body);
  EXPECT_EQ(body["within_reserves"], true);
  EXPECT_EQ(body["required_shares_after"], "650.000000000");
  EXPECT_EQ(body["snapshot"]["sequence"], 1);
  body = json::parse(Post("/v1/reserves/TSLAx/mint-check", R"({"amount":"50.000000001"})")->body);
  EXPECT_EQ(body["within_reserves"], false);
  ExpectProblem(Post("/v1/reserves/TSLAx/mint-check", R"({"amount":-5})"), 400, "invalid-request", "amount");
  ExpectProblem(Post("/v1/reserves/TSLAx/mint-check", R"({"amount":"-5"})"), 400, "invalid-request", "amount");
  ExpectProblem(Post("/v1/reserves/NOPEx/mint-check", R"({"amount":"5"})"), 404, "unknown-asset", "NOPEx");

  // Providers start to disagree: the next snapshot says unknown and minting is refused.
  nodes_[1]->SetFaults({.supply_offset = 1});
  Round();
  body = json::parse(Post("/v1/reserves/TSLAx/mint-check", R"({"amount":"1"})")->body);
  EXPECT_EQ(body["within_reserves"], false);
  EXPECT_EQ(body["status"], "unknown");
  EXPECT_EQ(body["snapshot"]["sequence"], 2);
}

TEST(ReserveConfig, ErrorsNameTheFileTheKeyAndWhatWasExpected) {
  const auto pub = std::filesystem::temp_directory_path() / ("reserve-config-" + std::to_string(::getpid()) + ".pub");
  std::ofstream(pub) << attest::SigningKey::Generate().value().public_key().ToPem();
  auto parse = [](const std::string& extra) {
    return ParseConfig(testing::TestConfigText() + extra, "bad.toml").status().message();
  };
  auto with = [&](const std::string& from, const std::string& to) {
    std::string t = ReservesToml("http://127.0.0.1:1/", "http://127.0.0.1:2/", pub.string());
    t.replace(t.find(from), from.size(), to);
    return t;
  };
  const std::string good = ReservesToml("http://127.0.0.1:1/", "http://127.0.0.1:2/", pub.string());
  auto ok = ParseConfig(testing::TestConfigText() + good, "good.toml");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  ASSERT_EQ(ok->reserves.assets.size(), 1u);
  EXPECT_EQ(ok->reserves.assets[0].chains[0].providers.size(), 2u);
  EXPECT_EQ(ok->reserves.assets[0].chains[0].excluded[0].label, "treasury");
  EXPECT_EQ(ok->reserves.interval_ms, 3600000);
  EXPECT_EQ(ok->reserves.evidence_retention_ms, 86'400'000);
  auto forever = ParseConfig(testing::TestConfigText() + with("evidence_retention_days = 1\n", ""), "good.toml");
  ASSERT_TRUE(forever.ok()) << forever.status().ToString();
  EXPECT_EQ(forever->reserves.evidence_retention_ms, 0) << "evidence is kept forever unless configured";

  std::string m = parse(with(pub.string(), "/nonexistent.pub"));
  EXPECT_NE(m.find("config bad.toml: key 'reserves[0].custodian_public_key': "), std::string::npos) << m;
  m = parse(with("kind = \"evm\"", "kind = \"btc\""));
  EXPECT_NE(m.find("key 'reserves[0].chains[0].kind': expected \"evm\" or \"solana\", got \"btc\""), std::string::npos) << m;
  m = parse(with("url = \"http://127.0.0.1:1/\"", "url = \"ftp://x\""));
  EXPECT_NE(m.find("key 'reserves[0].chains[0].providers[0].url': expected an http"), std::string::npos) << m;
  m = parse(with("tolerance = \"0\"", "tolerance = \"1.5\""));
  EXPECT_NE(m.find("key 'reserves[0].tolerance'"), std::string::npos) << m;
  m = parse(with("evidence_retention_days = 1", "evidence_retention_days = 0"));
  EXPECT_NE(m.find("key 'reserves_round.evidence_retention_days': expected an integer in [1, 36500]"), std::string::npos) << m;
  m = parse(good + "colour = 1\n");
  EXPECT_NE(m.find("key 'reserves[0].chains[0].colour': unknown key"), std::string::npos) << m;
  m = parse(with("isin = \"US88160R1014\"", "isin = \"TSLA\""));
  EXPECT_NE(m.find("key 'reserves[0].isin': \"TSLA\" is not an ISIN"), std::string::npos) << m;

  // Reserves are bound at start-up: a reload that changes them is refused, naming the key.
  auto changed = ParseConfig(testing::TestConfigText() + with("tolerance = \"0\"", "tolerance = \"0.01\""), "good.toml");
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  Status reload = CheckReloadable(*ok, *changed);
  EXPECT_EQ(reload.code(), Code::kFailedPrecondition);
  EXPECT_NE(reload.message().find("key 'reserves' cannot change while running"), std::string::npos) << reload.message();
  EXPECT_TRUE(CheckReloadable(*ok, *ok).ok());
  std::filesystem::remove(pub);
}

}  // namespace
}  // namespace plumbline::daemon
