#include "plumbline/attest/note.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "plumbline/attest/dsse.h"
#include "plumbline/attest/merkle.h"

namespace plumbline::attest::note {
namespace {

namespace fs = std::filesystem;
using merkle::Hash;

SigningKey TestKey(uint8_t fill) {
  std::array<uint8_t, 32> seed{};
  seed.fill(fill);
  return std::move(SigningKey::FromSeed(seed).value());
}

std::string Sig(std::string_view name, std::string_view base64) {
  return "\xE2\x80\x94 " + std::string(name) + " " + std::string(base64) + "\n";
}

std::string B64(std::string_view bytes) { return Base64Encode(bytes); }

void ExpectInvalid(std::string_view note, const std::string& why) {
  Result<Note> parsed = Parse(note);
  EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument) << why << ": " << parsed.status().ToString();
}

// ---------------------------------------------------------------------------------------------
// Known answers from the specifications (../shared/reference)

// c2sp.org/signed-note, "Verifier keys / Example".
constexpr std::string_view kSpecVkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
constexpr std::string_view kSpecNote =
    "This is an example message.\n"
    "\n"
    "\xE2\x80\x94 example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

TEST(NoteSpec, ExampleVerifierKeyVerifiesExampleNote) {
  Result<std::pair<std::string, PublicKey>> vkey = ParseVerifierKey(kSpecVkey);
  ASSERT_TRUE(vkey.ok()) << vkey.status().ToString();
  const auto& [name, key] = *vkey;
  EXPECT_EQ(name, "example.com/foo");
  EXPECT_EQ(Ed25519KeyId(name, key), 0x530d903au);
  EXPECT_EQ(VerifierKey(name, key), kSpecVkey);

  Result<Note> note = Parse(kSpecNote);
  ASSERT_TRUE(note.ok()) << note.status().ToString();
  EXPECT_EQ(note->text, "This is an example message.\n");
  ASSERT_EQ(note->signatures.size(), 1u);
  EXPECT_EQ(note->signatures[0].name, "example.com/foo");
  EXPECT_EQ(note->signatures[0].key_id, 0x530d903au);
  EXPECT_EQ(note->signatures[0].bytes.size(), 64u);
  EXPECT_TRUE(VerifyEd25519(*note, name, key).ok());
  EXPECT_EQ(Format(*note), kSpecNote);

  Note altered = *note;
  altered.text = "This is an example message!\n";
  EXPECT_EQ(VerifyEd25519(altered, name, key).code(), Code::kUnauthenticated);
}

TEST(NoteSpec, ExampleNotesParseAndRoundTrip) {
  // c2sp.org/signed-note: text with an empty line and non-ASCII characters.
  const std::string poem =
      "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \xC3\xA8 subito sera.\n";
  const std::string poem_note =
      poem + "\n" +
      Sig("quasimodo.example/salvatore",
          "NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=");
  Result<Note> parsed = Parse(poem_note);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->text, poem);
  EXPECT_EQ(parsed->signatures[0].key_id, 0x367ba04bu);
  EXPECT_EQ(Format(*parsed), poem_note);

  // c2sp.org/tlog-cosignature: a checkpoint with the log's signature and a witness cosignature.
  const std::string text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
  const std::string cosigned =
      text + "\n" +
      Sig("example.com/behind-the-sofa",
          "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=") +
      Sig("witness.example.com/w1",
          "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==");
  parsed = Parse(cosigned);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(Format(*parsed), cosigned);
  ASSERT_EQ(parsed->signatures.size(), 2u);
  const Signature& cosignature = parsed->signatures[1];
  EXPECT_EQ(cosignature.key_id, 0x8d66cf3fu);
  ASSERT_EQ(cosignature.bytes.size(), 72u);  // timestamp || Ed25519 signature
  EXPECT_EQ(cosignature.bytes.substr(0, 8), std::string("\x00\x00\x00\x00\x64\x18\x50\xcb", 8));
  // The spec's example message is for this same timestamp, 1679315147 = 0x641850cb.
  EXPECT_EQ(CosignatureMessage(1679315147, text),
            "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");

