// Auditing the snapshot log offline: the key history (key rotation announcements), checkpoint
// and bundle verification, and the chain auditor behind `attest audit`. Everything here needs only
// pinned public keys and bytes the auditor already holds; no network, no storage.
//
// Key rotation. A key announcement is a DSSE envelope of payloadType
// kKeyAnnouncementPayloadType, signed by the key being replaced, whose canonical JSON payload is
//   {"new_key_id": "<64 hex>", "new_public_key": "<base64 of 32 raw bytes>",
//    "origin": "<log origin>", "previous_key_id": "<64 hex>",
//    "previous_public_key": "<base64 of 32 raw bytes>", "root": "<base64 RFC 6962 root>",
//    "rotation": <n, 1-based>, "time": "<unix ns: the new key is valid from>",
//    "tree_size": <snapshots signed by earlier keys; the new key signs from tree_size + 1>}
// so the announcement commits to the log as it was when the key changed. Key ids are the snapshot
// key ids (lowercase hex SHA-256 of the raw public key). A KeyRing built from the pinned key and
// the announcements gives each key a window: snapshot sequences [first_sequence, last_sequence],
// times [valid_from, valid_until), checkpoint sizes [first_sequence - 1, last_sequence].
// A snapshot verifies only under the key its envelope names, inside that key's window.
//
// Errors: InvalidArgument (malformed input), Unauthenticated (a signature is missing, by an
// unknown key, outside its key's window, or does not verify), Corruption (well-signed data that
// contradicts itself or the log: chain link, sequence, origin, inclusion, consistency).
//
// Thread safety: values and pure functions; a ChainAuditor is used by one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "plumbline/attest/keys.h"
#include "plumbline/attest/merkle.h"
#include "plumbline/attest/note.h"
#include "plumbline/attest/snapshot.h"
#include "plumbline/status.h"

namespace plumbline::attest::audit {

inline constexpr std::string_view kKeyAnnouncementPayloadType =
    "application/vnd.plumbline.key-announcement.v1+json";

struct KeyAnnouncement {
  std::string origin;
  uint64_t rotation = 0;  // 1 for the first rotation
  PublicKey previous_key;
  PublicKey new_key;
  uint64_t tree_size = 0;
  merkle::Hash root{};
  int64_t time_unix_nanos = 0;
};

// The announcement as a canonical DSSE envelope signed by `previous` (which must be
// announcement.previous_key, else InvalidArgument).
Result<std::string> SignKeyAnnouncement(const KeyAnnouncement& announcement, const SigningKey& previous);
// Strict parse of the envelope and its payload; does NOT verify the signature.
Result<KeyAnnouncement> ParseKeyAnnouncement(std::string_view envelope_json);

struct KeyWindow {
  PublicKey key;
  std::string key_id;
  uint64_t first_sequence = 1;
  std::optional<uint64_t> last_sequence;  // nullopt: still current
  std::optional<int64_t> valid_from;      // nullopt: since the beginning
  std::optional<int64_t> valid_until;     // nullopt: still current
};

class KeyRing {
 public:
  // Keys trusted without windows (every sequence, size and time).
  explicit KeyRing(std::vector<PublicKey> keys);

  // Walks the announcements (oldest first) from `pinned`: each announcement after the pinned key
  // appears must be signed by the key current before it, name that key as previous, carry the
  // next rotation number, a tree size and time not below the previous one's, and `origin`.
  // Announcements before the pinned key became current are skipped (an auditor who pinned a
  // later key trusts nothing older). Unauthenticated if the pinned key never appears, or a
  // signature fails; InvalidArgument if an announcement is malformed or out of order.
  static Result<KeyRing> FromHistory(const PublicKey& pinned, std::string_view origin,
                                     const std::vector<std::string>& announcements);

  // The key named `key_id` if `sequence` and `time` are inside its window; Unauthenticated
  // (saying which) otherwise.
  Result<PublicKey> ForSnapshot(std::string_view key_id, uint64_t sequence, int64_t time) const;

