#include "plumbline/attest/audit.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <limits>
#include <thread>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <sodium.h>

#include "canonical_scan.h"
#include "plumbline/attest/canonical_json.h"
#include "plumbline/attest/dsse.h"

namespace plumbline::attest::audit {

// What the chain auditor needs from one verified snapshot.
struct ChainFields {
  std::string origin;
  uint64_t sequence = 0;
  int64_t time = 0;
  std::string previous_hash;
  std::string payload_hash;
};

namespace {

std::string RawToBase64(const PublicKey& key) {
  const auto& raw = key.raw();
  return Base64Encode(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
}

Result<PublicKey> KeyFromBase64(const std::string& text, const std::string& field) {
  auto raw = Base64Decode(text);
  if (!raw.ok()) return Status::InvalidArgument(field + ": not strict base64");
  auto key = PublicKey::FromRaw(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(raw->data()), raw->size()));
  if (!key.ok()) return Status::InvalidArgument(field + ": " + key.status().message());
  return key;
}

Result<int64_t> ParseNanos(const nlohmann::json& v, const std::string& field) {
  if (!v.is_string()) return Status::InvalidArgument(field + ": expected a decimal string");
  const std::string& s = v.get_ref<const std::string&>();
  int64_t out = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || (s.size() > 1 && s[0] == '0') ||
      s[0] == '+') {
    return Status::InvalidArgument(field + ": \"" + s + "\" is not a decimal integer");
  }
  return out;
}

Result<uint64_t> ParseCount(const nlohmann::json& v, const std::string& field) {
  if (!v.is_number_unsigned()) return Status::InvalidArgument(field + ": expected a non-negative integer");
  return v.get<uint64_t>();
}

Status ExpectMembers(const nlohmann::json& doc, std::initializer_list<const char*> names, const std::string& what) {
  if (!doc.is_object()) return Status::InvalidArgument(what + ": expected a JSON object");
  for (const char* n : names) {
    if (!doc.contains(n)) return Status::InvalidArgument(what + ": member \"" + n + "\" is missing");
  }
  if (doc.size() != names.size()) return Status::InvalidArgument(what + ": unexpected members");
  return Status::Ok();
}

std::string HashB64(const merkle::Hash& h) { return merkle::HashToBase64(h); }

}  // namespace

// ---- Key announcements ---------------------------------------------------------------------------

Result<std::string> SignKeyAnnouncement(const KeyAnnouncement& a, const SigningKey& previous) {
  if (previous.public_key().raw() != a.previous_key.raw()) {
    return Status::InvalidArgument("a key announcement must be signed by the previous key");
  }
  if (a.rotation == 0 || a.origin.empty()) {
    return Status::InvalidArgument("key announcement needs an origin and a rotation number >= 1");
  }
  nlohmann::json doc = {{"new_key_id", a.new_key.KeyId()},
                        {"new_public_key", RawToBase64(a.new_key)},
                        {"origin", a.origin},
                        {"previous_key_id", a.previous_key.KeyId()},
                        {"previous_public_key", RawToBase64(a.previous_key)},
                        {"root", HashB64(a.root)},
                        {"rotation", a.rotation},
                        {"time", std::to_string(a.time_unix_nanos)},
                        {"tree_size", a.tree_size}};
  auto payload = Canonicalize(doc);
  if (!payload.ok()) return payload.status();
  return EnvelopeToJson(SignEnvelope(kKeyAnnouncementPayloadType, *payload, previous));
}

