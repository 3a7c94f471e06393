// Shared fixtures for the margin unit tests: a risk file covering every asset class and a
// market view builder. Values are chosen so the issue's worked examples come out exactly.
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "plumbline/margin/evaluator.h"
#include "plumbline/margin/risk_params.h"

namespace plumbline::margin::testing {

inline constexpr int64_t kNow = 1'763'780'000'000'000'000;
inline constexpr int64_t kHour = 3600LL * 1'000'000'000;

inline const char* kRiskToml = R"(
max_snapshot_age_ms = 10000
max_batch_accounts = 3

[levels]
no_new_positions = "1.00"
margin_call = "0.80"
liquidation = "0.40"
futures_margin_call = "1.25"

[regions.EU]
max_leverage = "10"

[classes.crypto]
spot_max_leverage = "5"
futures_max_leverage = "50"
futures_tiers = [ { up_to = "1000000", im = "0.02", mm = "0.01" }, { im = "0.05", mm = "0.025" } ]
rollover = [ { up_to_hours = 24, rate_per_4h = "0.0002" }, { up_to_hours = 720, rate_per_4h = "0.0001" } ]
max_mark_age_ms = 10000
stale_mark_haircut = "0.10"

[classes.tokenized_stock]
spot_max_leverage = "3"
haircut_tiers = [ { up_to = "100000", haircut = "0.10" }, { haircut = "0.20" } ]
session_haircut = "0.05"
reserve_stale_penalty = "0.10"
reserve_unknown_penalty = "0.25"
max_mark_age_ms = 10000

[assets.USD]
class = "cash"

[assets.BTC]
class = "crypto"
mark = "BTC/USD"

[assets.ETH]
class = "crypto"
mark = "ETH/USD"
haircut_tiers = [ { haircut = "0.10" } ]
opening_fee = "0.0002"

[assets.AAPLx]
class = "tokenized_stock"
mark = "AAPLx/USD"

[[stress]]
name = "crypto_crash"
crypto = "-0.30"
equity = "-0.10"
tokenized_stock = "-0.10"

[[stress]]
name = "equity_gap"
equity = "-0.15"
tokenized_stock = "-0.15"
)";

inline Decimal D(const char* s) {
  auto r = Decimal::Parse(s);
  EXPECT_TRUE(r.ok()) << s;
  return r.ok() ? *r : Decimal();
}

inline std::shared_ptr<const RiskParams> TestParams() {
  auto p = ParseRiskParams(kRiskToml, "risk.toml");
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return std::make_shared<const RiskParams>(std::move(p).value());
}

inline AssetQuote Quote(const std::string& asset, const char* price, const char* status = "ok") {
  AssetQuote q;
  q.asset = asset;
  q.mark_status = status;
  if (price != nullptr) q.price = D(price);
  q.newest_observation_unix_nanos = kNow - 1'000'000'000;
  return q;
}

inline AssetQuote Token(const char* price, Session session, std::optional<ReserveStatus> reserve) {
  AssetQuote q = Quote("AAPLx", price);
  q.session = session;
  q.reserve = reserve;
  return q;
}

inline std::shared_ptr<const MarketView> View(std::vector<AssetQuote> quotes) {
  auto v = std::make_shared<MarketView>();
  v->snapshot_sequence = 7;
  v->snapshot_hash = std::string(64, 'a');
  v->snapshot_time_unix_nanos = kNow - 500'000'000;
  v->quotes = std::move(quotes);
  return v;
}

inline Position Spot(const std::string& asset, Side side, const char* qty, const char* entry, const char* lev,
                     int64_t opened = kNow) {
  Position p;
  p.id = "p-" + asset;
  p.asset = asset;
  p.kind = PositionKind::kSpotMargin;
  p.side = side;
  p.quantity = D(qty);
  p.entry_price = D(entry);
  p.leverage = D(lev);
  p.opened_unix_nanos = opened;
  return p;
}

inline Position Perp(const std::string& asset, Side side, const char* qty, const char* entry) {
  Position p;
  p.id = "f-" + asset;
  p.asset = asset;
  p.kind = PositionKind::kPerpetual;
  p.side = side;
  p.quantity = D(qty);
  p.entry_price = D(entry);
  return p;
}

// Rounds for comparison with the issue's two-decimal figures.
inline std::string Cents(const std::optional<Decimal>& d) {
  if (!d) return "none";
  return d->Rescale(2, Rounding::kHalfEven)->ToString();
}

}  // namespace plumbline::margin::testing
