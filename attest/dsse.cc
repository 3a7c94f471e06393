#include "plumbline/attest/dsse.h"

#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "plumbline/attest/canonical_json.h"

namespace plumbline::attest {
namespace {

std::string_view AsChars(const Ed25519Signature& sig) {
  return {reinterpret_cast<const char*>(sig.data()), sig.size()};
}

Result<std::string> StringMember(const nlohmann::json& obj, const char* name, const char* where) {
  auto it = obj.find(name);
  if (it == obj.end()) return Status::InvalidArgument(std::string(where) + ": missing \"" + name + "\"");
  if (!it->is_string()) {
    return Status::InvalidArgument(std::string(where) + ": \"" + name + "\" must be a string");
  }
  return it->get<std::string>();
}

Status OnlyMembers(const nlohmann::json& obj, std::initializer_list<const char*> allowed,
                   const char* where) {
  for (const auto& [key, value] : obj.items()) {
    bool known = false;
    for (const char* a : allowed) known = known || key == a;
    if (!known) {
      return Status::InvalidArgument(std::string(where) + ": unknown member \"" + key + "\"");
    }
  }
  return Status::Ok();
}

Result<Envelope> ParseEnvelopeJson(const nlohmann::json& doc) {
  if (!doc.is_object()) return Status::InvalidArgument("DSSE envelope: not a JSON object");
  PLUMBLINE_RETURN_IF_ERROR(
      OnlyMembers(doc, {"payloadType", "payload", "signatures"}, "DSSE envelope"));
  Envelope env;
  auto type = StringMember(doc, "payloadType", "DSSE envelope");
  if (!type.ok()) return type.status();
  env.payload_type = std::move(*type);
  auto payload64 = StringMember(doc, "payload", "DSSE envelope");
  if (!payload64.ok()) return payload64.status();
  auto payload = Base64Decode(*payload64);
  if (!payload.ok()) return payload.status().WithContext("DSSE envelope: \"payload\"");
  env.payload = std::move(*payload);

  auto sigs = doc.find("signatures");
  if (sigs == doc.end()) return Status::InvalidArgument("DSSE envelope: missing \"signatures\"");
  if (!sigs->is_array() || sigs->empty()) {
    return Status::InvalidArgument("DSSE envelope: \"signatures\" must be a non-empty array");
  }
  for (size_t i = 0; i < sigs->size(); ++i) {
    const std::string where = "DSSE envelope: signatures[" + std::to_string(i) + "]";
    const auto& s = (*sigs)[i];
    if (!s.is_object()) return Status::InvalidArgument(where + ": not an object");
    PLUMBLINE_RETURN_IF_ERROR(OnlyMembers(s, {"keyid", "sig"}, where.c_str()));
    auto keyid = StringMember(s, "keyid", where.c_str());
    if (!keyid.ok()) return keyid.status();
    auto sig64 = StringMember(s, "sig", where.c_str());
    if (!sig64.ok()) return sig64.status();
    auto sig = Base64Decode(*sig64);
    if (!sig.ok()) return sig.status().WithContext(where + ": \"sig\"");
    if (sig->size() != 64) {
      return Status::InvalidArgument(where + ": \"sig\" must decode to 64 bytes, got " +
                                     std::to_string(sig->size()));
    }
    env.signatures.push_back({std::move(*keyid), std::move(*sig)});
  }
  return env;
}

}  // namespace

std::string Pae(std::string_view payload_type, std::string_view payload) {
  std::string out = "DSSEv1 ";
  out += std::to_string(payload_type.size());
  out += ' ';
  out += payload_type;
  out += ' ';
  out += std::to_string(payload.size());
  out += ' ';
  out += payload;
  return out;
}

Envelope SignEnvelope(std::string_view payload_type, std::string payload, const SigningKey& key) {
  Envelope env;
  env.payload_type = std::string(payload_type);
  env.payload = std::move(payload);
  const Ed25519Signature sig = key.Sign(Pae(env.payload_type, env.payload));
  env.signatures.push_back({key.KeyId(), std::string(AsChars(sig))});
  return env;
}

std::string EnvelopeToJson(const Envelope& envelope) {
  nlohmann::json doc = nlohmann::json::object();
  doc["payloadType"] = envelope.payload_type;
  doc["payload"] = Base64Encode(envelope.payload);
  nlohmann::json sigs = nlohmann::json::array();
  for (const auto& s : envelope.signatures) {
    sigs.push_back({{"keyid", s.keyid}, {"sig", Base64Encode(s.sig)}});
  }
  doc["signatures"] = std::move(sigs);
  auto text = Canonicalize(doc);
  // Only invalid UTF-8 in payload_type or a keyid can fail; such an envelope has no JSON form.
  return text.ok() ? std::move(*text) : std::string();
}

Result<Envelope> ParseEnvelope(std::string_view json_text) {
  auto doc = ParseStrictJson(json_text);
  if (!doc.ok()) return doc.status().WithContext("DSSE envelope");
  try {
    return ParseEnvelopeJson(*doc);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("DSSE envelope: ") + e.what());
  }
}

Status VerifyEnvelope(const Envelope& envelope, std::string_view expected_type,
                      const PublicKey& key) {
  if (envelope.payload_type != expected_type) {
    return Status::InvalidArgument("payload type is \"" + envelope.payload_type + "\", expected \"" +
                                   std::string(expected_type) + "\"");
  }
  if (!IsCanonical(envelope.payload)) {
    return Status::Corruption("payload is not RFC 8785 canonical JSON");
  }
  const std::string key_id = key.KeyId();
  const std::string pae = Pae(envelope.payload_type, envelope.payload);
  bool found = false;
  for (const auto& s : envelope.signatures) {
    if (s.keyid != key_id) continue;
    found = true;
    if (key.Verify(pae, std::span<const uint8_t>(
                            reinterpret_cast<const uint8_t*>(s.sig.data()), s.sig.size()))) {
      return Status::Ok();
    }
  }
  if (!found) {
    return Status::Unauthenticated("no signature with key id " + key_id +
                                   " (the envelope was signed by a different key)");
  }
  return Status::Unauthenticated("signature by key id " + key_id +
                                 " does not verify (payload or signature altered)");
}

}  // namespace plumbline::attest
