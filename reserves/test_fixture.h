// Shared fixture of the reserves tests: two EVM and two Solana JSON-RPC node simulators on
// loopback, a real RocksDB store in a temporary directory, a pinned Ed25519 custodian key and a
// ManualClock.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "chain_sim.h"
#include "plumbline/clock.h"
#include "plumbline/reserves/monitor.h"

namespace plumbline::reserves::testing {

inline constexpr char kToken[] = "0x00000000000000000000000000000000000000aa";
inline constexpr char kTreasuryHex[] = "0x00000000000000000000000000000000000000b1";
inline constexpr char kBridge[] = "0x00000000000000000000000000000000000000b2";
inline constexpr char kMint[] = "XsTsLaMint11111111111111111111111111111111";
inline constexpr char kSolTreasury[] = "soltreasury1111111111111111111111111111111";
inline constexpr char kIsin[] = "US88160R1014";
inline constexpr int64_t kStart = 1'700'000'000'000'000'000;

class ReservesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("reserves_test_" + std::to_string(::getpid()) + "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    for (int i = 0; i < 2; ++i) {
      evm_[i] = sim::RpcNodeSim::Start(sim::RpcNodeSim::Kind::kEvm).value();
      evm_[i]->SetToken(kToken, 18);
      evm_[i]->SetHead(1000);
      // 1,000 tokens gross; 100 in the treasury, 50 locked in the bridge: 850 circulating.
      evm_[i]->SetSupply(*UInt256::ParseDecimal("1000000000000000000000"));
      evm_[i]->SetBalance(kTreasuryHex, *UInt256::ParseDecimal("100000000000000000000"));
      evm_[i]->SetBalance(kBridge, *UInt256::ParseDecimal("50000000000000000000"));
      sol_[i] = sim::RpcNodeSim::Start(sim::RpcNodeSim::Kind::kSolana).value();
      sol_[i]->SetToken(kMint, 6);
      sol_[i]->SetHead(250'000'000 + static_cast<uint64_t>(i));
      // 200 tokens gross, 50 in the issuer's token account: 150 circulating.
      sol_[i]->SetSupply(UInt256::FromU64(200'000'000));
      sol_[i]->SetBalance(kSolTreasury, UInt256::FromU64(50'000'000));
    }
    custodian_key_ = std::make_unique<attest::SigningKey>(attest::SigningKey::Generate().value());
    auto store = ReserveStore::Open({.path = dir_.string(), .sync_writes = true});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }

  void TearDown() override {
    monitor_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  ChainConfig Evm() const {
    ChainConfig c;
    c.name = "ethereum";
    c.kind = "evm";
    c.token = kToken;
    c.decimals = 18;
    c.confirmations = 12;
    c.providers = {{"eth-a", evm_[0]->url()}, {"eth-b", evm_[1]->url()}};
    c.excluded = {{kTreasuryHex, "treasury"}, {kBridge, "bridge"}};
    c.timeout_ms = 2000;
    return c;
  }

  ChainConfig Solana() const {
    ChainConfig c;
    c.name = "solana";
    c.kind = "solana";
    c.token = kMint;
    c.decimals = 6;
    c.providers = {{"sol-a", sol_[0]->url()}, {"sol-b", sol_[1]->url()}};
    c.excluded = {{kSolTreasury, "treasury"}};
    return c;
  }

  AssetConfig Asset() const {
    AssetConfig a;
    a.asset = "TSLAx";
    a.isin = kIsin;
    a.chains = {Evm(), Solana()};
    a.multiplier.current = *Multiplier::Parse("1");
    a.tolerance = *Decimal::Parse("0.001");
    a.max_supply_age_ms = 60'000;
    a.max_statement_age_ms = 3'600'000;
    a.custodian.id = "acme-custody";
    a.custodian.account = "ACC-1";
    a.custodian.ed25519_key = custodian_key_->public_key();
    return a;
  }

  ReserveMonitor& Monitor(AssetConfig asset) {
    ReservesConfig rc;
    rc.assets = {std::move(asset)};
    monitor_ = std::make_unique<ReserveMonitor>(std::move(rc), store_.get(), clock_);
    return *monitor_;
  }
  ReserveMonitor& Monitor() { return Monitor(Asset()); }

  attest::CustodianStatement Statement(const std::string& settled, uint64_t sequence, int64_t as_of) const {
    return {"acme-custody", "ACC-1", kIsin, *Decimal::Parse(settled), *Decimal::Parse("5"), as_of, sequence};
  }
  std::string Signed(const attest::CustodianStatement& s) const { return sim::SignStatementEd25519(s, *custodian_key_); }

  std::string Stream() const { return std::string("acme-custody|ACC-1|") + kIsin; }

  std::filesystem::path dir_;
  ManualClock clock_{kStart};
  std::unique_ptr<sim::RpcNodeSim> evm_[2], sol_[2];
  std::unique_ptr<attest::SigningKey> custodian_key_;
  std::unique_ptr<ReserveStore> store_;
  std::unique_ptr<ReserveMonitor> monitor_;
};

}  // namespace plumbline::reserves::testing
