#include "plumbline/daemon/api_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "daemon/test_support.h"

namespace plumbline::daemon {
namespace {

class ApiServerTest : public testing::DaemonFixture {
 protected:
  void SetUp() override {
    DaemonFixture::SetUp();
    server_ = std::make_unique<ApiServer>(*config_, *publisher_, *store_, key_->public_key(), clock_,
                                          [] { return std::vector<feeds::SourceHealth>{}; });
    ASSERT_TRUE(server_->Bind().ok());
    thread_ = std::thread([this] { server_->Run(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_connection_timeout(2, 0);
    client_->set_read_timeout(5, 0);
    for (int i = 0; i < 200; ++i) {
      if (client_->Get("/healthz")) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  void TearDown() override {
    server_->Stop();
    thread_.join();
    DaemonFixture::TearDown();
  }
  void Publish(int rounds = 1) {
    for (int i = 0; i < rounds; ++i) {
      FillFresh("67000.10", "67000.30", "67000.20");
      ASSERT_TRUE(publisher_->PublishRound().ok());
      clock_.Advance(kNanosPerSecond);
    }
  }
  // Asserts an RFC 9457 problem document and returns it.
  nlohmann::json ExpectProblem(const httplib::Result& r, int status, const std::string& type) {
    EXPECT_TRUE(r);
    if (!r) return {};
    EXPECT_EQ(r->status, status) << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/problem+json");
    auto body = nlohmann::json::parse(r->body, nullptr, false);
    EXPECT_FALSE(body.is_discarded()) << r->body;
    EXPECT_EQ(body.value("type", ""), "/problems/" + type) << r->body;
    EXPECT_EQ(body.value("status", 0), status);
    EXPECT_FALSE(body.value("detail", "").empty());
    return body;
  }

  std::unique_ptr<ApiServer> server_;
  std::thread thread_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ApiServerTest, LatestIsUnavailableUntilTheFirstRound) {
  ExpectProblem(client_->Get("/v1/snapshots/latest"), 503, "no-snapshot-yet");
  auto health = client_->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 503);
}

TEST_F(ApiServerTest, ServesVerifiableSnapshots) {
  Publish(2);
  auto latest = client_->Get("/v1/snapshots/latest");
  ASSERT_TRUE(latest);
  ASSERT_EQ(latest->status, 200);
  EXPECT_EQ(latest->get_header_value("Plumbline-Sequence"), "2");
  auto verified = attest::VerifySnapshotEnvelope(latest->body, key_->public_key());
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_EQ(verified->snapshot.sequence, 2u);

  auto first = client_->Get("/v1/snapshots/1");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200);
  EXPECT_EQ(first->body, *store_->Get(1));
  EXPECT_NE(first->get_header_value("Cache-Control").find("immutable"), std::string::npos);
}

TEST_F(ApiServerTest, BadSequencesGetProblems) {
  Publish();
  auto missing = ExpectProblem(client_->Get("/v1/snapshots/999"), 404, "unknown-snapshot");
  EXPECT_NE(missing["detail"].get<std::string>().find("latest is 1"), std::string::npos);
  ExpectProblem(client_->Get("/v1/snapshots/abc"), 400, "invalid-sequence");
  ExpectProblem(client_->Get("/v1/snapshots/0"), 400, "invalid-sequence");
  ExpectProblem(client_->Get("/v1/snapshots/-1"), 400, "invalid-sequence");
  ExpectProblem(client_->Get("/v1/snapshots/99999999999999999999999"), 400, "invalid-sequence");
}

TEST_F(ApiServerTest, MarksNameTheirSnapshot) {
  Publish();
  auto marks = client_->Get("/v1/marks");
  ASSERT_TRUE(marks);
  ASSERT_EQ(marks->status, 200);
  auto body = nlohmann::json::parse(marks->body);
  EXPECT_EQ(body["snapshot"]["sequence"], 1);
  EXPECT_EQ(body["snapshot"]["payload_sha256"], publisher_->Latest()->signed_snapshot.payload_hash);
  ASSERT_EQ(body["marks"].size(), 2u);
  EXPECT_EQ(body["marks"][0]["symbol"], "BTC/USD");
  EXPECT_EQ(body["marks"][0]["price"], "67000.20");
  EXPECT_EQ(body["marks"][1]["status"], "insufficient_sources");
  EXPECT_TRUE(body["marks"][1]["price"].is_null());

  for (const char* path : {"/v1/marks/BTC-USD", "/v1/marks/BTC%2FUSD", "/v1/marks?symbol=BTC%2FUSD"}) {
    auto one = client_->Get(path);
    ASSERT_TRUE(one) << path;
    ASSERT_EQ(one->status, 200) << path << one->body;
    EXPECT_NE(one->body.find("\"67000.20\""), std::string::npos) << path;
  }
}

TEST_F(ApiServerTest, UnknownSymbolIsAClear404) {
  Publish();
  auto p = ExpectProblem(client_->Get("/v1/marks/DOGE-USD"), 404, "unknown-symbol");
  EXPECT_NE(p["detail"].get<std::string>().find("DOGE/USD"), std::string::npos);
  ExpectProblem(client_->Get("/v1/marks?symbol=NOPE"), 404, "unknown-symbol");
}

TEST_F(ApiServerTest, UnknownPathsMethodsAndOversizeBodies) {
  Publish();
  ExpectProblem(client_->Get("/v1/nothing-here"), 404, "not-found");
  ExpectProblem(client_->Get("/../../etc/passwd"), 404, "not-found");
  auto post = client_->Post("/v1/snapshots/latest", "{}", "application/json");
  ExpectProblem(post, 405, "method-not-allowed");
  EXPECT_EQ(post->get_header_value("Allow"), "GET, HEAD");
  auto big = client_->Post("/v1/marks", std::string(4096, 'x'), "application/json");
  ExpectProblem(big, 413, "body-too-large");
  // The server keeps serving after abuse, and nothing stored changed.
  auto latest = client_->Get("/v1/snapshots/1");
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->body, *store_->Get(1));
}

TEST_F(ApiServerTest, ASecondServerCannotShareThePort) {
  Config taken = *config_;
  taken.listen_port = static_cast<uint16_t>(server_->port());
  ApiServer second(taken, *publisher_, *store_, key_->public_key(), clock_,
                   [] { return std::vector<feeds::SourceHealth>{}; });
  Status s = second.Bind();
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_NE(s.message().find("127.0.0.1:" + std::to_string(server_->port())), std::string::npos) << s.message();
}

TEST_F(ApiServerTest, KeysAndHealth) {
  Publish();
  auto keys = client_->Get("/v1/keys");
  ASSERT_TRUE(keys);
  auto body = nlohmann::json::parse(keys->body);
  EXPECT_EQ(body["keys"][0]["key_id"], key_->KeyId());
  auto pem = attest::PublicKey::FromPem(body["keys"][0]["public_key_pem"].get<std::string>());
  ASSERT_TRUE(pem.ok());
  EXPECT_EQ(pem->KeyId(), key_->KeyId());
  auto health = client_->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(nlohmann::json::parse(health->body)["last_sequence"], 1);
}

}  // namespace
}  // namespace plumbline::daemon
