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

// Timing sanity check: a guess that shares a long prefix with the token takes as long to reject
// as one that differs at the first byte, and a short guess as long as a long one (both sides are
// hashed to 32 bytes and compared with sodium_memcmp). Medians of many batches, so scheduling
// noise on a shared machine does not decide; the bound is loose (a byte-by-byte memcmp would not
// even show at this size, which is why the test checks the hashing design too: equal digests
// only for the exact token).
TEST(AdminToken, ComparisonTimeDoesNotDependOnHowMuchMatches) {
  auto t = AdminToken::FromString(kToken);
  ASSERT_TRUE(t.ok());
  const std::string token = kToken;
  const std::string near = token.substr(0, token.size() - 1) + "X";   // all but the last byte
  const std::string far = "X" + token.substr(1);                      // differs at the first byte
  const std::string tiny = "X";
  auto median_ns = [&](const std::string& guess) {
    std::vector<double> batches;
    for (int b = 0; b < 31; ++b) {
      auto t0 = std::chrono::steady_clock::now();
      bool any = false;
      for (int i = 0; i < 2000; ++i) any |= t->Matches(guess);
      auto dt = std::chrono::steady_clock::now() - t0;
      EXPECT_FALSE(any);
      batches.push_back(std::chrono::duration<double, std::nano>(dt).count() / 2000);
    }
    std::sort(batches.begin(), batches.end());
    return batches[batches.size() / 2];
  };
  const double n = median_ns(near), f = median_ns(far), s = median_ns(tiny);
  EXPECT_LT(std::max(n, f) / std::min(n, f), 1.5) << "near " << n << " ns, far " << f << " ns";
  // A 1-byte guess hashes fewer bytes but the same single SHA-256 block: same order of time.
  EXPECT_LT(std::max(n, s) / std::min(n, s), 2.0) << "near " << n << " ns, 1-byte " << s << " ns";
  EXPECT_TRUE(t->Matches(token));
}

}  // namespace
}  // namespace plumbline::daemon
