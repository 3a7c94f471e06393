// Property test of the liquidation solver: for random accounts whose collateral and positions all
// move with one asset (tiered haircuts, tiered futures margin, spot and perpetual, long and short),
// the reported liquidation price is the state boundary: a hair beyond it (in the position's
// adverse direction) the account is in liquidation, a hair before it it is not.
#include <gtest/gtest.h>

#include <random>

#include "margin/test_support.h"

namespace plumbline::margin {
namespace {

using testing::D;
using testing::kNow;

const char* kTiered = R"(
[classes.crypto]
haircut_tiers = [ { up_to = "50000", haircut = "0.05" }, { up_to = "200000", haircut = "0.10" }, { haircut = "0.20" } ]
spot_max_leverage = "5"
futures_max_leverage = "50"
futures_tiers = [ { up_to = "100000", im = "0.02", mm = "0.01" }, { up_to = "1000000", im = "0.04", mm = "0.02" }, { im = "0.10", mm = "0.05" } ]
rollover = [ { up_to_hours = 720, rate_per_4h = "0.0001" } ]
[assets.USD]
class = "cash"
[assets.BTC]
class = "crypto"
mark = "BTC/USD"
)";

Decimal Dec(const std::string& s) { return D(s.c_str()); }

AccountState StateAt(const Evaluator& base, const Account& a, const Decimal& price) {
  auto view = std::make_shared<MarketView>(base.view());
  view->quotes[0].price = price;
  Evaluator ev(std::make_shared<const RiskParams>(base.params()), view);
  auto v = ev.Evaluate(a, kNow, {.liquidation_prices = false, .stress = false});
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? v->state : AccountState::kUndetermined;
}

TEST(MarginSolver, LiquidationPriceIsTheStateBoundary) {
  auto parsed = ParseRiskParams(kTiered, "tiered.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  auto params = std::make_shared<const RiskParams>(std::move(parsed).value());
  std::mt19937_64 rng(2026);
  auto num = [&](int lo, int hi) { return lo + static_cast<int>(rng() % static_cast<uint64_t>(hi - lo + 1)); };
  const Decimal hair = D("0.000001");
  int checked = 0;
  for (int round = 0; round < 300; ++round) {
    Account a;
    a.collateral.push_back({"USD", Dec(std::to_string(num(0, 300000)))});
    if (num(0, 1)) a.collateral.push_back({"BTC", Dec(std::to_string(num(0, 8)) + "." + std::to_string(num(0, 99)))});
    const int n = num(1, 3);
    for (int i = 0; i < n; ++i) {
      Position p;
      p.asset = "BTC";
      p.kind = num(0, 1) ? PositionKind::kPerpetual : PositionKind::kSpotMargin;
      p.side = num(0, 2) ? Side::kLong : Side::kShort;
      p.quantity = Dec(std::to_string(num(0, 30)) + "." + std::to_string(num(1, 9)));
      p.entry_price = Dec(std::to_string(num(30000, 70000)));
      if (p.kind == PositionKind::kSpotMargin) {
        p.leverage = Dec(std::to_string(num(1, 5)));
        p.opened_unix_nanos = kNow - static_cast<int64_t>(num(0, 100)) * 3600LL * 1'000'000'000;
      }
      a.positions.push_back(p);
    }
    auto view = testing::View({testing::Quote("BTC", "50000")});
    Evaluator ev(params, view);
    auto v = ev.Evaluate(a, kNow);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    for (size_t i = 0; i < v->positions.size(); ++i) {
      const auto& liq = v->positions[i].liquidation_price;
      if (!liq || *liq == D("50000")) continue;  // none, or already past it at the mark
      const bool down = a.positions[i].side == Side::kLong;
      const Decimal beyond = *(down ? Decimal::Sub(*liq, hair) : Decimal::Add(*liq, hair));
      const Decimal before = *(down ? Decimal::Add(*liq, hair) : Decimal::Sub(*liq, hair));
      if (!beyond.is_positive()) continue;
      EXPECT_EQ(StateAt(ev, a, beyond), AccountState::kLiquidation)
          << "round " << round << " position " << i << " liquidation " << liq->ToString();
      EXPECT_NE(StateAt(ev, a, before), AccountState::kLiquidation)
          << "round " << round << " position " << i << " liquidation " << liq->ToString();
      ++checked;
    }
  }
  EXPECT_GT(checked, 100);
}

}  // namespace
}  // namespace plumbline::margin
