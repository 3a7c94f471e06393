#include "plumbline/daemon/log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace plumbline::daemon {
namespace {

TEST(LogFormat, FieldsAreQuotedAndOneEventIsOneLine) {
  EXPECT_EQ(FormatLogLine("published", {{"sequence", "42"}, {"marks_ok", "2/2"}}), "published sequence=42 marks_ok=2/2");
  EXPECT_EQ(FormatLogLine("x", {{"error", "connection refused"}}), "x error=\"connection refused\"");
  // A value cannot forge a second field or a second event.
  EXPECT_EQ(FormatLogLine("x", {{"v", "a\nplumbline: forged=1"}}), "x v=\"a\\nplumbline: forged=1\"");
  EXPECT_EQ(FormatLogLine("line1\nline2", {}), "line1\\nline2");
  EXPECT_EQ(FormatLogLine("x", {{"empty", ""}}), "x empty=\"\"");
}

// Captures what Log() writes to fd 2 while `fn` runs.
template <typename Fn>
std::string CaptureStderr(Fn fn) {
  char path[] = "/tmp/plumbline-log-XXXXXX";
  int fd = ::mkstemp(path);
  int saved = ::dup(2);
  ::dup2(fd, 2);
  fn();
  ::dup2(saved, 2);
  ::close(saved);
  ::close(fd);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  ::unlink(path);
  return text.str();
}

TEST(LogTargets, PrefixedStderrCarriesTheSyslogPriority) {
  const std::string out = CaptureStderr([] {
    SetLogTarget(LogTarget::kPrefixedStderr);
    Log(LogLevel::kError, "round failed", {{"sequence", "7"}});
    Log(LogLevel::kInfo, "published");
    SetLogTarget(LogTarget::kStderr);
    Log(LogLevel::kWarning, "plain");
  });
  EXPECT_EQ(out, "<3>plumbline: round failed sequence=7\n<6>plumbline: published\nplumbline: plain\n");
}

TEST(LogTargets, JournalStreamIsDetectedOnlyForOurOwnStderr) {
  char path[] = "/tmp/plumbline-journal-XXXXXX";
  int fd = ::mkstemp(path);
  struct stat st {};
  ASSERT_EQ(::fstat(fd, &st), 0);
  const std::string mine = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  ::setenv("JOURNAL_STREAM", mine.c_str(), 1);
  const bool journald = ::access("/run/systemd/journal/socket", F_OK) == 0;
  EXPECT_EQ(DetectLogTarget(fd), journald ? LogTarget::kJournal : LogTarget::kPrefixedStderr);
  // Inherited from a parent whose stderr went to the journal, but ours was redirected: plain.
  ::setenv("JOURNAL_STREAM", "1:2", 1);
  EXPECT_EQ(DetectLogTarget(fd), LogTarget::kStderr);
  ::unsetenv("JOURNAL_STREAM");
  EXPECT_EQ(DetectLogTarget(fd), LogTarget::kStderr);
  ::close(fd);
  ::unlink(path);
}

}  // namespace
}  // namespace plumbline::daemon