  Result<Checkpoint> checkpoint = ParseCheckpoint(parsed->text);
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status().ToString();
  EXPECT_EQ(checkpoint->origin, "example.com/behind-the-sofa");
  EXPECT_EQ(checkpoint->size, 20852163u);
  EXPECT_EQ(merkle::HashToBase64(checkpoint->root), "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=");
  EXPECT_TRUE(checkpoint->extensions.empty());
  EXPECT_EQ(FormatCheckpoint(*checkpoint), text);
}

// ---------------------------------------------------------------------------------------------
// Signed notes

TEST(Note, SignFormatParseVerify) {
  const SigningKey log = TestKey(1);
  const SigningKey other = TestKey(2);
  const std::string text = "plumbline.example/log\n3\n" + merkle::HashToBase64(merkle::EmptyRoot()) + "\n";
  const Note note{text, {SignEd25519(text, "plumbline.example/log", log),
                         SignEd25519(text, "someone.else", other)}};
  const std::string formatted = Format(note);
  Result<Note> parsed = Parse(formatted);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->text, text);
  ASSERT_EQ(parsed->signatures.size(), 2u);
  EXPECT_EQ(parsed->signatures[0].key_id, Ed25519KeyId("plumbline.example/log", log.public_key()));
  EXPECT_EQ(Format(*parsed), formatted);
  EXPECT_TRUE(VerifyEd25519(*parsed, "plumbline.example/log", log.public_key()).ok());
  EXPECT_TRUE(VerifyEd25519(*parsed, "someone.else", other.public_key()).ok());
}

TEST(Note, UnknownSignaturesAreIgnored) {
  const SigningKey log = TestKey(1);
  const SigningKey stranger = TestKey(3);
  const std::string text = "hello\n";
  Note note{text, {}};
  // Same name, another key (so another key id); another name with our key; garbage from a
  // stranger; a cosignature by our key (type 0x04, so another key id).
  note.signatures.push_back(SignEd25519(text, "log", stranger));
  note.signatures.push_back(SignEd25519(text, "log-mirror", log));
  note.signatures.push_back(Signature{"witness", 0x01020304, std::string(72, 'x')});
  note.signatures.push_back(Cosign(text, "log", log, 1700000000));
  EXPECT_EQ(VerifyEd25519(note, "log", log.public_key()).code(), Code::kUnauthenticated);  // none matches

  note.signatures.push_back(SignEd25519(text, "log", log));
  Result<Note> parsed = Parse(Format(note));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(VerifyEd25519(*parsed, "log", log.public_key()).ok());
}

TEST(Note, BadSignatureFromTheKeyRejectsTheNote) {
  const SigningKey log = TestKey(1);
  const std::string text = "hello\n";
  const Signature good = SignEd25519(text, "log", log);

  Signature flipped = good;
  flipped.bytes[10] = static_cast<char>(flipped.bytes[10] ^ 0x01);
  EXPECT_EQ(VerifyEd25519(Note{text, {flipped}}, "log", log.public_key()).code(), Code::kUnauthenticated);
  // A bad line with our name and key id condemns the note even beside a good one.
  EXPECT_EQ(VerifyEd25519(Note{text, {good, flipped}}, "log", log.public_key()).code(), Code::kUnauthenticated);
  // Wrong key id: the line is someone else's, so nothing from our key remains.
  Signature wrong_id = good;
  wrong_id.key_id ^= 1;
  EXPECT_EQ(VerifyEd25519(Note{text, {wrong_id}}, "log", log.public_key()).code(), Code::kUnauthenticated);
  // Truncated signature bytes.
  Signature short_sig = good;
  short_sig.bytes.pop_back();
  EXPECT_EQ(VerifyEd25519(Note{text, {short_sig}}, "log", log.public_key()).code(), Code::kUnauthenticated);
  // A flipped byte anywhere in the formatted note's signature fails verification or parsing.
  const std::string formatted = Format(Note{text, {good}});
  const size_t sig_start = formatted.rfind(' ') + 1;
  for (size_t i = sig_start; i + 1 < formatted.size(); ++i) {
    std::string bad = formatted;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    Result<Note> parsed = Parse(bad);
    EXPECT_TRUE(!parsed.ok() || !VerifyEd25519(*parsed, "log", log.public_key()).ok()) << "byte " << i;
  }
}

