#include "plumbline/attest/keys.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <utility>
#include <string>

#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace plumbline::attest {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct P8Free {
  void operator()(PKCS8_PRIV_KEY_INFO* p) const { PKCS8_PRIV_KEY_INFO_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using P8Ptr = std::unique_ptr<PKCS8_PRIV_KEY_INFO, P8Free>;

constexpr size_t kMaxKeyFileBytes = 64 * 1024;

// Wipes a std::string that held secret material before it is released.
struct WipedString {
  std::string s;
  ~WipedString() {
    if (!s.empty()) sodium_memzero(s.data(), s.size());
  }
};

std::string ErrnoText(int err) { return std::strerror(err); }

// Reads a small file through an already-open descriptor.
Status ReadFd(int fd, const std::string& path, std::string* out) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      sodium_memzero(buf, sizeof(buf));
      return Status::IOError(path + ": cannot read: " + ErrnoText(errno));
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
    if (out->size() > kMaxKeyFileBytes) {
      sodium_memzero(buf, sizeof(buf));
      return Status::InvalidArgument(path + ": file is larger than " +
                                     std::to_string(kMaxKeyFileBytes) + " bytes; expected a PEM key");
    }
  }
  sodium_memzero(buf, sizeof(buf));
  return Status::Ok();
}

Status ReadWholeFile(const std::string& path, std::string* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError(path + ": cannot open: " + ErrnoText(errno));
  Status st = ReadFd(fd, path, out);
  ::close(fd);
  return st;
}

bool OnlyWhitespaceLeft(BIO* bio) {
  char c;
  while (BIO_read(bio, &c, 1) == 1) {
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return false;
  }
  return true;
}

}  // namespace

Status InitCrypto() {
  static const int rc = sodium_init();  // thread-safe once; sodium_init itself is idempotent
  if (rc < 0) return Status::Internal("libsodium initialization failed");
  return Status::Ok();
}

std::string HexEncode(std::span<const uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xF]);
  }
  return out;
}

std::string Sha256Hex(std::string_view bytes) {
  (void)InitCrypto();
  uint8_t digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return HexEncode(digest);
}

std::string Base64Encode(std::string_view bytes) {
  (void)InitCrypto();
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  (void)InitCrypto();
  std::string out(text.size() / 4 * 3 + 3, '\0');
  size_t len = 0;
  // b64_end = nullptr makes libsodium fail unless every input byte is consumed; the ORIGINAL
  // variant requires correct padding and zero unused bits, so each value has one encoding.
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), /*ignore=*/nullptr, &len, /*b64_end=*/nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0) {
    return Status::InvalidArgument("not strict standard base64 (alphabet A-Z a-z 0-9 + /, padded)");
  }
  out.resize(len);
  return out;
}

// ---------------------------------------------------------------------------------------------
// PublicKey

Result<PublicKey> PublicKey::FromRaw(std::span<const uint8_t> raw) {
  if (raw.size() != 32) {
    return Status::InvalidArgument("Ed25519 public key must be 32 bytes, got " +
                                   std::to_string(raw.size()));
  }
  PublicKey key;
  std::memcpy(key.raw_.data(), raw.data(), 32);
  return key;
}

Result<PublicKey> PublicKey::FromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::Internal("BIO_new_mem_buf failed");
  PkeyPtr pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!pkey) {
    return Status::InvalidArgument(
        "expected a PEM \"PUBLIC KEY\" (SubjectPublicKeyInfo) block holding an Ed25519 key");
  }
  if (EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    return Status::InvalidArgument(std::string("public key is ") +
                                   OBJ_nid2sn(EVP_PKEY_get_id(pkey.get())) + ", expected ED25519");
  }
  if (!OnlyWhitespaceLeft(bio.get())) {
    return Status::InvalidArgument("expected exactly one PEM public key, found trailing data");
  }
  std::array<uint8_t, 32> raw{};
  size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), raw.data(), &len) != 1 || len != 32) {
    return Status::InvalidArgument("Ed25519 public key does not have 32 raw bytes");
  }
  return FromRaw(raw);
}

Result<PublicKey> PublicKey::LoadFile(const std::string& path) {
  std::string text;
  PLUMBLINE_RETURN_IF_ERROR(ReadWholeFile(path, &text));
  auto key = FromPem(text);
  if (!key.ok()) return key.status().WithContext(path);
  return key;
}

