// Differential test of the evaluator: 120,000 random evaluations (random risk-file variants,
// snapshots with degraded, closed, unpriced and non-positive marks, sessions and reserve states,
// accounts from tiny to out-of-range magnitudes, bad inputs) printed as the exact valuation JSON
// or error text, digested, and compared with the digest the evaluator produced at main 32ed664
// (before the 64-bit account path). Any change of a value, a rounding direction, a refusal or an
// error text changes the digest. To see which evaluations differ, run the test with
// PLUMBLINE_MARGIN_DIFF_DUMP=/tmp/x.ndjson on both builds and diff the two files.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "margin/evaluator_testing.h"
#include "margin/test_support.h"
#include "plumbline/margin/json.h"

namespace plumbline::margin {
namespace {

using testing::kHour;
using testing::kNow;

// Digest of main 32ed664's output for this generator (FNV-1a 64 over every output line).
constexpr uint64_t kExpectedDigest = 0xfb40bac9c2f4ec5fULL;

// Every tiered schedule in play at once, on every non-cash asset class.
const char* kMultiTier = R"(
max_snapshot_age_ms = 10000
[levels]
no_new_positions = "1.00"
margin_call = "0.80"
liquidation = "0.40"
futures_margin_call = "1.25"
[regions.EU]
max_leverage = "10"
[regions.LOW]
max_leverage = "2.5"
[classes.crypto]
haircut_tiers = [ { up_to = "50000", haircut = "0.05" }, { up_to = "200000", haircut = "0.10" }, { up_to = "5000000", haircut = "0.20" }, { haircut = "0.60" } ]
spot_max_leverage = "5"
futures_max_leverage = "50"
futures_tiers = [ { up_to = "100000", im = "0.02", mm = "0.01" }, { up_to = "1000000", im = "0.04", mm = "0.02" }, { up_to = "20000000", im = "0.10", mm = "0.05" }, { im = "0.5", mm = "0.333333333333" } ]
opening_fee = "0.000123456789"
rollover = [ { up_to_hours = 24, rate_per_4h = "0.0002" }, { up_to_hours = 720, rate_per_4h = "0.00011" } ]
max_mark_age_ms = 10000
stale_mark_haircut = "0.15"
[classes.equity]
haircut_tiers = [ { up_to = "1000000", haircut = "0.15" }, { haircut = "0.25" } ]
spot_max_leverage = "2"
max_mark_age_ms = 60000
session_haircut = "0.10"
[classes.tokenized_stock]
haircut_tiers = [ { up_to = "250000", haircut = "0.15" }, { haircut = "0.30" } ]
spot_max_leverage = "3"
futures_max_leverage = "10"
futures_tiers = [ { up_to = "250000", im = "0.10", mm = "0.05" }, { im = "0.20", mm = "0.10" } ]
opening_fee = "0.0002"
rollover = [ { up_to_hours = 8760, rate_per_4h = "0.0002" } ]
max_mark_age_ms = 60000
session_haircut = "0.10"
stale_mark_haircut = "0.10"
reserve_stale_penalty = "0.10"
reserve_unknown_penalty = "0.95"
[assets.USD]
class = "cash"
[assets.BTC]
class = "crypto"
mark = "BTC/USD"
[assets.ETH]
class = "crypto"
mark = "ETH/USD"
haircut_tiers = [ { haircut = "0.10" } ]
[assets.SOL]
class = "crypto"
mark = "SOL/USD"
haircut_tiers = [ { up_to = "1000", haircut = "0" }, { haircut = "1" } ]
[assets.SPY]
class = "equity"
mark = "SPY/USD"
[assets.AAPLx]
class = "tokenized_stock"
mark = "AAPLx/USD"
[assets.TSLAx]
class = "tokenized_stock"
mark = "TSLAx/USD"
haircut_tiers = [ { up_to = "250000", haircut = "0.25" }, { haircut = "0.40" } ]
[[stress]]
name = "crash"
crypto = "-0.30"
equity = "-0.10"
tokenized_stock = "-0.10"
[[stress]]
name = "up"
crypto = "0.25"
equity = "0.10"
tokenized_stock = "0.10"
[stress.assets]
SOL = "-1"
)";

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}
  uint64_t Below(uint64_t n) { return rng_() % n; }
  bool OneIn(uint64_t n) { return Below(n) == 0; }
  // A decimal with up to `max_int` integer digits and up to 12 fractional digits (rarely 13),
  // digit counts log-uniform so that tiny, common and huge magnitudes all occur.
  std::string Num(int max_int, bool allow_neg = false) {
    const int scale = OneIn(400) ? 13 : static_cast<int>(Below(13));
    const int int_digits = static_cast<int>(Below(static_cast<uint64_t>(max_int) + 1));
    std::string s;
    if (allow_neg && OneIn(3)) s += '-';
    s += int_digits == 0 ? "0" : std::to_string(1 + Below(9));
    for (int i = 1; i < int_digits; ++i) s += static_cast<char>('0' + Below(10));
    if (scale > 0) {
      s += '.';
      for (int i = 0; i < scale; ++i) s += static_cast<char>('0' + Below(10));
    }
    return s;
  }
  // A "realistic" number: a few significant digits around 10^exp.
  std::string Near(int exp) {
    if (exp <= 0) return "0." + std::string(static_cast<size_t>(-exp), '0') + std::to_string(1 + Below(9999));
    return std::to_string(1 + Below(static_cast<uint64_t>(exp >= 18 ? 999999999999999999ULL : Pow10(exp)))) + "." +
           std::to_string(Below(100));
  }
  static uint64_t Pow10(int e) {
    uint64_t v = 1;
    for (int i = 0; i < e; ++i) v *= 10;
    return v;
  }

 private:
  std::mt19937_64 rng_;
};

