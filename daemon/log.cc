#include "plumbline/daemon/log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <vector>

#include <systemd/sd-journal.h>

namespace plumbline::daemon {
namespace {

std::atomic<int> g_target{-1};  // -1: not chosen yet
constexpr char kJournalSocket[] = "/run/systemd/journal/socket";

bool NeedsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\n' || c == '\r' || c == '\t') return true;
  }
  return false;
}

void AppendEscaped(std::string* out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      default: *out += c;
    }
  }
}

void WriteStderr(std::string line) {
  line += '\n';
  // One write(2) per event, so lines from several threads never interleave.
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(2, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

// Journal field names: upper case letters, digits and '_', not starting with '_' or a digit.
std::string JournalFieldName(std::string_view key) {
  std::string name = "PLUMBLINE_";
  for (char c : key) {
    if (c >= 'a' && c <= 'z') name += static_cast<char>(c - 'a' + 'A');
    else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) name += c;
    else name += '_';
  }
  return name;
}

bool SendToJournal(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  std::vector<std::string> items;
  items.reserve(fields.size() + 3);
  items.push_back("MESSAGE=" + FormatLogLine(message, fields));
  items.push_back("PRIORITY=" + std::to_string(static_cast<int>(level)));
  items.push_back("SYSLOG_IDENTIFIER=plumbline");
  for (const auto& [k, v] : fields) items.push_back(JournalFieldName(k) + "=" + std::string(v));
  std::vector<struct iovec> iov;
  iov.reserve(items.size());
  for (std::string& item : items) iov.push_back({item.data(), item.size()});
  return sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) >= 0;
}

}  // namespace

LogTarget DetectLogTarget(int fd) {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return LogTarget::kStderr;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return LogTarget::kStderr;
  const std::string expected = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  if (expected != stream) return LogTarget::kStderr;
  // sd_journal_send drops messages silently when journald's socket is missing (a container
  // that passes the stream on); the stream itself still reaches the journal, with priorities.
  // F_OK, not W_OK: under ProtectSystem=strict /run is a read-only mount, yet connecting to the
  // socket works.
  return ::access(kJournalSocket, F_OK) == 0 ? LogTarget::kJournal : LogTarget::kPrefixedStderr;
}

void SetLogTarget(LogTarget target) { g_target.store(static_cast<int>(target)); }

LogTarget CurrentLogTarget() {
  int t = g_target.load();
  if (t < 0) {
    t = static_cast<int>(DetectLogTarget());
    int expected = -1;
    g_target.compare_exchange_strong(expected, t);
    t = g_target.load();
  }
  return static_cast<LogTarget>(t);
}

std::string FormatLogLine(std::string_view message, std::initializer_list<LogField> fields) {
  std::string line;
  AppendEscaped(&line, message);
  for (const auto& [k, v] : fields) {
    line += ' ';
    line += k;
    line += '=';
    if (NeedsQuotes(v)) {
      line += '"';
      AppendEscaped(&line, v);
      line += '"';
    } else {
      line += v;
    }
  }
  return line;
}

void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  const LogTarget target = CurrentLogTarget();
  if (target == LogTarget::kJournal && SendToJournal(level, message, fields)) return;
  std::string line;
  if (target != LogTarget::kStderr) line = "<" + std::to_string(static_cast<int>(level)) + ">";
  line += "plumbline: ";
  line += FormatLogLine(message, fields);
  WriteStderr(std::move(line));
}

}  // namespace plumbline::daemon
