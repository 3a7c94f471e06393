#include "plumbline/attest/keys.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

namespace plumbline::attest {
namespace {

namespace fs = std::filesystem;

class KeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/attest_keys_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  void WriteText(const std::string& path, const std::string& text, mode_t mode = 0600) {
    std::ofstream(path, std::ios::binary) << text;
    ASSERT_EQ(chmod(path.c_str(), mode), 0);
  }

  static std::string ReadText(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // Writes any OpenSSL key as PKCS#8 PEM, for foreign-algorithm cases.
  void WriteOpenSslKey(const std::string& path, const char* alg) {
    EVP_PKEY* pkey = std::string(alg) == "RSA"
                         ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048))
                         : EVP_PKEY_Q_keygen(nullptr, nullptr, alg);
    ASSERT_NE(pkey, nullptr);
    BIO* bio = BIO_new(BIO_s_mem());
    ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr), 1);
    BUF_MEM* mem = nullptr;
    BIO_get_mem_ptr(bio, &mem);
    WriteText(path, std::string(mem->data, mem->length));
    BIO_free(bio);
    EVP_PKEY_free(pkey);
  }

  fs::path dir_;
};

// An Ed25519 PKCS#8 structure whose seed is `seed_len` bytes (32 is the only valid length).
std::string Pkcs8Pem(size_t seed_len) {
  std::string der = {0x30, static_cast<char>(14 + seed_len), 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                     0x03, 0x2b, 0x65, 0x70, 0x04, static_cast<char>(2 + seed_len), 0x04,
                     static_cast<char>(seed_len)};
  der.append(seed_len, '\x11');
  return "-----BEGIN PRIVATE KEY-----\n" + Base64Encode(der) + "\n-----END PRIVATE KEY-----\n";
}

TEST_F(KeysTest, GenerateWriteLoadRoundTrip) {
  auto key = SigningKey::Generate();
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  const std::string path = Path("k.key");
  ASSERT_TRUE(key->WriteFile(path).ok());

  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(ReadText(path).rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);

  auto loaded = SigningKey::LoadFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->KeyId(), key->KeyId());
  const auto sig = loaded->Sign("message");
  EXPECT_TRUE(key->public_key().Verify("message", sig));
  EXPECT_FALSE(key->public_key().Verify("messagf", sig));

  // Keys are never overwritten.
  Status again = key->WriteFile(path);
  EXPECT_EQ(again.code(), Code::kFailedPrecondition);
  EXPECT_NE(again.message().find(path), std::string::npos);
}

TEST_F(KeysTest, PublicPemRoundTripAndKeyIdRule) {
  auto key = SigningKey::Generate();
  ASSERT_TRUE(key.ok());
  const std::string pem = key->public_key().ToPem();
  EXPECT_EQ(pem.rfind("-----BEGIN PUBLIC KEY-----", 0), 0u);
  auto pub = PublicKey::FromPem(pem);
  ASSERT_TRUE(pub.ok()) << pub.status().ToString();
  EXPECT_EQ(pub->raw(), key->public_key().raw());
  const auto& raw = key->public_key().raw();
  EXPECT_EQ(key->KeyId(), Sha256Hex(std::string(raw.begin(), raw.end())));
  EXPECT_EQ(key->KeyId().size(), 64u);

  WriteText(Path("k.pub"), pem, 0644);
  auto loaded = PublicKey::LoadFile(Path("k.pub"));
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->KeyId(), key->KeyId());
  EXPECT_EQ(PublicKey::FromPem("garbage").status().code(), Code::kInvalidArgument);
}