TEST(Note, StrictParseRejections) {
  const std::string sig = B64(std::string("\x01\x02\x03\x04", 4) + std::string(64, 's'));
  const std::string line = Sig("log", sig);
  ASSERT_TRUE(Parse("text\n\n" + line).ok());

  ExpectInvalid("text\n" + line, "missing blank line");
  ExpectInvalid("text\n\n", "no signature lines");
  ExpectInvalid("text\n\n" + line.substr(0, line.size() - 1), "last line without newline");
  ExpectInvalid("text\n\n" + line + "\n", "blank line after the signatures");
  ExpectInvalid("text\n\n- log " + sig + "\n", "hyphen instead of em dash");
  ExpectInvalid("text\n\n\xE2\x80\x94log " + sig + "\n", "no space after the em dash");
  ExpectInvalid("text\n\n" + Sig("log", sig.substr(0, sig.size() - 1)), "missing padding");
  ExpectInvalid("text\n\n" + Sig("log", "!" + sig.substr(1)), "bad base64 character");
  ExpectInvalid("text\n\n" + Sig("log", "AQIDBA=="), "signature of 4 bytes: a key id and nothing");
  ExpectInvalid("text\n\n" + Sig("log", sig + " "), "trailing space");
  ExpectInvalid("text\n\n" + Sig("", sig), "empty key name");
  ExpectInvalid("text\n\n" + Sig("lo+g", sig), "'+' in key name");
  ExpectInvalid("text\n\n" + Sig("lo\xC2\xA0g", sig), "no-break space in key name");
  ExpectInvalid("text\n\n" + Sig("lo\xE3\x80\x80g", sig), "ideographic space in key name");
  ExpectInvalid("te\rxt\n\n" + line, "carriage return in text");
  ExpectInvalid("te\txt\n\n" + line, "tab in text");
  ExpectInvalid(std::string("te\0xt\n\n", 7) + line, "NUL in text");
  ExpectInvalid("te\xFFxt\n\n" + line, "invalid UTF-8");
  ExpectInvalid("te\xC0\xAFxt\n\n" + line, "overlong UTF-8");
  ExpectInvalid("te\xED\xA0\x80xt\n\n" + line, "UTF-8 surrogate");
  ExpectInvalid("text\xE2\x80\n\n" + line, "truncated UTF-8");

  // Non-canonical base64 (non-zero unused bits): "AQIDBB==" decodes like "AQIDBA==" in lax decoders.
  const std::string five = B64("\x01\x02\x03\x04\x05");
  ASSERT_TRUE(Parse("t\n\n" + Sig("log", five)).ok());
  std::string lax = five;
  lax[lax.size() - 2] = static_cast<char>(lax[lax.size() - 2] + 1);
  ExpectInvalid("t\n\n" + Sig("log", lax), "non-canonical base64");
  // Valid UTF-8 in place of two base64 characters: libsodium 1.0.18 alone would read each of its
  // bytes as '/'.
  ExpectInvalid("t\n\n" + Sig("log", sig.substr(0, 10) + "\xC3\xA8" + sig.substr(12)), "non-ASCII in base64");

  // Empty lines inside the text are fine; the last blank line separates.
  Result<Note> spaced = Parse("a\n\nb\n\n" + line);
  ASSERT_TRUE(spaced.ok());
  EXPECT_EQ(spaced->text, "a\n\nb\n");
}

TEST(Note, SignatureLimit) {
  const std::string line = Sig("log", B64(std::string(68, 'z')));
  std::string note = "text\n\n";
  for (size_t i = 0; i < kMaxSignatures; ++i) note += line;
  Result<Note> at_limit = Parse(note);
  ASSERT_TRUE(at_limit.ok()) << at_limit.status().ToString();
  EXPECT_EQ(at_limit->signatures.size(), kMaxSignatures);
  ExpectInvalid(note + line, "too many signatures");
}

