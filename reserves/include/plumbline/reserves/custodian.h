// Custodian statement verification: a submission (see attest/reserve_attestation.h) is accepted
// only if it is signed by the custodian's pinned identity:
//   - Ed25519: a DSSE signature by the pinned public key (keyid = Plumbline key id rule), verified
//     with attest::VerifyEnvelope; a submission carrying a certificate is refused.
//   - ECDSA P-256 / SHA-256 under X.509: the submission's certificate must chain to the pinned CA
//     (OpenSSL X509_verify_cert, at the injected clock's time: an expired or not-yet-valid
//     certificate is refused), hold a P-256 key, and the DSSE signature (64 bytes r||s over PAE)
//     must verify under it. keyid = lowercase hex SHA-256 of the certificate's DER
//     SubjectPublicKeyInfo.
// The payload must then parse as a statement whose custodian_id and account are the pinned ones.
//
// Errors: InvalidArgument (malformed), Unauthenticated (unknown key, bad signature, certificate
// not trusted / expired), FailedPrecondition (statement of another custodian or account).
//
// Thread safety: pure functions.
#pragma once

#include <string>

#include "plumbline/attest/reserve_attestation.h"
#include "plumbline/reserves/config.h"

namespace plumbline::reserves {

Result<attest::CustodianStatement> VerifyCustodianSubmission(const attest::CustodianSubmission& submission,
                                                             const CustodianConfig& custodian,
                                                             int64_t now_unix_nanos);

// keyid of an ECDSA signer: SHA-256 hex of the certificate's DER SubjectPublicKeyInfo.
Result<std::string> CertificateKeyId(const std::string& certificate_pem);

}  // namespace plumbline::reserves
