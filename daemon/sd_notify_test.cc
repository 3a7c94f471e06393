// The notifier against a real AF_UNIX datagram socket standing in for systemd's NOTIFY_SOCKET:
// what arrives is what systemd would parse.
#include "plumbline/daemon/sd_notify.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace plumbline::daemon {
namespace {

uint64_t MonotonicUsec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

class SdNotifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"}) unsetenv(v);
  }
  void TearDown() override {
    if (fd_ >= 0) close(fd_);
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
    for (const char* v : {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"}) unsetenv(v);
  }

  // Binds a datagram socket at `name` (a path, or "@x" for the abstract namespace) and points
  // NOTIFY_SOCKET at it, as systemd does for a Type=notify service.
  void Listen(const std::string& name) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd_, 0) << std::strerror(errno);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    ASSERT_LT(name.size(), sizeof(addr.sun_path));
    std::memcpy(addr.sun_path, name.data(), name.size());
    if (name[0] == '@') addr.sun_path[0] = '\0';
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() + (name[0] == '@' ? 0 : 1));
    ASSERT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), len), 0) << name << ": " << std::strerror(errno);
    ASSERT_EQ(setenv("NOTIFY_SOCKET", name.c_str(), 1), 0);
  }
  void ListenInTempDir() {
    char tmpl[] = "/tmp/plumbline-sdnotify-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Listen(dir_ + "/notify.sock");
  }

  // The next datagram, or "<timeout>" after 2 s.
  std::string Receive() {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 2000) != 1) return "<timeout>";
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    return n < 0 ? "<error>" : std::string(buf, static_cast<size_t>(n));
  }

  int fd_ = -1;
  std::string dir_;
};

TEST_F(SdNotifyTest, WithoutNotifySocketEverythingIsANoOp) {
  SystemdNotifier n;
  EXPECT_FALSE(n.enabled());
  EXPECT_TRUE(n.Ready("up").ok());
  EXPECT_TRUE(n.SetStatus("x").ok());
  EXPECT_TRUE(n.Reloading().ok());
  EXPECT_TRUE(n.Stopping().ok());
  EXPECT_TRUE(n.WatchdogPing().ok());
  EXPECT_EQ(n.WatchdogInterval(), std::nullopt);
}

TEST_F(SdNotifyTest, SendsEachStateAsOneDatagram) {
  ListenInTempDir();
  SystemdNotifier n;
  ASSERT_TRUE(n.enabled());

  ASSERT_TRUE(n.Ready("publishing every 1000 ms").ok());
  EXPECT_EQ(Receive(), "READY=1\nSTATUS=publishing every 1000 ms");
  ASSERT_TRUE(n.SetStatus("snapshot 42: 3/3 marks ok").ok());
  EXPECT_EQ(Receive(), "STATUS=snapshot 42: 3/3 marks ok");
  ASSERT_TRUE(n.WatchdogPing().ok());
  EXPECT_EQ(Receive(), "WATCHDOG=1");
  ASSERT_TRUE(n.Stopping().ok());
  EXPECT_EQ(Receive(), "STOPPING=1");
}

TEST_F(SdNotifyTest, ReloadingCarriesTheMonotonicClock) {
  ListenInTempDir();
  SystemdNotifier n;
  const uint64_t before = MonotonicUsec();
  ASSERT_TRUE(n.Reloading().ok());
  const uint64_t after = MonotonicUsec();
  const std::string msg = Receive();
  const std::string prefix = "RELOADING=1\nMONOTONIC_USEC=";
  ASSERT_EQ(msg.rfind(prefix, 0), 0u) << msg;
  const std::string digits = msg.substr(prefix.size());
  ASSERT_FALSE(digits.empty());
  ASSERT_EQ(digits.find_first_not_of("0123456789"), std::string::npos) << msg;
  const uint64_t usec = std::stoull(digits);
  EXPECT_GE(usec, before);
  EXPECT_LE(usec, after);
}

TEST_F(SdNotifyTest, StatusCannotInjectAssignments) {
  ListenInTempDir();
  SystemdNotifier n;
  ASSERT_TRUE(n.SetStatus("bad config\nSTOPPING=1").ok());
  EXPECT_EQ(Receive(), "STATUS=bad config STOPPING=1");
  ASSERT_TRUE(n.Ready("a\nb").ok());
  EXPECT_EQ(Receive(), "READY=1\nSTATUS=a b");
}

TEST_F(SdNotifyTest, AbstractSocket) {
  const std::string name = "@plumbline-sdnotify-test-" + std::to_string(getpid());
  Listen(name);
  SystemdNotifier n;
  ASSERT_TRUE(n.enabled());
  ASSERT_TRUE(n.Ready("abstract").ok());
  EXPECT_EQ(Receive(), "READY=1\nSTATUS=abstract");
  ASSERT_TRUE(n.WatchdogPing().ok());
  EXPECT_EQ(Receive(), "WATCHDOG=1");
}

TEST_F(SdNotifyTest, UnreachableSocketIsAnIOError) {
  char tmpl[] = "/tmp/plumbline-sdnotify-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  dir_ = tmpl;
  ASSERT_EQ(setenv("NOTIFY_SOCKET", (dir_ + "/nobody-listens").c_str(), 1), 0);
  SystemdNotifier n;
  Status s = n.Ready("x");
  EXPECT_EQ(s.code(), Code::kIOError) << s.ToString();
  EXPECT_NE(s.message().find("READY=1"), std::string::npos) << s.message();
}

TEST_F(SdNotifyTest, WatchdogIntervalForThisProcess) {
  ListenInTempDir();
  setenv("WATCHDOG_USEC", "3000000", 1);
  setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
  EXPECT_EQ(SystemdNotifier().WatchdogInterval(), std::chrono::seconds(3));

  unsetenv("WATCHDOG_PID");  // absent pid: the watchdog is ours
  EXPECT_EQ(SystemdNotifier().WatchdogInterval(), std::chrono::microseconds(3'000'000));
}

TEST_F(SdNotifyTest, WatchdogIntervalRejectsOtherPidsAndBadValues) {
  ListenInTempDir();
  setenv("WATCHDOG_USEC", "3000000", 1);
  setenv("WATCHDOG_PID", std::to_string(getpid() + 1).c_str(), 1);  // meant for another process
  EXPECT_EQ(SystemdNotifier().WatchdogInterval(), std::nullopt);

  unsetenv("WATCHDOG_PID");
  for (const char* bad : {"", "0", "abc", "-5", "12x"}) {
    setenv("WATCHDOG_USEC", bad, 1);
    EXPECT_EQ(SystemdNotifier().WatchdogInterval(), std::nullopt) << "WATCHDOG_USEC=" << bad;
  }
  unsetenv("WATCHDOG_USEC");
  EXPECT_EQ(SystemdNotifier().WatchdogInterval(), std::nullopt);
}

TEST_F(SdNotifyTest, NoWatchdogWithoutNotifySocket) {
  setenv("WATCHDOG_USEC", "3000000", 1);
  EXPECT_EQ(SystemdNotifier().WatchdogInterval(), std::nullopt);
}

}  // namespace
}  // namespace plumbline::daemon
