// Ed25519 keys (RFC 8032, through libsodium) and the key id rule.
//
// Files:
//   - A signing (private) key file is PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), exactly what
//     `openssl genpkey -algorithm ed25519` writes and what `attest keygen` writes. Loading refuses a
//     file that group or other can read or write (mode must be 0600 or 0400), and anything that is
//     not one Ed25519 PKCS#8 key.
//   - A public key file is SubjectPublicKeyInfo PEM ("-----BEGIN PUBLIC KEY-----"), usable as-is
//     with `openssl pkeyutl -verify -pubin -inkey`.
//
// Key id rule: key_id = lowercase hex of SHA-256 over the 32 raw public-key bytes (64 characters).
//   shell: openssl pkey -pubin -in key.pub -outform DER | tail -c 32 | sha256sum
//
// Secret bytes live in sodium_malloc'd, mlocked memory excluded from core dumps, are wiped on
// destruction, and are never printed by any function here (errors name the file, never its bytes).
//
// Thread safety: PublicKey is a value; SigningKey is immutable after construction and Sign() may be
// called from several threads at once.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "plumbline/status.h"

namespace plumbline::attest {

// Calls sodium_init() once; every function here calls it, so callers need not.
Status InitCrypto();

// Lowercase hex of SHA-256(bytes).
std::string Sha256Hex(std::string_view bytes);
std::string HexEncode(std::span<const uint8_t> bytes);
std::string Base64Encode(std::string_view bytes);   // standard alphabet, with padding
Result<std::string> Base64Decode(std::string_view text);  // strict: standard alphabet, padding

using Ed25519Signature = std::array<uint8_t, 64>;

class PublicKey {
 public:
  static Result<PublicKey> FromRaw(std::span<const uint8_t> raw);  // exactly 32 bytes
  static Result<PublicKey> FromPem(std::string_view pem);
  static Result<PublicKey> LoadFile(const std::string& path);

  const std::array<uint8_t, 32>& raw() const { return raw_; }
  std::string ToPem() const;
  std::string KeyId() const;

  // Strict RFC 8032 verification (libsodium: canonical S, no small-order keys or R).
  bool Verify(std::string_view message, std::span<const uint8_t> signature) const;

 private:
  std::array<uint8_t, 32> raw_{};
};

class SigningKey {
 public:
  SigningKey(SigningKey&&) noexcept;
  SigningKey& operator=(SigningKey&&) noexcept;
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;
  ~SigningKey();

  static Result<SigningKey> Generate();
  // From a 32-byte RFC 8032 seed (tests and key import).
  static Result<SigningKey> FromSeed(std::span<const uint8_t> seed);
  // PermissionDenied if the mode allows group/other access; InvalidArgument if the file is not a
  // single Ed25519 PKCS#8 PEM key; IOError if it cannot be read.
  static Result<SigningKey> LoadFile(const std::string& path);

  // Writes the private key as PKCS#8 PEM to a new file created with mode 0600 (fails with
  // AlreadyExists-style FailedPrecondition if the file exists: keys are never overwritten).
  Status WriteFile(const std::string& path) const;

  const PublicKey& public_key() const { return public_key_; }
  std::string KeyId() const { return public_key_.KeyId(); }
  Ed25519Signature Sign(std::string_view message) const;

 private:
  SigningKey() = default;
  unsigned char* secret_ = nullptr;  // 64-byte libsodium secret key in sodium_malloc memory
  PublicKey public_key_;
};

}  // namespace plumbline::attest