// RFC 8032 test 1: the seed and public key are published, so this pins the key derivation.
TEST_F(KeysTest, Rfc8032Test1) {
  const uint8_t seed[32] = {0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a,
                            0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32,
                            0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
  auto key = SigningKey::FromSeed(seed);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(HexEncode(key->public_key().raw()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  EXPECT_EQ(HexEncode(key->Sign("")),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
            "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_EQ(SigningKey::FromSeed(std::span<const uint8_t>(seed, 31)).status().code(),
            Code::kInvalidArgument);
}

TEST_F(KeysTest, RefusesGroupOrOtherReadableKeyFile) {
  auto key = SigningKey::Generate();
  ASSERT_TRUE(key.ok());
  const std::string path = Path("k.key");
  ASSERT_TRUE(key->WriteFile(path).ok());
  for (mode_t mode : {0644, 0640, 0604, 0660}) {
    ASSERT_EQ(chmod(path.c_str(), mode), 0);
    auto loaded = SigningKey::LoadFile(path);
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.status().code(), Code::kPermissionDenied);
    const std::string& m = loaded.status().message();
    EXPECT_NE(m.find(path), std::string::npos) << m;
    char octal[8];
    snprintf(octal, sizeof(octal), "%o", static_cast<unsigned>(mode));
    EXPECT_NE(m.find(octal), std::string::npos) << m;
    EXPECT_NE(m.find("chmod 600"), std::string::npos) << m;
  }
  ASSERT_EQ(chmod(path.c_str(), 0400), 0);
  EXPECT_TRUE(SigningKey::LoadFile(path).ok());
}

TEST_F(KeysTest, RefusesMalformedKeyFiles) {
  auto key = SigningKey::Generate();
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(key->WriteFile(Path("good.key")).ok());
  const std::string good = ReadText(Path("good.key"));

  const std::string begin = "-----BEGIN PRIVATE KEY-----\n";
  const std::string end = "-----END PRIVATE KEY-----\n";
  const struct {
    const char* name;
    std::string text;
  } cases[] = {
      {"empty", ""},
      {"garbage", "hello, I am not a key\n"},
      {"truncated", good.substr(0, good.size() / 2)},
      {"bad base64", begin + "!!!!notbase64!!!!\n" + end},
      {"seed 31 bytes", Pkcs8Pem(31)},
      {"seed 33 bytes", Pkcs8Pem(33)},
      {"short der", begin + "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/Vpguo\n" + end},
      {"two keys", good + good},
      {"public key", key->public_key().ToPem()},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = Path(std::string(c.name) + ".key");
    WriteText(path, c.text);
    auto loaded = SigningKey::LoadFile(path);
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.status().code(), Code::kInvalidArgument) << loaded.status().ToString();
    EXPECT_NE(loaded.status().message().find(path), std::string::npos);
    EXPECT_NE(loaded.status().message().find("Ed25519"), std::string::npos);
  }
  EXPECT_EQ(SigningKey::LoadFile(Path("missing.key")).status().code(), Code::kIOError);
}

TEST_F(KeysTest, RefusesOtherAlgorithms) {
  for (const char* alg : {"RSA", "X25519", "ED448"}) {
    SCOPED_TRACE(alg);
    const std::string path = Path(std::string(alg) + ".key");
    WriteOpenSslKey(path, alg);
    auto loaded = SigningKey::LoadFile(path);
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.status().code(), Code::kInvalidArgument);
    EXPECT_NE(loaded.status().message().find("expected one unencrypted Ed25519"), std::string::npos)
        << loaded.status().message();
  }
}

TEST_F(KeysTest, LoadsKeyMadeByOpenSslCommandLine) {
  if (access("/usr/bin/openssl", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/openssl";
  const std::string path = Path("openssl.key");
  const std::string pub_path = Path("openssl.pub");
  ASSERT_EQ(std::system(("/usr/bin/openssl genpkey -algorithm ed25519 -out " + path +
                         " 2>/dev/null && chmod 600 " + path + " && /usr/bin/openssl pkey -in " +
                         path + " -pubout -out " + pub_path + " 2>/dev/null")
                            .c_str()),
            0);
  auto key = SigningKey::LoadFile(path);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  auto pub = PublicKey::LoadFile(pub_path);
  ASSERT_TRUE(pub.ok()) << pub.status().ToString();
  EXPECT_EQ(key->KeyId(), pub->KeyId());
  EXPECT_EQ(key->public_key().ToPem(), ReadText(pub_path));
}

// Errors name the file but never the key material, even when the key itself is fine.
TEST_F(KeysTest, SecretNeverInMessages) {
  std::array<uint8_t, 32> seed{};
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(0xA0 + i);
  auto key = SigningKey::FromSeed(seed);
  ASSERT_TRUE(key.ok());
  const std::string path = Path("k.key");
  ASSERT_TRUE(key->WriteFile(path).ok());
  const std::string pem = ReadText(path);
  // The base64 body line of the PEM contains the seed.
  const std::string body = pem.substr(pem.find('\n') + 1, 40);

  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  Status perm = SigningKey::LoadFile(path).status();
  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  const std::string trailing = Path("trailing.key");
  WriteText(trailing, pem + "junk");
  Status junk = SigningKey::LoadFile(trailing).status();
  Status again = key->WriteFile(path);
  for (const Status& st : {perm, junk, again}) {
    EXPECT_FALSE(st.ok());
    EXPECT_EQ(st.message().find(body), std::string::npos) << st.message();
    EXPECT_EQ(st.message().find(HexEncode(seed)), std::string::npos) << st.message();
  }
}

TEST(Base64, StrictDecoding) {
  EXPECT_EQ(Base64Encode("hello"), "aGVsbG8=");
  EXPECT_EQ(*Base64Decode("aGVsbG8="), "hello");
  EXPECT_EQ(*Base64Decode(""), "");
  EXPECT_FALSE(Base64Decode("aGVsbG8").ok());     // missing padding
  EXPECT_FALSE(Base64Decode("aGVsbG9=").ok());    // non-zero unused bits
  EXPECT_FALSE(Base64Decode("aGVs bG8=").ok());   // whitespace
  EXPECT_FALSE(Base64Decode("aGVsbG8=\n").ok());
  EXPECT_FALSE(Base64Decode("aGVs_G8=").ok());    // URL alphabet
  EXPECT_FALSE(Base64Decode("aGVsbG8==").ok());
}

TEST(Hashing, Sha256Hex) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace plumbline::attest