Decimal Dec(const std::string& s) {
  auto d = Decimal::Parse(s);
  EXPECT_TRUE(d.ok()) << s;
  return d.ok() ? *d : Decimal();
}

const char* kAssets[] = {"USD", "BTC", "ETH", "AAPLx", "SOL", "SPY", "TSLAx"};

std::string Price(Gen& g) {
  switch (g.Below(12)) {
    case 0: return g.Num(9);
    case 1: return g.Near(static_cast<int>(g.Below(12)) - 4);
    default: return g.Near(static_cast<int>(g.Below(6)));
  }
}

std::shared_ptr<const MarketView> RandomView(Gen& g) {
  auto v = std::make_shared<MarketView>();
  v->snapshot_sequence = 1 + g.Below(100);
  v->snapshot_hash = std::string(64, 'b');
  v->snapshot_time_unix_nanos = kNow - (g.OneIn(8) ? 60'000'000'000 : 500'000'000);
  for (const char* asset : kAssets) {
    if (std::string(asset) == "USD" || g.OneIn(30)) continue;  // cash needs no quote; rarely missing
    AssetQuote q;
    q.asset = asset;
    static const char* kStatus[] = {"ok", "ok", "ok", "ok", "ok", "ok", "market_closed", "stale", "halted", "new_word"};
    q.mark_status = kStatus[g.Below(10)];
    const uint64_t p = g.Below(40);
    if (p == 0) {
      // no price
    } else if (p == 1) {
      q.price = Dec("0");
    } else if (p == 2) {
      q.price = Dec("-" + Price(g));
    } else {
      q.price = Dec(Price(g));
    }
    if (!g.OneIn(20)) q.newest_observation_unix_nanos = kNow - (g.OneIn(6) ? 120'000'000'000 : 1'000'000'000);
    if (!g.OneIn(4)) q.session = static_cast<Session>(g.Below(6));
    if (!g.OneIn(4)) q.reserve = static_cast<ReserveStatus>(g.Below(4));
    v->quotes.push_back(q);
  }
  return v;
}

// What a risk file offers, so that most generated accounts are valid.
struct Offer {
  int assets;       // kAssets[0 .. assets)
  bool multi;       // kMultiTier (else testing::kRiskToml)
  bool Futures(const std::string& asset) const {
    return asset == "BTC" || asset == "ETH" || asset == "SOL" || (multi && asset != "SPY");
  }
  int SpotCap(const std::string& asset) const {
    return asset == "SPY" ? 2 : (asset == "AAPLx" || asset == "TSLAx" || asset == "SOL") ? 3 : 5;
  }
  int RolloverHours(const std::string& asset) const {
    return asset == "AAPLx" || asset == "TSLAx" ? (multi ? 8760 : 3) : asset == "SPY" ? 3 : 720;
  }
};

Account RandomAccount(Gen& g, size_t n, const Offer& offer) {
  Account a;
  a.id = "a" + std::to_string(n);
  if (g.OneIn(5)) a.region = offer.multi && g.OneIn(3) ? "LOW" : "EU";
  if (g.OneIn(500)) a.region = "MARS";
  // Accounts concentrate on a few assets so that collateral moves with the positions.
  const uint64_t na = static_cast<uint64_t>(offer.assets);
  const char* own[3] = {kAssets[g.Below(na)], kAssets[1 + g.Below(na - 1)], kAssets[1 + g.Below(na - 1)]};
  const bool huge = g.OneIn(10);
  const int ncoll = static_cast<int>(g.Below(6));
  for (int i = 0; i < ncoll; ++i) {
    std::string asset = i == 0 ? "USD" : own[g.Below(3)];
    if (asset == "USD" && i > 0) asset = kAssets[g.Below(na)];
    if (g.OneIn(300)) asset = "DOGE";
    std::string q = huge ? g.Num(16, true) : (g.OneIn(4) ? "-" : "") + g.Near(static_cast<int>(g.Below(8)) - 2);
    a.collateral.push_back({asset, Dec(q)});
  }
  const int npos = static_cast<int>(g.Below(6));
  for (int i = 0; i < npos; ++i) {
    Position p;
    p.id = "p" + std::to_string(i);
    p.asset = own[g.Below(3)];
    if (p.asset == "USD") p.asset = "BTC";
    if (g.OneIn(300)) p.asset = g.OneIn(2) ? "DOGE" : "USD";
    p.kind = offer.Futures(p.asset) && g.Below(3) ? static_cast<PositionKind>(1 + g.Below(2)) : PositionKind::kSpotMargin;
    if (g.OneIn(300)) p.kind = PositionKind::kPerpetual;
    p.side = g.Below(3) ? Side::kLong : Side::kShort;
    p.quantity = Dec(huge ? g.Num(14) : g.Near(static_cast<int>(g.Below(7)) - 2));
    if (g.OneIn(200)) p.quantity = Dec("-1");
    p.entry_price = Dec(huge ? g.Num(10) : Price(g));
    if (p.kind == PositionKind::kSpotMargin || g.Below(2)) {
      const uint64_t cap = p.kind == PositionKind::kSpotMargin ? static_cast<uint64_t>(offer.SpotCap(p.asset)) : 12;
      p.leverage = Dec(g.OneIn(100) ? g.Num(3) : std::to_string(1 + g.Below(cap - 1)) + (g.OneIn(3) ? ".5" : ""));
    }
    if (p.kind == PositionKind::kSpotMargin && !g.OneIn(200)) {
      const uint64_t hours = static_cast<uint64_t>(offer.RolloverHours(p.asset)) + (g.OneIn(100) ? 20 : 0);
      p.opened_unix_nanos = kNow - static_cast<int64_t>(g.Below(hours)) * kHour - static_cast<int64_t>(g.Below(kHour));
    }
    if (p.kind == PositionKind::kDated && !g.OneIn(200)) p.expiry_unix_nanos = kNow + (g.OneIn(50) ? -1 : 1) * 24 * kHour;
    if (p.kind != PositionKind::kSpotMargin) p.funding_accrued = Dec(g.Num(huge ? 14 : 4, true));
    a.positions.push_back(p);
  }
  return a;
}

uint64_t Fnv(uint64_t h, std::string_view s) {
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

TEST(MarginDiff, RandomEvaluationsMatchTheReferenceDigest) {
  auto multi = ParseRiskParams(kMultiTier, "multi.toml");
  ASSERT_TRUE(multi.ok()) << multi.status().ToString();
  const std::shared_ptr<const RiskParams> params[2] = {testing::TestParams(),
                                                        std::make_shared<const RiskParams>(std::move(multi).value())};
  const char* dump_path = std::getenv("PLUMBLINE_MARGIN_DIFF_DUMP");
  FILE* dump = dump_path ? std::fopen(dump_path, "w") : nullptr;
  Gen g(20261122);
  uint64_t digest = 0xcbf29ce484222325ULL;
  size_t n = 0, errors = 0, with_prices = 0;
  Valuation reused;
  std::string line;
  for (int world = 0; world < 240; ++world) {
    const Offer offer{world % 2 ? 7 : 4, world % 2 == 1};
    Evaluator ev(params[world % 2], RandomView(g));
    for (int k = 0; k < 500; ++k, ++n) {
      const Account a = RandomAccount(g, n, offer);
      EvaluateOptions opts;
      opts.liquidation_prices = !g.OneIn(10);
      opts.stress = !g.OneIn(10);
      const int64_t now = kNow + (g.OneIn(10) ? static_cast<int64_t>(g.Below(100)) * 1'000'000'000 : 0);
      // Half through EvaluateInto with one reused Valuation (the batch path), half fresh.
      Status s = Status::Ok();
      const Valuation* v = &reused;
      Result<Valuation> fresh = Valuation{};
      if (k % 2) {
        s = ev.EvaluateInto(a, now, opts, &reused);
      } else {
        fresh = ev.Evaluate(a, now, opts);
        s = fresh.status();
        if (fresh.ok()) v = &*fresh;
      }
      line = std::to_string(n) + " ";
      if (s.ok()) {
        AppendValuationJson(*v, &line);
        for (const PositionLine& p : v->positions) with_prices += p.liquidation_price.has_value();
      } else {
        line += "error " + s.ToString();
        ++errors;
      }
      line += '\n';
      digest = Fnv(digest, line);
      if (dump) std::fputs(line.c_str(), dump);
    }
  }
  if (dump) std::fclose(dump);
  // The generator covers what it should: errors, and many solved prices.
  EXPECT_GT(errors, n / 50);
  EXPECT_LT(errors, n / 2);
  EXPECT_GT(with_prices, n / 2);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(digest));
  EXPECT_EQ(digest, kExpectedDigest) << "digest " << hex << " over " << n << " evaluations (" << errors
                                     << " errors, " << with_prices << " liquidation prices)";
}

// The 64-bit account path against the 128-bit one, evaluation by evaluation: the generator's
// magnitudes straddle the 64-bit bound (about 9.2 x 10^6 USD in 10^-12 units), so accounts take
// all three routes — finished at 64 bits, abandoned mid-way for 128 bits, 128 bits from the start —
// and each must print exactly what the 128-bit path alone prints.
TEST(MarginDiff, The64BitPathMatchesThe128BitPath) {
  auto multi = ParseRiskParams(kMultiTier, "multi.toml");
  ASSERT_TRUE(multi.ok()) << multi.status().ToString();
  const std::shared_ptr<const RiskParams> params[2] = {testing::TestParams(),
                                                        std::make_shared<const RiskParams>(std::move(multi).value())};
  Gen g(6464);
  internal::PathCounts& counts = internal::PathCountsForTesting();
  const internal::PathCounts before = counts;
  size_t n = 0;
  std::string fast, wide;
  for (int world = 0; world < 60; ++world) {
    const Offer offer{world % 2 ? 7 : 4, world % 2 == 1};
    Evaluator ev(params[world % 2], RandomView(g));
    for (int k = 0; k < 400; ++k, ++n) {
      const Account a = RandomAccount(g, n, offer);
      EvaluateOptions opts;
      opts.liquidation_prices = !g.OneIn(10);
      opts.stress = !g.OneIn(10);
      auto print = [&](bool wide_only, std::string* out) {
        internal::SetWideOnlyForTesting(wide_only);
        Result<Valuation> v = ev.Evaluate(a, kNow, opts);
        internal::SetWideOnlyForTesting(false);
        out->clear();
        if (v.ok()) {
          AppendValuationJson(*v, out);
        } else {
          *out = "error " + v.status().ToString();
        }
      };
      print(false, &fast);
      print(true, &wide);
      ASSERT_EQ(fast, wide) << "evaluation " << n;
    }
  }
  const uint64_t narrow = counts.narrow - before.narrow, fallback = counts.fallback - before.fallback;
  EXPECT_GT(narrow, n / 4);     // most realistic accounts finish at 64 bits
  EXPECT_GT(fallback, n / 200);  // some leave 64 bits mid-way
  EXPECT_GT(counts.wide - before.wide, n);  // the forced runs, plus accounts that never fit
}

// An asset the account does not use still takes part in the stress pass (its shocked price is
// computed, with its range check): the 64-bit path must keep that check for an asset whose price
// does not fit 64 bits, so that both paths refuse the same evaluations.
TEST(MarginDiff, The64BitPathKeepsTheRangeChecksOfUnusedAssets) {
  auto multi = ParseRiskParams(kMultiTier, "multi.toml");
  ASSERT_TRUE(multi.ok()) << multi.status().ToString();
  const auto params = std::make_shared<const RiskParams>(std::move(multi).value());
  Account a;
  a.id = "small";
  a.collateral = {{"USD", Dec("10000")}, {"BTC", Dec("0.5")}};
  Position p;
  p.id = "p0";
  p.asset = "BTC";
  p.kind = PositionKind::kSpotMargin;
  p.side = Side::kLong;
  p.quantity = Dec("0.1");
  p.entry_price = Dec("60000");
  p.leverage = Dec("3");
  p.opened_unix_nanos = kNow - kHour;
  a.positions = {p};
  // ETH at 9 x 10^23 USD: in range, but the "up" scenario (+25 %) takes it beyond (about 10^24).
  for (const char* eth : {"900000000000000000000000", "5000000"}) {
    auto view = testing::View({testing::Quote("BTC", "67000"), testing::Quote("ETH", eth)});
    Evaluator ev(params, view);
    std::string out[2];
    for (int wide_only = 0; wide_only < 2; ++wide_only) {
      internal::SetWideOnlyForTesting(wide_only == 1);
      Result<Valuation> v = ev.Evaluate(a, kNow);
      internal::SetWideOnlyForTesting(false);
      out[wide_only] = v.ok() ? "ok" : v.status().ToString();
      if (v.ok()) AppendValuationJson(*v, &out[wide_only]);
    }
    EXPECT_EQ(out[0], out[1]) << "ETH at " << eth;
    if (std::string(eth).size() > 10) {
      EXPECT_NE(out[1].find("exceed the evaluator's range"), std::string::npos) << out[1];
    }
  }
}

}  // namespace
}  // namespace plumbline::margin
