#include "plumbline/reserves/custodian.h"

#include <memory>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "plumbline/attest/dsse.h"
#include "plumbline/attest/keys.h"
#include "plumbline/clock.h"

namespace plumbline::reserves {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using SigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, ECDSA_SIG_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

Result<X509Ptr> ReadCert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return Status::InvalidArgument("certificate: not a PEM X.509 certificate");
  return cert;
}

Result<StorePtr> CaStore(const std::string& ca_pem) {
  StorePtr store(X509_STORE_new());
  BioPtr bio(BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size())));
  int n = 0;
  while (X509* ca = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(store.get(), ca);
    X509_free(ca);
    ++n;
  }
  ERR_clear_error();
  if (n == 0) return Status::InvalidArgument("pinned CA: no PEM certificate");
  return store;
}

Status VerifyEcdsa(const attest::CustodianSubmission& sub, const CustodianConfig& c, int64_t now) {
  if (sub.certificate_pem.empty()) {
    return Status::Unauthenticated("custodian " + c.id + " signs with ECDSA under X.509: submission carries no certificate");
  }
  auto cert = ReadCert(sub.certificate_pem);
  if (!cert.ok()) return cert.status();
  auto store = CaStore(c.ca_pem);
  if (!store.ok()) return store.status();
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store->get(), cert->get(), nullptr);
  X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx.get()), static_cast<time_t>(now / kNanosPerSecond));
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return Status::Unauthenticated(std::string("certificate not trusted: ") + X509_verify_cert_error_string(err));
  }
  PkeyPtr key(X509_get_pubkey(cert->get()));
  if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_EC || EVP_PKEY_get_bits(key.get()) != 256) {
    return Status::Unauthenticated("certificate key is not ECDSA P-256");
  }
  auto keyid = CertificateKeyId(sub.certificate_pem);
  if (!keyid.ok()) return keyid.status();
  const std::string pae = attest::Pae(sub.envelope.payload_type, sub.envelope.payload);
  for (const auto& s : sub.envelope.signatures) {
    if (s.keyid != *keyid) continue;
    const auto* raw = reinterpret_cast<const unsigned char*>(s.sig.data());
    SigPtr sig(ECDSA_SIG_new());
    ECDSA_SIG_set0(sig.get(), BN_bin2bn(raw, 32, nullptr), BN_bin2bn(raw + 32, 32, nullptr));
    unsigned char* der = nullptr;
    const int der_len = i2d_ECDSA_SIG(sig.get(), &der);
    MdCtxPtr md(EVP_MD_CTX_new());
    const bool ok = der_len > 0 && EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
                    EVP_DigestVerify(md.get(), der, static_cast<size_t>(der_len),
                                     reinterpret_cast<const unsigned char*>(pae.data()), pae.size()) == 1;
    OPENSSL_free(der);
    ERR_clear_error();
    if (!ok) return Status::Unauthenticated("ECDSA signature by " + *keyid + " does not verify");
    return Status::Ok();
  }
  return Status::Unauthenticated("no signature with keyid " + *keyid + " (the certificate's key)");
}

}  // namespace

Result<std::string> CertificateKeyId(const std::string& certificate_pem) {
  auto cert = ReadCert(certificate_pem);
  if (!cert.ok()) return cert.status();
  unsigned char* der = nullptr;
  const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert->get()), &der);
  if (len <= 0) return Status::InvalidArgument("certificate: cannot encode its public key");
  std::string spki(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return attest::Sha256Hex(spki);
}

Result<attest::CustodianStatement> VerifyCustodianSubmission(const attest::CustodianSubmission& sub,
                                                             const CustodianConfig& c, int64_t now) {
  if (sub.envelope.payload_type != attest::kCustodianStatementPayloadType) {
    return Status::InvalidArgument("payloadType is \"" + sub.envelope.payload_type + "\", expected \"" +
                                   std::string(attest::kCustodianStatementPayloadType) + "\"");
  }
  if (c.ed25519_key) {
    if (!sub.certificate_pem.empty()) {
      return Status::Unauthenticated("custodian " + c.id + " signs with a pinned Ed25519 key; certificates are not accepted");
    }
    Status st = attest::VerifyEnvelope(sub.envelope, attest::kCustodianStatementPayloadType, *c.ed25519_key);
    if (!st.ok()) {
      return Status::Unauthenticated("statement signature: " + st.message() + " (pinned key " +
                                     c.ed25519_key->KeyId() + ")");
    }
  } else {
    PLUMBLINE_RETURN_IF_ERROR(VerifyEcdsa(sub, c, now));
  }
  auto statement = attest::ParseCustodianStatementPayload(sub.envelope.payload);
  if (!statement.ok()) return statement.status();
  if (statement->custodian_id != c.id) {
    return Status::FailedPrecondition("statement.custodian_id \"" + statement->custodian_id +
                                      "\" is not the pinned custodian \"" + c.id + "\"");
  }
  if (statement->account != c.account) {
    return Status::FailedPrecondition("statement.account \"" + statement->account + "\" is not the configured account \"" +
                                      c.account + "\"");
  }
  return statement;
}

}  // namespace plumbline::reserves
