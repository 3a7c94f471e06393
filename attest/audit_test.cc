#include "plumbline/attest/audit.h"

#include <gtest/gtest.h>

#include "plumbline/attest/dsse.h"

namespace plumbline::attest::audit {
namespace {

constexpr char kOrigin[] = "plumbline.test/audit";
constexpr int64_t kT0 = 1'763'780'000'000'000'000;

SigningKey Key(uint8_t b) {
  std::array<uint8_t, 32> seed{};
  seed[0] = b;
  return std::move(SigningKey::FromSeed(seed)).value();
}

// A chain of signed snapshots; `keys[i]` signs snapshot i + 1.
std::vector<std::string> Chain(const std::vector<const SigningKey*>& keys, int64_t step = 1'000'000'000) {
  std::vector<std::string> out;
  std::string previous = kGenesisPreviousHash;
  for (size_t i = 0; i < keys.size(); ++i) {
    Snapshot s;
    s.origin = kOrigin;
    s.sequence = i + 1;
    s.time_unix_nanos = kT0 + static_cast<int64_t>(i) * step;
    s.previous_hash = previous;
    s.config_digest = std::string(64, 'c');
    auto signed_snapshot = SignSnapshot(s, *keys[i]);
    previous = signed_snapshot->payload_hash;
    out.push_back(signed_snapshot->envelope_json);
  }
  return out;
}

AuditState Start() {
  AuditState s;
  s.origin = kOrigin;
  return s;
}

KeyAnnouncement Announce(uint64_t rotation, const SigningKey& prev, const SigningKey& next, uint64_t size,
                         int64_t time) {
  KeyAnnouncement a;
  a.origin = kOrigin;
  a.rotation = rotation;
  a.previous_key = prev.public_key();
  a.new_key = next.public_key();
  a.tree_size = size;
  a.root = merkle::EmptyRoot();
  a.time_unix_nanos = time;
  return a;
}

TEST(KeyRingTest, RotationsGiveEachKeyItsWindow) {
  SigningKey k1 = Key(1), k2 = Key(2), k3 = Key(3);
  std::vector<std::string> history = {*SignKeyAnnouncement(Announce(1, k1, k2, 2, kT0 + 1'500'000'000), k1),
                                      *SignKeyAnnouncement(Announce(2, k2, k3, 4, kT0 + 3'500'000'000), k2)};
  auto ring = KeyRing::FromHistory(k1.public_key(), kOrigin, history);
  ASSERT_TRUE(ring.ok()) << ring.status().ToString();
  ASSERT_EQ(ring->windows().size(), 3u);
  EXPECT_EQ(ring->windows()[1].first_sequence, 3u);
  EXPECT_EQ(ring->windows()[1].last_sequence, 4u);

  // Snapshots 1-2 by k1, 3-4 by k2, 5-6 by k3, one second apart: the whole chain audits.
  auto chain = Chain({&k1, &k1, &k2, &k2, &k3, &k3});
  ChainAuditor auditor(*ring, Start());
  for (const auto& e : chain) ASSERT_TRUE(auditor.AddSnapshot(e).ok()) << auditor.AddSnapshot(e).ToString();
  std::vector<merkle::Hash> leaves;
  for (const auto& e : chain) leaves.push_back(merkle::LeafHash(e));
  EXPECT_EQ(auditor.Root(), merkle::RootOf(leaves));

  // A rotated-out key cannot sign later snapshots; a key cannot sign before its window.
  EXPECT_EQ(ring->ForSnapshot(k1.KeyId(), 3, kT0 + 2'000'000'000).status().code(), Code::kUnauthenticated);
  EXPECT_EQ(ring->ForSnapshot(k3.KeyId(), 4, kT0 + 3'000'000'000).status().code(), Code::kUnauthenticated);
  EXPECT_EQ(ring->ForSnapshot(k2.KeyId(), 3, kT0).status().code(), Code::kUnauthenticated);  // time
  EXPECT_TRUE(ring->ForSnapshot(k2.KeyId(), 3, kT0 + 2'000'000'000).ok());
  auto late = Chain({&k1, &k1, &k1});
  ChainAuditor old_key(*ring, Start());
  ASSERT_TRUE(old_key.AddSnapshot(late[0]).ok());
  ASSERT_TRUE(old_key.AddSnapshot(late[1]).ok());
  EXPECT_EQ(old_key.AddSnapshot(late[2]).code(), Code::kUnauthenticated);

  // Pinning a later key trusts it from its announcement on, and nothing before.
  auto later = KeyRing::FromHistory(k2.public_key(), kOrigin, history);
  ASSERT_TRUE(later.ok()) << later.status().ToString();
  EXPECT_FALSE(later->ForSnapshot(k1.KeyId(), 1, kT0).ok());
  EXPECT_TRUE(later->ForSnapshot(k3.KeyId(), 5, kT0 + 4'000'000'000).ok());
}

TEST(KeyRingTest, ForgedOrDisorderedHistoriesAreRefused) {
  SigningKey k1 = Key(1), k2 = Key(2), k3 = Key(3), evil = Key(66);
  auto good1 = *SignKeyAnnouncement(Announce(1, k1, k2, 2, kT0 + 1), k1);
  // Signed by someone else than the key it replaces (the envelope's keyid is evil's).
  KeyAnnouncement forged = Announce(1, k1, evil, 2, kT0 + 1);
  forged.previous_key = evil.public_key();
  auto forged_env = *SignKeyAnnouncement(forged, evil);
  EXPECT_EQ(KeyRing::FromHistory(k1.public_key(), kOrigin, {forged_env}).status().code(), Code::kUnauthenticated);
  // An announcement naming k1 as previous but signed by evil: rewrite the payload's signer.
  auto env = *ParseEnvelope(good1);
  Envelope resigned = SignEnvelope(kKeyAnnouncementPayloadType, env.payload, evil);
  EXPECT_EQ(KeyRing::FromHistory(k1.public_key(), kOrigin, {EnvelopeToJson(resigned)}).status().code(),
            Code::kUnauthenticated);
  // Out of order, wrong origin, unknown pinned key, reused key.
  auto second = *SignKeyAnnouncement(Announce(2, k2, k3, 4, kT0 + 2), k2);
  EXPECT_FALSE(KeyRing::FromHistory(k1.public_key(), kOrigin, {second, good1}).ok());
  EXPECT_FALSE(KeyRing::FromHistory(k1.public_key(), "other.example/log", {good1}).ok());
  EXPECT_EQ(KeyRing::FromHistory(evil.public_key(), kOrigin, {good1, second}).status().code(),
            Code::kUnauthenticated);
  auto back = *SignKeyAnnouncement(Announce(2, k2, k1, 4, kT0 + 2), k2);
  EXPECT_FALSE(KeyRing::FromHistory(k1.public_key(), kOrigin, {good1, back}).ok());
  // Going backwards in tree size.
  auto shrink = *SignKeyAnnouncement(Announce(2, k2, k3, 1, kT0 + 2), k2);
  EXPECT_FALSE(KeyRing::FromHistory(k1.public_key(), kOrigin, {good1, shrink}).ok());
  EXPECT_TRUE(KeyRing::FromHistory(k1.public_key(), kOrigin, {good1, second}).ok());
}

TEST(ChainAuditorTest, BrokenLinksGapsAndForeignSnapshotsAreRefusedWithoutChangingState) {
  SigningKey k = Key(1);
  KeyRing ring({k.public_key()});
  auto chain = Chain({&k, &k, &k});
  ChainAuditor auditor(ring, Start());
  ASSERT_TRUE(auditor.AddSnapshot(chain[0]).ok());
  const AuditState before = auditor.state();
  EXPECT_EQ(auditor.AddSnapshot(chain[2]).code(), Code::kCorruption);  // gap: sequence 3 after 1
  EXPECT_EQ(auditor.AddSnapshot(chain[0]).code(), Code::kCorruption);  // replay
  // Same sequence, another history (different previous_hash).
  Snapshot fork;
  fork.origin = kOrigin;
  fork.sequence = 2;
  fork.time_unix_nanos = kT0 + 5;
  fork.previous_hash = std::string(64, 'f');
  fork.config_digest = std::string(64, 'c');
  EXPECT_EQ(auditor.AddSnapshot(SignSnapshot(fork, k)->envelope_json).code(), Code::kCorruption);
  fork.previous_hash = before.next_previous_hash;
  fork.origin = "other.example/log";
  EXPECT_EQ(auditor.AddSnapshot(SignSnapshot(fork, k)->envelope_json).code(), Code::kCorruption);
  SigningKey stranger = Key(5);
  EXPECT_EQ(auditor.AddSnapshot(Chain({&stranger, &stranger})[1]).code(), Code::kUnauthenticated);
  std::string tampered = chain[1];
  tampered[tampered.find("\"sig\":\"") + 8] ^= 1;
  EXPECT_FALSE(auditor.AddSnapshot(tampered).ok());
  EXPECT_EQ(auditor.state().tree_size, before.tree_size);
  EXPECT_EQ(auditor.state().next_previous_hash, before.next_previous_hash);
  EXPECT_TRUE(auditor.AddSnapshot(chain[1]).ok());
  EXPECT_TRUE(auditor.AddSnapshot(chain[2]).ok());
}

TEST(AuditStateTest, RoundTripsAndRejectsATamperedFrontier) {
  SigningKey k = Key(1);
  KeyRing ring({k.public_key()});
  auto chain = Chain({&k, &k, &k, &k, &k});
  ChainAuditor auditor(ring, Start());
  for (size_t i = 0; i < 3; ++i) ASSERT_TRUE(auditor.AddSnapshot(chain[i]).ok());
  const std::string text = FormatAuditState(auditor.state());
  auto parsed = ParseAuditState(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->tree_size, 3u);
  EXPECT_EQ(parsed->frontier.size(), 2u);
  // Resuming from the saved state continues the same tree.
  ChainAuditor resumed(ring, *parsed);
  ASSERT_TRUE(resumed.AddSnapshot(chain[3]).ok());
  ASSERT_TRUE(resumed.AddSnapshot(chain[4]).ok());
  std::vector<merkle::Hash> leaves;
  for (const auto& e : chain) leaves.push_back(merkle::LeafHash(e));
  EXPECT_EQ(resumed.Root(), merkle::RootOf(leaves));

  std::string bad = text;
  bad.replace(bad.find("\"tree_size\": 3"), 14, "\"tree_size\": 4");
  EXPECT_EQ(ParseAuditState(bad).status().code(), Code::kCorruption);
  auto f = parsed->frontier[0];
  std::string other_root = text;
  const size_t at = other_root.find(merkle::HashToBase64(f));
  other_root.replace(at, 44, merkle::HashToBase64(merkle::EmptyRoot()));
  EXPECT_EQ(ParseAuditState(other_root).status().code(), Code::kCorruption);
  EXPECT_FALSE(ParseAuditState("{}").ok());
}

TEST(CheckpointTest, SignatureMustBeTheLogsAndInsideTheKeysWindow) {
  SigningKey k1 = Key(1), k2 = Key(2);
  auto sign = [](const SigningKey& k, uint64_t size) {
    note::Note n;
    n.text = note::FormatCheckpoint({kOrigin, size, merkle::EmptyRoot(), {}});
    n.signatures.push_back(note::SignEd25519(n.text, kOrigin, k));
    return note::Format(n);
  };
  auto ring = *KeyRing::FromHistory(k1.public_key(), kOrigin,
                                    {*SignKeyAnnouncement(Announce(1, k1, k2, 10, kT0), k1)});
  EXPECT_TRUE(VerifyCheckpoint(sign(k1, 10), ring, kOrigin).ok());
  EXPECT_TRUE(VerifyCheckpoint(sign(k2, 10), ring, kOrigin).ok());  // signed right after rotating
  EXPECT_TRUE(VerifyCheckpoint(sign(k2, 11), ring, "").ok());
  EXPECT_EQ(VerifyCheckpoint(sign(k1, 11), ring, kOrigin).status().code(), Code::kUnauthenticated);
  EXPECT_EQ(VerifyCheckpoint(sign(k2, 9), ring, kOrigin).status().code(), Code::kUnauthenticated);
  EXPECT_EQ(VerifyCheckpoint(sign(Key(7), 11), ring, kOrigin).status().code(), Code::kUnauthenticated);
  EXPECT_EQ(VerifyCheckpoint(sign(k2, 11), ring, "other.example/log").status().code(), Code::kUnauthenticated);
  EXPECT_FALSE(VerifyCheckpoint("garbage", ring, kOrigin).ok());
}

}  // namespace
}  // namespace plumbline::attest::audit
