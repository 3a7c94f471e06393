// Runs the built `attest` binary the way an auditor would, and checks exit codes and messages.
#include <stdio.h>
#include <sys/wait.h>

#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "plumbline/attest/snapshot.h"

namespace plumbline::attest {
namespace {

namespace fs = std::filesystem;

struct ProcessResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

ProcessResult Attest(const std::string& args) {
  ProcessResult r;
  FILE* p = popen((std::string(PLUMBLINE_ATTEST_BIN) + " " + args + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.output.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

SigningKey TestKey(uint8_t fill) {
  std::array<uint8_t, 32> seed{};
  seed.fill(fill);
  return std::move(SigningKey::FromSeed(seed).value());
}

Snapshot MakeSnapshot(uint64_t seq, const std::string& previous_hash) {
  Snapshot s;
  s.origin = "plumbline.example/test";
  s.sequence = seq;
  s.time_unix_nanos = 1763782189000000000 + static_cast<int64_t>(seq);
  s.previous_hash = previous_hash;
  s.config_digest = std::string(64, 'e');
  Mark m;
  m.symbol = "BTC/USD";
  m.status = MarkStatus::kOk;
  m.price = Decimal::Parse("67012.35").value();
  m.quorum = 1;
  Observation o;
  o.source = "kraken";
  o.price = *m.price;
  o.observed_unix_nanos = o.received_unix_nanos = s.time_unix_nanos - 1;
  m.contributions = {o};
  m.newest_observation_unix_nanos = o.observed_unix_nanos;
  s.marks = {m};
  return s;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/attest_cli_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Write("key.pub", key_.public_key().ToPem());
    Write("other.pub", other_.public_key().ToPem());
    signed_ = SignSnapshot(MakeSnapshot(1, kGenesisPreviousHash), key_).value();
    Write("good.json", signed_.envelope_json);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(Path(name), std::ios::binary) << text;
  }
  // The good envelope with one member rewritten.
  std::string Tampered(const std::function<void(Envelope&)>& edit) {
    Envelope env = ParseEnvelope(signed_.envelope_json).value();
    edit(env);
    return EnvelopeToJson(env);
  }

  SigningKey key_ = TestKey(21);
  SigningKey other_ = TestKey(22);
  SignedSnapshot signed_;
  fs::path dir_;
};

TEST_F(CliTest, VerifiesGoodEnvelopeFromFileAndStdin) {
  ProcessResult r = Attest("verify " + Path("good.json") + " --key " + Path("key.pub"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "OK snapshot seq=1 time=1763782189000000001 key_id=" + key_.KeyId() +
                          " payload_sha256=" + signed_.payload_hash + "\n");
  r = Attest("verify - --key " + Path("key.pub") + " < " + Path("good.json"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(CliTest, TamperedEnvelopesFailWithExitOne) {
  Write("payload.json", Tampered([](Envelope& e) {
          e.payload[e.payload.find("67012.35") + 1] = '8';
        }));
  Write("sig.json", Tampered([](Envelope& e) { e.signatures[0].sig[3] ^= 0x40; }));
  Write("type.json", Tampered([](Envelope& e) {
          e.payload_type = "application/vnd.plumbline.other.v1+json";
        }));
  Write("spaced.json", Tampered([](Envelope& e) { e.payload.insert(1, " "); }));
  Write("garbage.json", "{\"payloadType\":");
  const struct {
    const char* file;
    const char* key;
    const char* message;
  } cases[] = {
      {"payload.json", "key.pub", "attest: signature check failed: "},
      {"sig.json", "key.pub", "attest: signature check failed: "},
      {"type.json", "key.pub", "attest: payload type check failed: "},
      {"spaced.json", "key.pub", "attest: canonical form check failed: "},
      {"good.json", "other.pub", "attest: signature check failed: no signature with key id"},
      {"garbage.json", "key.pub", "attest: malformed envelope: "},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    ProcessResult r = Attest("verify " + Path(c.file) + " --key " + Path(c.key));
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << r.output;
  }
}

TEST_F(CliTest, UnavailableInputAndUsageErrors) {
  ProcessResult r = Attest("verify " + Path("missing.json") + " --key " + Path("key.pub"));
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("attest: cannot read envelope: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("missing.json"), std::string::npos) << r.output;

  // Nothing listens on port 1.
  r = Attest("verify http://127.0.0.1:1/v1/snapshots/1 --key " + Path("key.pub"));
  EXPECT_EQ(r.exit_code, 3) << r.output;

  EXPECT_EQ(Attest("").exit_code, 2);
  EXPECT_EQ(Attest("verify").exit_code, 2);
  EXPECT_EQ(Attest("verify " + Path("good.json")).exit_code, 2);  // no --key
  EXPECT_EQ(Attest("frobnicate").exit_code, 2);
  EXPECT_EQ(Attest("verify-chain http://127.0.0.1:1 --from x --to 2 --key k").exit_code, 2);
  EXPECT_EQ(Attest("verify-chain http://127.0.0.1:1 --from 3 --to 2 --key " + Path("key.pub"))
                .exit_code, 2);
  r = Attest("verify " + Path("good.json") + " --key " + Path("good.json"));  // not a key
  EXPECT_EQ(r.exit_code, 2) << r.output;

  r = Attest("--help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("Exit codes"), std::string::npos) << r.output;
}

TEST_F(CliTest, KeygenAndPubkey) {
  const std::string prefix = Path("new");
  ProcessResult r = Attest("keygen --out " + prefix);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_EQ(r.output.rfind("key_id=", 0), 0u) << r.output;
  const std::string key_id = r.output.substr(7, 64);
  auto pub = PublicKey::LoadFile(prefix + ".pub");
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->KeyId(), key_id);
  EXPECT_EQ(fs::status(prefix + ".key").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  r = Attest("pubkey --key " + prefix + ".key");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, pub->ToPem());

  r = Attest("keygen --out " + prefix);  // refuses to overwrite
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("already exists"), std::string::npos);

  fs::permissions(prefix + ".key", fs::perms::group_read, fs::perm_options::add);
  r = Attest("pubkey --key " + prefix + ".key");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("chmod 600"), std::string::npos) << r.output;
}

// A tiny stand-in for the daemon's GET /v1/snapshots/{n}.
class ChainServer {
 public:
  explicit ChainServer(std::vector<std::string> envelopes) : envelopes_(std::move(envelopes)) {
    server_.Get(R"(/v1/snapshots/(\d+))", [this](const httplib::Request& req, httplib::Response& res) {
      const size_t n = std::stoul(req.matches[1]);
      if (n < 1 || n > envelopes_.size()) {
        res.status = 404;
        res.set_content(R"({"title":"Not Found","status":404,"detail":"no snapshot )" +
                            std::to_string(n) + "\"}",
                        "application/problem+json");
        return;
      }
      res.set_content(envelopes_[n - 1], "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // bind_to_any_port already listens, so clients queue in the backlog until accept starts.
  }
  ~ChainServer() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  std::vector<std::string> envelopes_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

std::vector<SignedSnapshot> Chain(const SigningKey& key, int count) {
  std::vector<SignedSnapshot> out;
  std::string prev = kGenesisPreviousHash;
  for (int i = 1; i <= count; ++i) {
    out.push_back(SignSnapshot(MakeSnapshot(static_cast<uint64_t>(i), prev), key).value());
    prev = out.back().payload_hash;
  }
  return out;
}

TEST_F(CliTest, VerifyChain) {
  auto chain = Chain(key_, 4);
  std::vector<std::string> good;
  for (const auto& s : chain) good.push_back(s.envelope_json);
  {
    ChainServer server(good);
    ProcessResult r = Attest("verify-chain " + server.url() + " --from 1 --to 4 --key " + Path("key.pub"));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("OK snapshot seq=4 "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("OK chain 1..4: 4 snapshots verified"), std::string::npos) << r.output;
    r = Attest("verify-chain " + server.url() + "/ --from 2 --to 3 --key " + Path("key.pub"));
    EXPECT_EQ(r.exit_code, 0) << r.output;

    r = Attest("verify " + server.url() + "/v1/snapshots/9 --key " + Path("key.pub"));
    EXPECT_EQ(r.exit_code, 3) << r.output;
    EXPECT_NE(r.output.find("HTTP 404: no snapshot 9"), std::string::npos) << r.output;
    r = Attest("verify-chain " + server.url() + " --from 3 --to 5 --key " + Path("key.pub"));
    EXPECT_EQ(r.exit_code, 3) << r.output;
  }
  {
    // Snapshot 3 re-signed on a different predecessor: every signature is fine, the link is not.
    auto forked = good;
    forked[2] = SignSnapshot(MakeSnapshot(3, std::string(64, 'f')), key_).value().envelope_json;
    ChainServer server(forked);
    ProcessResult r = Attest("verify-chain " + server.url() + " --from 1 --to 4 --key " + Path("key.pub"));
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("attest: snapshot 3: chain link check failed"), std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("FAILED chain 1..4"), std::string::npos) << r.output;
  }
  {
    // Served under the wrong number.
    auto shuffled = good;
    std::swap(shuffled[1], shuffled[2]);
    ChainServer server(shuffled);
    ProcessResult r = Attest("verify-chain " + server.url() + " --from 2 --to 2 --key " + Path("key.pub"));
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("sequence check failed"), std::string::npos) << r.output;
  }
  {
    // Snapshot 1 must start from the genesis hash.
    auto bad_genesis = good;
    bad_genesis[0] = SignSnapshot(MakeSnapshot(1, std::string(64, '1')), key_).value().envelope_json;
    ChainServer server(bad_genesis);
    ProcessResult r = Attest("verify-chain " + server.url() + " --from 1 --to 1 --key " + Path("key.pub"));
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("64 zeros"), std::string::npos) << r.output;
  }
}

}  // namespace
}  // namespace plumbline::attest
