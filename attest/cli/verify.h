// The `attest` auditor CLI's commands as functions, so tests can run them without a process.
// Each returns the process exit code (see kExit*), writes results to `out` and errors to `err` as
// one line "attest: <what failed>: <why>".
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "plumbline/attest/keys.h"

#include "plumbline/status.h"

namespace plumbline::attest::cli {

inline constexpr int kExitOk = 0;              // verified / done
inline constexpr int kExitVerifyFailed = 1;    // signature, payload type, canonical form, key id,
                                               // chain link, sequence, malformed envelope JSON
inline constexpr int kExitUsage = 2;           // bad arguments (including an unusable key file)
inline constexpr int kExitUnavailable = 3;     // file unreadable, network error, HTTP non-200

// Reads SOURCE: a file path, "-" for stdin, or an http:// / https:// URL (5 s connect and read
// timeouts). Errors: IOError (file, network) or Unavailable (HTTP non-200, with the status and
// the problem+json "detail" when there is one).
Result<std::string> ReadSource(const std::string& source);

// Loads an SPKI PEM public key into *key; on failure prints the error and returns kExitUnavailable
// (unreadable) or kExitUsage (not a key).
int LoadPublicKey(const std::string& path, std::ostream& err, std::optional<PublicKey>* key);

int RunKeygen(const std::string& prefix, std::ostream& out, std::ostream& err);
int RunPubkey(const std::string& key_path, std::ostream& out, std::ostream& err);
int RunVerify(const std::string& source, const std::string& pub_path, const std::string& type,
              std::ostream& out, std::ostream& err);
int RunVerifyChain(const std::string& base_url, uint64_t from, uint64_t to,
                   const std::string& pub_path, std::ostream& out, std::ostream& err);

}  // namespace plumbline::attest::cli
