// Strict JSON parsing and RFC 8785 (JSON Canonicalization Scheme) serialization.
//
// Every signed payload in Plumbline is RFC 8785 canonical JSON, so a verifier can check that the
// bytes it was given are the one canonical form of their content.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "plumbline/status.h"

namespace plumbline::attest {

// Parses RFC 8259 JSON strictly: the whole input must be one value (no trailing bytes), strings
// must be valid UTF-8, and no object may repeat a key. InvalidArgument names what is wrong and
// where (byte offset) when the parser reports it.
Result<nlohmann::json> ParseStrictJson(std::string_view text);

// Serializes `value` per RFC 8785: object members sorted by their UTF-16 code units, no
// whitespace, strings with only the mandatory escapes, numbers in ECMAScript Number-to-String
// form of their IEEE-754 binary64 value. Fails (InvalidArgument) on non-finite numbers or strings
// that are not valid UTF-8.
Result<std::string> Canonicalize(const nlohmann::json& value);

// ParseStrictJson followed by Canonicalize.
Result<std::string> CanonicalizeText(std::string_view json_text);

// True when `text` parses strictly and is byte-for-byte its own canonical form.
bool IsCanonical(std::string_view text);

}  // namespace plumbline::attest