Result<KeyAnnouncement> ParseKeyAnnouncement(std::string_view envelope_json) {
  auto env = ParseEnvelope(envelope_json);
  if (!env.ok()) return env.status().WithContext("key announcement");
  if (env->payload_type != kKeyAnnouncementPayloadType) {
    return Status::InvalidArgument("key announcement: payload type is \"" + env->payload_type + "\", expected \"" +
                                   std::string(kKeyAnnouncementPayloadType) + "\"");
  }
  auto doc = ParseStrictJson(env->payload);
  if (!doc.ok()) return doc.status().WithContext("key announcement payload");
  if (!IsCanonical(env->payload)) return Status::InvalidArgument("key announcement payload is not canonical JSON");
  const std::string what = "key announcement payload";
  PLUMBLINE_RETURN_IF_ERROR(ExpectMembers(*doc,
                                          {"new_key_id", "new_public_key", "origin", "previous_key_id",
                                           "previous_public_key", "root", "rotation", "time", "tree_size"},
                                          what));
  const nlohmann::json& d = *doc;
  for (const char* s : {"new_key_id", "new_public_key", "origin", "previous_key_id", "previous_public_key", "root"}) {
    if (!d[s].is_string()) return Status::InvalidArgument(what + ": \"" + s + "\" must be a string");
  }
  KeyAnnouncement a;
  a.origin = d["origin"].get<std::string>();
  auto rotation = ParseCount(d["rotation"], what + ": rotation");
  if (!rotation.ok()) return rotation.status();
  a.rotation = *rotation;
  auto size = ParseCount(d["tree_size"], what + ": tree_size");
  if (!size.ok()) return size.status();
  a.tree_size = *size;
  auto time = ParseNanos(d["time"], what + ": time");
  if (!time.ok()) return time.status();
  a.time_unix_nanos = *time;
  auto prev = KeyFromBase64(d["previous_public_key"].get<std::string>(), what + ": previous_public_key");
  if (!prev.ok()) return prev.status();
  auto next = KeyFromBase64(d["new_public_key"].get<std::string>(), what + ": new_public_key");
  if (!next.ok()) return next.status();
  a.previous_key = *prev;
  a.new_key = *next;
  if (d["previous_key_id"] != a.previous_key.KeyId() || d["new_key_id"] != a.new_key.KeyId()) {
    return Status::InvalidArgument(what + ": a key id does not match its public key");
  }
  auto root = merkle::HashFromBase64(d["root"].get<std::string>());
  if (!root.ok()) return Status::InvalidArgument(what + ": root: " + root.status().message());
  a.root = *root;
  return a;
}

// ---- Key ring --------------------------------------------------------------------------------------

KeyRing::KeyRing(std::vector<PublicKey> keys) {
  for (auto& k : keys) windows_.push_back(KeyWindow{k, k.KeyId(), 1, std::nullopt, std::nullopt, std::nullopt});
}

Result<KeyRing> KeyRing::FromHistory(const PublicKey& pinned, std::string_view origin,
                                     const std::vector<std::string>& announcements) {
  KeyRing ring;
  ring.windows_.push_back(KeyWindow{pinned, pinned.KeyId(), 1, std::nullopt, std::nullopt, std::nullopt});
  bool started = false;  // has the pinned key been seen as current yet?
  for (size_t i = 0; i < announcements.size(); ++i) {
    const std::string label = "key announcement " + std::to_string(i + 1);
    auto a = ParseKeyAnnouncement(announcements[i]);
    if (!a.ok()) return a.status().WithContext(label);
    if (a->rotation != i + 1) {
      return Status::InvalidArgument(label + ": rotation number " + std::to_string(a->rotation) + " out of order");
    }
    if (a->origin != origin) {
      return Status::InvalidArgument(label + ": origin \"" + a->origin + "\" is not \"" + std::string(origin) + "\"");
    }
    if (!started) {
      if (a->new_key.raw() == pinned.raw()) {
        // The pinned key starts here; nothing older is trusted.
        started = true;
        KeyWindow& w = ring.windows_.back();
        w.first_sequence = a->tree_size + 1;
        w.valid_from = a->time_unix_nanos;
        continue;
      }
      if (a->previous_key.raw() != pinned.raw()) continue;
      started = true;  // the pinned key was current before this rotation: verify from here
    }
    KeyWindow& current = ring.windows_.back();
    if (a->previous_key.raw() != current.key.raw()) {
      return Status::Unauthenticated(label + ": names previous key " + a->previous_key.KeyId() +
                                     ", but the current key is " + current.key_id);
    }
    auto env = ParseEnvelope(announcements[i]);
    if (!env.ok()) return env.status();
    if (Status s = VerifyEnvelope(*env, kKeyAnnouncementPayloadType, current.key); !s.ok()) {
      return Status::Unauthenticated(label + ": not signed by the key it replaces: " + s.message());
    }
    if (a->tree_size + 1 < current.first_sequence ||
        (current.valid_from && a->time_unix_nanos < *current.valid_from)) {
      return Status::InvalidArgument(label + ": tree size or time goes backwards");
    }
    for (const KeyWindow& w : ring.windows_) {
      if (w.key.raw() == a->new_key.raw()) return Status::InvalidArgument(label + ": reuses key " + w.key_id);
    }
    current.last_sequence = a->tree_size;
    current.valid_until = a->time_unix_nanos;
    ring.windows_.push_back(
        KeyWindow{a->new_key, a->new_key.KeyId(), a->tree_size + 1, std::nullopt, a->time_unix_nanos, std::nullopt});
  }
  if (!started && !announcements.empty()) {
    return Status::Unauthenticated("the pinned key " + pinned.KeyId() + " does not appear in the key history");
  }
  return ring;
}

