// DSSE envelopes (https://github.com/secure-systems-lab/dsse, protocol v1) with Ed25519.
//
// Envelope JSON: {"payloadType": T, "payload": base64(B), "signatures": [{"keyid": K, "sig":
// base64(S)}]}, where S = Ed25519(PAE(T, B)) and
//   PAE(T, B) = "DSSEv1" SP LEN(T) SP T SP LEN(B) SP B   (LEN = ASCII decimal byte count).
// The payload type is the domain separation between document kinds. Plumbline payloads are
// RFC 8785 canonical JSON and Verify insists on it.
//
// Thread safety: pure functions over values.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "plumbline/attest/keys.h"
#include "plumbline/status.h"

namespace plumbline::attest {

struct EnvelopeSignature {
  std::string keyid;
  std::string sig;  // raw 64 signature bytes
};

struct Envelope {
  std::string payload_type;
  std::string payload;  // raw payload bytes (not base64)
  std::vector<EnvelopeSignature> signatures;
};

std::string Pae(std::string_view payload_type, std::string_view payload);

Envelope SignEnvelope(std::string_view payload_type, std::string payload, const SigningKey& key);

// Canonical (RFC 8785) JSON text of the envelope.
std::string EnvelopeToJson(const Envelope& envelope);

// Strict parse: exactly the three members, types as above, base64 that decodes, each signature
// exactly 64 bytes. InvalidArgument says which member is wrong.
Result<Envelope> ParseEnvelope(std::string_view json_text);

// OK only if: payload_type == expected_type (else InvalidArgument "payload type ... expected ..."),
// the payload is RFC 8785 canonical JSON (else Corruption), and a signature whose keyid is
// key.KeyId() verifies over PAE (else Unauthenticated; NotFound-style Unauthenticated when no
// signature carries that keyid).
Status VerifyEnvelope(const Envelope& envelope, std::string_view expected_type, const PublicKey& key);

}  // namespace plumbline::attest
