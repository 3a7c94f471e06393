// A single-pass, allocation-free check that bytes are RFC 8785 canonical JSON, for the auditor's
// hot path (attest/audit.cc). Private to attest/.
//
// It handles a subset: object keys of printable ASCII without escapes, numbers that are integers
// of magnitude <= 2^53 written canonically, nesting up to 64 levels. Inside that subset its answer
// equals IsCanonical() (canonical_scan_test.cc checks this on mutated documents). Outside it
// (non-ASCII or escaped keys, fractions, exponents, big integers, deep nesting), and for anything
// malformed, it answers kUnknown and the caller must use the full parser (ParseStrictJson +
// Canonicalize), which also produces the precise error message.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace plumbline::attest::scan {

enum class Verdict { kCanonical, kUnknown };

// Top-level members of a canonical object: string values without escapes (as raw views into the
// input) and integer values. Other members are only validated.
struct TopLevel {
  std::map<std::string_view, std::string_view> strings;
  std::map<std::string_view, int64_t> integers;
};

// Decodes the UTF-8 sequence at s[*pos] into *cp and advances *pos; false for malformed, overlong,
// surrogate or out-of-range sequences (RFC 3629). Shared with canonical_json.cc.
bool DecodeUtf8(std::string_view s, size_t* pos, uint32_t* cp);

// Strict standard base64 as Base64Decode (keys.h) accepts it, decoded with a table instead of
// libsodium's constant-time decoder; nullopt where Base64Decode fails. For public data only.
std::optional<std::string> FastBase64Decode(std::string_view in);

// kCanonical only if `text` is one canonical JSON object inside the subset; fills *top.
Verdict ScanCanonicalObject(std::string_view text, TopLevel* top);

}  // namespace plumbline::attest::scan
