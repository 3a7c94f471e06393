// Shared fixtures for the daemon's unit tests: a real key, a real RocksDB store in a temp
// directory, a manual clock and an observation book the test fills by hand.
#pragma once

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "plumbline/attest/keys.h"
#include "plumbline/daemon/config.h"
#include "plumbline/daemon/publisher.h"
#include "plumbline/feeds/sources.h"
#include "plumbline/storage/snapshot_store.h"

namespace plumbline::daemon::testing {

inline constexpr int64_t kStart = 1'763'780'000'000'000'000;  // 2025-11-22T02:53:20Z

inline std::string TestConfigText(int port = 0) {
  return R"(
origin = "plumbline.test/daemon"
listen = "127.0.0.1:)" + std::to_string(port) + R"("
key_file = "unused"
publish_interval_ms = 1000
[http]
threads = 2
max_body_bytes = 1024
[[symbols]]
symbol = "BTC/USD"
[[symbols]]
symbol = "ETH/USD"
[[sources]]
name = "a"
format = "kraken"
base_url = "http://127.0.0.1:1"
max_age_ms = 5000
symbols = { "BTC/USD" = "XBTUSD", "ETH/USD" = "ETHUSD" }
[[sources]]
name = "b"
format = "coinbase"
base_url = "http://127.0.0.1:1"
max_age_ms = 5000
symbols = { "BTC/USD" = "BTC-USD", "ETH/USD" = "ETH-USD" }
[[sources]]
name = "c"
format = "bitstamp"
base_url = "http://127.0.0.1:1"
max_age_ms = 5000
symbols = { "BTC/USD" = "btcusd", "ETH/USD" = "ethusd" }
)";
}

inline Observation Obs(const std::string& source, const std::string& symbol, const char* price, int64_t t) {
  Observation o;
  o.source = source;
  o.symbol = symbol;
  o.price = *Decimal::Parse(price);
  o.observed_unix_nanos = t;
  o.received_unix_nanos = t;
  return o;
}

class DaemonFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '_');  // parameterized tests: "Name/0"
    dir_ = std::filesystem::temp_directory_path() / ("plumbline-daemon-" + std::to_string(::getpid()) + "-" + name);
    std::filesystem::remove_all(dir_);
    auto config = ParseConfig(TestConfigText(), "test.toml");
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    config_ = std::make_unique<Config>(std::move(config).value());
    std::array<uint8_t, 32> seed{};
    seed[0] = 7;
    auto key = attest::SigningKey::FromSeed(seed);
    ASSERT_TRUE(key.ok());
    key_ = std::make_unique<attest::SigningKey>(std::move(key).value());
    OpenStore();
  }
  void TearDown() override {
    publisher_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void OpenStore() {
    publisher_.reset();
    store_.reset();
    auto store = storage::SnapshotStore::Open({dir_.string(), key_->KeyId()});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    publisher_ = std::make_unique<Publisher>(*config_, &book_, store_.get(), *key_, clock_);
    ASSERT_TRUE(publisher_->Resume().ok());
  }
  void FillFresh(const char* btc_a, const char* btc_b, const char* btc_c) {
    const int64_t t = clock_.NowUnixNanos();
    book_.Put(Obs("a", "BTC/USD", btc_a, t));
    book_.Put(Obs("b", "BTC/USD", btc_b, t));
    book_.Put(Obs("c", "BTC/USD", btc_c, t));
  }

  std::filesystem::path dir_;
  std::unique_ptr<Config> config_;
  std::unique_ptr<attest::SigningKey> key_;
  ManualClock clock_{kStart};
  feeds::ObservationBook book_;
  std::unique_ptr<storage::SnapshotStore> store_;
  std::unique_ptr<Publisher> publisher_;
};

}  // namespace plumbline::daemon::testing