  // OK if `signed_note` carries a valid Ed25519 note signature named `origin` by a key whose window
  // covers checkpoint size `size`. Unauthenticated otherwise.
  Status VerifyCheckpointSignature(const note::Note& signed_note, std::string_view origin,
                                   uint64_t size) const;

  const std::vector<KeyWindow>& windows() const { return windows_; }

 private:
  KeyRing() = default;
  std::vector<KeyWindow> windows_;
};

// Parses a signed checkpoint note and verifies the log's signature with `ring`. The checkpoint's
// origin must equal `origin` unless `origin` is empty (then the note's own origin is used as the
// key name). InvalidArgument if malformed; Unauthenticated as above.
Result<note::Checkpoint> VerifyCheckpoint(std::string_view signed_note, const KeyRing& ring,
                                          std::string_view origin);

// An offline bundle (c2sp.org/tlog-proof@v1 with `extra` = the snapshot's DSSE envelope).
struct VerifiedBundle {
  note::Checkpoint checkpoint;
  SignedSnapshot snapshot;
};
// Checks, in order: the bundle parses; the checkpoint is signed by the log (origin rule as in
// VerifyCheckpoint); the leaf data is present; the inclusion proof leads from SHA-256(0x00 ||
// envelope) at `index` to the checkpoint root; the envelope verifies under the key it names
// (inside that key's window); its sequence is index + 1 and its origin is the checkpoint's.
Result<VerifiedBundle> VerifyBundle(std::string_view bundle, const KeyRing& ring, std::string_view origin);

// What an auditor remembers between runs (stored as JSON by `attest audit` in DIR/state.json).
struct AuditState {
  std::string origin;
  uint64_t tree_size = 0;                                 // snapshots verified so far
  std::string next_previous_hash = kGenesisPreviousHash;  // payload hash of snapshot tree_size
  int64_t last_time = 0;                                  // time of snapshot tree_size
  std::vector<merkle::Hash> frontier;                     // merkle::Frontier::subtrees()
  std::string checkpoint;  // the signed checkpoint note of tree_size ("" before the first audit)
};

// {"checkpoint":..., "frontier":[b64...], "last_time":"<ns>", "next_previous_hash":...,
//  "origin":..., "root":"<b64>", "tree_size":n}
std::string FormatAuditState(const AuditState& state);
// Strict; Corruption if the frontier does not match the tree size or the stored root.
Result<AuditState> ParseAuditState(std::string_view json_text);

// Verifies snapshots one after the other, extending the remembered state: each envelope must
// verify under the key ring, carry sequence tree_size + 1, the state's origin, previous_hash =
// the last payload hash, and a time not before the last one; its leaf hash is appended to the
// frontier. On error the state is unchanged. Root() then has to equal a verified checkpoint's
// root for the same size: that proves every added snapshot is included in the checkpoint.
struct ChainFields;  // what AddSnapshot takes from a verified snapshot (audit.cc)

class ChainAuditor {
 public:
  ChainAuditor(const KeyRing& ring, AuditState start);  // `ring` is borrowed
  Status AddSnapshot(std::string_view envelope_json);
  // The same checks for consecutive snapshots, with the signature and payload checks (the
  // expensive, independent part) spread over `threads` threads (0: one per hardware thread); the
  // chain checks then run in order. On error the snapshots before the failing one stay added.
  Status AddSnapshots(std::span<const std::string> envelopes, unsigned threads = 0);
  merkle::Hash Root() const { return frontier_.Root(); }
  // The state including every snapshot added so far (frontier filled in; checkpoint unchanged).
  AuditState state() const;

 private:
  Status Append(std::string_view envelope_json, const Result<ChainFields>& verified);
  const KeyRing& ring_;
  AuditState state_;
  merkle::Frontier frontier_;
};

}  // namespace plumbline::attest::audit
