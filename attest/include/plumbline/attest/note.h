// C2SP signed notes (c2sp.org/signed-note), checkpoints (c2sp.org/tlog-checkpoint), Ed25519
// cosignatures (c2sp.org/tlog-cosignature, cosignature/v1) and offline proofs
// (c2sp.org/tlog-proof). The specifications are in ../shared/reference/.
//
// A signed note is
//   <text, ending in '\n'>
//   <blank line>
//   — <key name> base64(<4-byte big-endian key id> || <signature>)      (one or more lines)
// The text is what is signed. A (key name, key id) pair names one key and one algorithm; verifiers
// look only at lines matching a key they trust and ignore the rest, so logs and witnesses can add
// lines without coordination.
//
// Parsing is strict: whatever Parse* accepts, Format* writes back byte for byte, and a note
// signed elsewhere is accepted only in its one canonical form. Errors are InvalidArgument with a
// message naming the offending line or field. The Format* functions do not validate; their
// input must be well formed (e.g. from Parse*, or names without spaces or '+').
//
// Verification results: OK only if verified. Unauthenticated when a signature is missing, does not
// belong to the key, or does not verify.
//
// Thread safety: pure functions over values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plumbline/attest/keys.h"
#include "plumbline/attest/merkle.h"
#include "plumbline/status.h"

namespace plumbline::attest::note {

// Parse rejects notes with more signature lines than this. The spec requires at least 16; Go's
// golang.org/x/mod/sumdb/note allows 100, and so do we, so both accept the same notes.
inline constexpr size_t kMaxSignatures = 100;

// Signature type bytes (c2sp.org/signed-note, "Signature types").
inline constexpr uint8_t kTypeEd25519 = 0x01;
inline constexpr uint8_t kTypeCosignatureV1 = 0x04;

struct Signature {
  std::string name;     // key name
  uint32_t key_id = 0;  // the 4 bytes before the signature, big-endian
  std::string bytes;    // signature bytes after the key id (64 for Ed25519, 72 for cosignature/v1)
};

struct Note {
  std::string text;  // ends with '\n'; excludes the blank separator line
  std::vector<Signature> signatures;
};

// Strict parse: valid UTF-8, no control characters other than '\n', text separated from the
// signature block by the last blank line, 1..kMaxSignatures lines "— name base64\n", names
// non-empty without Unicode spaces or '+', base64 strict and at least 5 bytes.
Result<Note> Parse(std::string_view note);
// text, '\n', then one line per signature.
std::string Format(const Note& note);

// SHA-256(name || 0x0A || type || 32-byte public key)[0:4], read big-endian.
uint32_t Ed25519KeyId(std::string_view name, const PublicKey& key);       // type 0x01
uint32_t CosignatureKeyId(std::string_view name, const PublicKey& key);   // type 0x04

// The verifier key ("vkey") of an Ed25519 note key: "<name>+<8 hex key id>+base64(0x01 || pub)".
std::string VerifierKey(std::string_view name, const PublicKey& key);
// Accepts only Ed25519 (type 0x01) vkeys whose key id matches the name and key; InvalidArgument
// otherwise (also for cosigner vkeys of type 0x04: configure those by name and public key).
Result<std::pair<std::string, PublicKey>> ParseVerifierKey(std::string_view vkey);

// An Ed25519 note signature over `text` (which must end in '\n') by the key named `name`.
Signature SignEd25519(std::string_view text, std::string_view name, const SigningKey& key);

// OK if the note carries a valid Ed25519 signature by (name, key). Lines with another name or key
// id are ignored. Unauthenticated if no line matches, or if any matching line fails to verify
// (the spec's SHOULD: a bad signature from a trusted key condemns the whole note).
Status VerifyEd25519(const Note& note, std::string_view name, const PublicKey& key);

// The body of a checkpoint note.
struct Checkpoint {
  std::string origin;                   // non-empty; by convention the log's key name
  uint64_t size = 0;                    // number of leaves
  merkle::Hash root{};                  // RFC 6962 root at `size`
  std::vector<std::string> extensions;  // opaque non-empty lines; Plumbline writes none
};

// "<origin>\n<size>\n<base64 root>\n" followed by one line per extension.
std::string FormatCheckpoint(const Checkpoint& checkpoint);
// Strict: at least three lines, each ending in '\n' and non-empty; size in decimal without
// leading zeros (except "0") fitting in 64 bits; root strict base64 of 32 bytes; valid UTF-8
// without control characters.
Result<Checkpoint> ParseCheckpoint(std::string_view text);

// The message an Ed25519 cosignature/v1 signs:
// "cosignature/v1\ntime <timestamp>\n" followed by the checkpoint note text.
std::string CosignatureMessage(uint64_t timestamp, std::string_view checkpoint_text);
// A witness cosignature over `checkpoint_text` (the note text, not the signed note) at
// `timestamp` (POSIX seconds; must be below 2^63, the spec's bound). Signature bytes are the
// 8-byte big-endian timestamp followed by the 64-byte Ed25519 signature.
Signature Cosign(std::string_view checkpoint_text, std::string_view witness_name,
                 const SigningKey& key, uint64_t timestamp);
// Verifies a cosignature line by (witness_name, key) over `checkpoint_text` and returns its
// timestamp. Unauthenticated if the name or key id is not this witness's or the signature does
// not verify; InvalidArgument if the signature is not 72 bytes or its timestamp is >= 2^63.
// The timestamp is not compared with any clock: that is the caller's policy.
Result<uint64_t> VerifyCosignature(const Signature& signature, std::string_view checkpoint_text,
                                   std::string_view witness_name, const PublicKey& key);

// An offline inclusion proof (c2sp.org/tlog-proof@v1):
//   c2sp.org/tlog-proof@v1
//   extra <base64>          (only if `extra` is set)
//   index <decimal>
//   <base64 hash>           (one line per inclusion proof hash)
//   <blank line>
//   <the signed checkpoint note, verbatim>
// Nothing in it is trusted by parsing: `extra` is unauthenticated, and the checkpoint's signatures
// and the inclusion proof still have to be verified against keys the verifier trusts.
struct TlogProof {
  std::optional<std::string> extra;     // decoded bytes (Plumbline: the leaf data)
  uint64_t index = 0;                   // zero-based leaf index
  std::vector<merkle::Hash> inclusion;  // from the leaf's sibling up to a child of the root
  std::string checkpoint;               // the signed checkpoint note, verbatim
};

std::string FormatTlogProof(const TlogProof& proof);
// Strict: the layout above, decimal without leading zeros, strict base64, at most 64 proof hashes
// (a tree of 2^64 leaves needs no more), and a checkpoint that parses as a signed note whose text
// parses as a checkpoint.
Result<TlogProof> ParseTlogProof(std::string_view text);

}  // namespace plumbline::attest::note
