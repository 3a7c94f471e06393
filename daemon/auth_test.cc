#include "plumbline/daemon/auth.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <vector>

namespace plumbline::daemon {
namespace {

constexpr char kToken[] = "Zm9vYmFyLWFkbWluLXRva2VuLTAxMjM0NTY3ODk=";

class AdminTokenFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("plumbline-auth-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& text, mode_t mode) {
    const std::string path = (dir_ / "admin.token").string();
    std::filesystem::remove(path);
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(AdminTokenFileTest, LoadsATokenFileWithATrailingNewline) {
  auto t = AdminToken::LoadFile(Write(std::string(kToken) + "\n", 0600));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_TRUE(t->Matches(kToken));
  EXPECT_FALSE(t->Matches(std::string(kToken) + "\n"));
}

TEST_F(AdminTokenFileTest, RefusesAFileOthersCanRead) {
  const std::string path = Write(kToken, 0644);
  auto t = AdminToken::LoadFile(path);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Code::kPermissionDenied);
  EXPECT_NE(t.status().message().find("chmod 600 " + path), std::string::npos);
  EXPECT_EQ(t.status().message().find(kToken), std::string::npos) << "the token is never echoed";
}

TEST_F(AdminTokenFileTest, RefusesShortOrMultiWordTokensWithoutEchoingThem) {
  auto short_token = AdminToken::LoadFile(Write("hunter2", 0600));
  ASSERT_FALSE(short_token.ok());
  EXPECT_EQ(short_token.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(short_token.status().message().find("hunter2"), std::string::npos);
  EXPECT_NE(short_token.status().message().find("admin.token"), std::string::npos);
  EXPECT_FALSE(AdminToken::FromString("two words two words two words two").ok());
  EXPECT_EQ(AdminToken::LoadFile((dir_ / "missing").string()).status().code(), Code::kIOError);
}

TEST(AdminToken, BearerHeaderParsing) {
  auto t = AdminToken::FromString(kToken);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->AuthorizesHeader(std::string("Bearer ") + kToken));
  EXPECT_TRUE(t->AuthorizesHeader(std::string("bearer ") + kToken));
  EXPECT_FALSE(t->AuthorizesHeader(kToken));
  EXPECT_FALSE(t->AuthorizesHeader(std::string("Basic ") + kToken));
  EXPECT_FALSE(t->AuthorizesHeader("Bearer "));
  EXPECT_FALSE(t->AuthorizesHeader(""));
  EXPECT_FALSE(t->AuthorizesHeader(std::string("Bearer ") + kToken + " "));
}

// Timing sanity check: a guess that shares all but its last byte with the token takes as long to
// reject as one that differs at the first byte, and a 1-byte guess as long as a full-length one
// (both sides are hashed to 32 bytes and compared with sodium_memcmp). The three guesses are
// measured interleaved, batch after batch, and each keeps its fastest batch, so load from other
// processes (which only ever adds time) hits them alike and does not decide the outcome.
TEST(AdminToken, ComparisonTimeDoesNotDependOnHowMuchMatches) {
  auto t = AdminToken::FromString(kToken);
  ASSERT_TRUE(t.ok());
  const std::string token = kToken;
  const std::vector<std::string> guesses = {
      token.substr(0, token.size() - 1) + "X",  // all but the last byte match
      "X" + token.substr(1),                    // differs at the first byte
      "X",                                      // short
  };
  std::vector<double> fastest(guesses.size(), 1e30);
  constexpr int kCalls = 1000;
  for (int batch = 0; batch < 60; ++batch) {
    for (size_t g = 0; g < guesses.size(); ++g) {
      bool any = false;
      auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < kCalls; ++i) any |= t->Matches(guesses[g]);
      auto dt = std::chrono::steady_clock::now() - t0;
      ASSERT_FALSE(any);
      fastest[g] = std::min(fastest[g], std::chrono::duration<double, std::nano>(dt).count() / kCalls);
    }
  }
  const double near = fastest[0], far = fastest[1], tiny = fastest[2];
  EXPECT_LT(std::max(near, far) / std::min(near, far), 1.3) << "near " << near << " ns, far " << far << " ns";
  EXPECT_LT(std::max(near, tiny) / std::min(near, tiny), 1.5) << "near " << near << " ns, 1-byte " << tiny << " ns";
  EXPECT_TRUE(t->Matches(token));
}

}  // namespace
}  // namespace plumbline::daemon
