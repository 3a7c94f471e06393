#include "plumbline/reserves/monitor.h"

#include <gtest/gtest.h>

#include "test_fixture.h"

namespace plumbline::reserves::testing {
namespace {

using attest::ReserveStatus;

class ReconcileTest : public ReservesTest {
 protected:
  attest::ReserveAttestation Round(ReserveMonitor& m) {
    Status st = m.RunRound();
    EXPECT_TRUE(st.ok()) << st.ToString();
    return m.AttestationsAt(clock_.NowUnixNanos())[0];
  }
  attest::EvidenceFetcher Fetcher() {
    return [this](const std::string& sha) { return store_->GetEvidence(sha); };
  }
};

TEST_F(ReconcileTest, CirculatingIsGrossMinusExcludedAndTheRatioComesFromSettledShares) {
  ReserveMonitor& m = Monitor();
  ASSERT_TRUE(m.SubmitStatement(Signed(Statement("1000", 1, kStart - 1000))).ok());
  auto a = Round(m);
  EXPECT_EQ(a.status, ReserveStatus::kFullyBacked);
  ASSERT_EQ(a.chains.size(), 2u);
  EXPECT_EQ(a.chains[0].circulating->ToString(), "850000000000000000000");  // 1000 - 100 - 50 tokens
  EXPECT_EQ(a.chains[1].circulating->ToString(), "150000000");              // 200 - 50 tokens, 6 decimals
  EXPECT_EQ(a.circulating_tokens->ToString(), "1000");
  EXPECT_EQ(a.required_shares->ToString(), "1000.000000000");
  EXPECT_EQ(a.ratio->ToString(), "1.00000000");
  EXPECT_EQ(a.custodian->in_transit_shares.ToString(), "5");  // reported apart, not counted
  EXPECT_TRUE(attest::CheckReserveAttestation(a, Fetcher()).empty());
}

TEST_F(ReconcileTest, UnderBackedBeyondTheToleranceAndFullyBackedWithinIt) {
  ReserveMonitor& m = Monitor();
  ASSERT_TRUE(m.SubmitStatement(Signed(Statement("999.5", 1, kStart - 2000))).ok());
  auto a = Round(m);
  EXPECT_EQ(a.status, ReserveStatus::kFullyBacked);  // 0.9995 >= 1 - 0.001
  EXPECT_EQ(a.ratio->ToString(), "0.99950000");
  ASSERT_TRUE(m.SubmitStatement(Signed(Statement("990", 2, kStart - 1000))).ok());
  a = m.AttestationsAt(clock_.NowUnixNanos())[0];
  EXPECT_EQ(a.status, ReserveStatus::kUnderBacked);
  EXPECT_EQ(a.ratio->ToString(), "0.99000000");
  ASSERT_EQ(a.reasons.size(), 1u);
  EXPECT_NE(a.reasons[0].find("settled shares 990 < required 1000.000000000"), std::string::npos);
}

TEST_F(ReconcileTest, TheStagedMultiplierAppliesFromItsActivationTime) {
  AssetConfig asset = Asset();
  asset.multiplier.next = *Multiplier::Parse("1/3");  // a 3:1 split of the token
  asset.multiplier.activation_unix_nanos = kStart + 10 * kNanosPerSecond;
  ReserveMonitor& m = Monitor(asset);
  ASSERT_TRUE(m.SubmitStatement(Signed(Statement("400", 1, kStart - 1000))).ok());
  auto before = Round(m);
  EXPECT_EQ(before.status, ReserveStatus::kUnderBacked);
  clock_.Advance(10 * kNanosPerSecond);
  auto after = m.AttestationsAt(clock_.NowUnixNanos())[0];
  EXPECT_EQ(after.multiplier.ToString(), "1/3");
  EXPECT_EQ(after.required_shares->ToString(), "333.333333334");  // rounded up
  EXPECT_EQ(after.ratio->ToString(), "1.19999999");                 // rounded down
  EXPECT_EQ(after.status, ReserveStatus::kFullyBacked);
}

TEST_F(ReconcileTest, MissingOrStaleInputsNeverRepeatTheLastGoodRatio) {
  ReserveMonitor& m = Monitor();
  // No statement yet: unknown.
  auto a = Round(m);
  EXPECT_EQ(a.status, ReserveStatus::kUnknown);
  EXPECT_FALSE(a.ratio.has_value());
  ASSERT_TRUE(m.SubmitStatement(Signed(Statement("1000", 1, kStart - 1000))).ok());
  a = Round(m);
  ASSERT_EQ(a.status, ReserveStatus::kFullyBacked);

  // A round whose providers disagree: unknown, not the previous 1.0.
  evm_[1]->SetFaults({.supply_offset = 7});
  a = Round(m);
  EXPECT_EQ(a.status, ReserveStatus::kUnknown);
  EXPECT_FALSE(a.ratio.has_value());
  EXPECT_NE(a.reasons[0].find("chain ethereum: supply unknown: providers disagree"), std::string::npos) << a.reasons[0];

  // Providers agree again, then rounds stop arriving: stale once max_supply_age_ms passes.
  evm_[1]->SetFaults({});
  ASSERT_EQ(Round(m).status, ReserveStatus::kFullyBacked);
  clock_.Advance(61 * kNanosPerSecond);
  a = m.AttestationsAt(clock_.NowUnixNanos())[0];
  EXPECT_EQ(a.status, ReserveStatus::kStale);
  EXPECT_FALSE(a.ratio.has_value());
  EXPECT_NE(a.reasons[0].find("is older than 60000 ms"), std::string::npos);

  // A statement older than max_statement_age_ms is stale too.
  ASSERT_EQ(Round(m).status, ReserveStatus::kFullyBacked);
  clock_.Advance(3600 * kNanosPerSecond);
  a = Round(m);
  EXPECT_EQ(a.status, ReserveStatus::kStale);
  EXPECT_NE(a.reasons.back().find("custodian statement as of"), std::string::npos);
}

TEST_F(ReconcileTest, ExcludedBalancesAboveTheSupplyMakeTheChainUnknown) {
  for (auto& n : evm_) n->SetBalance(kBridge, *UInt256::ParseDecimal("2000000000000000000000"));
  ReserveMonitor& m = Monitor();
  ASSERT_TRUE(m.SubmitStatement(Signed(Statement("1000", 1, kStart - 1000))).ok());
  auto a = Round(m);
  EXPECT_EQ(a.status, ReserveStatus::kUnknown);
  EXPECT_NE(a.reasons[0].find("excluded amounts exceed the gross supply"), std::string::npos);
}

TEST_F(ReconcileTest, ASupplyBeyondTheExactRangeIsUnknownNotRounded) {
  // 2^128 + 1 base units at 0 decimals: 39 digits, beyond the 36-digit exact decimal range.
  for (auto& n : evm_) {
    n->SetToken(kToken, 18);
    n->SetSupply(*UInt256::ParseDecimal("340282366920938463463374607431768211457"));
  }
  AssetConfig asset = Asset();
  asset.chains[0].decimals = 0;
  ReserveMonitor& m = Monitor(asset);
  ASSERT_TRUE(m.SubmitStatement(Signed(Statement("1000", 1, kStart - 1000))).ok());
  auto a = Round(m);
  EXPECT_EQ(a.chains[0].gross->ToString(), "340282366920938463463374607431768211457");
  EXPECT_EQ(a.status, ReserveStatus::kUnknown);
  EXPECT_NE(a.reasons[0].find("exceeds the exact decimal range"), std::string::npos) << a.reasons[0];
}

TEST_F(ReconcileTest, AnAuditorRederivesEveryNumberAndCatchesATamperedOne) {
  ReserveMonitor& m = Monitor();
  ASSERT_TRUE(m.SubmitStatement(Signed(Statement("1000", 1, kStart - 1000))).ok());
  auto a = Round(m);
  // Through JSON and back, as an auditor receives it.
  auto parsed = attest::ParseReserveAttestation(*attest::ReserveAttestationJson(a), "a");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  for (const auto& p : attest::CheckReserveAttestation(*parsed, Fetcher())) ADD_FAILURE() << p;

  auto tampered = *parsed;
  tampered.chains[0].gross = *UInt256::ParseDecimal("900000000000000000000");
  auto problems = attest::CheckReserveAttestation(tampered, Fetcher());
  ASSERT_FALSE(problems.empty());
  EXPECT_NE(problems[0].find("ratio is 1.00000000, re-derived"), std::string::npos) << problems[0];

  tampered = *parsed;
  tampered.custodian->settled_shares = *Decimal::Parse("5000");
  tampered.ratio = *Decimal::Parse("5.00000000");
  problems = attest::CheckReserveAttestation(tampered, Fetcher());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("statement numbers differ"), std::string::npos) << problems[0];
}

TEST_F(ReconcileTest, MintCheckAnswersWhetherSupplyPlusAmountStaysWithinReserves) {
  ReserveMonitor& m = Monitor();
  ASSERT_TRUE(m.SubmitStatement(Signed(Statement("1010", 1, kStart - 1000))).ok());
  auto a = Round(m);
  auto ok = CheckMint(a, *Decimal::Parse("10"));
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->within_reserves);
  EXPECT_EQ(ok->required_shares_after->ToString(), "1010.000000000");
  auto too_much = CheckMint(a, *Decimal::Parse("10.000001"));
  EXPECT_FALSE(too_much->within_reserves);
  EXPECT_EQ(CheckMint(a, *Decimal::Parse("-1")).status().code(), Code::kInvalidArgument);
  clock_.Advance(61 * kNanosPerSecond);
  auto stale = CheckMint(m.AttestationsAt(clock_.NowUnixNanos())[0], *Decimal::Parse("1"));
  EXPECT_FALSE(stale->within_reserves);
  EXPECT_EQ(stale->reason, "reserve status is stale");
}

TEST_F(ReconcileTest, EvidenceIsStoredBeforeTheAttestationCitesIt) {
  ReserveMonitor& m = Monitor();
  auto a = Round(m);
  for (const auto& c : a.chains) {
    ASSERT_FALSE(c.evidence.empty());
    for (const auto& e : c.evidence) {
      auto bytes = m.Evidence(e.sha256);
      ASSERT_TRUE(bytes.ok()) << e.sha256;
      EXPECT_EQ(attest::Sha256Hex(*bytes), e.sha256);
    }
  }
  EXPECT_EQ(m.Evidence(std::string(64, '0')).status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace plumbline::reserves::testing
