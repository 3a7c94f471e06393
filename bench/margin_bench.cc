// The margin evaluator at scale: 1,000,000 accounts (4 collateral assets and 4 positions each,
// liquidation, margin-call and bankruptcy prices included) against one snapshot, one core.
//
//   margin/evaluate_1m                 Evaluator::EvaluateInto over 1,000,000 accounts (no stress)
//   margin/evaluate_1m_with_stress     the same plus the 3 stress scenarios of deploy/demo/risk.toml
//   baseline/decimal_100k              the minimum Decimal arithmetic of the same accounts (gross values,
//                                      P/L, margins and one liquidation price per position) done with
//                                      plumbline::Decimal, over 100,000 accounts (1,000,000 would take
//                                      minutes): what the evaluator would cost without its exact
//                                      fixed-point path. Compare accounts_per_s.
//
// Accounts are 4,096 distinct ones cycled (memory stays small); each iteration is 1,000,000
// evaluations. Risk parameters are the demo file deploy/demo/risk.toml.
// bench/run_margin.sh prints the table with ratios.
#include <benchmark/benchmark.h>

#include <random>

#include "plumbline/margin/evaluator.h"

namespace {

using namespace plumbline;
using namespace plumbline::margin;

constexpr int64_t kNow = 1'763'780'000'000'000'000;
constexpr size_t kDistinct = 4096;
constexpr size_t kAccounts = 1'000'000;

Decimal D(const std::string& s) { return *Decimal::Parse(s); }

std::shared_ptr<const RiskParams> Params() {
  auto p = LoadRiskParams(PLUMBLINE_SOURCE_DIR "/deploy/demo/risk.toml");
  if (!p.ok()) {
    fprintf(stderr, "%s\n", p.status().ToString().c_str());
    std::abort();
  }
  return std::make_shared<const RiskParams>(std::move(p).value());
}

std::shared_ptr<const MarketView> View() {
  auto v = std::make_shared<MarketView>();
  v->snapshot_sequence = 1;
  v->snapshot_hash = std::string(64, 'a');
  v->snapshot_time_unix_nanos = kNow - 500'000'000;
  auto q = [&](const char* asset, const char* price) {
    AssetQuote a;
    a.asset = asset;
    a.price = D(price);
    a.newest_observation_unix_nanos = kNow - 1'000'000'000;
    a.session = Session::kRegular;
    a.reserve = ReserveStatus::kFullyBacked;
    v->quotes.push_back(a);
  };
  q("BTC", "67012.35");
  q("ETH", "3521.17");
  q("SOL", "171.234");
  q("AAPLx", "229.87");
  return v;
}

std::vector<Account> Accounts() {
  std::mt19937_64 rng(42);
  auto pick = [&](int lo, int hi) { return std::to_string(lo + static_cast<int>(rng() % static_cast<uint64_t>(hi - lo + 1))); };
  std::vector<Account> out;
  for (size_t i = 0; i < kDistinct; ++i) {
    Account a;
    a.id = "acct-" + std::to_string(i);
    a.collateral = {{"USD", D(pick(1000, 200000) + ".25")},
                    {"BTC", D("0." + pick(100000, 999999))},
                    {"ETH", D(pick(1, 20) + ".5")},
                    {"AAPLx", D(pick(1, 500))}};
    auto pos = [&](const char* asset, PositionKind kind, Side side, std::string qty, std::string entry, const char* lev) {
      Position p;
      p.asset = asset;
      p.kind = kind;
      p.side = side;
      p.quantity = D(qty);
      p.entry_price = D(entry);
      if (lev) p.leverage = D(lev);
      p.opened_unix_nanos = kNow - 3600LL * 1'000'000'000 * (1 + static_cast<int64_t>(rng() % 200));
      return p;
    };
    a.positions = {pos("BTC", PositionKind::kSpotMargin, Side::kLong, "0." + pick(10, 99), pick(60000, 70000), "3"),
                   pos("ETH", PositionKind::kPerpetual, Side::kShort, pick(1, 30), pick(3000, 4000) + ".5", nullptr),
                   pos("SOL", PositionKind::kPerpetual, Side::kLong, pick(10, 900), pick(150, 190), "10"),
                   pos("AAPLx", PositionKind::kSpotMargin, Side::kShort, pick(1, 100), pick(200, 250), "2")};
    out.push_back(std::move(a));
  }
  return out;
}

void RunEvaluator(benchmark::State& state, bool stress, size_t kAccounts = kAccounts) {
  Evaluator ev(Params(), View());
  auto accounts = Accounts();
  EvaluateOptions opts;
  opts.stress = stress;
  Valuation v;
  size_t liquidation_prices = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < kAccounts; ++i) {
      Status s = ev.EvaluateInto(accounts[i % kDistinct], kNow, opts, &v);
      if (!s.ok()) {
        state.SkipWithError(s.ToString().c_str());
        return;
      }
      liquidation_prices += v.positions[0].liquidation_price.has_value();
    }
    benchmark::DoNotOptimize(liquidation_prices);
  }
  state.counters["accounts_per_s"] = benchmark::Counter(static_cast<double>(kAccounts), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Evaluate(benchmark::State& state) { RunEvaluator(state, false); }
// 10,000 accounts: small enough for `valgrind --tool=callgrind` (instruction counts per account do
// not depend on the machine's load).
void BM_Evaluate10k(benchmark::State& state) { RunEvaluator(state, false, 10'000); }
void BM_EvaluateWithStress(benchmark::State& state) { RunEvaluator(state, true); }

// The same accounts' core amounts with plumbline::Decimal (the reference arithmetic).
void BM_DecimalBaseline(benchmark::State& state) {
  constexpr size_t kAccounts = 100'000;
  auto accounts = Accounts();
  const Decimal prices[4] = {D("67012.35"), D("3521.17"), D("171.234"), D("229.87")};
  const Decimal cash = D("1"), h = D("0.95"), mm = D("0.01"), lev = D("3");
  for (auto _ : state) {
    Decimal sink;
    for (size_t i = 0; i < kAccounts; ++i) {
      const Account& a = accounts[i % kDistinct];
      Decimal equity;
      for (size_t c = 0; c < 4; ++c) {
        const Decimal& p = c == 0 ? cash : prices[c - 1];
        Decimal gross = *Decimal::Mul(a.collateral[c].quantity, p, 12, Rounding::kFloor);
        equity = *Decimal::Add(equity, *Decimal::Mul(gross, h, 12, Rounding::kFloor));
      }
      for (size_t k = 0; k < 4; ++k) {
        const Position& p = a.positions[k];
        const Decimal& mark = prices[k];
        Decimal pnl = *Decimal::Mul(p.quantity, *Decimal::Sub(mark, p.entry_price), 12, Rounding::kFloor);
        Decimal notional = *Decimal::Mul(p.quantity, mark, 12, Rounding::kCeiling);
        Decimal margin = *Decimal::Div(notional, lev, 12, Rounding::kCeiling);
        Decimal mmv = *Decimal::Mul(notional, mm, 12, Rounding::kCeiling);
        equity = *Decimal::Add(equity, pnl);
        // one linear liquidation solve per position: P = (Q·P0 − E) / (Q·(1 − m))
        Decimal num = *Decimal::Sub(*Decimal::Mul(p.quantity, p.entry_price, 12, Rounding::kCeiling), equity);
        Decimal den = *Decimal::Mul(p.quantity, *Decimal::Sub(cash, mm), 12, Rounding::kFloor);
        sink = *Decimal::Add(*Decimal::Div(num, den, 12, Rounding::kCeiling), *Decimal::Add(margin, mmv));
      }
    }
    benchmark::DoNotOptimize(sink);
  }
  state.counters["accounts_per_s"] = benchmark::Counter(static_cast<double>(kAccounts), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(BM_Evaluate)->Name("margin/evaluate_1m")->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK(BM_Evaluate10k)->Name("margin/evaluate_10k")->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_EvaluateWithStress)->Name("margin/evaluate_1m_with_stress")->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_DecimalBaseline)->Name("baseline/decimal_100k")->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK_MAIN();