Result<PublicKey> KeyRing::ForSnapshot(std::string_view key_id, uint64_t sequence, int64_t time) const {
  for (const KeyWindow& w : windows_) {
    if (w.key_id != key_id) continue;
    if (sequence < w.first_sequence || (w.last_sequence && sequence > *w.last_sequence)) {
      return Status::Unauthenticated("snapshot " + std::to_string(sequence) + " is signed by key " + w.key_id +
                                     ", which is not valid for that sequence");
    }
    if ((w.valid_from && time < *w.valid_from) || (w.valid_until && time >= *w.valid_until)) {
      return Status::Unauthenticated("snapshot " + std::to_string(sequence) + " at time " + std::to_string(time) +
                                     " is outside the validity window of key " + w.key_id);
    }
    return w.key;
  }
  return Status::Unauthenticated("snapshot " + std::to_string(sequence) + " is signed by key " +
                                 std::string(key_id) + ", which is not a trusted key");
}

Status KeyRing::VerifyCheckpointSignature(const note::Note& signed_note, std::string_view origin,
                                          uint64_t size) const {
  bool any_key_line = false;
  for (const KeyWindow& w : windows_) {
    const uint32_t id = note::Ed25519KeyId(origin, w.key);
    bool has_line = false;
    for (const auto& s : signed_note.signatures) has_line = has_line || (s.name == origin && s.key_id == id);
    if (!has_line) continue;
    any_key_line = true;
    if (size + 1 < w.first_sequence || (w.last_sequence && size > *w.last_sequence)) continue;
    if (note::VerifyEd25519(signed_note, origin, w.key).ok()) return Status::Ok();
    return Status::Unauthenticated("the checkpoint signature by key " + w.key_id + " does not verify");
  }
  return Status::Unauthenticated(any_key_line ? "the checkpoint of size " + std::to_string(size) +
                                                    " is signed by a key outside its validity window"
                                              : "the checkpoint carries no signature named \"" + std::string(origin) +
                                                    "\" by a trusted key");
}

Result<note::Checkpoint> VerifyCheckpoint(std::string_view signed_note, const KeyRing& ring, std::string_view origin) {
  auto n = note::Parse(signed_note);
  if (!n.ok()) return n.status().WithContext("checkpoint note");
  auto c = note::ParseCheckpoint(n->text);
  if (!c.ok()) return c.status().WithContext("checkpoint");
  if (!origin.empty() && c->origin != origin) {
    return Status::Unauthenticated("checkpoint origin \"" + c->origin + "\" is not the audited log \"" +
                                   std::string(origin) + "\"");
  }
  PLUMBLINE_RETURN_IF_ERROR(ring.VerifyCheckpointSignature(*n, c->origin, c->size));
  return c;
}

// ---- Snapshots -----------------------------------------------------------------------------------

namespace {

// Parses and verifies one snapshot envelope under the ring (key chosen by id, sequence and time).
Result<SignedSnapshot> VerifyWithRing(std::string_view envelope_json, const KeyRing& ring) {
  auto env = ParseEnvelope(envelope_json);
  if (!env.ok()) return env.status();
  if (env->payload_type != kSnapshotPayloadType) {
    return Status::InvalidArgument("payload type is \"" + env->payload_type + "\", expected \"" +
                                   std::string(kSnapshotPayloadType) + "\"");
  }
  // The payload is parsed (strictly, canonical form checked) before the signature so that the key
  // can be chosen by its id and the snapshot's sequence and time; nothing is trusted until the
  // signature below verifies.
  auto snap = ParseSnapshotPayload(env->payload);
  if (!snap.ok()) return snap.status();
  auto key = ring.ForSnapshot(snap->key_id, snap->sequence, snap->time_unix_nanos);
  if (!key.ok()) return key.status();
  const EnvelopeSignature* sig = nullptr;
  for (const auto& s : env->signatures) {
    if (s.keyid == snap->key_id) sig = &s;
  }
  if (sig == nullptr) return Status::Unauthenticated("no envelope signature by key " + snap->key_id);
  if (!key->Verify(Pae(env->payload_type, env->payload),
                   std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(sig->sig.data()), sig->sig.size()))) {
    return Status::Unauthenticated("snapshot " + std::to_string(snap->sequence) + ": signature by key " +
                                   snap->key_id + " does not verify");
  }
  SignedSnapshot out;
  out.snapshot = std::move(snap).value();
  out.payload_hash = Sha256Hex(env->payload);
  out.payload = std::move(env->payload);
  out.envelope_json = std::string(envelope_json);
  return out;
}

