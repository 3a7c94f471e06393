// The margin evaluator: values an account's collateral and positions from ONE market view (built
// from one signed snapshot) and says how healthy it is, at which prices it reaches a margin call,
// liquidation and bankruptcy, and how it fares in the configured stress scenarios.
// Every formula, its rounding direction and the worked examples are in docs/margin.md.
//
// Numbers: inputs and outputs are exact Decimals; internally all arithmetic is exact integer
// fixed point at 10^-12 USD/units with explicit rounding: values we may count (collateral, P/L)
// round down, amounts that must be covered (margins, fees) round up. Inputs with more than 12
// fractional digits are refused (InvalidArgument naming the field).
//
// Errors (InvalidArgument, message starts with the field path, e.g.
// "positions[1].leverage: 20 exceeds the cap of 10 (region EU)"): unknown asset, non-positive
// quantity/price/leverage, leverage above the asset's or region's cap, a spot position older than
// the rollover table covers, more than 12 fractional digits. OutOfRange when an amount exceeds
// about 10^24 USD.
//
// Thread safety: an Evaluator is immutable after construction; Evaluate() may run concurrently
// from any number of threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "plumbline/decimal.h"
#include "plumbline/margin/risk_params.h"
#include "plumbline/reserve_status.h"
#include "plumbline/status.h"

namespace plumbline::margin {

enum class Session { kRegular, kPreMarket, kPostMarket, kOvernight, kClosed, kUnknown };
const char* SessionName(Session s);  // "regular", "pre_market", ...
std::optional<Session> ParseSession(std::string_view name);
// The attestation's own verdict type (plumbline/reserve_status.h): one type from chain to margin.
using ::plumbline::ParseReserveStatus;
using ::plumbline::ReserveStatus;
using ::plumbline::ReserveStatusName;

// One asset as seen in one snapshot. Built by the daemon's adapter (daemon/margin_routes.h).
struct AssetQuote {
  std::string asset;                       // risk-file asset id, e.g. "BTC"
  std::string mark_status = "ok";          // the mark's status word; anything but "ok" degrades
  std::optional<Decimal> price;            // the mark price, if the snapshot carries one
  std::optional<int64_t> newest_observation_unix_nanos;
  std::optional<Session> session;          // equities and tokenized stocks; absent: unknown
  std::optional<ReserveStatus> reserve;    // tokenized stocks; absent: unknown
};

struct MarketView {
  uint64_t snapshot_sequence = 0;
  std::string snapshot_hash;               // SHA-256 hex of the snapshot payload
  int64_t snapshot_time_unix_nanos = 0;
  std::vector<AssetQuote> quotes;          // assets without a quote are unpriced (cash needs none)
};

// ---- The account (input) ----

struct CollateralBalance {
  std::string asset;
  Decimal quantity;  // may be negative: a debt, counted in full
};

enum class PositionKind { kSpotMargin, kPerpetual, kDated };
enum class Side { kLong, kShort };
const char* PositionKindName(PositionKind k);  // "spot_margin", "perpetual", "dated"

struct Position {
  std::string id;                 // caller's id, echoed back
  std::string asset;              // base asset, quoted in USD
  PositionKind kind = PositionKind::kSpotMargin;
  Side side = Side::kLong;
  Decimal quantity;               // > 0, in units of the asset
  Decimal entry_price;            // > 0, USD
  std::optional<Decimal> leverage;  // spot margin: required; futures: optional (caps the IM rate)
  int64_t opened_unix_nanos = 0;  // spot margin: fees accrue from here
  std::optional<int64_t> expiry_unix_nanos;  // dated futures
  Decimal funding_accrued;        // futures: USD received (+) or owed (-) and not yet settled
};

struct Account {
  std::string id;
  std::optional<std::string> region;  // e.g. "EU": applies the region's leverage cap
  std::vector<CollateralBalance> collateral;
  std::vector<Position> positions;
};

// ---- The valuation (output) ----

enum class AccountState { kHealthy, kNoNewPositions, kMarginCall, kLiquidation, kUndetermined };
const char* AccountStateName(AccountState s);  // "healthy", "no_new_positions", ...

// Why a haircut or a refusal applied (bit flags).
enum Reason : uint32_t {
  kReasonTier = 1u << 0,          // tiered haircut by USD value
  kReasonSession = 1u << 1,       // outside the regular session (or session unknown)
  kReasonReserveUnder = 1u << 2,  // reserve under_backed: counts zero
  kReasonReserveStale = 1u << 3,
  kReasonReserveUnknown = 1u << 4,
  kReasonMarkDegraded = 1u << 5,  // status not ok, or newest observation older than the limit
  kReasonUnpriced = 1u << 6,      // no usable price (missing, or <= 0): counted as zero
};
std::vector<std::string> ReasonNames(uint32_t reasons);
const char* ReasonName(Reason single_reason);  // "tier", ...; "unknown" for a bit not listed above

struct CollateralLine {
  std::string asset;
  Decimal quantity;
  std::optional<Decimal> mark;
  Decimal gross_value;    // quantity x mark, rounded down
  Decimal haircut;        // effective haircut 1 - counted/gross, rounded up (0 for debts)
  Decimal counted_value;  // rounded down
  uint32_t reasons = 0;
};

struct PositionLine {
  std::string id;
  std::string asset;
  PositionKind kind = PositionKind::kSpotMargin;
  Side side = Side::kLong;
  Decimal quantity;
  Decimal entry_price;
  std::optional<Decimal> mark;
  Decimal cost;            // quantity x entry price
  Decimal notional;        // quantity x mark
  Decimal unrealized_pnl;  // rounded down
  // spot margin
  Decimal used_margin;     // cost / leverage (short: notional / leverage), rounded up
  Decimal opening_fee;
  Decimal rollover_fees;
  int64_t rollover_periods = 0;
  // futures
  Decimal initial_margin;
  Decimal maintenance_margin;
  Decimal funding_accrued;
  // prices of this position's asset (others held at their marks) at which the account reaches
  // the margin-call requirement, the liquidation requirement, and zero equity; absent when no
  // such price exists in the position's adverse direction, or when an asset is unpriced.
  std::optional<Decimal> margin_call_price;
  std::optional<Decimal> liquidation_price;
  std::optional<Decimal> bankruptcy_price;
};

struct StressLine {
  std::string name;
  Decimal equity;
  Decimal loss;  // equity at the marks minus equity under the scenario (negative: a gain)
  AccountState state = AccountState::kHealthy;
  bool survives = true;  // not in liquidation under the scenario
};

struct Valuation {
  std::string account_id;
  uint64_t snapshot_sequence = 0;
  std::string snapshot_hash;
  int64_t snapshot_time_unix_nanos = 0;
  std::string risk_digest;  // SHA-256 of the risk file used
  int64_t evaluated_unix_nanos = 0;

