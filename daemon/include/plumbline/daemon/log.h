// Logging for the daemon: one line per event, with a syslog priority and optional key=value
// fields, written where the operator will look.
//
//   Log(LogLevel::kInfo, "published snapshot", {{"sequence", "42"}, {"marks_ok", "2/2"}});
//
// Targets (chosen once, by DetectLogTarget(), or explicitly in tests):
//   kJournal         systemd connected our stderr to journald (JOURNAL_STREAM names stderr's
//                    device:inode): messages go through sd_journal_send(3) with MESSAGE=,
//                    PRIORITY=, SYSLOG_IDENTIFIER=plumbline and one PLUMBLINE_<KEY>= field per
//                    field, so `journalctl -u plumbline PLUMBLINE_SEQUENCE=42` works. If journald
//                    refuses a message it is written as kPrefixedStderr instead.
//   kPrefixedStderr  "<6>plumbline: message key=value" (sd-daemon(3) priority prefixes, which
//                    journald and most log collectors parse).
//   kStderr          "plumbline: message key=value" (a shell, a test, a container).
//
// Secrets: never pass key material, tokens or request bodies; the logger cannot tell them apart.
// Field values are quoted when they contain spaces, quotes or '=', and newlines are escaped, so
// one event is always one line and a value cannot forge another field or event.
//
// Thread safety: Log() may be called from any thread; a line is written with one write(2).
#pragma once

#include <cstdio>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace plumbline::daemon {

enum class LogLevel { kError = 3, kWarning = 4, kNotice = 5, kInfo = 6, kDebug = 7 };  // syslog numbers

enum class LogTarget { kJournal, kPrefixedStderr, kStderr };

using LogField = std::pair<std::string_view, std::string_view>;

// When JOURNAL_STREAM ("DEV:INODE") matches file descriptor `fd` (stderr by default): kJournal
// if journald's socket is there, else kPrefixedStderr. Otherwise kStderr.
LogTarget DetectLogTarget(int fd = 2);

// The process-wide target; DetectLogTarget() until SetLogTarget() is called.
void SetLogTarget(LogTarget target);
LogTarget CurrentLogTarget();

// The text form of one event (without the priority prefix and newline), for tests and stderr.
std::string FormatLogLine(std::string_view message, std::initializer_list<LogField> fields);

void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {});

}  // namespace plumbline::daemon