// The canonical single-signature envelope EnvelopeToJson writes, field by field without a JSON
// parser: {"payload":"B64","payloadType":"T","signatures":[{"keyid":"K","sig":"B64"}]}.
// nullopt for anything else (the caller then uses ParseEnvelope).
std::optional<Envelope> ScanEnvelope(std::string_view text) {
  static constexpr std::string_view kParts[] = {R"({"payload":")", R"(","payloadType":")",
                                                R"(","signatures":[{"keyid":")", R"(","sig":")", R"("}]})"};
  std::string_view fields[4];
  size_t pos = 0;
  for (size_t k = 0; k < 5; ++k) {
    if (text.substr(pos, kParts[k].size()) != kParts[k]) return std::nullopt;
    pos += kParts[k].size();
    if (k == 4) break;
    const size_t end = text.find('"', pos);
    if (end == std::string_view::npos) return std::nullopt;
    fields[k] = text.substr(pos, end - pos);
    for (char c : fields[k]) {
      if (c == '\\' || static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x80) return std::nullopt;
    }
    pos = end;
  }
  if (pos != text.size()) return std::nullopt;
  auto payload = scan::FastBase64Decode(fields[0]);
  auto sig = scan::FastBase64Decode(fields[3]);
  if (!payload || !sig || sig->size() != 64) return std::nullopt;
  Envelope env;
  env.payload = std::move(*payload);
  env.payload_type = std::string(fields[1]);
  env.signatures.push_back({std::string(fields[2]), std::move(*sig)});
  return env;
}

// SHA-256 through OpenSSL's EVP, which uses the CPU's SHA extensions where present: on the
// audit's hot path the two hashes per snapshot (payload and leaf) cost more than the signature
// check with libsodium's portable SHA-256. Same function, same bytes; `prefix` (0 or 1 byte) is
// hashed first (the RFC 6962 leaf prefix).
merkle::Hash FastSha256(std::string_view prefix, std::string_view data) {
  merkle::Hash out{};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned int len = 0;
  const bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
                  EVP_DigestUpdate(ctx, prefix.data(), prefix.size()) == 1 &&
                  EVP_DigestUpdate(ctx, data.data(), data.size()) == 1 && EVP_DigestFinal_ex(ctx, out.data(), &len) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok || len != out.size()) {  // OpenSSL failing to hash: fall back to libsodium
    if (!prefix.empty()) return merkle::LeafHash(data);
    crypto_hash_sha256(out.data(), reinterpret_cast<const unsigned char*>(data.data()), data.size());
  }
  return out;
}

