// The snapshot document: one per publish round, the unit that is signed, stored and served.
//
// Payload (RFC 8785 canonical JSON, payloadType kSnapshotPayloadType); see docs/formats.md:
// {
//   "config_digest": "<64 hex: SHA-256 of the daemon's config file bytes>",
//   "key_id": "<64 hex: key id of the signing key>",
//   "marks": [ {                      // sorted by symbol, one per configured symbol
//       "newest_observation_time": "<unix ns>" | null,
//       "price": "<decimal>" | null,  // null unless status is "ok"
//       "quorum": 3,
//       "sources": [ {                // contributing observations, sorted by source
//           "ask": "<decimal>",       // present when the source gave one
//           "bid": "<decimal>",       // present when the source gave one
//           "observed_time": "<unix ns>", "price": "<decimal>",
//           "received_time": "<unix ns>", "source": "<name>" } ],
//       "status": "ok" | "stale" | "insufficient_sources",
//       "symbol": "BTC/USD" } ],
//   "origin": "<log origin, e.g. plumbline.example/demo>",
//   "previous_hash": "<64 hex: SHA-256 of the previous snapshot's payload bytes; 64 zeros for 1>",
//   "reserves": [ <reserve attestation>, ... ],  // only when reserves are configured; sorted by
//                                              // asset (attest/reserve_attestation.h, docs/reserves.md)
//   "sequence": <integer, 1-based, < 2^53>,
//   "time": "<unix ns, decimal string>"
// }
// Times are Unix nanoseconds UTC as decimal strings. Prices are decimal strings.
//
// Thread safety: pure functions over values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "plumbline/attest/dsse.h"
#include "plumbline/attest/keys.h"
#include "plumbline/attest/reserve_attestation.h"
#include "plumbline/market.h"
#include "plumbline/status.h"

namespace plumbline::attest {

inline constexpr std::string_view kSnapshotPayloadType = "application/vnd.plumbline.snapshot.v2+json";
// Version 1 (marks without the oracle fields of docs/oracle.md): still decoded and verified so
// stored snapshots stay readable; never produced any more.
inline constexpr std::string_view kSnapshotPayloadTypeV1 = "application/vnd.plumbline.snapshot.v1+json";
inline const std::string kGenesisPreviousHash(64, '0');

struct Snapshot {
  std::string origin;
  uint64_t sequence = 0;
  int64_t time_unix_nanos = 0;
  std::string previous_hash;  // 64 lowercase hex
  std::string config_digest;  // 64 lowercase hex
  std::string key_id;         // 64 lowercase hex
  std::vector<Mark> marks;
  std::vector<ReserveAttestation> reserves;  // proof of reserve; omitted from the payload when empty
};

// Canonical payload bytes. InvalidArgument if a field is out of its documented domain.
Result<std::string> SnapshotPayload(const Snapshot& snapshot);

// A mark's "token" member exactly as the payload writes it (docs/formats.md), unchecked; for
// views that show the same fields (GET /v1/marks).
nlohmann::json TokenQuoteJson(const TokenQuote& token);

// Strict parse of payload bytes: must be canonical, have exactly the documented members with the
// documented types; decimals parse exactly. InvalidArgument/Corruption name the field.
// `payload_type` selects the mark schema: kSnapshotPayloadType (v2) or kSnapshotPayloadTypeV1.
Result<Snapshot> ParseSnapshotPayload(std::string_view payload,
                                      std::string_view payload_type = kSnapshotPayloadType);

// A signed snapshot as stored and served.
struct SignedSnapshot {
  Snapshot snapshot;
  std::string payload;        // canonical payload bytes
  std::string payload_hash;   // Sha256Hex(payload): the next snapshot's previous_hash
  std::string envelope_json;  // canonical DSSE envelope text
};

// Sets snapshot.key_id from `key`, builds the payload and signs it.
Result<SignedSnapshot> SignSnapshot(Snapshot snapshot, const SigningKey& key);

// Parses an envelope, checks it with VerifyEnvelope(its type, key) where the type must be v2 or
// v1, parses the
// payload and checks that its key_id names `key`.
Result<SignedSnapshot> VerifySnapshotEnvelope(std::string_view envelope_json, const PublicKey& key);

// Parses a stored envelope WITHOUT verifying the signature (for the daemon reading its own
// synced store; auditors use VerifySnapshotEnvelope).
Result<SignedSnapshot> DecodeSnapshotEnvelope(std::string_view envelope_json);

}  // namespace plumbline::attest
