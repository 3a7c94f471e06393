#include "plumbline/margin/risk_params.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "margin/test_support.h"

namespace plumbline::margin {
namespace {

using testing::kRiskToml;

std::string ErrorOf(const std::string& text) {
  auto p = ParseRiskParams(text, "risk.toml");
  EXPECT_FALSE(p.ok());
  return p.status().message();
}

TEST(RiskParams, ParsesEveryClassAndAsset) {
  auto p = ParseRiskParams(kRiskToml, "risk.toml");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_NE(p->FindAsset("AAPLx"), nullptr);
  const AssetParams& aapl = *p->FindAsset("AAPLx");
  EXPECT_EQ(aapl.asset_class, AssetClass::kTokenizedStock);
  EXPECT_EQ(aapl.mark, "AAPLx/USD");
  ASSERT_EQ(aapl.params.haircut_tiers.size(), 2u);
  EXPECT_EQ(aapl.params.haircut_tiers[1].rate.ToString(), "0.20");
  EXPECT_EQ(aapl.params.spot_max_leverage->ToString(), "3");
  // An asset override replaces the class value; the rest is inherited.
  const AssetParams& eth = *p->FindAsset("ETH");
  EXPECT_EQ(eth.params.haircut_tiers[0].rate.ToString(), "0.10");
  EXPECT_EQ(eth.params.futures_tiers.size(), 2u);
  EXPECT_EQ(p->region_max_leverage.at("EU").ToString(), "10");
  EXPECT_EQ(p->stress.size(), 2u);
  EXPECT_EQ(p->max_batch_accounts, 3u);
  EXPECT_EQ(p->digest.size(), 64u);
  EXPECT_EQ(p->FindAsset("DOGE"), nullptr);
}

TEST(RiskParams, ErrorsNameTheFileTheKeyAndWhatWasExpected) {
  const std::string base = "[assets.USD]\nclass = \"cash\"\n";
  EXPECT_EQ(ErrorOf(base + "[classes.crypto]\nspot_max_leverage = 5.0\n"),
            "risk file risk.toml: key 'classes.crypto.spot_max_leverage': expected a decimal string such as \"0.05\" "
            "(not a TOML number), got floating-point");
  EXPECT_EQ(ErrorOf(base + "[classes.crypto]\nhaircut_tiers = [ { up_to = \"10\", haircut = \"1.5\" }, { haircut = \"0\" } ]\n"),
            "risk file risk.toml: key 'classes.crypto.haircut_tiers[0].haircut': expected a decimal in [0, 1], got \"1.5\"");
  EXPECT_EQ(ErrorOf(base + "[classes.crypto]\nhaircut_tiers = [ { haircut = \"0.1\" }, { haircut = \"0.2\" } ]\n"),
            "risk file risk.toml: key 'classes.crypto.haircut_tiers[0].up_to': missing; every tier but the last needs an "
            "upper bound in USD");
  EXPECT_EQ(ErrorOf(base + "[assets.BTC]\nclass = \"crypto\"\n"),
            "risk file risk.toml: key 'assets.BTC.mark': missing; expected a string");
  EXPECT_EQ(ErrorOf(base + "[assets.BTC]\nclass = \"coin\"\nmark = \"BTC/USD\"\n"),
            "risk file risk.toml: key 'assets.BTC.class': expected crypto, equity, tokenized_stock or cash, got \"coin\"");
  EXPECT_EQ(ErrorOf("max_snapshot_age = 5\n" + base), "risk file risk.toml: key 'max_snapshot_age': unknown key");
  EXPECT_EQ(ErrorOf(base + "[classes.crypto]\nfutures_max_leverage = \"10\"\n"),
            "risk file risk.toml: key 'classes.crypto.futures_tiers': missing; required when futures_max_leverage is set");
  EXPECT_EQ(ErrorOf(base + "[classes.crypto]\nrollover = [ { up_to_hours = 6, rate_per_4h = \"0.0001\" } ]\n"),
            "risk file risk.toml: key 'classes.crypto.rollover[0].up_to_hours': expected a multiple of 4 (rollover is "
            "charged every 4 hours)");
  EXPECT_EQ(ErrorOf(base + "[levels]\nliquidation = \"0.9\"\n"),
            "risk file risk.toml: key 'levels.liquidation': expected a decimal in (0, 0.80], got \"0.9\"");
  EXPECT_EQ(ErrorOf(base + "[[stress]]\nname = \"x\"\n[stress.assets]\nDOGE = \"-0.5\"\n"),
            "risk file risk.toml: key 'stress[0].assets.DOGE': not an asset listed under [assets]");
  EXPECT_EQ(ErrorOf("x = "), "risk file risk.toml: line 1, column 5: Error while parsing key-value pair: encountered end-of-file");
  EXPECT_EQ(ErrorOf(""), "risk file risk.toml: key 'assets': missing; expected at least one [assets.ID] table");
}

TEST(RiskParams, ReloadSwapsAtomicallyAndKeepsTheOldParamsOnError) {
  const auto path = std::filesystem::temp_directory_path() / ("plumbline-risk-" + std::to_string(::getpid()) + ".toml");
  auto write = [&](const std::string& text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
  };
  RiskParamsHolder holder(path.string());
  EXPECT_EQ(holder.Get(), nullptr);
  EXPECT_EQ(holder.Reload().code(), Code::kIOError);  // no file yet
  EXPECT_EQ(holder.Get(), nullptr);

  write(kRiskToml);
  ASSERT_TRUE(holder.Reload().ok());
  auto first = holder.Get();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->levels.liquidation.ToString(), "0.40");

  write("bogus = 1\n" + std::string(kRiskToml));
  Status bad = holder.Reload();
  EXPECT_EQ(bad.code(), Code::kInvalidArgument);
  EXPECT_NE(bad.message().find("'bogus': unknown key"), std::string::npos) << bad.message();
  EXPECT_EQ(holder.Get(), first);  // unchanged

  std::string changed = kRiskToml;
  changed.replace(changed.find("liquidation = \"0.40\""), 20, "liquidation = \"0.50\"");
  write(changed);
  ASSERT_TRUE(holder.Reload().ok());
  EXPECT_EQ(holder.Get()->levels.liquidation.ToString(), "0.50");
  EXPECT_EQ(first->levels.liquidation.ToString(), "0.40");  // holders of the old params keep them
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace plumbline::margin