bool LowerHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The auditor's hot path: the envelope and payload checked in one pass each, without building a
// JSON document (canonical_scan.h), then the signature. Anything outside the fast path's subset
// goes through VerifyWithRing, which applies the full parsers and reports precise errors. Either
// way: exact canonical form, the key chosen by id, sequence and time, and the signature verified.
// The mark schema is not re-checked here (attest verify and VerifyBundle do that).
Result<ChainFields> VerifyChainFields(std::string_view envelope_json, const KeyRing& ring) {
  auto slow = [&]() -> Result<ChainFields> {
    auto full = VerifyWithRing(envelope_json, ring);
    if (!full.ok()) return full.status();
    return ChainFields{full->snapshot.origin, full->snapshot.sequence, full->snapshot.time_unix_nanos,
                       full->snapshot.previous_hash, full->payload_hash};
  };
  auto env = ScanEnvelope(envelope_json);
  if (!env || env->payload_type != kSnapshotPayloadType) return slow();
  scan::TopLevel top;
  if (scan::ScanCanonicalObject(env->payload, &top) != scan::Verdict::kCanonical) return slow();
  auto str = [&](const char* k) -> std::optional<std::string_view> {
    auto it = top.strings.find(k);
    return it == top.strings.end() ? std::nullopt : std::optional<std::string_view>(it->second);
  };
  auto key_id = str("key_id"), origin = str("origin"), previous = str("previous_hash"), time_text = str("time");
  auto seq = top.integers.find("sequence");
  if (!key_id || !origin || !previous || !time_text || seq == top.integers.end() || seq->second < 1 ||
      !LowerHex64(*key_id) || !LowerHex64(*previous) || origin->empty() || !str("config_digest")) {
    return slow();
  }
  int64_t time = 0;
  auto [end, ec] = std::from_chars(time_text->data(), time_text->data() + time_text->size(), time);
  if (ec != std::errc() || end != time_text->data() + time_text->size() || time_text->empty() ||
      ((*time_text)[0] == '0' && time_text->size() > 1) || (*time_text)[0] == '+') {
    return slow();
  }
  const uint64_t sequence = static_cast<uint64_t>(seq->second);
  auto key = ring.ForSnapshot(*key_id, sequence, time);
  if (!key.ok()) return key.status();
  const EnvelopeSignature& sig = env->signatures[0];
  if (sig.keyid != *key_id) return Status::Unauthenticated("no envelope signature by key " + std::string(*key_id));
  if (!key->Verify(Pae(env->payload_type, env->payload),
                   std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(sig.sig.data()), sig.sig.size()))) {
    return Status::Unauthenticated("snapshot " + std::to_string(sequence) + ": signature by key " +
                                   std::string(*key_id) + " does not verify");
  }
  const merkle::Hash payload_hash = FastSha256("", env->payload);
  return ChainFields{std::string(*origin), sequence, time, std::string(*previous), HexEncode(payload_hash)};
}

}  // namespace

Result<VerifiedBundle> VerifyBundle(std::string_view bundle, const KeyRing& ring, std::string_view origin) {
  auto proof = note::ParseTlogProof(bundle);
  if (!proof.ok()) return proof.status().WithContext("bundle");
  auto checkpoint = VerifyCheckpoint(proof->checkpoint, ring, origin);
  if (!checkpoint.ok()) return checkpoint.status();
  if (!proof->extra) return Status::InvalidArgument("bundle has no extra line (the snapshot envelope)");
  const merkle::Hash leaf = merkle::LeafHash(*proof->extra);
  if (Status s = merkle::VerifyInclusion(proof->index, checkpoint->size, leaf, proof->inclusion, checkpoint->root);
      !s.ok()) {
    return Status::Corruption("inclusion proof for leaf " + std::to_string(proof->index) + " in the tree of size " +
                              std::to_string(checkpoint->size) + " does not verify: " + s.message());
  }
  auto snap = VerifyWithRing(*proof->extra, ring);
  if (!snap.ok()) return snap.status().WithContext("bundled snapshot");
  if (snap->snapshot.sequence != proof->index + 1) {
    return Status::Corruption("bundled snapshot says sequence " + std::to_string(snap->snapshot.sequence) +
                              " but sits at leaf index " + std::to_string(proof->index));
  }
  if (snap->snapshot.origin != checkpoint->origin) {
    return Status::Corruption("bundled snapshot origin \"" + snap->snapshot.origin + "\" is not the log's \"" +
                              checkpoint->origin + "\"");
  }
  return VerifiedBundle{std::move(checkpoint).value(), std::move(snap).value()};
}

// ---- Audit state ---------------------------------------------------------------------------------

std::string FormatAuditState(const AuditState& s) {
  nlohmann::json frontier = nlohmann::json::array();
  for (const auto& h : s.frontier) frontier.push_back(HashB64(h));
  auto f = merkle::Frontier::FromSubtrees(s.tree_size, s.frontier);
  nlohmann::json doc = {{"checkpoint", s.checkpoint},
                        {"frontier", frontier},
                        {"last_time", std::to_string(s.last_time)},
                        {"next_previous_hash", s.next_previous_hash},
                        {"origin", s.origin},
                        {"root", HashB64(f.ok() ? f->Root() : merkle::EmptyRoot())},
                        {"tree_size", s.tree_size}};
  return doc.dump(2) + "\n";
}