std::string PublicKey::ToPem() const {
  PkeyPtr pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw_.data(), raw_.size()));
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!pkey || !bio || PEM_write_bio_PUBKEY(bio.get(), pkey.get()) != 1) return {};
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(bio.get(), &mem);
  return std::string(mem->data, mem->length);
}

std::string PublicKey::KeyId() const { return Sha256Hex(std::string_view(
    reinterpret_cast<const char*>(raw_.data()), raw_.size())); }

bool PublicKey::Verify(std::string_view message, std::span<const uint8_t> signature) const {
  if (InitCrypto().ok() == false || signature.size() != crypto_sign_BYTES) return false;
  return crypto_sign_verify_detached(signature.data(),
                                     reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(), raw_.data()) == 0;
}

// ---------------------------------------------------------------------------------------------
// SigningKey

SigningKey::SigningKey(SigningKey&& other) noexcept
    : secret_(std::exchange(other.secret_, nullptr)), public_key_(other.public_key_) {}

SigningKey& SigningKey::operator=(SigningKey&& other) noexcept {
  if (this != &other) {
    if (secret_ != nullptr) sodium_free(secret_);
    secret_ = std::exchange(other.secret_, nullptr);
    public_key_ = other.public_key_;
  }
  return *this;
}

SigningKey::~SigningKey() {
  if (secret_ != nullptr) sodium_free(secret_);  // sodium_free wipes before unmapping
}

Result<SigningKey> SigningKey::FromSeed(std::span<const uint8_t> seed) {
  PLUMBLINE_RETURN_IF_ERROR(InitCrypto());
  if (seed.size() != crypto_sign_SEEDBYTES) {
    return Status::InvalidArgument("Ed25519 seed must be 32 bytes, got " +
                                   std::to_string(seed.size()));
  }
  SigningKey key;
  key.secret_ = static_cast<unsigned char*>(sodium_malloc(crypto_sign_SECRETKEYBYTES));
  if (key.secret_ == nullptr) return Status::Internal("sodium_malloc failed for the signing key");
  // sodium_malloc already locks the pages and marks them MADV_DONTDUMP where supported; the
  // explicit calls make the core-dump promise hold even if that changes.
  (void)sodium_mlock(key.secret_, crypto_sign_SECRETKEYBYTES);
#ifdef MADV_DONTDUMP
  {
    const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    const auto start = reinterpret_cast<uintptr_t>(key.secret_) & ~(page - 1);
    const auto end = reinterpret_cast<uintptr_t>(key.secret_) + crypto_sign_SECRETKEYBYTES;
    (void)madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTDUMP);
  }
#endif
  std::array<uint8_t, 32> pk{};
  if (crypto_sign_seed_keypair(pk.data(), key.secret_, seed.data()) != 0) {
    return Status::Internal("crypto_sign_seed_keypair failed");
  }
  auto pub = PublicKey::FromRaw(pk);
  if (!pub.ok()) return pub.status();
  key.public_key_ = *pub;
  return key;
}

Result<SigningKey> SigningKey::Generate() {
  PLUMBLINE_RETURN_IF_ERROR(InitCrypto());
  unsigned char* seed = static_cast<unsigned char*>(sodium_malloc(crypto_sign_SEEDBYTES));
  if (seed == nullptr) return Status::Internal("sodium_malloc failed for the seed");
  randombytes_buf(seed, crypto_sign_SEEDBYTES);
  auto key = FromSeed(std::span<const uint8_t>(seed, crypto_sign_SEEDBYTES));
  sodium_free(seed);
  return key;
}