  std::vector<CollateralLine> collateral;
  std::vector<PositionLine> positions;

  Decimal collateral_value;
  Decimal unrealized_pnl;
  Decimal fees;      // opening + rollover fees owed
  Decimal funding;   // futures funding accrued
  Decimal equity;    // collateral_value + unrealized_pnl - fees + funding
  Decimal used_margin;
  Decimal initial_margin;
  Decimal maintenance_margin;
  std::optional<Decimal> margin_level;  // equity / used_margin (2.5 = 250%), when used margin > 0
  // Requirements the state was decided by: equity < no_new_positions -> no new positions;
  // equity <= margin_call -> margin call; equity <= liquidation -> liquidation.
  Decimal requirement_no_new_positions;  // levels.no_new_positions x used margin + IM
  Decimal requirement_margin_call;       // levels.margin_call x used margin + futures_margin_call x MM
  Decimal requirement_liquidation;       // levels.liquidation x used margin + MM
  AccountState state = AccountState::kHealthy;
  bool new_risk_allowed = true;
  std::vector<std::string> refusals;  // why new risk is refused (degraded inputs, state)

  std::vector<StressLine> stress;
  std::optional<Decimal> worst_stress_loss;
  bool survives_all_stress = true;
};

struct EvaluateOptions {
  bool liquidation_prices = true;
  bool stress = true;
};

class Evaluator {
 public:
  // Prepares the view against the parameters (prices converted once). Both are shared and kept
  // alive by the Evaluator.
  Evaluator(std::shared_ptr<const RiskParams> params, std::shared_ptr<const MarketView> view);
  ~Evaluator();
  Evaluator(Evaluator&&) noexcept;

  Result<Valuation> Evaluate(const Account& account, int64_t now_unix_nanos,
                             const EvaluateOptions& options = {}) const;
  // Same, reusing `out`'s storage (for batch callers). On error `out` is unspecified.
  Status EvaluateInto(const Account& account, int64_t now_unix_nanos, const EvaluateOptions& options,
                      Valuation* out) const;

  const RiskParams& params() const { return *params_; }
  const MarketView& view() const { return *view_; }

  struct Prepared;  // internal: the view converted against the parameters (evaluator.cc)

 private:
  std::shared_ptr<const RiskParams> params_;
  std::shared_ptr<const MarketView> view_;
  std::unique_ptr<Prepared> prepared_;
};

}  // namespace plumbline::margin
