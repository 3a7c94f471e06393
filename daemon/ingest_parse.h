// Parsing of pushed observation batches (docs/ingest.md), private to daemon/: the strict DOM path
// (nlohmann, any valid JSON) and a fast reader for the common well-formed shape.
//
// The fast readers accept only a subset and answer false ("declined") for anything else, without
// an error: the caller then takes the DOM path, which judges the input and produces the precise
// error. Inside their subset they produce exactly what the DOM path produces
// (ingest_parse_test.cc checks this on generated good and subtly bad inputs):
//   - ReadEnvelopeFast: a JSON object with exactly "payload", "payloadType" and "signatures" (any
//     order, each once, JSON whitespace allowed between tokens) where signatures holds exactly one
//     {"keyid", "sig"} object; every string printable ASCII without escapes; payload and sig strict
//     standard base64, sig of 64 bytes. Equals attest::ParseEnvelope's result.
//   - ReadPayloadFast: the payload bytes in RFC 8785 canonical form by construction: no whitespace,
//     members in canonical (sorted) order, each at most once, publisher/sequence/observations all
//     present, sequence an integer in [1, 2^53) without leading zeros, a non-empty observations
//     array of objects with string members only (symbol, price and observed_time present), every
//     string printable ASCII without escapes, no bytes after the object. So bytes it accepts are
//     canonical (attest::IsCanonical) and ParseBatch of its result equals ParsePayload of the DOM.
//
// Thread safety: pure functions; the outputs are caller-owned and reused across calls (their
// buffers keep their capacity, so a caller looping over envelopes allocates almost nothing).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "plumbline/attest/dsse.h"
#include "plumbline/market.h"
#include "plumbline/status.h"

namespace plumbline::daemon::ingest_parse {

// A payload's content: publisher, sequence and observations (symbol, price, bid/ask, observed
// time; source and received time are left for the caller).
struct ParsedBatch {
  std::string publisher;
  uint64_t sequence = 0;
  std::vector<Observation> observations;
};

// Shape and number parsing of a payload already parsed as strict JSON (no policy): InvalidArgument
// names the field, e.g. `observations[2].price: "6.7e4" is not a decimal (...)`. May throw
// nlohmann exceptions only on documents ParseStrictJson cannot produce.
Result<ParsedBatch> ParsePayload(const nlohmann::json& doc);

// One observation as the fast reader saw it: views into the payload bytes (absent = nullopt).
struct RawObservation {
  std::string_view symbol, price, observed_time;
  std::optional<std::string_view> bid, ask, confidence;
};

// A payload as the fast reader saw it: views into the payload bytes, valid while they are.
struct RawBatch {
  std::string_view publisher;
  uint64_t sequence = 0;
  std::vector<RawObservation> observations;
};

// See the file comment. On true *out is the envelope (one signature); on false *out is unspecified.
bool ReadEnvelopeFast(std::string_view body, attest::Envelope* out);

// See the file comment. On true *out holds the payload's members; on false it is unspecified.
bool ReadPayloadFast(std::string_view payload, RawBatch* out);

// The field checks of ParsePayload, in the same order with the same messages, on a RawBatch.
Result<ParsedBatch> ParseBatch(const RawBatch& raw);

// Strict standard base64 (as attest::Base64Decode accepts it) decoded into *out, reusing its
// buffer; false where attest::Base64Decode fails. For public data (not constant time).
bool DecodeBase64Into(std::string_view text, std::string* out);

}  // namespace plumbline::daemon::ingest_parse
