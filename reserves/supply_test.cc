#include "plumbline/reserves/supply.h"

#include <gtest/gtest.h>

#include "test_fixture.h"

namespace plumbline::reserves::testing {
namespace {

using sim::NodeFaults;
using sim::RpcNodeSim;

class SupplyTest : public ReservesTest {};

TEST_F(SupplyTest, EvmReadsArePinnedToOneBlockAndKeepEveryResponseAsEvidence) {
  EvidenceItems evidence;
  attest::ChainSupply s = ReadChainSupply(Evm(), clock_, &evidence);
  ASSERT_EQ(s.error, "");
  ASSERT_TRUE(s.block_number.has_value());
  EXPECT_EQ(*s.block_number, 988u);  // head 1000 - 12 confirmations
  EXPECT_EQ(s.block_hash, RpcNodeSim::BlockHash(988));
  EXPECT_EQ(s.gross->ToString(), "1000000000000000000000");
  ASSERT_EQ(s.excluded.size(), 2u);
  EXPECT_EQ(s.excluded[0].amount.ToString(), "100000000000000000000");
  EXPECT_EQ(s.excluded[1].label, "bridge");
  // 2 providers x (block + totalSupply + 2 balances).
  ASSERT_EQ(s.evidence.size(), 8u);
  ASSERT_EQ(evidence.size(), 8u);
  for (size_t i = 0; i < evidence.size(); ++i) {
    EXPECT_EQ(attest::Sha256Hex(evidence[i].second), evidence[i].first);
    EXPECT_EQ(s.evidence[i].sha256, evidence[i].first);
  }
  EXPECT_EQ(attest::ParseEthCallResponse(evidence[1].second)->ToString(), "1000000000000000000000");
}

TEST_F(SupplyTest, ProvidersThatDisagreeMakeTheChainUnknownNamingBoth) {
  evm_[1]->SetFaults({.supply_offset = 1});
  EvidenceItems evidence;
  attest::ChainSupply s = ReadChainSupply(Evm(), clock_, &evidence);
  EXPECT_NE(s.error.find("providers disagree on totalSupply at block 988"), std::string::npos) << s.error;
  EXPECT_NE(s.error.find("eth-a 1000000000000000000000"), std::string::npos) << s.error;
  EXPECT_NE(s.error.find("eth-b 1000000000000000000001"), std::string::npos) << s.error;
  EXPECT_FALSE(s.gross.has_value());
  EXPECT_TRUE(s.evidence.empty());
  EXPECT_TRUE(evidence.empty());
}

TEST_F(SupplyTest, AProviderOnAnOlderBlockCannotServeThePinAndLeavesTooFewProviders) {
  evm_[1]->SetFaults({.lag_blocks = 100});  // its head is 900, the pin is 988
  EvidenceItems evidence;
  attest::ChainSupply s = ReadChainSupply(Evm(), clock_, &evidence);
  EXPECT_NE(s.error.find("1 of 2 providers answered, 2 required"), std::string::npos) << s.error;
  EXPECT_NE(s.error.find("eth-b: block 988: does not have the pinned block"), std::string::npos) << s.error;
  EXPECT_FALSE(s.gross.has_value());
  EXPECT_TRUE(evidence.empty());

  // Lagging less than the confirmation depth is harmless: both serve block 988.
  evm_[1]->SetFaults({.lag_blocks = 5});
  s = ReadChainSupply(Evm(), clock_, &evidence);
  EXPECT_EQ(s.error, "");
  EXPECT_EQ(*s.block_number, 988u);
}

TEST_F(SupplyTest, AProviderOnAnotherForkDisagreesOnTheBlockHash) {
  evm_[0]->SetFaults({.other_fork = true});
  EvidenceItems evidence;
  attest::ChainSupply s = ReadChainSupply(Evm(), clock_, &evidence);
  EXPECT_NE(s.error.find("providers disagree on the hash of block 988"), std::string::npos) << s.error;
  EXPECT_FALSE(s.gross.has_value());
}

TEST_F(SupplyTest, AnRpcErrorObjectIsReportedWithItsCodeAndMessage) {
  evm_[0]->SetFaults({.rpc_error = true});
  EvidenceItems evidence;
  attest::ChainSupply s = ReadChainSupply(Evm(), clock_, &evidence);
  EXPECT_NE(s.error.find("eth-a: rpc error -32603: internal error: upstream unavailable"), std::string::npos) << s.error;
  EXPECT_FALSE(s.gross.has_value());
  // With a third provider the chain still has two agreeing answers.
  auto third = RpcNodeSim::Start(RpcNodeSim::Kind::kEvm).value();
  third->SetToken(kToken, 18);
  third->SetHead(1000);
  third->SetSupply(*UInt256::ParseDecimal("1000000000000000000000"));
  third->SetBalance(kTreasuryHex, *UInt256::ParseDecimal("100000000000000000000"));
  third->SetBalance(kBridge, *UInt256::ParseDecimal("50000000000000000000"));
  ChainConfig c = Evm();
  c.providers.push_back({"eth-c", third->url()});
  s = ReadChainSupply(c, clock_, &evidence);
  EXPECT_EQ(s.error, "");
  EXPECT_EQ(s.gross->ToString(), "1000000000000000000000");
}

TEST_F(SupplyTest, AUint256SupplyBeyond64BitsIsReadExactly) {
  const std::string huge = "340282366920938463463374607431768211457";  // 2^128 + 1
  for (auto& n : evm_) n->SetSupply(*UInt256::ParseDecimal(huge));
  EvidenceItems evidence;
  attest::ChainSupply s = ReadChainSupply(Evm(), clock_, &evidence);
  ASSERT_EQ(s.error, "");
  EXPECT_EQ(s.gross->ToString(), huge);
}

TEST_F(SupplyTest, SolanaUsesRawAmountsAtFinalizedAndRecordsTheLowestSlot) {
  EvidenceItems evidence;
  attest::ChainSupply s = ReadChainSupply(Solana(), clock_, &evidence);
  ASSERT_EQ(s.error, "");
  EXPECT_EQ(s.gross->ToString(), "200000000");
  EXPECT_EQ(s.excluded[0].amount.ToString(), "50000000");
  EXPECT_EQ(*s.slot, 250'000'000u);
  EXPECT_EQ(s.evidence.size(), 4u);
  EXPECT_NE(evidence[0].second.find("\"uiAmount\""), std::string::npos);  // served, and ignored

  sol_[0]->SetSupply(UInt256::FromU64(200'000'001));
  s = ReadChainSupply(Solana(), clock_, &evidence);
  EXPECT_NE(s.error.find("providers disagree on getTokenSupply: sol-a 200000001, sol-b 200000000"), std::string::npos)
      << s.error;
}

TEST_F(SupplyTest, SolanaDecimalsThatDifferFromTheConfigAreRefused) {
  for (auto& n : sol_) n->SetToken(kMint, 9);
  EvidenceItems evidence;
  attest::ChainSupply s = ReadChainSupply(Solana(), clock_, &evidence);
  EXPECT_NE(s.error.find("decimals 9, configured 6"), std::string::npos) << s.error;
}

TEST_F(SupplyTest, AnUnreachableProviderIsNamed) {
  evm_[1]->Stop();
  EvidenceItems evidence;
  attest::ChainSupply s = ReadChainSupply(Evm(), clock_, &evidence);
  EXPECT_NE(s.error.find("eth-b"), std::string::npos) << s.error;
  EXPECT_FALSE(s.gross.has_value());
}

}  // namespace
}  // namespace plumbline::reserves::testing