Result<SigningKey> SigningKey::LoadFile(const std::string& path) {
  PLUMBLINE_RETURN_IF_ERROR(InitCrypto());
  // fstat on the open descriptor, so the mode we check belongs to the file we read.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError(path + ": cannot open signing key: " + ErrnoText(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Status::IOError(path + ": cannot stat signing key: " + ErrnoText(err));
  }
  if ((st.st_mode & 0077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::PermissionDenied(path + ": signing key file has mode " + mode +
                                    ", which lets group or other access it; run `chmod 600 " +
                                    path + "` (mode must be 0600 or 0400)");
  }
  WipedString text;
  Status read = ReadFd(fd, path, &text.s);
  ::close(fd);
  PLUMBLINE_RETURN_IF_ERROR(read);

  const std::string expected =
      ": expected one unencrypted Ed25519 key in PKCS#8 PEM form, as written by "
      "`openssl genpkey -algorithm ed25519` or `attest keygen`";
  BioPtr bio(BIO_new_mem_buf(text.s.data(), static_cast<int>(text.s.size())));
  if (!bio) return Status::Internal("BIO_new_mem_buf failed");
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* der = nullptr;
  long der_len = 0;
  if (PEM_read_bio(bio.get(), &name, &header, &der, &der_len) != 1) {
    return Status::InvalidArgument(path + ": no PEM block found" + expected);
  }
  const bool is_pkcs8 = std::strcmp(name, "PRIVATE KEY") == 0;
  const std::string block_name = name;
  OPENSSL_free(name);
  OPENSSL_free(header);
  P8Ptr p8;
  const unsigned char* p = der;
  if (is_pkcs8) p8.reset(d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, der_len));
  const bool der_exact = p8 && p == der + der_len;
  OPENSSL_cleanse(der, static_cast<size_t>(der_len));
  OPENSSL_free(der);
  if (!is_pkcs8) {
    return Status::InvalidArgument(path + ": PEM block is \"" + block_name + "\"" + expected);
  }
  if (!der_exact) return Status::InvalidArgument(path + ": malformed PKCS#8 structure" + expected);
  if (!OnlyWhitespaceLeft(bio.get())) {
    return Status::InvalidArgument(path + ": trailing data after the key" + expected);
  }
  PkeyPtr pkey(EVP_PKCS82PKEY(p8.get()));
  if (!pkey) return Status::InvalidArgument(path + ": unreadable private key" + expected);
  if (EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    const char* alg = OBJ_nid2sn(EVP_PKEY_get_id(pkey.get()));
    return Status::InvalidArgument(path + ": key algorithm is " + (alg ? alg : "unknown") +
                                   expected);
  }
  unsigned char* seed = static_cast<unsigned char*>(sodium_malloc(crypto_sign_SEEDBYTES));
  if (seed == nullptr) return Status::Internal("sodium_malloc failed for the seed");
  size_t seed_len = crypto_sign_SEEDBYTES;
  const bool got = EVP_PKEY_get_raw_private_key(pkey.get(), seed, &seed_len) == 1 &&
                   seed_len == crypto_sign_SEEDBYTES;
  Result<SigningKey> key =
      got ? FromSeed(std::span<const uint8_t>(seed, crypto_sign_SEEDBYTES))
          : Result<SigningKey>(Status::InvalidArgument(path + ": Ed25519 seed is not 32 bytes" +
                                                       expected));
  sodium_free(seed);
  return key;
}

Status SigningKey::WriteFile(const std::string& path) const {
  if (secret_ == nullptr) return Status::FailedPrecondition("signing key was moved from");
  // libsodium's secret key is seed || public key; PKCS#8 stores the 32-byte seed.
  PkeyPtr pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, secret_,
                                            crypto_sign_SEEDBYTES));
  if (!pkey) return Status::Internal("EVP_PKEY_new_raw_private_key failed");
  // A secure-memory BIO clears its buffer on every reallocation and on free.
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio || PEM_write_bio_PKCS8PrivateKey(bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr,
                                            nullptr) != 1) {
    return Status::Internal("PEM_write_bio_PKCS8PrivateKey failed");
  }
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(bio.get(), &mem);

  int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      return Status::FailedPrecondition(path + ": already exists; signing keys are never overwritten");
    }
    return Status::IOError(path + ": cannot create: " + ErrnoText(errno));
  }
  size_t done = 0;
  while (done < mem->length) {
    ssize_t n = ::write(fd, mem->data + done, mem->length - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(path.c_str());
      return Status::IOError(path + ": cannot write: " + ErrnoText(err));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    return Status::IOError(path + ": fsync failed: " + ErrnoText(err));
  }
  ::close(fd);
  // Persist the directory entry too, so a crash cannot leave a key that was reported written
  // missing.
  std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  if (dir.empty()) dir = "/";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

Ed25519Signature SigningKey::Sign(std::string_view message) const {
  Ed25519Signature sig{};
  if (secret_ == nullptr) return sig;
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), secret_);
  return sig;
}

}  // namespace plumbline::attest
