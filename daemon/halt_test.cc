// The kill switch at run time: the halt file (daemon/halt_file.h) and its HTTP routes
// (daemon/halt_routes.h) against a real server on loopback and real publish rounds.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "daemon/test_support.h"
#include "plumbline/daemon/api_server.h"
#include "plumbline/daemon/halt_file.h"
#include "plumbline/daemon/ops.h"
#include "plumbline/multiplier.h"

namespace plumbline::daemon {
namespace {

constexpr char kToken[] = "halt-admin-token-0123456789abcdefgh";

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Spit(const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text; }

class HaltFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("plumbline-halt-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "halted").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(HaltFileTest, AMissingFileListsNothingAndIsCreatedOnTheFirstHalt) {
  auto none = ReadHaltFile(path_);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());
  auto changed = SetHaltedInFile(path_, "BTC/USD", true, "halted via the API at 2025-11-22T02:53:20Z");
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_TRUE(*changed);
  EXPECT_EQ(Slurp(path_), "BTC/USD  # halted via the API at 2025-11-22T02:53:20Z\n");
  EXPECT_EQ(*ReadHaltFile(path_), std::set<std::string>{"BTC/USD"});
}

TEST_F(HaltFileTest, EditsKeepTheOperatorsLinesAndAreIdempotent) {
  Spit(path_, "# incident 42\n  ETH/USD\t# by hand\n\nAAPL\n");
  ::chmod(path_.c_str(), 0600);
  EXPECT_EQ(*ReadHaltFile(path_), (std::set<std::string>{"AAPL", "ETH/USD"}));
  ASSERT_TRUE(SetHaltedInFile(path_, "BTC/USD", true, "").ok());
  EXPECT_EQ(Slurp(path_), "# incident 42\n  ETH/USD\t# by hand\n\nAAPL\nBTC/USD\n");
  auto again = SetHaltedInFile(path_, "BTC/USD", true, "twice");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);  // already listed: the file is left as it is
  EXPECT_EQ(Slurp(path_), "# incident 42\n  ETH/USD\t# by hand\n\nAAPL\nBTC/USD\n");
  auto lifted = SetHaltedInFile(path_, "ETH/USD", false, "");
  ASSERT_TRUE(lifted.ok());
  EXPECT_TRUE(*lifted);
  EXPECT_EQ(Slurp(path_), "# incident 42\n\nAAPL\nBTC/USD\n");
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u) << "the operator's mode is kept";
  auto not_listed = SetHaltedInFile(path_, "SOL/USD", false, "");
  ASSERT_TRUE(not_listed.ok());
  EXPECT_FALSE(*not_listed);
  // No temporary file is left beside it.
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_)) ++files;
  EXPECT_EQ(files, 1);
}

