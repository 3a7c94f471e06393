// Test-only helpers shared by the storage tests: a per-test data directory and hex printing.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "plumbline/storage/snapshot_store.h"

namespace plumbline::storage::testing {

inline std::string Hex(const Hash32& h) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : h) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

// A fresh, empty data directory per test, removed afterwards.
class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("plumbline-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name() + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  StoreOptions Opts(const std::string& key = std::string(64, 'a'), bool sync = true) {
    return {dir_.string(), key, sync};
  }

  // Opens the store or fails the test (returns nullptr then).
  std::unique_ptr<SnapshotStore> MustOpen(const StoreOptions& options) {
    auto store = SnapshotStore::Open(options);
    if (!store.ok()) {
      ADD_FAILURE() << store.status().ToString();
      return nullptr;
    }
    return std::move(store).value();
  }
  std::unique_ptr<SnapshotStore> MustOpen() { return MustOpen(Opts()); }

  std::filesystem::path dir_;
};

}  // namespace plumbline::storage::testing
