// The log's HTTP routes and the attest CLI against a real server: real RocksDB, real HTTP on
// loopback, real signatures, the real `attest` binary.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "daemon/test_support.h"
#include "plumbline/attest/audit.h"
#include "plumbline/attest/merkle.h"
#include "plumbline/attest/note.h"
#include "plumbline/daemon/api_server.h"
#include "plumbline/daemon/log_signer.h"

namespace plumbline::daemon {
namespace {

namespace note = attest::note;
namespace merkle = attest::merkle;

attest::SigningKey KeyFromSeed(uint8_t b) {
  std::array<uint8_t, 32> seed{};
  seed[0] = b;
  return std::move(attest::SigningKey::FromSeed(seed)).value();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct CliRun {
  int code = -1;
  std::string output;
};

class LogRoutesTest : public testing::DaemonFixture {
 protected:
  void SetUp() override {
    DaemonFixture::SetUp();
    config_->data_dir = dir_.string();
    StartServer();
  }
  void TearDown() override {
    StopServer();
    DaemonFixture::TearDown();
    std::filesystem::remove_all(Scratch());
  }
  void StartServer() {
    server_ = std::make_unique<ApiServer>(*config_, *publisher_, *store_, key_->public_key(), clock_,
                                          [] { return std::vector<feeds::SourceHealth>{}; });
    server_->AcceptCosignatures(store_.get());
    ASSERT_TRUE(server_->Bind().ok());
    thread_ = std::thread([this] { server_->Run(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(5, 0);
    for (int i = 0; i < 200 && !client_->Get("/healthz"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  void StopServer() {
    if (!server_) return;
    server_->Stop();
    thread_.join();
    server_.reset();
  }
  void Publish(int rounds = 1) {
    for (int i = 0; i < rounds; ++i) {
      FillFresh("67000.10", "67000.30", "67000.20");
      ASSERT_TRUE(publisher_->PublishRound().ok());
      clock_.Advance(kNanosPerSecond);
    }
  }
  std::string Get(const std::string& path, int status = 200) {
    auto r = client_->Get(path);
    EXPECT_TRUE(r) << path;
    if (!r) return "";
    EXPECT_EQ(r->status, status) << path << ": " << r->body;
    return r->body;
  }
  // Asserts a problem+json answer whose detail names `parameter`.
  void ExpectProblem(const std::string& path, int status, const std::string& type, const std::string& parameter) {
    auto r = client_->Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, status) << path << ": " << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/problem+json") << path;
    auto body = nlohmann::json::parse(r->body, nullptr, false);
    EXPECT_EQ(body.value("type", ""), "/problems/" + type) << path << ": " << r->body;
    EXPECT_NE(body.value("detail", "").find(parameter), std::string::npos) << path << ": " << r->body;
  }
  std::filesystem::path Scratch() const { return dir_.string() + "-scratch"; }
  std::string WriteScratch(const std::string& name, const std::string& data) {
    std::filesystem::create_directories(Scratch());
    const std::string path = (Scratch() / name).string();
    std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
    return path;
  }
  std::string PubFile(const attest::SigningKey& key, const std::string& name) {
    return WriteScratch(name, key.public_key().ToPem());
  }
  CliRun Attest(const std::string& args) {
    CliRun run;
    FILE* p = ::popen((std::string(PLUMBLINE_ATTEST_BIN) + " " + args + " 2>&1").c_str(), "r");
    if (p == nullptr) return run;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) run.output.append(buf, n);
    int status = ::pclose(p);
    run.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return run;
  }
  std::string Base() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  note::Checkpoint ParseVerified(const std::string& signed_note) {
    auto n = note::Parse(signed_note);
    EXPECT_TRUE(n.ok()) << signed_note;
    EXPECT_TRUE(note::VerifyEd25519(*n, config_->origin, key_->public_key()).ok());
    return *note::ParseCheckpoint(n->text);
  }

  std::unique_ptr<ApiServer> server_;
  std::thread thread_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(LogRoutesTest, WitnessConfigNamesTheKeyOnEveryError) {
  const std::string pub = PubFile(KeyFromSeed(40), "w.pub");
  auto parse = [&](const std::string& witnesses) {
    // Tables go after the root keys; a root key (witnesses = 3) before the tables.
    const bool table = witnesses.rfind("[[", 0) == 0;
    return ParseConfig(table ? testing::TestConfigText() + witnesses : witnesses + testing::TestConfigText(), "wit.toml");
  };
  auto good = parse("[[witnesses]]\nname = \"w.example/1\"\npublic_key_file = \"" + pub + "\"\n");
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  ASSERT_EQ(good->witnesses.size(), 1u);
  EXPECT_EQ(good->witnesses[0].public_key.KeyId(), KeyFromSeed(40).KeyId());
  struct Case {
    std::string text, expected;
  } cases[] = {
      {"[[witnesses]]\nname = \"w\"\npublic_key_file = \"/nonexistent.pub\"\n", "'witnesses[0].public_key_file'"},
      {"[[witnesses]]\npublic_key_file = \"" + pub + "\"\n", "'witnesses[0].name'"},
      {"[[witnesses]]\nname = \"a b\"\npublic_key_file = \"" + pub + "\"\n", "'witnesses[0].name'"},
      {"[[witnesses]]\nname = \"w\"\npublic_key_file = \"" + pub + "\"\nkey = 1\n", "'witnesses[0].key'"},
      {"[[witnesses]]\nname = \"w\"\npublic_key_file = \"" + pub + "\"\n[[witnesses]]\nname = \"w\"\npublic_key_file = \"" +
           pub + "\"\n",
       "duplicate witness"},
      {"witnesses = 3\n", "'witnesses'"},
  };
  for (const auto& c : cases) {
    auto r = parse(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.status().message().find(c.expected), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("wit.toml"), std::string::npos) << r.status().message();
  }
}

TEST_F(LogRoutesTest, EveryPublishedSnapshotHasASignedCheckpointOfItsTree) {
  Get("/v1/log/checkpoint", 503);
  Publish(3);
  std::vector<merkle::Hash> leaves;
  for (uint64_t k = 1; k <= 3; ++k) {
    leaves.push_back(merkle::LeafHash(*store_->Get(k)));
    auto c = ParseVerified(Get("/v1/log/checkpoints/" + std::to_string(k)));
    EXPECT_EQ(c.origin, config_->origin);
    EXPECT_EQ(c.size, k);
    EXPECT_EQ(c.root, merkle::RootOf(leaves));
  }
  auto latest = ParseVerified(Get("/v1/log/checkpoint"));
  EXPECT_EQ(latest.size, 3u);
  ExpectProblem("/v1/log/checkpoints/4", 404, "unknown-checkpoint", "size");
  ExpectProblem("/v1/log/checkpoints/abc", 400, "invalid-parameter", "abc");
  ExpectProblem("/v1/log/checkpoints/0", 400, "invalid-parameter", "0");
}

TEST_F(LogRoutesTest, ProofsVerifyAndBadRangesAreClearProblems) {
  Publish(5);
  const std::string before = Get("/v1/log/checkpoint");
  auto root5 = *store_->RootHash(5);
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    auto body = nlohmann::json::parse(Get("/v1/log/proof/inclusion?seq=" + std::to_string(seq) + "&size=5"));
    std::vector<merkle::Hash> proof;
    for (const auto& h : body["hashes"]) proof.push_back(*merkle::HashFromBase64(h.get<std::string>()));
    EXPECT_TRUE(merkle::VerifyInclusion(seq - 1, 5, merkle::LeafHash(*store_->Get(seq)), proof, root5).ok()) << seq;
  }
  auto c = nlohmann::json::parse(Get("/v1/log/proof/consistency?from=2&to=5"));
  std::vector<merkle::Hash> proof;
  for (const auto& h : c["hashes"]) proof.push_back(*merkle::HashFromBase64(h.get<std::string>()));
  EXPECT_TRUE(merkle::VerifyConsistency(2, 5, proof, *store_->RootHash(2), root5).ok());

  ExpectProblem("/v1/log/proof/inclusion?seq=6&size=5", 400, "seq-out-of-range", "'seq'");
  ExpectProblem("/v1/log/proof/inclusion?seq=1&size=6", 404, "size-out-of-range", "'size'");
  ExpectProblem("/v1/log/proof/inclusion?seq=0&size=5", 400, "invalid-parameter", "'seq'");
  ExpectProblem("/v1/log/proof/inclusion?seq=x1&size=5", 400, "invalid-parameter", "'seq'");
  ExpectProblem("/v1/log/proof/inclusion?size=5", 400, "missing-parameter", "'seq'");
  ExpectProblem("/v1/log/proof/inclusion?seq=1&size=-5", 400, "invalid-parameter", "'size'");
  ExpectProblem("/v1/log/proof/consistency?from=4&to=2", 400, "from-after-to", "'from'");
  ExpectProblem("/v1/log/proof/consistency?from=1&to=9", 404, "size-out-of-range", "'to'");
  ExpectProblem("/v1/log/proof/consistency?from=1.5&to=3", 400, "invalid-parameter", "'from'");
  ExpectProblem("/v1/log/proof/consistency?from=1", 400, "missing-parameter", "'to'");
  ExpectProblem("/v1/snapshots/9/bundle", 404, "unknown-snapshot", "9");
  ExpectProblem("/v1/snapshots/4/bundle?size=3", 400, "seq-out-of-range", "'size'");
  ExpectProblem("/v1/snapshots/zz/bundle", 400, "invalid-sequence", "zz");
  // Nothing served changed.
  EXPECT_EQ(Get("/v1/log/checkpoint"), before);
  EXPECT_EQ(store_->TreeSize(), 5u);
}

TEST_F(LogRoutesTest, BundlesVerifyOfflineAndEveryTamperingFails) {
  Publish(6);
  const std::string bundle = Get("/v1/snapshots/3/bundle");
  attest::audit::KeyRing ring({key_->public_key()});
  auto verified = attest::audit::VerifyBundle(bundle, ring, config_->origin);
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_EQ(verified->snapshot.snapshot.sequence, 3u);
  EXPECT_EQ(verified->checkpoint.size, 6u);
  auto at4 = attest::audit::VerifyBundle(Get("/v1/snapshots/3/bundle?size=4"), ring, config_->origin);
  ASSERT_TRUE(at4.ok()) << at4.status().ToString();
  EXPECT_EQ(at4->checkpoint.size, 4u);

  auto proof = *note::ParseTlogProof(bundle);
  std::vector<std::pair<std::string, std::string>> tampered;
  {
    auto p = proof;
    (*p.extra)[p.extra->size() / 2] ^= 1;
    tampered.emplace_back("leaf", note::FormatTlogProof(p));
  }
  {
    auto p = proof;
    p.inclusion[0][0] ^= 1;
    tampered.emplace_back("proof hash", note::FormatTlogProof(p));
  }
  {
    auto p = proof;
    p.index = 3;  // snapshot 3 is leaf 2
    tampered.emplace_back("index", note::FormatTlogProof(p));
  }
  {
    auto p = proof;
    p.checkpoint.replace(p.checkpoint.find("\n6\n"), 3, "\n7\n");
    tampered.emplace_back("size", note::FormatTlogProof(p));
  }
  {
    auto n = *note::Parse(proof.checkpoint);
    n.signatures[0].bytes[5] ^= 1;
    auto p = proof;
    p.checkpoint = note::Format(n);
    tampered.emplace_back("signature", note::FormatTlogProof(p));
  }
  for (const auto& [what, text] : tampered) {
    EXPECT_FALSE(attest::audit::VerifyBundle(text, ring, config_->origin).ok()) << what;
    const std::string path = WriteScratch("bad.tlog-proof", text);
    auto r = Attest("verify-bundle " + path + " --key " + PubFile(*key_, "log.pub"));
    EXPECT_EQ(r.code, 1) << what << ": " << r.output;
  }
  // Another key, another origin.
  EXPECT_FALSE(attest::audit::VerifyBundle(bundle, attest::audit::KeyRing({KeyFromSeed(9).public_key()}), "").ok());
  EXPECT_FALSE(attest::audit::VerifyBundle(bundle, ring, "other.example/log").ok());
  const std::string good = WriteScratch("good.tlog-proof", bundle);
  auto ok = Attest("verify-bundle " + good + " --key " + PubFile(*key_, "log.pub"));
  EXPECT_EQ(ok.code, 0) << ok.output;
  EXPECT_NE(ok.output.find("OK bundle seq=3 tree_size=6"), std::string::npos) << ok.output;
  auto unknown = Attest("verify-bundle " + good + " --key " + PubFile(KeyFromSeed(9), "other.pub"));
  EXPECT_EQ(unknown.code, 1) << unknown.output;
}

TEST_F(LogRoutesTest, WitnessCosignaturesAreVerifiedStoredAndServed) {
  attest::SigningKey witness = KeyFromSeed(21);
  config_->witnesses.push_back({"witness.example", "", witness.public_key()});
  Publish(2);
  const std::string note1 = *store_->CheckpointAt(1);
  const std::string note2 = *store_->CheckpointAt(2);
  auto cosigned = [&](const std::string& signed_note, const std::string& text_to_sign, const std::string& name,
                      const attest::SigningKey& k) {
    auto n = *note::Parse(signed_note);
    n.signatures.push_back(note::Cosign(text_to_sign, name, k, 1'763'780'100));
    return note::Format(n);
  };
  auto post = [&](const std::string& body) { return client_->Post("/v1/log/cosignatures", body, "text/plain"); };
  auto text1 = note::Parse(note1)->text;
  auto text2 = note::Parse(note2)->text;

  // A cosignature made over checkpoint 1 but attached to checkpoint 2: refused, nothing stored.
  auto wrong = post(cosigned(note2, text1, "witness.example", witness));
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 400) << wrong->body;
  EXPECT_NE(wrong->body.find("does not verify"), std::string::npos) << wrong->body;
  // A checkpoint this log never signed (another root for size 2): 409.
  auto forged = *note::Parse(note2);
  auto forged_cp = *note::ParseCheckpoint(forged.text);
  forged_cp.root[0] ^= 1;
  forged.text = note::FormatCheckpoint(forged_cp);
  auto conflict = post(cosigned(note::Format(forged), forged.text, "witness.example", witness));
  ASSERT_TRUE(conflict);
  EXPECT_EQ(conflict->status, 409) << conflict->body;
  EXPECT_EQ(conflict->get_header_value("Content-Type"), "application/problem+json");
  // An unconfigured witness and garbage.
  auto stranger = post(cosigned(note2, text2, "stranger.example", KeyFromSeed(22)));
  ASSERT_TRUE(stranger);
  EXPECT_EQ(stranger->status, 400) << stranger->body;
  auto garbage = post("not a note");
  ASSERT_TRUE(garbage);
  EXPECT_EQ(garbage->status, 400);
  EXPECT_TRUE(store_->Cosignatures(2)->empty());
  EXPECT_EQ(Get("/v1/log/checkpoints/2"), note2);

  auto good = post(cosigned(note2, text2, "witness.example", witness));
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 201) << good->body;
  const std::string served = Get("/v1/log/checkpoints/2");
  auto n = note::Parse(served);
  ASSERT_TRUE(n.ok()) << served;
  ASSERT_EQ(n->signatures.size(), 2u);
  EXPECT_TRUE(note::VerifyCosignature(n->signatures[1], n->text, "witness.example", witness.public_key()).ok());
  EXPECT_EQ(Get("/v1/log/checkpoint"), served);
}

TEST_F(LogRoutesTest, AuditRemembersStateCosignsAndCatchesAFork) {
  attest::SigningKey witness = KeyFromSeed(31);
  std::filesystem::create_directories(Scratch());
  ASSERT_TRUE(witness.WriteFile((Scratch() / "witness.key").string()).ok());
  config_->witnesses.push_back({"witness.example", "", witness.public_key()});
  Publish(3);
  const std::string pub = PubFile(*key_, "log.pub");
  const std::string state = (Scratch() / "state").string();
  auto first = Attest("audit " + Base() + " --key " + pub + " --state " + state);
  EXPECT_EQ(first.code, 0) << first.output;
  EXPECT_NE(first.output.find("OK audit plumbline.test/daemon size=3"), std::string::npos) << first.output;
  Publish(2);
  auto second = Attest("audit " + Base() + " --key " + pub + " --state " + state + " --witness-key " +
                       (Scratch() / "witness.key").string() + " --witness-name witness.example");
  EXPECT_EQ(second.code, 0) << second.output;
  EXPECT_NE(second.output.find("size=5"), std::string::npos) << second.output;
  EXPECT_NE(second.output.find("new_snapshots=2"), std::string::npos) << second.output;
  EXPECT_NE(second.output.find("OK cosigned size=5"), std::string::npos) << second.output;
  EXPECT_EQ(store_->Cosignatures(5)->size(), 1u);
  auto wrong_key = Attest("audit " + Base() + " --key " + PubFile(KeyFromSeed(9), "other.pub") + " --state " +
                          (Scratch() / "state2").string());
  EXPECT_EQ(wrong_key.code, 1) << wrong_key.output;

  // The operator loses the directory and starts over with the same key: a second history.
  StopServer();
  publisher_.reset();
  store_.reset();
  std::filesystem::remove_all(dir_);
  OpenStore();
  StartServer();
  Publish(7);
  const std::string remembered = ReadFile(state + "/state.json");
  auto fork = Attest("audit " + Base() + " --key " + pub + " --state " + state);
  EXPECT_EQ(fork.code, 1) << fork.output;
  EXPECT_NE(fork.output.find("INCONSISTENT"), std::string::npos) << fork.output;
  EXPECT_EQ(ReadFile(state + "/state.json"), remembered);
}

TEST_F(LogRoutesTest, StartUpSignsTheCheckpointACrashLeftMissing) {
  Publish(2);
  // Simulate a kill between the synced append and the checkpoint: append without signing.
  attest::Snapshot s;
  s.origin = config_->origin;
  s.sequence = 3;
  s.time_unix_nanos = clock_.NowUnixNanos();
  s.previous_hash = publisher_->Latest()->signed_snapshot.payload_hash;
  s.config_digest = config_->digest;
  auto signed_snapshot = attest::SignSnapshot(s, *key_);
  ASSERT_TRUE(store_->Append(3, signed_snapshot->envelope_json).ok());
  EXPECT_EQ(store_->LatestCheckpointSize(), 2u);
  StopServer();
  OpenStore();  // Resume()
  EXPECT_EQ(store_->LatestCheckpointSize(), 3u);
  auto c = *note::ParseCheckpoint(note::Parse(*store_->LatestCheckpoint())->text);
  EXPECT_EQ(c.root, *store_->RootHash(3));
  StartServer();
}

TEST_F(LogRoutesTest, RefusesToSignWhenTheLatestCheckpointDoesNotMatch) {
  Publish(1);
  StopServer();
  // The stored checkpoint names another origin (the config's origin was changed): refuse.
  Config changed = *config_;
  changed.origin = "plumbline.test/renamed";
  attest::Snapshot s;
  s.origin = changed.origin;
  s.sequence = 2;
  s.time_unix_nanos = clock_.NowUnixNanos();
  s.previous_hash = publisher_->Latest()->signed_snapshot.payload_hash;
  s.config_digest = config_->digest;
  ASSERT_TRUE(store_->Append(2, attest::SignSnapshot(s, *key_)->envelope_json).ok());
  auto signed_note = SignLatestCheckpoint(store_.get(), *key_, changed.origin);
  EXPECT_EQ(signed_note.status().code(), Code::kCorruption) << signed_note.status().ToString();
  EXPECT_EQ(store_->LatestCheckpointSize(), 1u);
  StartServer();
}

TEST_F(LogRoutesTest, KeyRotationKeepsOldProofsAndAuditsVerifiable) {
  Publish(3);
  const std::string pub = PubFile(*key_, "log.pub");
  const std::string state = (Scratch() / "state").string();
  ASSERT_EQ(Attest("audit " + Base() + " --key " + pub + " --state " + state).code, 0);
  const std::string old_bundle = Get("/v1/snapshots/2/bundle");

  StopServer();
  publisher_.reset();
  store_.reset();
  attest::SigningKey next = KeyFromSeed(8);
  auto announcement = RotateSigningKey(*config_, *key_, next, clock_);
  ASSERT_TRUE(announcement.ok()) << announcement.status().ToString();
  // Rotating again from the old key is refused: it was rotated out.
  EXPECT_FALSE(RotateSigningKey(*config_, *key_, KeyFromSeed(10), clock_).ok());
  clock_.Advance(kNanosPerSecond);
  *key_ = std::move(next);
  OpenStore();
  StartServer();
  Publish(2);

  auto history = nlohmann::json::parse(Get("/v1/keys/history"));
  ASSERT_EQ(history["keys"].size(), 2u);
  EXPECT_EQ(history["keys"][0]["last_sequence"], 3);
  EXPECT_EQ(history["keys"][1]["first_sequence"], 4);
  EXPECT_EQ(history["keys"][1]["key_id"], key_->KeyId());
  EXPECT_EQ(history["current_key_id"], key_->KeyId());
  auto parsed = attest::audit::ParseKeyAnnouncement(history["announcements"][0].dump());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->tree_size, 3u);

  // The auditor pinned the old key; the history carries it to the new one.
  auto audit = Attest("audit " + Base() + " --key " + pub + " --state " + state);
  EXPECT_EQ(audit.code, 0) << audit.output;
  EXPECT_NE(audit.output.find("size=5"), std::string::npos) << audit.output;
  // A bundle made before the rotation still verifies with the old key alone; one after it needs
  // the history.
  EXPECT_EQ(Attest("verify-bundle " + WriteScratch("old.tlog-proof", old_bundle) + " --key " + pub).code, 0);
  const std::string new_bundle = WriteScratch("new.tlog-proof", Get("/v1/snapshots/5/bundle"));
  EXPECT_EQ(Attest("verify-bundle " + new_bundle + " --key " + pub).code, 1);
  const std::string saved_history = WriteScratch("history.json", Get("/v1/keys/history"));
  auto with_history = Attest("verify-bundle " + new_bundle + " --key " + pub + " --key-history " + saved_history);
  EXPECT_EQ(with_history.code, 0) << with_history.output;
}

}  // namespace
}  // namespace plumbline::daemon
