#include "plumbline/attest/note.h"

#include <sodium.h>

#include <array>
#include <cassert>
#include <limits>
#include <optional>

namespace plumbline::attest::note {
namespace {

constexpr std::string_view kSignaturePrefix = "\xE2\x80\x94 ";  // U+2014 em dash, space
constexpr std::string_view kCosignatureHeader = "cosignature/v1\n";
constexpr std::string_view kTlogProofHeader = "c2sp.org/tlog-proof@v1";
constexpr size_t kEd25519SignatureBytes = 64;
constexpr size_t kTimestampBytes = 8;
constexpr uint64_t kMaxTimestamp = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
// Each inclusion proof hash is one level of the tree; a uint64 tree size has at most 64 levels.
constexpr size_t kMaxInclusionHashes = 64;

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
std::string_view Chars(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Decodes the UTF-8 sequence at s[*i], advancing *i. False for anything that is not the shortest
// encoding of a Unicode scalar value (overlong forms, surrogates, > U+10FFFF, truncation).
bool NextCodePoint(std::string_view s, size_t* i, char32_t* out) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t lead = byte(*i);
  size_t extra;
  char32_t cp;
  char32_t min;
  if (lead < 0x80) {
    *out = lead;
    ++*i;
    return true;
  } else if ((lead & 0xE0) == 0xC0) {
    extra = 1, cp = lead & 0x1F, min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    extra = 2, cp = lead & 0x0F, min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    extra = 3, cp = lead & 0x07, min = 0x10000;
  } else {
    return false;
  }
  if (s.size() - *i <= extra) return false;
  for (size_t k = 1; k <= extra; ++k) {
    const uint8_t b = byte(*i + k);
    if ((b & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  *out = cp;
  *i += extra + 1;
  return true;
}

// Unicode White_Space (what Go's unicode.IsSpace reports), the spaces key names must not contain.
bool IsUnicodeSpace(char32_t c) {
  switch (c) {
    case U'\t': case U'\n': case U'\v': case U'\f': case U'\r': case U' ':
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F:
    case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

// Signed notes are valid UTF-8 with no control characters other than newline.
Status CheckNoteCharacters(std::string_view s, const char* what) {
  size_t i = 0;
  while (i < s.size()) {
    const size_t at = i;
    char32_t c;
    if (!NextCodePoint(s, &i, &c)) {
      return Status::InvalidArgument(std::string(what) + ": invalid UTF-8 at byte " + std::to_string(at));
    }
    if (c < 0x20 && c != U'\n') {
      return Status::InvalidArgument(std::string(what) + ": control character " + std::to_string(c) +
                                     " at byte " + std::to_string(at) + " (only newline is allowed)");
    }
  }
  return Status::Ok();
}

// Key names: non-empty UTF-8 without Unicode spaces, '+' or control characters.
bool IsValidKeyName(std::string_view name) {
  if (name.empty()) return false;
  size_t i = 0;
  while (i < name.size()) {
    char32_t c;
    if (!NextCodePoint(name, &i, &c) || c < 0x20 || c == U'+' || IsUnicodeSpace(c)) return false;
  }
  return true;
}

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Base64Decode, but first refusing characters outside the alphabet: libsodium 1.0.18 (Debian 12)
// reads every byte >= 0x80 as '/', which would give a signature or key many accepted spellings.
Result<std::string> DecodeBase64(std::string_view text) {
  if (text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") !=
      std::string_view::npos) {
    return Status::InvalidArgument("not strict standard base64 (character outside A-Z a-z 0-9 + / =)");
  }
  return Base64Decode(text);
}

std::string KeyIdHex(uint32_t key_id) {
  const std::array<uint8_t, 4> be = {static_cast<uint8_t>(key_id >> 24), static_cast<uint8_t>(key_id >> 16),
                                     static_cast<uint8_t>(key_id >> 8), static_cast<uint8_t>(key_id)};
  return HexEncode(be);
}

uint64_t ReadBigEndian(std::string_view bytes) {
  uint64_t v = 0;
  for (char c : bytes) v = (v << 8) | static_cast<uint8_t>(c);
  return v;
}

std::string BigEndian(uint64_t v, size_t width) {
  std::string out(width, '\0');
  for (size_t i = width; i-- > 0; v >>= 8) out[i] = static_cast<char>(v & 0xFF);
  return out;
}

uint32_t KeyId(std::string_view name, uint8_t type, const PublicKey& key) {
  (void)InitCrypto();
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  const uint8_t separator[2] = {'\n', type};
  crypto_hash_sha256_update(&state, Bytes(name).data(), name.size());
  crypto_hash_sha256_update(&state, separator, sizeof(separator));
  crypto_hash_sha256_update(&state, key.raw().data(), key.raw().size());
  uint8_t digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state, digest);
  return static_cast<uint32_t>(ReadBigEndian(Chars(std::span(digest, 4))));
}

// ASCII decimal without sign or leading zeros ("0" itself is fine), fitting in 64 bits.
Result<uint64_t> ParseDecimal(std::string_view s, const std::string& what) {
  if (s.empty()) return Status::InvalidArgument(what + ": empty, expected a decimal number");
  if (s.size() > 1 && s[0] == '0') {
    return Status::InvalidArgument(what + ": " + Quoted(s) + " has a leading zero");
  }
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return Status::InvalidArgument(what + ": " + Quoted(s) + " is not a decimal number");
    }
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      return Status::InvalidArgument(what + ": " + Quoted(s) + " does not fit in 64 bits");
    }
    v = v * 10 + digit;
  }
  return v;
}

// Splits newline-terminated lines off the front of a text.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : rest_(text) {}
  // The next line without its '\n'; nullopt if no complete line is left.
  std::optional<std::string_view> Next() {
    const size_t end = rest_.find('\n');
    if (end == std::string_view::npos) return std::nullopt;
    std::string_view line = rest_.substr(0, end);
    rest_.remove_prefix(end + 1);
    return line;
  }
  std::string_view rest() const { return rest_; }

 private:
  std::string_view rest_;
};

}  // namespace

Result<Note> Parse(std::string_view text) {
  PLUMBLINE_RETURN_IF_ERROR(CheckNoteCharacters(text, "signed note"));
  const size_t split = text.rfind("\n\n");
  if (split == std::string_view::npos) {
    return Status::InvalidArgument("signed note: no blank line separating the text from the signatures");
  }
  Note note;
  note.text = std::string(text.substr(0, split + 1));
  std::string_view block = text.substr(split + 2);
  if (block.empty()) return Status::InvalidArgument("signed note: no signature lines after the blank line");
  if (block.back() != '\n') {
    return Status::InvalidArgument("signed note: the last signature line does not end in a newline");
  }
  LineReader lines(block);
  while (std::optional<std::string_view> line = lines.Next()) {
    const std::string where = "signed note: signature line " + std::to_string(note.signatures.size() + 1);
    if (note.signatures.size() == kMaxSignatures) {
      return Status::InvalidArgument("signed note: more than " + std::to_string(kMaxSignatures) +
                                     " signature lines");
    }
    if (!line->starts_with(kSignaturePrefix)) {
      return Status::InvalidArgument(where + ": does not start with an em dash (U+2014) and a space");
    }
    line->remove_prefix(kSignaturePrefix.size());
    const size_t space = line->find(' ');
    if (space == std::string_view::npos) {
      return Status::InvalidArgument(where + ": expected \"— <key name> <base64 signature>\"");
    }
    const std::string_view name = line->substr(0, space);
    if (!IsValidKeyName(name)) {
      return Status::InvalidArgument(where + ": invalid key name " + Quoted(name) +
                                     " (must be non-empty, without spaces or '+')");
    }
    Result<std::string> decoded = DecodeBase64(line->substr(space + 1));
    if (!decoded.ok()) return decoded.status().WithContext(where);
    if (decoded->size() < 5) {
      return Status::InvalidArgument(where + ": signature of " + std::to_string(decoded->size()) +
                                     " bytes; expected a 4-byte key id and a signature");
    }
    note.signatures.push_back(Signature{std::string(name),
                                        static_cast<uint32_t>(ReadBigEndian(decoded->substr(0, 4))),
                                        decoded->substr(4)});
  }
  return note;
}

std::string Format(const Note& note) {
  std::string out = note.text;
  out += '\n';
  for (const Signature& sig : note.signatures) {
    out += kSignaturePrefix;
    out += sig.name;
    out += ' ';
    out += Base64Encode(BigEndian(sig.key_id, 4) + sig.bytes);
    out += '\n';
  }
  return out;
}

uint32_t Ed25519KeyId(std::string_view name, const PublicKey& key) { return KeyId(name, kTypeEd25519, key); }

uint32_t CosignatureKeyId(std::string_view name, const PublicKey& key) {
  return KeyId(name, kTypeCosignatureV1, key);
}

std::string VerifierKey(std::string_view name, const PublicKey& key) {
  std::string material(1, static_cast<char>(kTypeEd25519));
  material += Chars(key.raw());
  return std::string(name) + "+" + KeyIdHex(Ed25519KeyId(name, key)) + "+" + Base64Encode(material);
}

Result<std::pair<std::string, PublicKey>> ParseVerifierKey(std::string_view vkey) {
  const auto malformed = [&](const std::string& why) {
    return Status::InvalidArgument("verifier key " + Quoted(vkey) + ": " + why);
  };
  // The base64 part may itself contain '+', the name and key id cannot.
  const size_t plus1 = vkey.find('+');
  const size_t plus2 = plus1 == std::string_view::npos ? plus1 : vkey.find('+', plus1 + 1);
  if (plus2 == std::string_view::npos) return malformed("expected <name>+<8 hex key id>+<base64 key>");
  const std::string_view name = vkey.substr(0, plus1);
  const std::string_view id_hex = vkey.substr(plus1 + 1, plus2 - plus1 - 1);
  if (!IsValidKeyName(name)) return malformed("invalid key name (must be non-empty, without spaces or '+')");
  if (id_hex.size() != 8 || id_hex.find_first_not_of("0123456789abcdef") != std::string_view::npos) {
    return malformed("key id must be 8 lowercase hex digits");
  }
  Result<std::string> material = DecodeBase64(vkey.substr(plus2 + 1));
  if (!material.ok()) return malformed("key: " + material.status().message());
  if (material->empty() || static_cast<uint8_t>((*material)[0]) != kTypeEd25519) {
    return malformed("not an Ed25519 note key (signature type must be 0x01)");
  }
  Result<PublicKey> key = PublicKey::FromRaw(Bytes(*material).subspan(1));
  if (!key.ok()) return malformed(key.status().message());
  if (KeyIdHex(Ed25519KeyId(name, *key)) != id_hex) {
    return malformed("key id does not match the name and key (expected " +
                     KeyIdHex(Ed25519KeyId(name, *key)) + ")");
  }
  return std::make_pair(std::string(name), std::move(key).value());
}

Signature SignEd25519(std::string_view text, std::string_view name, const SigningKey& key) {
  const Ed25519Signature sig = key.Sign(text);
  return Signature{std::string(name), Ed25519KeyId(name, key.public_key()), std::string(Chars(sig))};
}

Status VerifyEd25519(const Note& note, std::string_view name, const PublicKey& key) {
  const uint32_t key_id = Ed25519KeyId(name, key);
  const std::string who = Quoted(name) + " (key id " + KeyIdHex(key_id) + ")";
  bool verified = false;
  for (const Signature& sig : note.signatures) {
    if (sig.name != name || sig.key_id != key_id) continue;  // someone else's line
    if (!key.Verify(note.text, Bytes(sig.bytes))) {
      return Status::Unauthenticated("signed note: the signature by " + who + " does not verify");
    }
    verified = true;
  }
  if (!verified) {
    return Status::Unauthenticated("signed note: no signature by " + who + " among its " +
                                   std::to_string(note.signatures.size()) + " signature line(s)");
  }
  return Status::Ok();
}

std::string FormatCheckpoint(const Checkpoint& checkpoint) {
  std::string out = checkpoint.origin + "\n" + std::to_string(checkpoint.size) + "\n" +
                    merkle::HashToBase64(checkpoint.root) + "\n";
  for (const std::string& extension : checkpoint.extensions) out += extension + "\n";
  return out;
}

Result<Checkpoint> ParseCheckpoint(std::string_view text) {
  PLUMBLINE_RETURN_IF_ERROR(CheckNoteCharacters(text, "checkpoint"));
  if (text.empty() || text.back() != '\n') {
    return Status::InvalidArgument("checkpoint: the text must end in a newline");
  }
  std::vector<std::string_view> lines;
  LineReader reader(text);
  while (std::optional<std::string_view> line = reader.Next()) {
    if (line->empty()) {
      return Status::InvalidArgument("checkpoint: line " + std::to_string(lines.size() + 1) + " is empty");
    }
    lines.push_back(*line);
  }
  if (lines.size() < 3) {
    return Status::InvalidArgument("checkpoint: expected at least 3 lines (origin, tree size, root hash), got " +
                                   std::to_string(lines.size()));
  }
  Checkpoint checkpoint;
  checkpoint.origin = std::string(lines[0]);
  Result<uint64_t> size = ParseDecimal(lines[1], "checkpoint tree size");
  if (!size.ok()) return size.status();
  checkpoint.size = *size;
  Result<merkle::Hash> root = merkle::HashFromBase64(lines[2]);
  if (!root.ok()) return root.status().WithContext("checkpoint root hash");
  checkpoint.root = *root;
  checkpoint.extensions.assign(lines.begin() + 3, lines.end());
  return checkpoint;
}

std::string CosignatureMessage(uint64_t timestamp, std::string_view checkpoint_text) {
  std::string out(kCosignatureHeader);
  out += "time " + std::to_string(timestamp) + "\n";
  out += checkpoint_text;
  return out;
}

Signature Cosign(std::string_view checkpoint_text, std::string_view witness_name, const SigningKey& key,
                 uint64_t timestamp) {
  assert(timestamp <= kMaxTimestamp);
  const Ed25519Signature sig = key.Sign(CosignatureMessage(timestamp, checkpoint_text));
  return Signature{std::string(witness_name), CosignatureKeyId(witness_name, key.public_key()),
                   BigEndian(timestamp, kTimestampBytes) + std::string(Chars(sig))};
}

Result<uint64_t> VerifyCosignature(const Signature& signature, std::string_view checkpoint_text,
                                   std::string_view witness_name, const PublicKey& key) {
  if (signature.name != witness_name) {
    return Status::Unauthenticated("cosignature: signed by " + Quoted(signature.name) + ", not by witness " +
                                   Quoted(witness_name));
  }
  const uint32_t key_id = CosignatureKeyId(witness_name, key);
  if (signature.key_id != key_id) {
    return Status::Unauthenticated("cosignature: key id " + KeyIdHex(signature.key_id) + " is not witness " +
                                   Quoted(witness_name) + "'s cosignature/v1 key id " + KeyIdHex(key_id));
  }
  if (signature.bytes.size() != kTimestampBytes + kEd25519SignatureBytes) {
    return Status::InvalidArgument("cosignature: " + std::to_string(signature.bytes.size()) +
                                   " bytes after the key id; expected 8 (timestamp) + 64 (Ed25519)");
  }
  const std::string_view bytes = signature.bytes;
  const uint64_t timestamp = ReadBigEndian(bytes.substr(0, kTimestampBytes));
  if (timestamp > kMaxTimestamp) {
    return Status::InvalidArgument("cosignature: timestamp " + std::to_string(timestamp) + " exceeds 2^63 - 1");
  }
  if (!key.Verify(CosignatureMessage(timestamp, checkpoint_text), Bytes(bytes.substr(kTimestampBytes)))) {
    return Status::Unauthenticated("cosignature by witness " + Quoted(witness_name) +
                                   " does not verify over this checkpoint and time " + std::to_string(timestamp));
  }
  return timestamp;
}

std::string FormatTlogProof(const TlogProof& proof) {
  std::string out(kTlogProofHeader);
  out += '\n';
  if (proof.extra) out += "extra " + Base64Encode(*proof.extra) + "\n";
  out += "index " + std::to_string(proof.index) + "\n";
  for (const merkle::Hash& hash : proof.inclusion) out += merkle::HashToBase64(hash) + "\n";
  out += '\n';
  out += proof.checkpoint;
  return out;
}

Result<TlogProof> ParseTlogProof(std::string_view text) {
  const auto malformed = [](const std::string& why) { return Status::InvalidArgument("tlog-proof: " + why); };
  LineReader lines(text);
  TlogProof proof;
  std::optional<std::string_view> line = lines.Next();
  if (!line || *line != kTlogProofHeader) {
    return malformed("the first line must be " + Quoted(kTlogProofHeader));
  }
  line = lines.Next();
  if (line && line->starts_with("extra ")) {
    Result<std::string> extra = DecodeBase64(line->substr(6));
    if (!extra.ok()) return extra.status().WithContext("tlog-proof: extra");
    proof.extra = std::move(extra).value();
    line = lines.Next();
  }
  if (!line || !line->starts_with("index ")) return malformed("expected the line \"index <decimal>\"");
  Result<uint64_t> index = ParseDecimal(line->substr(6), "tlog-proof: index");
  if (!index.ok()) return index.status();
  proof.index = *index;
  for (line = lines.Next(); line && !line->empty(); line = lines.Next()) {
    if (proof.inclusion.size() == kMaxInclusionHashes) {
      return malformed("more than " + std::to_string(kMaxInclusionHashes) + " inclusion proof hashes");
    }
    Result<merkle::Hash> hash = merkle::HashFromBase64(*line);
    if (!hash.ok()) {
      return hash.status().WithContext("tlog-proof: inclusion proof hash " +
                                       std::to_string(proof.inclusion.size() + 1));
    }
    proof.inclusion.push_back(*hash);
  }
  if (!line) return malformed("no blank line before the checkpoint");
  proof.checkpoint = std::string(lines.rest());
  Result<Note> note = Parse(proof.checkpoint);
  if (!note.ok()) return note.status().WithContext("tlog-proof: checkpoint");
  Result<Checkpoint> checkpoint = ParseCheckpoint(note->text);
  if (!checkpoint.ok()) return checkpoint.status().WithContext("tlog-proof");
  return proof;
}

}  // namespace plumbline::attest::note
