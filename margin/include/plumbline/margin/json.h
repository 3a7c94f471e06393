// JSON forms of an account (input) and a valuation (output); see docs/margin.md and
// docs/openapi.yaml. Decimals are strings; times are Unix nanoseconds as decimal strings.
//
// Parsing is strict: unknown members, wrong types, decimals given as JSON numbers and malformed
// decimal text fail with InvalidArgument whose message starts with the field path, prefixed by
// `prefix` (e.g. "accounts[3]." in a batch): "accounts[3].positions[0].quantity: ...".
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "plumbline/margin/evaluator.h"
#include "plumbline/status.h"

namespace plumbline::margin {

Result<Account> AccountFromJson(const nlohmann::json& json, const std::string& prefix = "");

// Fast path of the batch endpoint: reads a request body {"accounts": [...], "snapshot": N} of
// the common well-formed shape straight into Accounts, without a DOM. Returns false whenever the
// body is anything else (malformed JSON, a string with escapes or non-ASCII bytes, a null, a
// duplicate or unknown member, a value AccountFromJson would refuse, no "accounts"): the caller
// then reads it with nlohmann::json and AccountFromJson, which name the error. On true,
// *accounts and *snapshot hold exactly what that path would have produced.
bool ReadBatchFast(std::string_view body, std::vector<Account>* accounts, std::optional<uint64_t>* snapshot);

nlohmann::json ValuationToJson(const Valuation& valuation);
// The same document appended to `out` as compact JSON text, without building a DOM (fast path
// for the batch endpoint).
void AppendValuationJson(const Valuation& valuation, std::string* out);

}  // namespace plumbline::margin