TEST(Note, VerifierKeys) {
  const SigningKey key = TestKey(7);
  const std::string vkey = VerifierKey("plumbline.example/log", key.public_key());
  Result<std::pair<std::string, PublicKey>> parsed = ParseVerifierKey(vkey);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->first, "plumbline.example/log");
  EXPECT_EQ(parsed->second.raw(), key.public_key().raw());

  const auto rejects = [](const std::string& v, const char* why) {
    EXPECT_EQ(ParseVerifierKey(v).status().code(), Code::kInvalidArgument) << why << ": " << v;
  };
  const size_t plus1 = vkey.find('+');
  const std::string id = vkey.substr(plus1 + 1, 8);
  const std::string material = vkey.substr(plus1 + 10);
  rejects("other.example/log" + vkey.substr(plus1), "key id of another name");
  std::string upper = id;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper != id) rejects("plumbline.example/log+" + upper + "+" + material, "uppercase hex");
  rejects("plumbline.example/log+" + id.substr(1) + "+" + material, "7-digit key id");
  rejects("plumbline.example/log+" + id, "no key");
  rejects("plumbline.example/log", "name only");
  rejects("+" + id + "+" + material, "empty name");
  rejects("plumbline.example/log+" + id + "+" + material.substr(1), "bad base64");
  std::string raw(1, '\x04');
  raw.append(reinterpret_cast<const char*>(key.public_key().raw().data()), 32);
  const std::string cosigner_id = vkey.substr(plus1 + 1, 8);  // any id: the type is checked first
  rejects("plumbline.example/log+" + cosigner_id + "+" + B64(raw), "cosignature (0x04) vkey");
  raw[0] = '\x01';
  rejects("plumbline.example/log+" + id + "+" + B64(raw.substr(0, 32)), "31-byte key");
}

// ---------------------------------------------------------------------------------------------
// Checkpoints

TEST(Checkpoint, FormatParseRoundTrip) {
  Checkpoint checkpoint{"plumbline.example/log", 1234567, merkle::LeafHash("x"), {}};
  const std::string text = FormatCheckpoint(checkpoint);
  EXPECT_EQ(text, "plumbline.example/log\n1234567\n" + merkle::HashToBase64(checkpoint.root) + "\n");
  Result<Checkpoint> parsed = ParseCheckpoint(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->origin, checkpoint.origin);
  EXPECT_EQ(parsed->size, checkpoint.size);
  EXPECT_EQ(parsed->root, checkpoint.root);

  checkpoint.size = 0;
  checkpoint.extensions = {"ext one", "ext two"};
  parsed = ParseCheckpoint(FormatCheckpoint(checkpoint));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->size, 0u);
  EXPECT_EQ(parsed->extensions, checkpoint.extensions);
  EXPECT_EQ(FormatCheckpoint(*parsed), FormatCheckpoint(checkpoint));

  checkpoint.size = ~uint64_t{0};
  parsed = ParseCheckpoint(FormatCheckpoint(checkpoint));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->size, ~uint64_t{0});
}

TEST(Checkpoint, StrictParseRejections) {
  const std::string root = merkle::HashToBase64(merkle::EmptyRoot());
  const auto rejects = [](const std::string& text, const char* why) {
    EXPECT_EQ(ParseCheckpoint(text).status().code(), Code::kInvalidArgument) << why;
  };
  ASSERT_TRUE(ParseCheckpoint("o\n12\n" + root + "\n").ok());
  rejects("o\n012\n" + root + "\n", "leading zero");
  rejects("o\n00\n" + root + "\n", "zero with a leading zero");
  rejects("o\n\n" + root + "\n", "empty size");
  rejects("o\n+12\n" + root + "\n", "sign");
  rejects("o\n-1\n" + root + "\n", "negative");
  rejects("o\n 12\n" + root + "\n", "space");
  rejects("o\n1e3\n" + root + "\n", "exponent");
  rejects("o\n18446744073709551616\n" + root + "\n", "2^64");
  rejects("o\n12\n" + root.substr(0, 43) + "\n", "bad base64 root");
  rejects("o\n12\n" + merkle::HashToBase64(merkle::EmptyRoot()).substr(0, 40) + "AA==\n", "31-byte root");
  rejects("o\n12\n" + root, "no final newline");
  rejects("o\n12\n", "two lines");
  rejects("\n12\n" + root + "\n", "empty origin");
  rejects("o\n12\n" + root + "\n\next\n", "empty extension line");
  rejects("o\n12\n" + root + "\r\n", "carriage return");
  rejects("", "empty");
}

