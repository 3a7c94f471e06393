#include "plumbline/margin/evaluator.h"

#include <gtest/gtest.h>

#include "margin/test_support.h"

namespace plumbline::margin {
namespace {

using namespace testing;  // NOLINT

Valuation Eval(std::vector<AssetQuote> quotes, const Account& account, int64_t now = kNow) {
  Evaluator ev(TestParams(), View(std::move(quotes)));
  auto v = ev.Evaluate(account, now);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? *v : Valuation{};
}

Status EvalError(const Account& account, std::optional<std::string> region = std::nullopt) {
  Evaluator ev(TestParams(), View({Quote("BTC", "20000"), Quote("ETH", "4000")}));
  Account a = account;
  a.region = region;
  auto v = ev.Evaluate(a, kNow);
  EXPECT_FALSE(v.ok());
  return v.status();
}

Account WithUsd(const char* usd) {
  Account a;
  a.id = "acct";
  a.collateral.push_back({"USD", D(usd)});
  return a;
}

// Issue 6, worked example 1: $10,000 collateral, 1 BTC bought at 20,000 with 5x.
TEST(MarginEvaluator, SpotLongWorkedExample) {
  Account a = WithUsd("10000");
  a.positions.push_back(Spot("BTC", Side::kLong, "1", "20000", "5"));
  Valuation v = Eval({Quote("BTC", "20000")}, a);
  EXPECT_EQ(v.used_margin, D("4000"));
  EXPECT_EQ(v.equity, D("10000"));
  ASSERT_TRUE(v.margin_level);
  EXPECT_EQ(*v.margin_level, D("2.5"));  // 250%
  EXPECT_EQ(v.state, AccountState::kHealthy);
  EXPECT_TRUE(v.new_risk_allowed);
  const PositionLine& p = v.positions[0];
  EXPECT_EQ(Cents(p.margin_call_price), "13200.00");
  EXPECT_EQ(Cents(p.liquidation_price), "11600.00");
  EXPECT_EQ(Cents(p.bankruptcy_price), "10000.00");
  EXPECT_EQ(v.requirement_liquidation, D("1600"));
  EXPECT_EQ(v.requirement_margin_call, D("3200"));
  EXPECT_EQ(v.snapshot_sequence, 7u);
  EXPECT_EQ(v.snapshot_hash, std::string(64, 'a'));
}

// The solved prices really are the boundaries: re-valued at them the account changes state.
TEST(MarginEvaluator, SolvedPricesAreTheStateBoundaries) {
  Account a = WithUsd("10000");
  a.positions.push_back(Spot("BTC", Side::kLong, "1", "20000", "5"));
  EXPECT_EQ(Eval({Quote("BTC", "13200.01")}, a).state, AccountState::kNoNewPositions);
  EXPECT_EQ(Eval({Quote("BTC", "13200")}, a).state, AccountState::kMarginCall);
  EXPECT_EQ(Eval({Quote("BTC", "11600.01")}, a).state, AccountState::kMarginCall);
  Valuation at_liq = Eval({Quote("BTC", "11600")}, a);
  EXPECT_EQ(at_liq.state, AccountState::kLiquidation);
  EXPECT_EQ(*at_liq.margin_level, D("0.4"));
  EXPECT_FALSE(at_liq.new_risk_allowed);
}

// Issue 6, worked example 2: 1 BTC collateral at 100,000 backing a 5 BTC perpetual long (MM 1%).
TEST(MarginEvaluator, CollateralThatMovesWithThePosition) {
  Account a;
  a.collateral.push_back({"BTC", D("1")});
  a.positions.push_back(Perp("BTC", Side::kLong, "5", "100000"));
  Valuation v = Eval({Quote("BTC", "100000")}, a);
  EXPECT_EQ(v.maintenance_margin, D("5000"));
  EXPECT_EQ(v.initial_margin, D("10000"));
  EXPECT_EQ(Cents(v.positions[0].liquidation_price), "84033.61");
  // P_liq = Q·P0 / (C·(1−h) + Q·(1−m)) = 500000 / 5.95, reported exactly to 12 places, rounded up.
  EXPECT_EQ(v.positions[0].liquidation_price->ToString(), "84033.613445378152");
  // Bankruptcy: equity 0 = P + 5(P − 100000) → P = 500000 / 6.
  EXPECT_EQ(Cents(v.positions[0].bankruptcy_price), "83333.33");

  Account usd = WithUsd("100000");
  usd.positions = a.positions;
  EXPECT_EQ(Cents(Eval({Quote("BTC", "100000")}, usd).positions[0].liquidation_price), "80808.08");
}

// The one-asset formula with a haircut: ETH takes 10%, so P = Q·P0 / (C·0.9 + Q·0.99).
TEST(MarginEvaluator, OneAssetFormulaWithHaircut) {
  Account a;
  a.collateral.push_back({"ETH", D("1")});
  a.positions.push_back(Perp("ETH", Side::kLong, "5", "4000"));
  Valuation v = Eval({Quote("ETH", "4000")}, a);
  EXPECT_EQ(v.collateral[0].counted_value, D("3600"));
  EXPECT_EQ(v.collateral[0].haircut, D("0.1"));
  auto expected = Decimal::Div(D("20000"), D("5.85"), 12, Rounding::kCeiling);
  EXPECT_EQ(*v.positions[0].liquidation_price, *expected);
}

// A short's used margin is valued at the current mark and its liquidation lies above.
TEST(MarginEvaluator, SpotShortUsesTheMark) {
  Account a = WithUsd("10000");
  a.positions.push_back(Spot("BTC", Side::kShort, "1", "20000", "5"));
  Valuation v = Eval({Quote("BTC", "25000")}, a);
  EXPECT_EQ(v.used_margin, D("5000"));      // 25000 / 5, not cost / 5
  EXPECT_EQ(v.unrealized_pnl, D("-5000"));
  EXPECT_EQ(*v.margin_level, D("1"));       // (10000 − 5000) / 5000
  EXPECT_EQ(v.state, AccountState::kHealthy);
  // Liquidation: 10000 + 20000 − P = 0.4·P/5 → P = 30000 / 1.08 (rounded down for a short).
  auto expected = Decimal::Div(D("30000"), D("1.08"), 12, Rounding::kFloor);
  EXPECT_EQ(*v.positions[0].liquidation_price, *expected);
  EXPECT_EQ(Cents(v.positions[0].bankruptcy_price), "30000.00");
  // At that price the account is liquidated; a cent below it is not.
  EXPECT_EQ(Eval({Quote("BTC", "27777.78")}, a).state, AccountState::kLiquidation);
  EXPECT_EQ(Eval({Quote("BTC", "27777.77")}, a).state, AccountState::kMarginCall);
}

// Haircut tiers are incremental by USD value and apply to positive balances only.
TEST(MarginEvaluator, TieredHaircutsAndDebts) {
  Account a = WithUsd("-5000");
  a.collateral.push_back({"AAPLx", D("1000")});
  // Regular session, fully backed: 100000 × 0.9 + 50000 × 0.8.
  Valuation v = Eval({Token("150", Session::kRegular, ReserveStatus::kFullyBacked)}, a);
  EXPECT_EQ(v.collateral[0].counted_value, D("-5000"));  // debt counts in full
  EXPECT_EQ(v.collateral[0].haircut, D("0"));
  EXPECT_EQ(v.collateral[1].gross_value, D("150000"));
  EXPECT_EQ(v.collateral[1].counted_value, D("130000"));
  EXPECT_EQ(v.collateral[1].haircut.ToString(), "0.133333333334");  // rounded up
  EXPECT_EQ(ReasonNames(v.collateral[1].reasons), std::vector<std::string>{"tier"});
  EXPECT_EQ(v.collateral_value, D("125000"));
}

TEST(MarginEvaluator, SessionAndReserveStatusWidenTheHaircut) {
  Account a;
  a.collateral.push_back({"AAPLx", D("1000")});
  auto counted = [&](Session s, std::optional<ReserveStatus> r) {
    return Eval({Token("150", s, r)}, a).collateral[0];
  };
  // Outside the regular session: +5% on every tier.
  EXPECT_EQ(counted(Session::kPostMarket, ReserveStatus::kFullyBacked).counted_value, D("122500"));
  EXPECT_EQ(counted(Session::kClosed, ReserveStatus::kFullyBacked).counted_value, D("122500"));
  // Reserve under_backed counts zero.
  CollateralLine under = counted(Session::kRegular, ReserveStatus::kUnderBacked);
  EXPECT_EQ(under.counted_value, D("0"));
  EXPECT_EQ(under.haircut, D("1"));
  // Stale reserve: +10%; unknown or not reported: +25%.
  EXPECT_EQ(counted(Session::kRegular, ReserveStatus::kStale).counted_value, D("115000"));
  CollateralLine unknown = counted(Session::kRegular, std::nullopt);
  EXPECT_EQ(unknown.counted_value, D("92500"));
  EXPECT_EQ(ReasonNames(unknown.reasons), (std::vector<std::string>{"tier", "reserve_unknown"}));
  // Session not reported: treated as outside the regular session (conservative).
  EXPECT_EQ(counted(Session::kUnknown, ReserveStatus::kFullyBacked).counted_value, D("122500"));
}

// Kraken-style fees: opening fee on the cost, rollover every completed 4 hours on the borrowed amount.
TEST(MarginEvaluator, OpeningAndRolloverFees) {
  Account a = WithUsd("10000");
  a.positions.push_back(Spot("ETH", Side::kLong, "1", "4000", "2", kNow - 30 * kHour));
  Valuation v = Eval({Quote("ETH", "4000")}, a);
  const PositionLine& p = v.positions[0];
  EXPECT_EQ(p.rollover_periods, 7);
  EXPECT_EQ(p.opening_fee, D("0.8"));      // 4000 × 0.0002
  EXPECT_EQ(p.rollover_fees, D("5.2"));    // 4000 × (6 × 0.0002 + 1 × 0.0001)
  EXPECT_EQ(v.fees, D("6"));
  EXPECT_EQ(v.equity, D("9994"));
}

// Futures IM/MM tiers are incremental; the cumulative amount gives the same result.
TEST(MarginEvaluator, FuturesTiersIncremental) {
  Account a = WithUsd("100000");
  a.positions.push_back(Perp("BTC", Side::kLong, "15", "100000"));
  Valuation v = Eval({Quote("BTC", "100000")}, a);
  // 1,500,000 notional: MM = 1,000,000 × 1% + 500,000 × 2.5%; IM = 1,000,000 × 2% + 500,000 × 5%.
  EXPECT_EQ(v.maintenance_margin, D("22500"));
  EXPECT_EQ(v.initial_margin, D("45000"));
  // In the second tier MM = 0.375·P − 15000: 100000 + 15(P − 100000) = 0.375·P − 15000.
  auto expected = Decimal::Div(D("1385000"), D("14.625"), 12, Rounding::kCeiling);
  EXPECT_EQ(*v.positions[0].liquidation_price, *expected);
  EXPECT_EQ(Eval({Quote("BTC", "94700.85")}, a).state, AccountState::kLiquidation);
  EXPECT_NE(Eval({Quote("BTC", "94700.86")}, a).state, AccountState::kLiquidation);
}

// The solver walks across a tier boundary: the root lies where notional < 1,000,000 (first tier).
TEST(MarginEvaluator, LiquidationPriceAcrossATierBoundary) {
  Account a = WithUsd("600000");
  a.positions.push_back(Perp("BTC", Side::kLong, "15", "100000"));
  Valuation v = Eval({Quote("BTC", "100000")}, a);
  // First tier: 600000 + 15(P − 100000) = 0.15·P → P = 900000 / 14.85.
  auto expected = Decimal::Div(D("900000"), D("14.85"), 12, Rounding::kCeiling);
  EXPECT_EQ(*v.positions[0].liquidation_price, *expected);
  EXPECT_EQ(Eval({Quote("BTC", "60606.06")}, a).state, AccountState::kLiquidation);
  EXPECT_NE(Eval({Quote("BTC", "60606.07")}, a).state, AccountState::kLiquidation);
}

TEST(MarginEvaluator, StressShocksCollateralAndPositionsTogether) {
  Account a = WithUsd("20000");
  a.collateral.push_back({"AAPLx", D("100")});
  a.positions.push_back(Perp("BTC", Side::kLong, "1", "100000"));
  Valuation v = Eval({Quote("BTC", "100000"), Token("200", Session::kRegular, ReserveStatus::kFullyBacked)}, a);
  EXPECT_EQ(v.equity, D("38000"));  // 20000 + 20000 × 0.9
  ASSERT_EQ(v.stress.size(), 2u);
  // crypto −30%, equities −10%: BTC P/L −30000, AAPLx 18000 → 16200.
  EXPECT_EQ(v.stress[0].name, "crypto_crash");
  EXPECT_EQ(v.stress[0].equity, D("6200"));
  EXPECT_EQ(v.stress[0].loss, D("31800"));
  EXPECT_TRUE(v.stress[0].survives);  // MM 700 at 70,000
  // equities gap −15%, crypto flat.
  EXPECT_EQ(v.stress[1].loss, D("2700"));
  EXPECT_EQ(*v.worst_stress_loss, D("31800"));
  EXPECT_TRUE(v.survives_all_stress);

  a.collateral[0].quantity = D("9000");
  Valuation thin = Eval({Quote("BTC", "100000"), Token("200", Session::kRegular, ReserveStatus::kFullyBacked)}, a);
  EXPECT_FALSE(thin.stress[0].survives);
  EXPECT_EQ(thin.stress[0].state, AccountState::kLiquidation);
  EXPECT_FALSE(thin.survives_all_stress);
}

TEST(MarginEvaluator, StaleMarkBlocksNewRiskButReportsClearInsolvency) {
  // A stale mark without a price: the long's value cannot be bounded, the state is undetermined.
  Account a = WithUsd("10000");
  a.positions.push_back(Spot("BTC", Side::kLong, "1", "20000", "5"));
  Valuation v = Eval({Quote("BTC", nullptr, "stale")}, a);
  EXPECT_EQ(v.state, AccountState::kUndetermined);
  EXPECT_FALSE(v.new_risk_allowed);
  ASSERT_FALSE(v.refusals.empty());
  EXPECT_NE(v.refusals[0].find("stale"), std::string::npos) << v.refusals[0];
  EXPECT_FALSE(v.positions[0].liquidation_price);

  // Only a short is unpriced: valued at price 0 (its best case) the account is still insolvent.
  Account b = WithUsd("-25000");
  b.positions.push_back(Spot("BTC", Side::kShort, "1", "20000", "5"));
  Valuation insolvent = Eval({Quote("BTC", nullptr, "stale")}, b);
  EXPECT_EQ(insolvent.state, AccountState::kLiquidation);
  EXPECT_FALSE(insolvent.new_risk_allowed);

  // A degraded mark that still carries a price (e.g. "clamped"): valued, but no new risk.
  Valuation clamped = Eval({Quote("BTC", "20000", "clamped")}, a);
  EXPECT_EQ(clamped.state, AccountState::kHealthy);
  EXPECT_FALSE(clamped.new_risk_allowed);
  EXPECT_NE(clamped.refusals[0].find("clamped"), std::string::npos);
  Valuation crashed = Eval({Quote("BTC", "11000", "clamped")}, a);
  EXPECT_EQ(crashed.state, AccountState::kLiquidation);
}

TEST(MarginEvaluator, OldMarksAndOldSnapshotsBlockNewRisk) {
  Account a = WithUsd("10000");
  a.positions.push_back(Spot("BTC", Side::kLong, "1", "20000", "5"));
  // 20 s later: the snapshot (limit 10 s) and the mark (limit 10 s) are both too old.
  Valuation v = Eval({Quote("BTC", "20000")}, a, kNow + 20'000'000'000);
  EXPECT_EQ(v.state, AccountState::kHealthy);
  EXPECT_FALSE(v.new_risk_allowed);
  ASSERT_EQ(v.refusals.size(), 2u);
  EXPECT_NE(v.refusals[0].find("snapshot 7 is"), std::string::npos) << v.refusals[0];
  EXPECT_NE(v.refusals[1].find("newest observation"), std::string::npos) << v.refusals[1];
}

TEST(MarginEvaluator, PriceAtOrBelowZeroIsNeverUsed) {
  Account a;
  a.collateral.push_back({"BTC", D("1")});
  for (const char* bad : {"0", "-5"}) {
    Valuation v = Eval({Quote("BTC", bad)}, a);
    EXPECT_FALSE(v.collateral[0].mark) << bad;
    EXPECT_EQ(v.collateral[0].counted_value, D("0"));
    EXPECT_EQ(v.state, AccountState::kUndetermined);
    EXPECT_FALSE(v.new_risk_allowed);
    EXPECT_EQ(ReasonNames(v.collateral[0].reasons), std::vector<std::string>{"unpriced"});
  }
}

TEST(MarginEvaluator, BadInputNamesTheField) {
  Account unknown = WithUsd("1");
  unknown.collateral.push_back({"DOGE", D("1")});
  EXPECT_EQ(EvalError(unknown).message(), "collateral[1].asset: unknown asset \"DOGE\"");

  Account negative = WithUsd("1000");
  negative.positions.push_back(Spot("BTC", Side::kLong, "-1", "20000", "2"));
  EXPECT_EQ(EvalError(negative).message().rfind("positions[0].quantity: must be positive", 0), 0u);

  Account too_high = WithUsd("1000");
  too_high.positions.push_back(Spot("BTC", Side::kLong, "1", "20000", "6"));
  EXPECT_EQ(EvalError(too_high).message(), "positions[0].leverage: 6 exceeds the cap of 5 for \"BTC\"");

  Account eu = WithUsd("1000");
  eu.positions.push_back(Perp("BTC", Side::kLong, "1", "20000"));
  eu.positions[0].leverage = D("20");
  EXPECT_EQ(EvalError(eu, "EU").message(), "positions[0].leverage: 20 exceeds the cap of 10 (region EU)");
  EXPECT_EQ(EvalError(eu, "XX").message(), "region: unknown region \"XX\"");

  Account old = WithUsd("1000");
  old.positions.push_back(Spot("BTC", Side::kLong, "1", "20000", "2", kNow - 724 * kHour));
  EXPECT_EQ(EvalError(old).message(),
            "positions[0].opened_time: position is 724 hours old; the rollover table for \"BTC\" covers 720 hours");

  Account fine = WithUsd("1000");
  fine.collateral[0].quantity = D("0.0000000000001");
  EXPECT_EQ(EvalError(fine).message().rfind("collateral[0].quantity: at most 12 fractional digits", 0), 0u);

  Account cash = WithUsd("1000");
  cash.positions.push_back(Perp("USD", Side::kLong, "1", "1"));
  EXPECT_EQ(EvalError(cash).message(), "positions[0].asset: \"USD\" is cash and cannot be a position");
}

TEST(MarginEvaluator, EuCapLimitsFuturesLeverageThroughInitialMargin) {
  Account a = WithUsd("100000");
  a.region = "EU";
  a.positions.push_back(Perp("BTC", Side::kLong, "1", "100000"));
  Valuation v = Eval({Quote("BTC", "100000")}, a);
  EXPECT_EQ(v.initial_margin, D("10000"));  // 10x cap: IM at least notional / 10 (tier says 2%)
}

TEST(MarginEvaluator, NoPositionsIsHealthyUnlessDebtsExceedCollateral) {
  Account a = WithUsd("-100");
  a.collateral.push_back({"BTC", D("0.001")});
  Valuation v = Eval({Quote("BTC", "20000")}, a);
  EXPECT_EQ(v.equity, D("-80"));
  EXPECT_EQ(v.state, AccountState::kLiquidation);
  EXPECT_FALSE(v.margin_level);
}

// Evaluators share per-thread scratch space: interleaving them (different asset lists) must not
// leak state from one account into the next.
TEST(MarginEvaluator, InterleavedEvaluatorsDoNotShareState) {
  auto small = ParseRiskParams("[assets.USD]\nclass = \"cash\"\n", "small.toml");
  ASSERT_TRUE(small.ok()) << small.status().ToString();
  Evaluator a(TestParams(), View({Quote("BTC", "20000", "clamped")}));
  Evaluator b(std::make_shared<const RiskParams>(std::move(small).value()), View({}));
  Account btc = WithUsd("10000");
  btc.collateral.push_back({"BTC", D("1")});
  for (int i = 0; i < 3; ++i) {
    auto va = a.Evaluate(btc, kNow);
    ASSERT_TRUE(va.ok());
    EXPECT_FALSE(va->new_risk_allowed);  // BTC is degraded
    auto vb = b.Evaluate(WithUsd("5"), kNow);
    ASSERT_TRUE(vb.ok()) << vb.status().ToString();
    EXPECT_TRUE(vb->new_risk_allowed);
    EXPECT_EQ(vb->equity, D("5"));
    EXPECT_EQ(b.Evaluate(btc, kNow).status().message(), "collateral[1].asset: unknown asset \"BTC\"");
  }
}

}  // namespace
}  // namespace plumbline::margin
