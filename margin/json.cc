#include "plumbline/margin/json.h"

#include <charconv>
#include <set>

namespace plumbline::margin {
namespace {

using nlohmann::json;

// Reads the members of one JSON object; every error names the field path.
class Obj {
 public:
  Obj(const json& j, std::string path) : j_(j), path_(std::move(path)) {}
  std::string Field(std::string_view key) const { return path_ + std::string(key); }
  Status Error(std::string_view key, const std::string& what) const {
    return Status::InvalidArgument(Field(key) + ": " + what);
  }
  const json* Find(std::string_view key) {
    seen_.insert(std::string(key));
    auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  Status String(std::string_view key, bool required, std::string* out) {
    const json* n = Find(key);
    if (n == nullptr) return required ? Error(key, "missing; expected a string") : Status::Ok();
    if (!n->is_string()) return Error(key, std::string("expected a string, got ") + n->type_name());
    *out = n->get<std::string>();
    if (out->empty() && required) return Error(key, "must not be empty");
    return Status::Ok();
  }
  Status Dec(std::string_view key, bool required, Decimal* out, bool* present = nullptr) {
    const json* n = Find(key);
    if (present) *present = n != nullptr;
    if (n == nullptr) return required ? Error(key, "missing; expected a decimal string such as \"1.5\"") : Status::Ok();
    if (!n->is_string()) {
      return Error(key, std::string("expected a decimal string such as \"1.5\" (not a JSON number), got ") + n->type_name());
    }
    auto d = Decimal::Parse(n->get_ref<const std::string&>());
    if (!d.ok()) return Error(key, d.status().message());
    *out = *d;
    return Status::Ok();
  }
  // Unix nanoseconds as a decimal string.
  Status Time(std::string_view key, bool required, int64_t* out, bool* present = nullptr) {
    const json* n = Find(key);
    if (present) *present = n != nullptr;
    if (n == nullptr) return required ? Error(key, "missing; expected Unix nanoseconds as a decimal string") : Status::Ok();
    if (!n->is_string()) return Error(key, std::string("expected Unix nanoseconds as a decimal string, got ") + n->type_name());
    const std::string& s = n->get_ref<const std::string&>();
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    if (ec != std::errc() || end != s.data() + s.size() || *out <= 0) {
      return Error(key, "expected positive Unix nanoseconds as a decimal string, got \"" + s.substr(0, 40) + "\"");
    }
    return Status::Ok();
  }
  Status Array(std::string_view key, const json** out) {
    const json* n = Find(key);
    *out = n;
    if (n != nullptr && !n->is_array()) return Error(key, std::string("expected an array, got ") + n->type_name());
    return Status::Ok();
  }
  Status CheckNoUnknown() const {
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      if (!seen_.count(it.key())) return Error(it.key(), "unknown member");
    }
    return Status::Ok();
  }