// ---------------------------------------------------------------------------------------------
// Cosignatures

TEST(Cosignature, SignVerifyReturnsTimestamp) {
  const SigningKey witness = TestKey(9);
  const std::string text = FormatCheckpoint({"plumbline.example/log", 5, merkle::LeafHash("r"), {}});
  const uint64_t ts = 1700000123;
  const Signature sig = Cosign(text, "witness.example/w1", witness, ts);
  EXPECT_EQ(sig.name, "witness.example/w1");
  EXPECT_EQ(sig.key_id, CosignatureKeyId("witness.example/w1", witness.public_key()));
  EXPECT_NE(sig.key_id, Ed25519KeyId("witness.example/w1", witness.public_key()));
  ASSERT_EQ(sig.bytes.size(), 72u);
  // The Ed25519 part signs exactly the documented message.
  EXPECT_TRUE(witness.public_key().Verify(
      "cosignature/v1\ntime 1700000123\n" + text,
      std::span(reinterpret_cast<const uint8_t*>(sig.bytes.data()) + 8, 64)));

  // Through a formatted note and back.
  Result<Note> note = Parse(Format(Note{text, {sig}}));
  ASSERT_TRUE(note.ok());
  Result<uint64_t> verified = VerifyCosignature(note->signatures[0], note->text, "witness.example/w1",
                                                witness.public_key());
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_EQ(*verified, ts);
  // A cosignature is not a plain note signature by the same key and name.
  EXPECT_FALSE(VerifyEd25519(*note, "witness.example/w1", witness.public_key()).ok());

  const uint64_t max = (uint64_t{1} << 63) - 1;
  Result<uint64_t> at_max = VerifyCosignature(Cosign(text, "w", witness, max), text, "w", witness.public_key());
  ASSERT_TRUE(at_max.ok());
  EXPECT_EQ(*at_max, max);
}

