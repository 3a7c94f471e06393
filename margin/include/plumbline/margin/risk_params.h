// Risk parameters of the margin evaluator: one TOML file of its own (docs/margin.md, "Risk file";
// example deploy/demo/risk.toml), referenced from the daemon config by `risk_file`.
//
// Every key is checked like the daemon config: a missing required key, a wrong type, a value out
// of range or an unknown key fails with InvalidArgument naming the file, the key path
// ("classes.crypto.haircut_tiers[1].haircut") and what was expected. Ratios (haircuts, rates,
// levels, shocks) and leverages are decimal strings, never TOML floats.
//
// Reloading: RiskParamsHolder keeps the current parameters behind a shared_ptr<const RiskParams>
// that is swapped atomically by Reload(); a failed reload keeps the old parameters.
//
// Thread safety: RiskParams is immutable once parsed. RiskParamsHolder is safe to use from any
// thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plumbline/decimal.h"
#include "plumbline/status.h"

namespace plumbline::margin {

enum class AssetClass { kCrypto, kEquity, kTokenizedStock, kCash };
// Wire names: "crypto", "equity", "tokenized_stock", "cash".
const char* AssetClassName(AssetClass c);
std::optional<AssetClass> ParseAssetClass(std::string_view name);

// One tier of an incremental schedule over a USD amount: the rate applies to the part of the
// amount in [previous tier's up_to, up_to). The last tier is open-ended (no up_to).
struct Tier {
  std::optional<Decimal> up_to;  // USD; strictly increasing; absent only on the last tier
  Decimal rate;                  // haircut, or margin rate, in [0, 1]
};

// Futures margin tier (by position notional in USD at the mark): initial and maintenance rates.
struct MarginTier {
  std::optional<Decimal> up_to;
  Decimal im;  // initial margin rate, (0, 1]
  Decimal mm;  // maintenance margin rate, (0, im]
};

// Rollover schedule row: periods (of 4 hours) ending at or before up_to_hours pay rate_per_4h.
struct RolloverTier {
  int64_t up_to_hours = 0;  // strictly increasing, multiples of 4
  Decimal rate_per_4h;
};

// Parameters of one asset class; each [assets.X] table may override any of them.
struct ClassParams {
  std::vector<Tier> haircut_tiers{Tier{std::nullopt, Decimal()}};  // default: no haircut
  std::optional<Decimal> spot_max_leverage;     // absent: spot margin not offered
  std::optional<Decimal> futures_max_leverage;  // absent: futures not offered
  std::vector<MarginTier> futures_tiers;        // required when futures are offered
  Decimal opening_fee;                          // spot margin, fraction of cost
  std::vector<RolloverTier> rollover;           // spot margin; empty: no position may be 4h old
  int64_t max_mark_age_ms = 60'000;             // older newest observation: mark is degraded
  Decimal session_haircut;         // added to every haircut tier outside the regular session
  Decimal stale_mark_haircut;      // added when the mark is degraded (stale, clamped, too old)
  Decimal reserve_stale_penalty;   // tokenized stocks: added when the reserve status is stale
  Decimal reserve_unknown_penalty; // tokenized stocks: added when unknown or not reported
};

struct AssetParams {
  std::string id;            // e.g. "BTC", "USD", "AAPLx"
  AssetClass asset_class = AssetClass::kCrypto;
  std::string mark;          // snapshot symbol, e.g. "BTC/USD"; empty for cash (worth exactly 1)
  ClassParams params;        // the class defaults with this asset's overrides applied
};

// Margin-level thresholds. Spot margin compares equity with level × used margin; futures with
// the maintenance margin (liquidation), futures_margin_call × MM (margin call) and IM (new risk).
struct Levels {
  Decimal no_new_positions = Decimal::FromInt(1);    // 100%
  Decimal margin_call = *Decimal::Parse("0.80");     // 80%
  Decimal liquidation = *Decimal::Parse("0.40");     // 40%
  Decimal futures_margin_call = *Decimal::Parse("1.25");
};

// A stress scenario: relative price shocks (e.g. "-0.30") per asset class, overridden per asset.
// Cash is never shocked. Shocks are >= -1.
struct StressScenario {
  std::string name;
  std::map<AssetClass, Decimal> class_shocks;
  std::map<std::string, Decimal> asset_shocks;
};

struct RiskParams {
  std::string path;                          // file it was read from ("" when parsed from text)
  std::string digest;                        // SHA-256 hex of the file bytes (named in results)
  int64_t max_snapshot_age_ms = 10'000;      // older snapshot: no new risk
  uint32_t max_batch_accounts = 10'000;      // evaluate-batch limit
  Levels levels;
  std::map<std::string, Decimal> region_max_leverage;  // e.g. {"EU": 10}
  std::vector<AssetParams> assets;           // sorted by id
  std::vector<StressScenario> stress;

  const AssetParams* FindAsset(std::string_view id) const;
};

// Parses TOML text; `path` is used in messages.
Result<RiskParams> ParseRiskParams(std::string_view toml_text, const std::string& path);
// Reads and parses a file. IOError names the file if it cannot be read.
Result<RiskParams> LoadRiskParams(const std::string& path);

// The current parameters of a running daemon, reloadable from their file.
class RiskParamsHolder {
 public:
  explicit RiskParamsHolder(std::string path) : path_(std::move(path)) {}
  // Loads the file; on error keeps the parameters held so far (none at first) and returns it.
  Status Reload();
  // Null until a Reload() succeeded.
  std::shared_ptr<const RiskParams> Get() const;
  const std::string& path() const { return path_; }

 private:
  const std::string path_;
  mutable std::mutex mu_;
  std::shared_ptr<const RiskParams> current_;
};

}  // namespace plumbline::margin
