#include "plumbline/reserves/custodian.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "plumbline/attest/canonical_json.h"

#include "test_fixture.h"

namespace plumbline::reserves::testing {
namespace {

class CustodianTest : public ReservesTest {
 protected:
  // Nothing stored or served changed since `count` statements were accepted.
  void ExpectUnchanged(uint64_t count, std::optional<uint64_t> head_sequence) {
    EXPECT_EQ(store_->StatementCount(Stream()), count);
    auto head = store_->Head(Stream());
    EXPECT_EQ(head.has_value(), head_sequence.has_value());
    if (head && head_sequence) {
      EXPECT_EQ(head->sequence, *head_sequence);
    }
    auto att = monitor_->AttestationsAt(clock_.NowUnixNanos());
    EXPECT_EQ(att[0].custodian.has_value(), head_sequence.has_value());
    if (att[0].custodian && head_sequence) {
      EXPECT_EQ(att[0].custodian->sequence, *head_sequence);
    }
  }
};

TEST_F(CustodianTest, AStatementSignedByThePinnedKeyIsStoredAndBecomesTheHolding) {
  ReserveMonitor& m = Monitor();
  const std::string body = Signed(Statement("1000.5", 1, kStart - 1000));
  auto accepted = m.SubmitStatement(body);
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
  EXPECT_EQ(accepted->asset, "TSLAx");
  EXPECT_EQ(accepted->sha256, attest::Sha256Hex(body));
  EXPECT_EQ(*store_->GetEvidence(accepted->sha256), body);  // stored byte for byte
  ExpectUnchanged(1, 1);
  auto att = m.AttestationsAt(clock_.NowUnixNanos());
  EXPECT_EQ(att[0].custodian->settled_shares.ToString(), "1000.5");  // fractional shares allowed
  EXPECT_EQ(att[0].custodian->in_transit_shares.ToString(), "5");
}

TEST_F(CustodianTest, AStatementSignedByAnUnknownKeyIsRefused) {
  ReserveMonitor& m = Monitor();
  auto other = attest::SigningKey::Generate().value();
  auto r = m.SubmitStatement(sim::SignStatementEd25519(Statement("1000", 1, kStart), other));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnauthenticated);
  EXPECT_NE(r.status().message().find("pinned key " + custodian_key_->KeyId()), std::string::npos)
      << r.status().message();
  ExpectUnchanged(0, std::nullopt);
}

TEST_F(CustodianTest, ABadSignatureIsRefused) {
  ReserveMonitor& m = Monitor();
  auto env = attest::ParseEnvelope(Signed(Statement("1000", 1, kStart))).value();
  env.signatures[0].sig[10] ^= 0x01;
  auto r = m.SubmitStatement(attest::EnvelopeToJson(env));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnauthenticated);
  ExpectUnchanged(0, std::nullopt);
  // A payload changed after signing fails the same way.
  env = attest::ParseEnvelope(Signed(Statement("1000", 1, kStart))).value();
  env.payload = *attest::CustodianStatementPayload(Statement("9000", 1, kStart));
  EXPECT_EQ(m.SubmitStatement(attest::EnvelopeToJson(env)).status().code(), Code::kUnauthenticated);
  ExpectUnchanged(0, std::nullopt);
}

TEST_F(CustodianTest, AReplayedStatementIsRefused) {
  ReserveMonitor& m = Monitor();
  const std::string body = Signed(Statement("1000", 1, kStart - 1000));
  ASSERT_TRUE(m.SubmitStatement(body).ok());
  auto r = m.SubmitStatement(body);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("replay: statement sequence 1 is not above the last accepted sequence 1"),
            std::string::npos);
  ExpectUnchanged(1, 1);
}

TEST_F(CustodianTest, AStatementOlderThanTheLastIsRefused) {
  ReserveMonitor& m = Monitor();
  ASSERT_TRUE(m.SubmitStatement(Signed(Statement("1000", 5, kStart - 1000))).ok());
  // Lower sequence.
  auto r = m.SubmitStatement(Signed(Statement("2000", 4, kStart)));
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition);
  // Higher sequence but an earlier as-of.
  r = m.SubmitStatement(Signed(Statement("2000", 6, kStart - 2000)));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("older statement: as_of"), std::string::npos) << r.status().message();
  ExpectUnchanged(1, 5);
  EXPECT_EQ(m.AttestationsAt(kStart)[0].custodian->settled_shares.ToString(), "1000");
}