TEST(Cosignature, Rejections) {
  const SigningKey witness = TestKey(9);
  const SigningKey other = TestKey(10);
  const std::string text = FormatCheckpoint({"plumbline.example/log", 5, merkle::LeafHash("r"), {}});
  const std::string other_text = FormatCheckpoint({"plumbline.example/log", 6, merkle::LeafHash("r"), {}});
  const Signature sig = Cosign(text, "w1", witness, 1700000000);
  const PublicKey& pub = witness.public_key();
  ASSERT_TRUE(VerifyCosignature(sig, text, "w1", pub).ok());

  EXPECT_EQ(VerifyCosignature(sig, other_text, "w1", pub).status().code(), Code::kUnauthenticated);
  Signature later = sig;
  later.bytes[7] = static_cast<char>(later.bytes[7] + 1);  // a different timestamp
  EXPECT_EQ(VerifyCosignature(later, text, "w1", pub).status().code(), Code::kUnauthenticated);
  Signature flipped = sig;
  flipped.bytes[40] = static_cast<char>(flipped.bytes[40] ^ 0x20);
  EXPECT_EQ(VerifyCosignature(flipped, text, "w1", pub).status().code(), Code::kUnauthenticated);
  EXPECT_EQ(VerifyCosignature(sig, text, "w2", pub).status().code(), Code::kUnauthenticated);
  EXPECT_EQ(VerifyCosignature(sig, text, "w1", other.public_key()).status().code(), Code::kUnauthenticated);
  Signature renamed = sig;
  renamed.name = "w2";
  renamed.key_id = CosignatureKeyId("w2", pub);  // same key under another name: bytes still verify
  EXPECT_TRUE(VerifyCosignature(renamed, text, "w2", pub).ok());  // (the v1 message has no name)
  Signature wrong_id = sig;
  wrong_id.key_id = Ed25519KeyId("w1", pub);
  EXPECT_EQ(VerifyCosignature(wrong_id, text, "w1", pub).status().code(), Code::kUnauthenticated);
  Signature truncated = sig;
  truncated.bytes.pop_back();
  EXPECT_EQ(VerifyCosignature(truncated, text, "w1", pub).status().code(), Code::kInvalidArgument);
  Signature future = sig;
  future.bytes[0] = '\x80';  // timestamp >= 2^63
  EXPECT_EQ(VerifyCosignature(future, text, "w1", pub).status().code(), Code::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// tlog-proof

std::string SignedCheckpoint(const SigningKey& key, std::string_view origin, uint64_t size, const Hash& root) {
  const std::string text = FormatCheckpoint({std::string(origin), size, root, {}});
  return Format(Note{text, {SignEd25519(text, origin, key)}});
}

TEST(TlogProof, FormatParseRoundTrip) {
  const SigningKey log = TestKey(1);
  TlogProof proof;
  proof.extra = std::string("leaf \x00\xff data", 12);
  proof.index = 2;
  proof.inclusion = {merkle::LeafHash("a"), merkle::LeafHash("b"), merkle::LeafHash("c")};
  proof.checkpoint = SignedCheckpoint(log, "log.example", 5, merkle::LeafHash("root"));
  const std::string text = FormatTlogProof(proof);
  EXPECT_TRUE(text.starts_with("c2sp.org/tlog-proof@v1\nextra " + Base64Encode(*proof.extra) + "\nindex 2\n" +
                               merkle::HashToBase64(proof.inclusion[0]) + "\n"));
  EXPECT_TRUE(text.ends_with("\n\n" + proof.checkpoint));

  Result<TlogProof> parsed = ParseTlogProof(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->extra, proof.extra);
  EXPECT_EQ(parsed->index, proof.index);
  EXPECT_EQ(parsed->inclusion, proof.inclusion);
  EXPECT_EQ(parsed->checkpoint, proof.checkpoint);
  EXPECT_EQ(FormatTlogProof(*parsed), text);

  // Without extra data and with an empty proof (a one-leaf tree).
  proof.extra.reset();
  proof.index = 0;
  proof.inclusion.clear();
  const std::string bare = FormatTlogProof(proof);
  EXPECT_TRUE(bare.starts_with("c2sp.org/tlog-proof@v1\nindex 0\n\n"));
  parsed = ParseTlogProof(bare);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_FALSE(parsed->extra.has_value());
  EXPECT_TRUE(parsed->inclusion.empty());
  EXPECT_EQ(FormatTlogProof(*parsed), bare);
}

TEST(TlogProof, StrictParseRejections) {
  const SigningKey log = TestKey(1);
  const std::string checkpoint = SignedCheckpoint(log, "log.example", 5, merkle::LeafHash("root"));
  const std::string hash = merkle::HashToBase64(merkle::LeafHash("a"));
  const std::string head = "c2sp.org/tlog-proof@v1\n";
  const auto rejects = [](const std::string& text, const char* why) {
    EXPECT_EQ(ParseTlogProof(text).status().code(), Code::kInvalidArgument) << why;
  };
  ASSERT_TRUE(ParseTlogProof(head + "extra eA==\nindex 3\n" + hash + "\n\n" + checkpoint).ok());
  rejects("c2sp.org/tlog-proof@v2\nindex 3\n" + hash + "\n\n" + checkpoint, "wrong header");
  rejects(head + "index 03\n" + hash + "\n\n" + checkpoint, "leading zero in index");
  rejects(head + "index \n" + hash + "\n\n" + checkpoint, "empty index");
  rejects(head + "index 3\n" + hash + "\n" + checkpoint, "missing blank line");
  rejects(head + "index 3\n" + hash, "truncated");
  rejects(head + "extra e===\nindex 3\n\n" + checkpoint, "bad base64 extra");
  rejects(head + "extra eA==\n" + "extra eA==\nindex 3\n\n" + checkpoint, "two extra lines");
  rejects(head + "index 3\n" + hash.substr(0, 40) + "AA==\n\n" + checkpoint, "31-byte hash");
  rejects(head + "index 3\n" + hash + " \n\n" + checkpoint, "trailing space on a hash");
  rejects(head + "index 3\n\n" + "not a note\n", "checkpoint not a signed note");
  rejects(head + "index 3\n\nlog.example\n5\n\n" + checkpoint.substr(checkpoint.rfind("\n\n") + 2),
          "checkpoint body not a checkpoint");
  std::string many = head + "index 3\n";
  for (int i = 0; i < 65; ++i) many += hash + "\n";
  rejects(many + "\n" + checkpoint, "65 proof hashes");
}

// Strictness as a property: whatever the parsers accept, formatting writes back byte for byte,
// so no input has two accepted spellings. Checked over every truncation and every single-bit
// change of a cosigned proof.
TEST(TlogProof, EveryAcceptedMutationIsCanonical) {
  const SigningKey log = TestKey(1);
  const std::string text = FormatCheckpoint({"log.example", 5, merkle::LeafHash("root"), {"ext"}});
  const std::string note =
      Format(Note{text, {SignEd25519(text, "log.example", log), Cosign(text, "w.example", TestKey(2), 1)}});
  const std::string proof = FormatTlogProof({std::string("xy"), 4, {merkle::LeafHash("a")}, note});
  const auto check = [](const std::string& input) {
    if (Result<TlogProof> p = ParseTlogProof(input); p.ok()) {
      EXPECT_EQ(FormatTlogProof(*p), input);
    }
    if (Result<Note> n = Parse(input); n.ok()) {
      EXPECT_EQ(Format(*n), input);
    }
    if (Result<Checkpoint> c = ParseCheckpoint(input); c.ok()) {
      EXPECT_EQ(FormatCheckpoint(*c), input);
    }
  };
  int accepted = 0;
  for (size_t i = 0; i <= proof.size(); ++i) check(proof.substr(0, i));
  for (size_t i = 0; i < proof.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string mutated = proof;
      mutated[i] = static_cast<char>(mutated[i] ^ (1 << bit));
      check(mutated);
      accepted += ParseTlogProof(mutated).ok();
    }
  }
  EXPECT_GT(accepted, 0);  // e.g. a changed letter inside a base64 hash still parses
}

// ---------------------------------------------------------------------------------------------
// Bundles checked by the independent Python verifier (tests/interop/verify_bundle.py)

constexpr std::string_view kOrigin = "plumbline.example/test-log";
constexpr std::string_view kPayloadType = "application/vnd.plumbline.test.v1+json";

// Inclusion proof built level by level (pairs of nodes, a lone last node promoted unchanged),
// a different route to RFC 6962 trees than the recursive definition used in merkle_test.cc.
std::vector<Hash> LevelProof(std::vector<Hash> level, uint64_t index, Hash* root) {
  std::vector<Hash> proof;
  while (level.size() > 1) {
    const uint64_t sibling = index ^ 1;
    if (sibling < level.size()) proof.push_back(level[sibling]);
    std::vector<Hash> up;
    for (size_t i = 0; i < level.size(); i += 2) {
      up.push_back(i + 1 < level.size() ? merkle::NodeHash(level[i], level[i + 1]) : level[i]);
    }
    level = std::move(up);
    index >>= 1;
  }
  *root = level[0];
  return proof;
}

struct TestBundle {
  std::string text;
  std::string pem;
};

TestBundle MakeBundle(const SigningKey& key, size_t leaves, uint64_t index) {
  std::vector<std::string> data;
  std::vector<Hash> hashes;
  for (size_t i = 0; i < leaves; ++i) {
    const Envelope envelope =
        SignEnvelope(kPayloadType, "{\"sequence\":" + std::to_string(i + 1) + "}", key);
    data.push_back(EnvelopeToJson(envelope));
    hashes.push_back(merkle::LeafHash(data.back()));
  }
  Hash root;
  TlogProof proof;
  proof.inclusion = LevelProof(hashes, index, &root);
  EXPECT_EQ(root, merkle::RootOf(hashes));
  proof.extra = data[index];
  proof.index = index;
  proof.checkpoint = SignedCheckpoint(key, kOrigin, leaves, root);
  return {FormatTlogProof(proof), key.public_key().ToPem()};
}

// The same checks as the Python script, through this library.
Status VerifyBundle(std::string_view text, const PublicKey& key, std::string_view origin) {
  Result<TlogProof> proof = ParseTlogProof(text);
  if (!proof.ok()) return proof.status();
  Result<Note> note = Parse(proof->checkpoint);
  if (!note.ok()) return note.status();
  Result<Checkpoint> checkpoint = ParseCheckpoint(note->text);
  if (!checkpoint.ok()) return checkpoint.status();
  if (checkpoint->origin != origin) return Status::Unauthenticated("origin");
  PLUMBLINE_RETURN_IF_ERROR(VerifyEd25519(*note, origin, key));
  if (!proof->extra) return Status::InvalidArgument("no extra");
  PLUMBLINE_RETURN_IF_ERROR(merkle::VerifyInclusion(proof->index, checkpoint->size, merkle::LeafHash(*proof->extra),
                                                    proof->inclusion, checkpoint->root));
  Result<Envelope> envelope = ParseEnvelope(*proof->extra);
  if (!envelope.ok()) return envelope.status();
  return VerifyEnvelope(*envelope, kPayloadType, key);
}

class BundleInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "/usr/bin/python3 is missing";
    if (std::system("/usr/bin/python3 -c 'import cryptography' >/dev/null 2>&1") != 0) {
      GTEST_SKIP() << "the Python cryptography module is missing (Debian: python3-cryptography)";
    }
    std::string tmpl = (fs::temp_directory_path() / "plumbline-bundle-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  static void Write(const fs::path& path, std::string_view bytes) {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
  }

  // Runs the script; returns its exit status (-1 if it did not exit normally) and its output.
  int RunScript(std::string_view bundle, const std::string& pem, std::string* output) {
    Write(dir_ / "bundle.tlog-proof", bundle);
    Write(dir_ / "key.pem", pem);
    const fs::path out = dir_ / "out.txt";
    const std::string command = "/usr/bin/python3 '" PLUMBLINE_SOURCE_DIR "/tests/interop/verify_bundle.py' '" +
                                (dir_ / "bundle.tlog-proof").string() + "' --key '" + (dir_ / "key.pem").string() +
                                "' --origin '" + std::string(kOrigin) + "' >'" + out.string() + "' 2>&1";
    const int status = std::system(command.c_str());
    std::ifstream in(out);
    std::stringstream buf;
    buf << in.rdbuf();
    *output = buf.str();
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  fs::path dir_;
};

TEST_F(BundleInterop, PythonVerifierAcceptsOurBundles) {
  const SigningKey key = TestKey(42);
  for (uint64_t index : {0u, 3u, 6u}) {
    const TestBundle bundle = MakeBundle(key, 7, index);
    ASSERT_TRUE(VerifyBundle(bundle.text, key.public_key(), kOrigin).ok());
    std::string output;
    EXPECT_EQ(RunScript(bundle.text, bundle.pem, &output), 0) << "index " << index << ":\n" << output;
  }
}

TEST_F(BundleInterop, PythonVerifierRejectsAnyFlippedByteAndWrongKey) {
  const SigningKey key = TestKey(42);
  const TestBundle bundle = MakeBundle(key, 7, 4);
  const std::string& text = bundle.text;
  // One position in each part of the file: header, extra (inside the envelope), index, each
  // proof hash, the blank line, origin, size, root, signature name and signature.
  std::vector<size_t> positions = {3, text.find("extra ") + 40, text.find("index ") + 6};
  const size_t proof_start = text.find('\n', text.find("index ")) + 1;
  const size_t blank = text.find("\n\n", proof_start);
  for (size_t line = proof_start; line < blank; line = text.find('\n', line) + 1) positions.push_back(line + 5);
  const size_t checkpoint = blank + 2;
  const size_t size_line = text.find('\n', checkpoint) + 1;
  const size_t root_line = text.find('\n', size_line) + 1;
  const size_t sig_line = text.find("\n\n", root_line) + 2;
  positions.insert(positions.end(), {blank, checkpoint + 2, size_line, root_line + 10, sig_line + 6,
                                     text.size() - 20});
  for (size_t pos : positions) {
    std::string bad = text;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x01);
    EXPECT_FALSE(VerifyBundle(bad, key.public_key(), kOrigin).ok()) << "byte " << pos;
    std::string output;
    EXPECT_EQ(RunScript(bad, bundle.pem, &output), 1) << "byte " << pos << ":\n" << output;
  }

  std::string output;
  EXPECT_EQ(RunScript(text, TestKey(43).public_key().ToPem(), &output), 1) << "another key:\n" << output;
}

}  // namespace
}  // namespace plumbline::attest::note
