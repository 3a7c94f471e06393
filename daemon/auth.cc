#include "plumbline/daemon/auth.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include <httplib.h>

#include "daemon/http_problem.h"

namespace plumbline::daemon {
namespace {

std::array<uint8_t, 32> Digest(std::string_view text) {
  std::array<uint8_t, 32> out{};
  crypto_hash_sha256(out.data(), reinterpret_cast<const unsigned char*>(text.data()), text.size());
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

}  // namespace

Result<AdminToken> AdminToken::FromString(std::string_view token) {
  if (sodium_init() < 0) return Status::Internal("libsodium failed to initialise");
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.remove_suffix(1);
  if (token.size() < kMinTokenBytes) {
    return Status::InvalidArgument("admin token is shorter than " + std::to_string(kMinTokenBytes) +
                                   " characters (generate one with `openssl rand -base64 32`)");
  }
  for (char c : token) {
    if (c < '!' || c > '~') {
      return Status::InvalidArgument("admin token must be one line of printable ASCII without spaces");
    }
  }
  AdminToken t;
  t.digest_ = Digest(token);
  return t;
}

Result<AdminToken> AdminToken::LoadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("admin token file " + path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || (st.st_mode & 0077) != 0) {
    ::close(fd);
    return Status::PermissionDenied("admin token file " + path +
                                    " is readable by group or other; run `chmod 600 " + path + "`");
  }
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof(buf));
  ::close(fd);
  if (n < 0) return Status::IOError("admin token file " + path + ": cannot read");
  auto token = FromString(std::string_view(buf, static_cast<size_t>(n)));
  sodium_memzero(buf, sizeof(buf));
  if (!token.ok()) return token.status().WithContext("admin token file " + path);
  return token;
}

bool AdminToken::Matches(std::string_view presented) const {
  const std::array<uint8_t, 32> d = Digest(presented);
  return sodium_memcmp(d.data(), digest_.data(), d.size()) == 0;
}

bool AdminToken::AuthorizesHeader(std::string_view authorization) const {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size() || !EqualsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme)) {
    return false;
  }
  return Matches(authorization.substr(kScheme.size()));
}

bool RequireAdminToken(const AdminToken* token, const httplib::Request& req, httplib::Response& res) {
  if (token == nullptr) {
    WriteProblem(res, 403, "admin-disabled",
                 "this endpoint needs an admin token, and none is configured (admin_token_file)", req.path);
    return false;
  }
  if (!req.has_header("Authorization")) {
    res.set_header("WWW-Authenticate", "Bearer");
    WriteProblem(res, 401, "unauthorized", "missing Authorization: Bearer <admin token>", req.path);
    return false;
  }
  if (!token->AuthorizesHeader(req.get_header_value("Authorization"))) {
    res.set_header("WWW-Authenticate", "Bearer error=\"invalid_token\"");
    WriteProblem(res, 401, "unauthorized", "the admin token is not valid", req.path);
    return false;
  }
  return true;
}

}  // namespace plumbline::daemon