TEST_F(CustodianTest, AStatementForAnUnknownIsinIsRefused) {
  ReserveMonitor& m = Monitor();
  auto s = Statement("1000", 1, kStart);
  s.isin = "US0378331005";  // AAPL: not configured
  auto r = m.SubmitStatement(Signed(s));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find("no configured asset has ISIN US0378331005"), std::string::npos);
  ExpectUnchanged(0, std::nullopt);
}

TEST_F(CustodianTest, NegativeOrMalformedShareCountsAreRefused) {
  ReserveMonitor& m = Monitor();
  auto r = m.SubmitStatement(Signed(Statement("-1", 1, kStart)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("statement.settled_shares: share count must not be negative"), std::string::npos)
      << r.status().message();
  // More fractional digits than kShareScale (9).
  r = m.SubmitStatement(Signed(Statement("1.0000000001", 1, kStart)));
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  // An exponent is not a decimal string: hand-built payload, validly signed.
  attest::Envelope env = attest::SignEnvelope(
      attest::kCustodianStatementPayloadType,
      *attest::CanonicalizeText(R"({"account":"ACC-1","as_of":"1","custodian_id":"acme-custody",)"
                                R"("in_transit_shares":"0","isin":"US88160R1014","sequence":1,"settled_shares":"1e3"})"),
      *custodian_key_);
  r = m.SubmitStatement(attest::EnvelopeToJson(env));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("\"1e3\" is not a canonical non-negative decimal"), std::string::npos);
  ExpectUnchanged(0, std::nullopt);
}

TEST_F(CustodianTest, AStatementFromTheFutureIsRefused) {
  ReserveMonitor& m = Monitor();
  auto r = m.SubmitStatement(Signed(Statement("1000", 1, kStart + 301 * kNanosPerSecond)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("is in the future"), std::string::npos) << r.status().message();
  ExpectUnchanged(0, std::nullopt);
  EXPECT_TRUE(m.SubmitStatement(Signed(Statement("1000", 1, kStart + 60 * kNanosPerSecond))).ok());  // within skew
}

TEST_F(CustodianTest, AStatementOfAnotherAccountIsRefused) {
  ReserveMonitor& m = Monitor();
  auto s = Statement("1000", 1, kStart);
  s.account = "ACC-2";
  EXPECT_EQ(m.SubmitStatement(Signed(s)).status().code(), Code::kFailedPrecondition);
  ExpectUnchanged(0, std::nullopt);
}

TEST_F(CustodianTest, EcdsaStatementsVerifyAgainstThePinnedCa) {
  const int64_t now_s = kStart / kNanosPerSecond;
  auto custodian = sim::EcdsaCustodian::Create(now_s - 3600, now_s + 86400).value();
  AssetConfig a = Asset();
  a.custodian.ed25519_key.reset();
  a.custodian.ca_pem = custodian->ca_pem();
  ReserveMonitor& m = Monitor(a);
  auto r = m.SubmitStatement(custodian->Sign(Statement("750", 1, kStart - 1000)));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->statement.settled_shares.ToString(), "750");
  ExpectUnchanged(1, 1);

  // Signed under a certificate of another CA.
  auto stranger = sim::EcdsaCustodian::Create(now_s - 3600, now_s + 86400).value();
  auto bad = m.SubmitStatement(stranger->Sign(Statement("9999", 2, kStart)));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kUnauthenticated);
  EXPECT_NE(bad.status().message().find("certificate not trusted"), std::string::npos) << bad.status().message();
  ExpectUnchanged(1, 1);
}

