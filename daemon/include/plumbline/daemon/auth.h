// Admin token: the shared secret that authorizes administrative and write requests which do not
// carry a signature of their own (POST /v1/admin/reload; other write endpoints accept it as an
// alternative to their signed documents).
//
// The token is read from a credential file (config `admin_token_file`, under systemd a
// LoadCredential= copy): mode 0600 or 0400 (group/other access is refused like the signing key's),
// one line of at least kMinTokenBytes printable ASCII characters without spaces; a trailing
// newline is ignored. Generate one with `openssl rand -base64 32`.
//
// Clients send "Authorization: Bearer <token>". Comparison is constant-time in the token's
// contents and length: both sides are hashed with SHA-256 and the digests compared with
// sodium_memcmp, so neither a prefix match nor the token length shows in the response time.
// The token is never logged nor echoed in an error.
//
// Thread safety: an AdminToken is immutable; Check* may be called from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "plumbline/status.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace plumbline::daemon {

class AdminToken {
 public:
  static constexpr size_t kMinTokenBytes = 24;

  // IOError if unreadable; PermissionDenied if group/other may read it; InvalidArgument if it is
  // too short or has characters outside '!'..'~'. Messages name the file, never its contents.
  static Result<AdminToken> LoadFile(const std::string& path);
  // Same rules for a token held in memory (tests).
  static Result<AdminToken> FromString(std::string_view token);

  // Constant-time comparison of a presented token with this one.
  bool Matches(std::string_view presented) const;
  // True for an "Authorization" header value "Bearer <token>" (scheme case-insensitive) whose
  // token Matches().
  bool AuthorizesHeader(std::string_view authorization) const;

 private:
  std::array<uint8_t, 32> digest_{};  // SHA-256 of the token; the token itself is not kept
};

// Middleware for write routes: returns true when the request carries a valid admin token.
// Otherwise writes the problem response and returns false:
//   401 /problems/unauthorized (with WWW-Authenticate: Bearer) for a missing or wrong token,
//   403 /problems/admin-disabled when `token` is null (no admin_token_file configured).
// `token` is borrowed.
bool RequireAdminToken(const AdminToken* token, const httplib::Request& req, httplib::Response& res);

}  // namespace plumbline::daemon
