#include "plumbline/daemon/halt_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

namespace plumbline::daemon {
namespace {

// The symbol a line lists ("" for a blank or comment-only line).
std::string_view ListedSymbol(std::string_view line) {
  const size_t hash = line.find('#');
  if (hash != std::string_view::npos) line = line.substr(0, hash);
  const size_t b = line.find_first_not_of(" \t\r"), e = line.find_last_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  return line.substr(b, e - b + 1);
}

// Lines of the file; `exists` false (Ok) when it is missing.
Status ReadLines(const std::string& path, std::vector<std::string>* lines, bool* exists, mode_t* mode) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      *exists = false;
      return Status::Ok();
    }
    return Status::IOError("halt file " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return Status::IOError("halt file " + path + ": not a regular file");
  *exists = true;
  *mode = st.st_mode & 07777;
  std::ifstream in(path);
  if (!in) return Status::IOError("halt file " + path + ": cannot be read");
  for (std::string line; std::getline(in, line);) lines->push_back(std::move(line));
  if (in.bad()) return Status::IOError("halt file " + path + ": read error");
  return Status::Ok();
}

Status WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::IOError(std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

// Replaces `path` with `contents`: a crash leaves the old file or the new one.
Status ReplaceFile(const std::string& path, const std::string& contents, mode_t mode) {
  const std::filesystem::path target(path);
  const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  const std::string tmp = (dir / ("." + target.filename().string() + ".tmp." + std::to_string(::getpid()))).string();
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Status::IOError("halt file " + path + ": cannot create " + tmp + ": " + std::strerror(errno));
  Status written = WriteAll(fd, contents);
  if (written.ok() && ::fchmod(fd, mode) != 0) written = Status::IOError(std::strerror(errno));
  if (written.ok() && ::fsync(fd) != 0) written = Status::IOError(std::strerror(errno));
  if (::close(fd) != 0 && written.ok()) written = Status::IOError(std::strerror(errno));
  if (written.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) written = Status::IOError(std::strerror(errno));
  if (!written.ok()) {
    ::unlink(tmp.c_str());
    return Status::IOError("halt file " + path + ": cannot write: " + written.message());
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);  // the rename is durable once the directory is; best effort on odd filesystems
    ::close(dfd);
  }
  return Status::Ok();
}

std::mutex& WriterMutex() {
  static std::mutex mu;
  return mu;
}

}  // namespace

Result<std::set<std::string>> ReadHaltFile(const std::string& path) {
  std::vector<std::string> lines;
  bool exists = false;
  mode_t mode = 0;
  PLUMBLINE_RETURN_IF_ERROR(ReadLines(path, &lines, &exists, &mode));
  std::set<std::string> listed;
  for (const std::string& line : lines) {
    const std::string_view symbol = ListedSymbol(line);
    if (!symbol.empty()) listed.emplace(symbol);
  }
  return listed;
}

Result<bool> SetHaltedInFile(const std::string& path, std::string_view symbol, bool halted, std::string_view note) {
  if (symbol.empty() || symbol.find_first_of("#\r\n") != std::string_view::npos || ListedSymbol(symbol) != symbol) {
    return Status::InvalidArgument("symbol must be non-empty, without '#', line breaks or surrounding blanks");
  }
  std::lock_guard<std::mutex> lock(WriterMutex());
  std::vector<std::string> lines;
  bool exists = false;
  mode_t mode = 0644;
  PLUMBLINE_RETURN_IF_ERROR(ReadLines(path, &lines, &exists, &mode));
  std::vector<std::string> kept;
  bool listed = false;
  for (std::string& line : lines) {
    if (ListedSymbol(line) == symbol) {
      listed = true;
      if (!halted) continue;
    }
    kept.push_back(std::move(line));
  }
  if (listed == halted) return false;  // already as asked: leave the file (and its mtime) alone
  if (halted) {
    std::string line(symbol);
    std::string clean_note;
    for (char c : note) clean_note += (c == '\n' || c == '\r') ? ' ' : c;
    if (!clean_note.empty()) line += "  # " + clean_note;
    kept.push_back(std::move(line));
  }
  std::string contents;
  for (const std::string& line : kept) contents += line + "\n";
  PLUMBLINE_RETURN_IF_ERROR(ReplaceFile(path, contents, mode));
  return true;
}

}  // namespace plumbline::daemon