TEST_F(CustodianTest, AnExpiredCertificateIsRefused) {
  const int64_t now_s = kStart / kNanosPerSecond;
  auto custodian = sim::EcdsaCustodian::Create(now_s - 7200, now_s - 3600).value();  // expired an hour ago
  AssetConfig a = Asset();
  a.custodian.ed25519_key.reset();
  a.custodian.ca_pem = custodian->ca_pem();
  ReserveMonitor& m = Monitor(a);
  auto r = m.SubmitStatement(custodian->Sign(Statement("750", 1, kStart - 1000)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnauthenticated);
  EXPECT_NE(r.status().message().find("certificate has expired"), std::string::npos) << r.status().message();
  ExpectUnchanged(0, std::nullopt);
}

TEST_F(CustodianTest, ResumeRestoresTheNewestAcceptedStatement) {
  ReserveMonitor& m = Monitor();
  ASSERT_TRUE(m.SubmitStatement(Signed(Statement("1000", 1, kStart - 2000))).ok());
  ASSERT_TRUE(m.SubmitStatement(Signed(Statement("1100", 2, kStart - 1000))).ok());
  ReserveMonitor& again = Monitor();  // a restarted daemon: same store, fresh monitor
  ASSERT_TRUE(again.Resume().ok());
  auto att = again.AttestationsAt(kStart);
  ASSERT_TRUE(att[0].custodian.has_value());
  EXPECT_EQ(att[0].custodian->settled_shares.ToString(), "1100");
  EXPECT_EQ(again.SubmitStatement(Signed(Statement("1100", 2, kStart - 1000))).status().code(),
            Code::kFailedPrecondition);
}

}  // namespace
}  // namespace plumbline::reserves::testing

namespace plumbline::reserves::testing {
namespace {

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The signing recipes of docs/reserves.md, run as documented, produce statements the daemon accepts.
class DocumentedRecipeTest : public ReservesTest {
 protected:
  int Sh(const std::string& cmd) { return std::system(("cd " + dir_.string() + "-doc && " + cmd).c_str()); }
  void SetUp() override {
    ReservesTest::SetUp();
    std::filesystem::remove_all(dir_.string() + "-doc");
    std::filesystem::create_directories(dir_.string() + "-doc");
    clock_.Set(SystemClock::Instance().NowUnixNanos());
    std::ofstream(dir_.string() + "-doc/statement.json", std::ios::binary)
        << R"({"account":"ACC-1","as_of":"1763780000000000000","custodian_id":"acme-custody",)"
        << R"("in_transit_shares":"25","isin":"US88160R1014","sequence":1,"settled_shares":"1000000.5"})";
  }
  void TearDown() override {
    std::filesystem::remove_all(dir_.string() + "-doc");
    ReservesTest::TearDown();
  }
};

TEST_F(DocumentedRecipeTest, OpensslEd25519RecipeIsAccepted) {
  ASSERT_EQ(Sh("openssl genpkey -algorithm ed25519 -out c.key 2>/dev/null && openssl pkey -in c.key -pubout -out c.pub && "
               "bash " PLUMBLINE_SOURCE_DIR "/docs/reserves/sign_statement_ed25519.sh c.key statement.json > sub.json"),
            0);
  AssetConfig a = Asset();
  a.custodian.ed25519_key = attest::PublicKey::LoadFile(dir_.string() + "-doc/c.pub").value();
  auto r = Monitor(a).SubmitStatement(Slurp(dir_.string() + "-doc/sub.json"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->statement.settled_shares.ToString(), "1000000.5");
}

TEST_F(DocumentedRecipeTest, PythonEcdsaRecipeIsAccepted) {
  ASSERT_EQ(Sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt "
               "-days 3650 -subj /CN=CA 2>/dev/null && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
               "-keyout s.key -out s.csr -subj /CN=statements 2>/dev/null && openssl x509 -req -in s.csr -CA ca.crt "
               "-CAkey ca.key -CAcreateserial -days 365 -out s.crt 2>/dev/null && /usr/bin/python3 " PLUMBLINE_SOURCE_DIR
               "/docs/reserves/sign_statement_ecdsa.py s.key s.crt statement.json > sub.json"),
            0);
  // openssl stamps notBefore with the second it signed in, which may be after SetUp's clock.
  clock_.Set(SystemClock::Instance().NowUnixNanos());
  AssetConfig a = Asset();
  a.custodian.ed25519_key.reset();
  a.custodian.ca_pem = Slurp(dir_.string() + "-doc/ca.crt");
  auto r = Monitor(a).SubmitStatement(Slurp(dir_.string() + "-doc/sub.json"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->statement.in_transit_shares.ToString(), "25");
}

}  // namespace
}  // namespace plumbline::reserves::testing