Result<AuditState> ParseAuditState(std::string_view json_text) {
  auto doc = ParseStrictJson(json_text);
  if (!doc.ok()) return doc.status().WithContext("audit state");
  const std::string what = "audit state";
  PLUMBLINE_RETURN_IF_ERROR(ExpectMembers(
      *doc, {"checkpoint", "frontier", "last_time", "next_previous_hash", "origin", "root", "tree_size"}, what));
  const nlohmann::json& d = *doc;
  if (!d["checkpoint"].is_string() || !d["origin"].is_string() || !d["next_previous_hash"].is_string() ||
      !d["root"].is_string() || !d["frontier"].is_array()) {
    return Status::InvalidArgument(what + ": a member has the wrong type");
  }
  AuditState s;
  s.checkpoint = d["checkpoint"].get<std::string>();
  s.origin = d["origin"].get<std::string>();
  s.next_previous_hash = d["next_previous_hash"].get<std::string>();
  auto size = ParseCount(d["tree_size"], what + ": tree_size");
  if (!size.ok()) return size.status();
  s.tree_size = *size;
  auto t = ParseNanos(d["last_time"], what + ": last_time");
  if (!t.ok()) return t.status();
  s.last_time = *t;
  for (const auto& h : d["frontier"]) {
    if (!h.is_string()) return Status::InvalidArgument(what + ": frontier entries must be strings");
    auto hash = merkle::HashFromBase64(h.get<std::string>());
    if (!hash.ok()) return Status::InvalidArgument(what + ": frontier: " + hash.status().message());
    s.frontier.push_back(*hash);
  }
  auto frontier = merkle::Frontier::FromSubtrees(s.tree_size, s.frontier);
  if (!frontier.ok()) return Status::Corruption(what + ": " + frontier.status().message());
  if (HashB64(frontier->Root()) != d["root"].get<std::string>()) {
    return Status::Corruption(what + ": the frontier does not hash to the remembered root");
  }
  return s;
}

// ---- Chain auditor -------------------------------------------------------------------------------

ChainAuditor::ChainAuditor(const KeyRing& ring, AuditState start) : ring_(ring), state_(std::move(start)) {
  auto f = merkle::Frontier::FromSubtrees(state_.tree_size, state_.frontier);
  if (f.ok()) frontier_ = std::move(f).value();
  // A mismatched frontier leaves frontier_ empty with size 0 != tree_size; AddSnapshot refuses.
}

Status ChainAuditor::AddSnapshot(std::string_view envelope_json) {
  return Append(envelope_json, VerifyChainFields(envelope_json, ring_));
}

Status ChainAuditor::AddSnapshots(std::span<const std::string> envelopes, unsigned threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<size_t>(threads, envelopes.size()));
  std::vector<std::optional<Result<ChainFields>>> verified(envelopes.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < envelopes.size();) verified[i].emplace(VerifyChainFields(envelopes[i], ring_));
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  for (size_t i = 0; i < envelopes.size(); ++i) {
    PLUMBLINE_RETURN_IF_ERROR(Append(envelopes[i], std::move(*verified[i])));
  }
  return Status::Ok();
}

Status ChainAuditor::Append(std::string_view envelope_json, const Result<ChainFields>& snap) {
  if (frontier_.size() != state_.tree_size) {
    return Status::Corruption("audit state: the frontier does not match tree size " + std::to_string(state_.tree_size));
  }
  const uint64_t expected = state_.tree_size + 1;
  if (!snap.ok()) return snap.status().WithContext("snapshot " + std::to_string(expected));
  const ChainFields& s = *snap;
  const std::string label = "snapshot " + std::to_string(expected);
  if (s.sequence != expected) {
    return Status::Corruption(label + ": payload says sequence " + std::to_string(s.sequence));
  }
  if (!state_.origin.empty() && s.origin != state_.origin) {
    return Status::Corruption(label + ": origin \"" + s.origin + "\" is not \"" + state_.origin + "\"");
  }
  if (s.previous_hash != state_.next_previous_hash) {
    return Status::Corruption(label + ": chain link broken: previous_hash " + s.previous_hash +
                              " is not the payload hash " + state_.next_previous_hash + " of snapshot " +
                              std::to_string(state_.tree_size));
  }
  if (state_.tree_size > 0 && s.time < state_.last_time) {
    return Status::Corruption(label + ": time goes backwards");
  }
  frontier_.Append(FastSha256(std::string_view("\0", 1), envelope_json));
  state_.tree_size = expected;
  state_.next_previous_hash = snap->payload_hash;
  state_.last_time = s.time;
  if (state_.origin.empty()) state_.origin = s.origin;
  return Status::Ok();
}

AuditState ChainAuditor::state() const {
  AuditState out = state_;
  out.frontier = frontier_.subtrees();
  return out;
}

}  // namespace plumbline::attest::audit