TEST_F(HaltFileTest, BadSymbolsAndUnreadableFilesAreErrorsThatChangeNothing) {
  Spit(path_, "ETH/USD\n");
  for (const char* bad : {"", " BTC", "BTC#x", "BTC\nETH"}) {
    auto r = SetHaltedInFile(path_, bad, true, "");
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_EQ(Slurp(path_), "ETH/USD\n");
  const std::string as_dir = (dir_ / "a-directory").string();
  std::filesystem::create_directories(as_dir);
  EXPECT_EQ(ReadHaltFile(as_dir).status().code(), Code::kIOError);
  EXPECT_EQ(SetHaltedInFile(as_dir, "BTC/USD", true, "").status().code(), Code::kIOError);
  const std::string no_dir = (dir_ / "missing" / "halted").string();
  auto r = SetHaltedInFile(no_dir, "BTC/USD", true, "");
  EXPECT_EQ(r.status().code(), Code::kIOError);
  EXPECT_NE(r.status().message().find(no_dir), std::string::npos) << r.status().message();
}

class HaltRoutesTest : public testing::DaemonFixture {
 protected:
  void SetUp() override {
    DaemonFixture::SetUp();
    halt_path_ = (dir_.string() + "-halted");
    std::filesystem::remove(halt_path_);
    config_->halt_file = halt_path_;
    auto token = AdminToken::FromString(kToken);
    ASSERT_TRUE(token.ok());
    hooks_.admin_token = std::make_shared<const AdminToken>(std::move(token).value());
    Start();
  }
  // The publisher rounds and the routes read the fixture's config.
  void Start() {
    OpenStore();
    server_ = std::make_unique<ApiServer>(*config_, *publisher_, *store_, key_->public_key(), clock_,
                                          [] { return std::vector<feeds::SourceHealth>{}; });
    server_->SetOps(hooks_);
    ASSERT_TRUE(server_->Bind().ok());
    thread_ = std::thread([this] { server_->Run(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(10, 0);
    for (int i = 0; i < 200 && !client_->Get("/healthz"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  void Stop() {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }
  template <typename Edit>
  void StopAndRestart(Edit edit) {
    Stop();
    edit(*config_);
    Start();
  }
  void TearDown() override {
    Stop();
    std::filesystem::remove_all(halt_path_);
    DaemonFixture::TearDown();
  }
  httplib::Headers Bearer() { return {{"Authorization", std::string("Bearer ") + kToken}}; }
  nlohmann::json Json(const httplib::Result& r, int status) {
    EXPECT_TRUE(r);
    if (!r) return {};
    EXPECT_EQ(r->status, status) << r->body;
    return nlohmann::json::parse(r->body, nullptr, false);
  }
  void ExpectProblem(const httplib::Result& r, int status, const std::string& type) {
    auto body = Json(r, status);
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/problem+json");
    EXPECT_EQ(body.value("type", ""), "/problems/" + type) << r->body;
    EXPECT_FALSE(body.value("detail", "").empty());
  }
  MarkStatus BtcStatusAfterARound() {
    FillFresh("67000.10", "67000.30", "67000.20");
    auto r = publisher_->PublishRound();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    clock_.Advance(kNanosPerSecond);
    if (!r.ok()) return MarkStatus::kStale;
    for (const Mark& m : (*r)->signed_snapshot.snapshot.marks) {
      if (m.symbol == "BTC/USD") return m.status;
    }
    ADD_FAILURE() << "no BTC/USD mark";
    return MarkStatus::kStale;
  }

  std::string halt_path_;
  OpsHooks hooks_;
  std::unique_ptr<ApiServer> server_;
  std::thread thread_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(HaltRoutesTest, HaltAndLiftTakeEffectFromTheNextRound) {
  EXPECT_EQ(BtcStatusAfterARound(), MarkStatus::kOk);
  auto halted = Json(client_->Put("/v1/admin/halts/BTC-USD", Bearer(), R"({"reason":"venue incident 42"})",
                                  "application/json"),
                     200);
  EXPECT_EQ(halted["symbol"], "BTC/USD");
  EXPECT_EQ(halted["halted"], true);
  EXPECT_EQ(halted["changed"], true);
  EXPECT_EQ(halted["by"], nlohmann::json::array({"halt_file"}));
  EXPECT_NE(Slurp(halt_path_).find("BTC/USD  # halted via the API at 2025-11-22T"), std::string::npos) << Slurp(halt_path_);
  EXPECT_NE(Slurp(halt_path_).find(": venue incident 42"), std::string::npos);
  auto list = Json(client_->Get("/v1/halts"), 200);
  ASSERT_EQ(list["halts"].size(), 1u) << list.dump();
  EXPECT_EQ(list["halts"][0]["symbol"], "BTC/USD");
  EXPECT_EQ(list["halt_file_configured"], true);
  EXPECT_EQ(BtcStatusAfterARound(), MarkStatus::kHalted);
  // Percent-encoded symbol, and lifting twice is harmless.
  auto lifted = Json(client_->Delete("/v1/admin/halts/BTC%2FUSD", Bearer()), 200);
  EXPECT_EQ(lifted["halted"], false);
  EXPECT_EQ(lifted["changed"], true);
  EXPECT_EQ(Json(client_->Delete("/v1/admin/halts/BTC_USD", Bearer()), 200)["changed"], false);
  EXPECT_EQ(BtcStatusAfterARound(), MarkStatus::kOk);
  EXPECT_TRUE(Json(client_->Get("/v1/halts"), 200)["halts"].empty());
}

TEST_F(HaltRoutesTest, RefusalsNameTheProblemAndLeaveTheFileAlone) {
  Spit(halt_path_, "ETH/USD  # by hand\n");
  const std::string before = Slurp(halt_path_);
  ExpectProblem(client_->Put("/v1/admin/halts/BTC-USD", "", "application/json"), 401, "unauthorized");
  ExpectProblem(client_->Put("/v1/admin/halts/BTC-USD", {{"Authorization", "Bearer wrong-token-wrong-token-wrong"}}, "",
                             "application/json"),
                401, "unauthorized");
  ExpectProblem(client_->Put("/v1/admin/halts/DOGE-USD", Bearer(), "", "application/json"), 404, "unknown-symbol");
  ExpectProblem(client_->Put("/v1/admin/halts/BTC-USD", Bearer(), "{", "application/json"), 400, "invalid-body");
  ExpectProblem(client_->Put("/v1/admin/halts/BTC-USD", Bearer(), R"({"reason":7})", "application/json"), 400,
                "invalid-body");
  ExpectProblem(client_->Put("/v1/admin/halts/BTC-USD", Bearer(), R"({"why":"x"})", "application/json"), 400,
                "invalid-body");
  ExpectProblem(client_->Put("/v1/admin/halts/BTC-USD", Bearer(), R"({"reason":"a\nb"})", "application/json"), 400,
                "invalid-body");
  auto get_one = client_->Get("/v1/admin/halts/BTC-USD");
  ExpectProblem(get_one, 405, "method-not-allowed");
  EXPECT_EQ(get_one->get_header_value("Allow"), "PUT, DELETE");
  EXPECT_EQ(Slurp(halt_path_), before);
  EXPECT_EQ(BtcStatusAfterARound(), MarkStatus::kOk);
}

TEST_F(HaltRoutesTest, AConfigHaltCannotBeLiftedAtRunTime) {
  StopAndRestart([](Config& c) { c.symbols[0].halted = true; });
  ExpectProblem(client_->Delete("/v1/admin/halts/BTC-USD", Bearer()), 409, "halted-in-config");
  EXPECT_FALSE(std::filesystem::exists(halt_path_));
  auto list = Json(client_->Get("/v1/halts"), 200);
  ASSERT_EQ(list["halts"].size(), 1u);
  EXPECT_EQ(list["halts"][0]["by"], nlohmann::json::array({"config"}));
  EXPECT_EQ(BtcStatusAfterARound(), MarkStatus::kHalted);
}

TEST_F(HaltRoutesTest, WithoutAHaltFileARunTimeHaltIsRefused) {
  StopAndRestart([](Config& c) { c.halt_file.clear(); });
  ExpectProblem(client_->Put("/v1/admin/halts/BTC-USD", Bearer(), "", "application/json"), 409,
                "halt-file-not-configured");
  EXPECT_EQ(Json(client_->Delete("/v1/admin/halts/BTC-USD", Bearer()), 200)["halted"], false);
  EXPECT_EQ(Json(client_->Get("/v1/halts"), 200)["halt_file_configured"], false);
  EXPECT_EQ(BtcStatusAfterARound(), MarkStatus::kOk);
}

TEST_F(HaltRoutesTest, AnUnwritableHaltFileIsA500AndAnUnreadableOneKeepsTheLastHalts) {
  Spit(halt_path_, "BTC/USD\n");
  EXPECT_EQ(BtcStatusAfterARound(), MarkStatus::kHalted);
  // The file turns into something that cannot be read or replaced: the halt holds.
  std::filesystem::remove(halt_path_);
  std::filesystem::create_directories(std::filesystem::path(halt_path_) / "x");
  ExpectProblem(client_->Delete("/v1/admin/halts/BTC-USD", Bearer()), 500, "halt-file-error");
  ExpectProblem(client_->Get("/v1/halts"), 500, "halt-file-error");
  EXPECT_EQ(BtcStatusAfterARound(), MarkStatus::kHalted);
  std::filesystem::remove_all(halt_path_);
  EXPECT_EQ(BtcStatusAfterARound(), MarkStatus::kOk);  // a missing file halts nothing
}

TEST_F(HaltRoutesTest, AHaltedTokenIsStillPublishedAndSigned) {
  StopAndRestart([](Config& c) {
    auto calendar = feeds::EquityCalendar::Parse("holidays = [\"2026-01-01\"]\n", "calendar.toml");
    ASSERT_TRUE(calendar.ok()) << calendar.status().ToString();
    c.calendar = std::make_shared<const feeds::EquityCalendar>(std::move(calendar).value());
    feeds::SymbolPolicy equity("AAPL/USD", 3);
    equity.asset_class = AssetClass::kEquity;
    feeds::SymbolPolicy token("AAPLx/USD", 3);
    token.asset_class = AssetClass::kToken;
    token.token = feeds::TokenPolicy{};
    token.token->underlying = "AAPL/USD";
    token.token->multiplier.current = Multiplier::Parse("1.0025").value();
    c.symbols.push_back(equity);
    c.symbols.push_back(token);
  });
  ASSERT_EQ(Json(client_->Put("/v1/admin/halts/AAPLx-USD", Bearer(), "", "application/json"), 200)["halted"], true);
  FillFresh("67000.10", "67000.30", "67000.20");
  auto r = publisher_->PublishRound();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& marks = (*r)->signed_snapshot.snapshot.marks;
  auto token = std::find_if(marks.begin(), marks.end(), [](const Mark& m) { return m.symbol == "AAPLx/USD"; });
  ASSERT_NE(token, marks.end());
  EXPECT_EQ(token->status, MarkStatus::kHalted);
  EXPECT_FALSE(token->price.has_value());
  ASSERT_TRUE(token->token.has_value());
  EXPECT_EQ(token->token->multiplier, "1.0025");
  // The plain view shows the same token block and the oracle fields of the signed mark.
  auto view = Json(client_->Get("/v1/marks/AAPLx-USD"), 200)["mark"];
  EXPECT_EQ(view["status"], "halted");
  EXPECT_EQ(view["token"]["multiplier"], "1.0025");
  EXPECT_EQ(view["token"]["underlying"], "AAPL/USD");
  EXPECT_TRUE(view["token"]["theoretical_price"].is_null());
  EXPECT_TRUE(view["outliers"].is_array());
  EXPECT_TRUE(view["proposed_price"].is_null());
  EXPECT_TRUE(view["price_time"].is_null());
  EXPECT_TRUE(Json(client_->Get("/v1/marks/BTC-USD"), 200)["mark"]["token"].is_null());
}

}  // namespace
}  // namespace plumbline::daemon