 private:
  const json& j_;
  std::string path_;
  std::set<std::string> seen_;
};

Status NotObject(const std::string& path, const json& j) {
  return Status::InvalidArgument((path.empty() ? std::string("account") : path.substr(0, path.size() - 1)) +
                                 ": expected a JSON object, got " + j.type_name());
}

}  // namespace

Result<Account> AccountFromJson(const json& j, const std::string& prefix) {
  if (!j.is_object()) return NotObject(prefix, j);
  Account a;
  Obj o(j, prefix);
  PLUMBLINE_RETURN_IF_ERROR(o.String("id", false, &a.id));
  std::string region;
  PLUMBLINE_RETURN_IF_ERROR(o.String("region", false, &region));
  if (!region.empty()) a.region = region;
  const json* coll = nullptr;
  PLUMBLINE_RETURN_IF_ERROR(o.Array("collateral", &coll));
  if (coll != nullptr) {
    for (size_t i = 0; i < coll->size(); ++i) {
      const std::string path = prefix + "collateral[" + std::to_string(i) + "].";
      const json& e = (*coll)[i];
      if (!e.is_object()) return NotObject(path, e);
      Obj c(e, path);
      CollateralBalance b;
      PLUMBLINE_RETURN_IF_ERROR(c.String("asset", true, &b.asset));
      PLUMBLINE_RETURN_IF_ERROR(c.Dec("quantity", true, &b.quantity));
      PLUMBLINE_RETURN_IF_ERROR(c.CheckNoUnknown());
      a.collateral.push_back(std::move(b));
    }
  }
  const json* positions = nullptr;
  PLUMBLINE_RETURN_IF_ERROR(o.Array("positions", &positions));
  if (positions != nullptr) {
    for (size_t i = 0; i < positions->size(); ++i) {
      const std::string path = prefix + "positions[" + std::to_string(i) + "].";
      const json& e = (*positions)[i];
      if (!e.is_object()) return NotObject(path, e);
      Obj p(e, path);
      Position pos;
      PLUMBLINE_RETURN_IF_ERROR(p.String("id", false, &pos.id));
      PLUMBLINE_RETURN_IF_ERROR(p.String("asset", true, &pos.asset));
      std::string kind, side;
      PLUMBLINE_RETURN_IF_ERROR(p.String("kind", true, &kind));
      if (kind == "spot_margin") {
        pos.kind = PositionKind::kSpotMargin;
      } else if (kind == "perpetual") {
        pos.kind = PositionKind::kPerpetual;
      } else if (kind == "dated") {
        pos.kind = PositionKind::kDated;
      } else {
        return p.Error("kind", "expected \"spot_margin\", \"perpetual\" or \"dated\", got \"" + kind + "\"");
      }
      PLUMBLINE_RETURN_IF_ERROR(p.String("side", true, &side));
      if (side != "long" && side != "short") return p.Error("side", "expected \"long\" or \"short\", got \"" + side + "\"");
      pos.side = side == "long" ? Side::kLong : Side::kShort;
      PLUMBLINE_RETURN_IF_ERROR(p.Dec("quantity", true, &pos.quantity));
      PLUMBLINE_RETURN_IF_ERROR(p.Dec("entry_price", true, &pos.entry_price));
      Decimal lev;
      bool has_lev = false;
      PLUMBLINE_RETURN_IF_ERROR(p.Dec("leverage", false, &lev, &has_lev));
      if (has_lev) pos.leverage = lev;
      PLUMBLINE_RETURN_IF_ERROR(p.Time("opened_time", false, &pos.opened_unix_nanos));
      int64_t expiry = 0;
      bool has_expiry = false;
      PLUMBLINE_RETURN_IF_ERROR(p.Time("expiry_time", false, &expiry, &has_expiry));
      if (has_expiry) pos.expiry_unix_nanos = expiry;
      PLUMBLINE_RETURN_IF_ERROR(p.Dec("funding_accrued", false, &pos.funding_accrued));
      PLUMBLINE_RETURN_IF_ERROR(p.CheckNoUnknown());
      a.positions.push_back(std::move(pos));
    }
  }
  PLUMBLINE_RETURN_IF_ERROR(o.CheckNoUnknown());
  return a;
}

namespace {
// Computed amounts carry 12 fractional digits; print them without trailing zeros (USD amounts
// keep at least cents). The values are exact either way.
std::string Money(const Decimal& d) { return d.Normalized(2).ToString(); }
std::string Num(const Decimal& d) { return d.Normalized(0).ToString(); }
json Opt(const std::optional<Decimal>& d) { return d ? json(Num(*d)) : json(nullptr); }
// Marks are printed exactly as the snapshot carries them.
json Mark(const std::optional<Decimal>& d) { return d ? json(d->ToString()) : json(nullptr); }
json Reasons(uint32_t r) { return ReasonNames(r); }
}  // namespace

json ValuationToJson(const Valuation& v) {
  json coll = json::array();
  for (const CollateralLine& c : v.collateral) {
    coll.push_back({{"asset", c.asset},
                    {"quantity", c.quantity.ToString()},
                    {"mark", Mark(c.mark)},
                    {"gross_value", Money(c.gross_value)},
                    {"haircut", Num(c.haircut)},
                    {"counted_value", Money(c.counted_value)},
                    {"reasons", Reasons(c.reasons)}});
  }
  json pos = json::array();
  for (const PositionLine& p : v.positions) {
    json j = {{"id", p.id},
              {"asset", p.asset},
              {"kind", PositionKindName(p.kind)},
              {"side", p.side == Side::kLong ? "long" : "short"},
              {"quantity", p.quantity.ToString()},
              {"entry_price", p.entry_price.ToString()},
              {"mark", Mark(p.mark)},
              {"cost", Money(p.cost)},
              {"notional", Money(p.notional)},
              {"unrealized_pnl", Money(p.unrealized_pnl)},
              {"margin_call_price", Opt(p.margin_call_price)},
              {"liquidation_price", Opt(p.liquidation_price)},
              {"bankruptcy_price", Opt(p.bankruptcy_price)}};
    if (p.kind == PositionKind::kSpotMargin) {
      j["used_margin"] = Money(p.used_margin);
      j["opening_fee"] = Money(p.opening_fee);
      j["rollover_fees"] = Money(p.rollover_fees);
      j["rollover_periods"] = p.rollover_periods;
    } else {
      j["initial_margin"] = Money(p.initial_margin);
      j["maintenance_margin"] = Money(p.maintenance_margin);
      j["funding_accrued"] = Money(p.funding_accrued);
    }
    pos.push_back(std::move(j));
  }
  json stress = json::array();
  for (const StressLine& s : v.stress) {
    stress.push_back({{"name", s.name},
                      {"equity", Money(s.equity)},
                      {"loss", Money(s.loss)},
                      {"state", AccountStateName(s.state)},
                      {"survives", s.survives}});
  }
  return {{"account_id", v.account_id},
          {"snapshot", {{"sequence", v.snapshot_sequence},
                        {"payload_hash", v.snapshot_hash},
                        {"time", std::to_string(v.snapshot_time_unix_nanos)}}},
          {"risk_digest", v.risk_digest},
          {"evaluated_time", std::to_string(v.evaluated_unix_nanos)},
          {"collateral", std::move(coll)},
          {"positions", std::move(pos)},
          {"totals",
           {{"collateral_value", Money(v.collateral_value)},
            {"unrealized_pnl", Money(v.unrealized_pnl)},
            {"fees", Money(v.fees)},
            {"funding", Money(v.funding)},
            {"equity", Money(v.equity)},
            {"used_margin", Money(v.used_margin)},
            {"initial_margin", Money(v.initial_margin)},
            {"maintenance_margin", Money(v.maintenance_margin)},
            {"margin_level", Opt(v.margin_level)}}},
          {"state", AccountStateName(v.state)},
          {"requirements",
           {{"no_new_positions", Money(v.requirement_no_new_positions)},
            {"margin_call", Money(v.requirement_margin_call)},
            {"liquidation", Money(v.requirement_liquidation)}}},
          {"new_risk_allowed", v.new_risk_allowed},
          {"refusals", v.refusals},
          {"stress", {{"scenarios", std::move(stress)},
                      {"worst_loss", v.worst_stress_loss ? json(Money(*v.worst_stress_loss)) : json(nullptr)},
                      {"survives_all", v.survives_all_stress}}}};
}

}  // namespace plumbline::margin
