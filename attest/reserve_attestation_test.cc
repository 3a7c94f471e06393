#include "plumbline/attest/reserve_attestation.h"

#include <gtest/gtest.h>

#include "plumbline/attest/canonical_json.h"
#include "plumbline/attest/snapshot.h"

namespace plumbline::attest {
namespace {

ReserveAttestation Sample() {
  ReserveAttestation a;
  a.asset = "TSLAx";
  a.isin = "US88160R1014";
  a.multiplier = *Multiplier::Parse("1");
  a.tolerance = *Decimal::Parse("0.001");
  a.max_supply_age_ms = 60000;
  a.max_statement_age_ms = 3600000;
  a.checked_unix_nanos = 1'700'000'000'000'000'000;
  ChainSupply c;
  c.chain = "ethereum";
  c.kind = "evm";
  c.token = "0x00000000000000000000000000000000000000aa";
  c.decimals = 18;
  c.block_number = 988;
  c.block_hash = "0x" + std::string(64, 'a');
  c.read_unix_nanos = a.checked_unix_nanos;
  c.gross = *UInt256::ParseDecimal("1000000000000000000000");
  c.excluded.push_back({"0x00000000000000000000000000000000000000b1", "treasury",
                        *UInt256::ParseDecimal("250000000000000000000")});
  c.evidence.push_back({"eth-a", "total_supply", "", std::string(64, 'b')});
  a.chains.push_back(c);
  a.custodian = CustodianHolding{"acme", "ACC-1", 3, a.checked_unix_nanos - 1, *Decimal::Parse("750"),
                                 *Decimal::Parse("2.5"), std::string(64, 'c')};
  ComputeReserve(&a);
  return a;
}

Snapshot BaseSnapshot() {
  Snapshot s;
  s.origin = "plumbline.test/reserves";
  s.sequence = 1;
  s.time_unix_nanos = 1'700'000'000'000'000'000;
  s.previous_hash = kGenesisPreviousHash;
  s.config_digest = std::string(64, 'd');
  return s;
}

TEST(ReserveAttestation, TravelsInsideASignedSnapshotAndParsesBack) {
  auto key = SigningKey::Generate().value();
  Snapshot s = BaseSnapshot();
  s.reserves.push_back(Sample());
  auto signed_snapshot = SignSnapshot(s, key);
  ASSERT_TRUE(signed_snapshot.ok()) << signed_snapshot.status().ToString();
  EXPECT_NE(signed_snapshot->payload.find("\"reserves\":[{"), std::string::npos);
  auto back = VerifySnapshotEnvelope(signed_snapshot->envelope_json, key.public_key());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->snapshot.reserves.size(), 1u);
  const ReserveAttestation& r = back->snapshot.reserves[0];
  EXPECT_EQ(r.status, ReserveStatus::kFullyBacked);
  EXPECT_EQ(r.ratio->ToString(), "1.00000000");
  EXPECT_EQ(r.chains[0].circulating->ToString(), "750000000000000000000");
  EXPECT_EQ(*ReserveAttestationJson(r), *ReserveAttestationJson(s.reserves[0]));
  EXPECT_TRUE(CheckReserveAttestation(r, nullptr).empty());
}

TEST(ReserveAttestation, ASnapshotWithoutReservesKeepsItsEarlierPayloadShape) {
  auto key = SigningKey::Generate().value();
  auto signed_snapshot = SignSnapshot(BaseSnapshot(), key);
  ASSERT_TRUE(signed_snapshot.ok());
  EXPECT_EQ(signed_snapshot->payload.find("\"reserves\""), std::string::npos);
  auto back = DecodeSnapshotEnvelope(signed_snapshot->envelope_json);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->snapshot.reserves.empty());
}

TEST(ReserveAttestation, RpcResponseShapesAndErrorsAreNamed) {
  auto err = ParseEthCallResponse(R"({"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"header not found"}})");
  EXPECT_EQ(err.status().code(), Code::kUnavailable);
  EXPECT_EQ(err.status().message(), "rpc error -32000: header not found");
  EXPECT_EQ(ParseEthCallResponse(R"({"jsonrpc":"2.0","id":1,"result":"0x"})").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseEthBlockResponse(R"({"jsonrpc":"2.0","id":1,"result":null})").status().code(), Code::kNotFound);
  auto sol = ParseSolanaAmountResponse(
      R"({"jsonrpc":"2.0","id":1,"result":{"context":{"slot":7},"value":{"amount":"18446744073709551616","decimals":6,"uiAmount":1.8e13}}})");
  EXPECT_EQ(sol.status().code(), Code::kOutOfRange);  // u64 overflow, whatever uiAmount says
}

TEST(ReserveAttestation, StatementPayloadIsStrict) {
  CustodianStatement s{"acme", "ACC-1", "US88160R1014", *Decimal::Parse("12.5"), *Decimal::Parse("0"), 5, 1};
  auto payload = CustodianStatementPayload(s);
  ASSERT_TRUE(payload.ok());
  EXPECT_EQ(*payload,
            R"({"account":"ACC-1","as_of":"5","custodian_id":"acme","in_transit_shares":"0","isin":"US88160R1014",)"
            R"("sequence":1,"settled_shares":"12.5"})");
  EXPECT_TRUE(ParseCustodianStatementPayload(*payload).ok());
  std::string extra = *payload;
  extra.insert(1, R"("a":1,)");
  EXPECT_NE(ParseCustodianStatementPayload(extra).status().message().find("unknown member \"a\""), std::string::npos);
  s.isin = "TSLA";
  EXPECT_EQ(CustodianStatementPayload(s).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace plumbline::attest
