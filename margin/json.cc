#include "plumbline/margin/json.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <cstring>

#include "plumbline/json_scan.h"

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
  // `key` must outlive the Obj (our member names are string literals).
  const json* Find(std::string_view key) {
    if (std::find(seen_.begin(), seen_.begin() + n_seen_, key) == seen_.begin() + n_seen_) {
      assert(n_seen_ < seen_.size());
      seen_[n_seen_++] = key;
    }
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
      if (std::find(seen_.begin(), seen_.begin() + n_seen_, std::string_view(it.key())) == seen_.begin() + n_seen_) {
        return Error(it.key(), "unknown member");
      }
    }
    return Status::Ok();
  }

 private:
  const json& j_;
  std::string path_;
  // Members asked for (at most a dozen per object): a linear search, no allocation.
  std::array<std::string_view, 16> seen_;
  size_t n_seen_ = 0;
};

Status NotObject(const std::string& path, const json& j) {
  return Status::InvalidArgument((path.empty() ? std::string("account") : path.substr(0, path.size() - 1)) +
                                 ": expected a JSON object, got " + j.type_name());
}

// Calls read(obj) for every element of the optional array member `key`; each element must be an
// object, read with the path "<prefix><key>[i]." and checked for unknown members.
template <typename Read>
Status ForEachObject(Obj& parent, const std::string& prefix, std::string_view key, Read read) {
  const json* arr = nullptr;
  PLUMBLINE_RETURN_IF_ERROR(parent.Array(key, &arr));
  if (arr == nullptr) return Status::Ok();
  for (size_t i = 0; i < arr->size(); ++i) {
    const std::string path = prefix + std::string(key) + "[" + std::to_string(i) + "].";
    const json& e = (*arr)[i];
    if (!e.is_object()) return NotObject(path, e);
    Obj o(e, path);
    PLUMBLINE_RETURN_IF_ERROR(read(o));
    PLUMBLINE_RETURN_IF_ERROR(o.CheckNoUnknown());
  }
  return Status::Ok();
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
  PLUMBLINE_RETURN_IF_ERROR(ForEachObject(o, prefix, "collateral", [&](Obj& c) {
    CollateralBalance b;
    PLUMBLINE_RETURN_IF_ERROR(c.String("asset", true, &b.asset));
    PLUMBLINE_RETURN_IF_ERROR(c.Dec("quantity", true, &b.quantity));
    a.collateral.push_back(std::move(b));
    return Status::Ok();
  }));
  PLUMBLINE_RETURN_IF_ERROR(ForEachObject(o, prefix, "positions", [&](Obj& p) {
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
    a.positions.push_back(std::move(pos));
    return Status::Ok();
  }));
  PLUMBLINE_RETURN_IF_ERROR(o.CheckNoUnknown());
  return a;
}

namespace {

using Scan = JsonScan;  // the subset ReadBatchFast accepts

// Each member at most once: bit i of *seen for the i-th name of `names`; false for an unknown or
// repeated name.
template <size_t N>
int MemberIndex(std::string_view key, const std::array<std::string_view, N>& names, uint32_t* seen) {
  for (size_t i = 0; i < N; ++i) {
    if (key == names[i]) {
      if (*seen & (1u << i)) return -1;
      *seen |= 1u << i;
      return static_cast<int>(i);
    }
  }
  return -1;
}

bool FastDecimal(Scan& s, Decimal* out) {
  std::string_view text;
  if (!s.Str(&text)) return false;
  auto d = Decimal::Parse(text);
  if (!d.ok()) return false;
  *out = *d;
  return true;
}

bool FastTime(Scan& s, int64_t* out) {
  std::string_view text;
  if (!s.Str(&text)) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size() && *out > 0;
}

bool FastCollateral(Scan& s, CollateralBalance* b) {
  static constexpr std::array<std::string_view, 2> kNames = {"asset", "quantity"};
  uint32_t seen = 0;
  std::string_view text;
  const bool ok = s.Object([&](std::string_view key) {
    switch (MemberIndex(key, kNames, &seen)) {
      case 0: return s.Str(&text) && !text.empty() && (b->asset.assign(text), true);
      case 1: return FastDecimal(s, &b->quantity);
      default: return false;
    }
  });
  return ok && seen == 3;  // both required
}

bool FastPosition(Scan& s, Position* p) {
  static constexpr std::array<std::string_view, 10> kNames = {
      "id", "asset", "kind", "side", "quantity", "entry_price", "leverage", "opened_time", "expiry_time", "funding_accrued"};
  uint32_t seen = 0;
  std::string_view text;
  const bool ok = s.Object([&](std::string_view key) {
    switch (MemberIndex(key, kNames, &seen)) {
      case 0: return s.Str(&text) && (p->id.assign(text), true);
      case 1: return s.Str(&text) && !text.empty() && (p->asset.assign(text), true);
      case 2:
        if (!s.Str(&text)) return false;
        if (text == "spot_margin") {
          p->kind = PositionKind::kSpotMargin;
        } else if (text == "perpetual") {
          p->kind = PositionKind::kPerpetual;
        } else if (text == "dated") {
          p->kind = PositionKind::kDated;
        } else {
          return false;
        }
        return true;
      case 3:
        if (!s.Str(&text) || (text != "long" && text != "short")) return false;
        p->side = text == "long" ? Side::kLong : Side::kShort;
        return true;
      case 4: return FastDecimal(s, &p->quantity);
      case 5: return FastDecimal(s, &p->entry_price);
      case 6: return FastDecimal(s, &p->leverage.emplace());
      case 7: return FastTime(s, &p->opened_unix_nanos);
      case 8: return FastTime(s, &p->expiry_unix_nanos.emplace());
      case 9: return FastDecimal(s, &p->funding_accrued);
      default: return false;
    }
  });
  constexpr uint32_t kRequired = 0b111110;  // asset, kind, side, quantity, entry_price
  return ok && (seen & kRequired) == kRequired;
}

bool FastAccount(Scan& s, Account* a) {
  static constexpr std::array<std::string_view, 4> kNames = {"id", "region", "collateral", "positions"};
  uint32_t seen = 0;
  std::string_view text;
  return s.Object([&](std::string_view key) {
    switch (MemberIndex(key, kNames, &seen)) {
      case 0: return s.Str(&text) && (a->id.assign(text), true);
      case 1:
        if (!s.Str(&text)) return false;
        if (!text.empty()) a->region = std::string(text);
        return true;
      case 2: return s.Array([&] { return FastCollateral(s, &a->collateral.emplace_back()); });
      case 3: return s.Array([&] { return FastPosition(s, &a->positions.emplace_back()); });
      default: return false;
    }
  });
}

}  // namespace

bool ReadBatchFast(std::string_view body, std::vector<Account>* accounts, std::optional<uint64_t>* snapshot) {
  static constexpr std::array<std::string_view, 2> kNames = {"accounts", "snapshot"};
  Scan s(body);
  uint32_t seen = 0;
  accounts->clear();
  snapshot->reset();
  const bool ok = s.Object([&](std::string_view key) {
    switch (MemberIndex(key, kNames, &seen)) {
      case 0: return s.Array([&] { return FastAccount(s, &accounts->emplace_back()); });
      case 1: return s.Positive(&snapshot->emplace());
      default: return false;
    }
  });
  return ok && (seen & 1) && s.AtEnd();
}

namespace {

// Writes the valuation as JSON text directly (the batch endpoint renders thousands per second;
// building a DOM first costs several times the evaluation itself).
// 10^0 .. 10^19.
constexpr uint64_t kPow10U64[20] = {1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
                                    100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL,
                                    1000000000000ULL, 10000000000000ULL, 100000000000000ULL,
                                    1000000000000000ULL, 10000000000000000ULL, 100000000000000000ULL,
                                    1000000000000000000ULL, 10000000000000000000ULL};

// "00" "01" ... "99".
constexpr char kDigitPairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

// Appends to the output through a raw pointer: the string is grown geometrically ahead of the
// writes and trimmed to the written length when the Writer goes away.
class Writer {
 public:
  explicit Writer(std::string* out) : out_(*out) {
    const size_t used = out_.size();
    Grow(used, 4096);
  }
  ~Writer() { out_.resize(static_cast<size_t>(p_ - out_.data())); }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void Raw(std::string_view s) { Put(s); }
  void Str(std::string_view s) {
    size_t plain = 0;
    while (plain < s.size() && s[plain] != '"' && s[plain] != '\\' && static_cast<unsigned char>(s[plain]) >= 0x20) ++plain;
    Need(plain + 2);
    *p_++ = '"';
    std::memcpy(p_, s.data(), plain);
    p_ += plain;
    for (char c : s.substr(plain)) {
      switch (c) {
        case '"': Put("\\\""); break;
        case '\\': Put("\\\\"); break;
        case '\n': Put("\\n"); break;
        case '\r': Put("\\r"); break;
        case '\t': Put("\\t"); break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            static const char* kHex = "0123456789abcdef";
            Put("\\u00");
            Put(kHex[(c >> 4) & 15]);
            Put(kHex[c & 15]);
          } else {
            Put(c);
          }
      }
    }
    Put('"');
  }
  // "key":
  void Key(std::string_view k) {  // k: one of our member names, nothing to escape
    Need(k.size() + 4);
    Sep();
    *p_++ = '"';
    std::memcpy(p_, k.data(), k.size());
    p_ += k.size();
    *p_++ = '"';
    *p_++ = ':';
    pending_value_ = true;  // the value follows without a comma
  }
  void Sep() {
    if (pending_value_) {
      pending_value_ = false;
      first_ = false;
      return;
    }
    if (!first_) Put(',');
    first_ = false;
  }
  void Open(char c) {
    Sep();
    Put(c);
    first_ = true;
  }
  void Close(char c) {
    Put(c);
    first_ = false;
  }
  void Value(std::string_view s) {
    Sep();
    Str(s);
  }
  void Literal(std::string_view s) {
    Sep();
    Put(s);
  }
  void Number(uint64_t n) {
    Sep();
    Need(24);
    p_ = std::to_chars(p_, p_ + 24, n).ptr;
  }
  // An integer as a JSON string ("1763780000000000000"): times in Unix nanoseconds.
  void IntString(int64_t n) {
    Sep();
    Need(26);
    *p_++ = '"';
    p_ = std::to_chars(p_, p_ + 24, n).ptr;
    *p_++ = '"';
  }
  void Bool(bool b) { Literal(b ? "true" : "false"); }
  // Computed amounts carry 12 fractional digits; print them without trailing zeros (USD amounts
  // keep at least cents). The values are exact either way.
  void Money(const Decimal& d) { Dec(d, 2); }
  void Num(const Decimal& d) { Dec(d, 0); }
  // "d" with trailing fractional zeros dropped down to min_scale, formatted without the 128-bit
  // digit-by-digit loop of Decimal::ToString (same text).
  void Dec(const Decimal& d, int min_scale) {
    const int scale = d.scale();
    const __int128 units = d.units();
    const unsigned __int128 mag = units < 0 ? -static_cast<unsigned __int128>(units) : static_cast<unsigned __int128>(units);
    if (scale > 19) return Value(d.Normalized(min_scale).ToString());
    uint64_t ip64, fp;
    if (mag <= UINT64_MAX) {  // common case: 64-bit division (no call to the 128-bit routine)
      const uint64_t m = static_cast<uint64_t>(mag), p = kPow10U64[scale];
      ip64 = m / p;
      fp = m - ip64 * p;
    } else {
      const unsigned __int128 p = kPow10U64[scale];
      const unsigned __int128 ip = mag / p;
      if (ip > UINT64_MAX) return Value(d.Normalized(min_scale).ToString());
      ip64 = static_cast<uint64_t>(ip);
      fp = static_cast<uint64_t>(mag - ip * p);
    }
    int s = scale;
    if (fp == 0) {
      if (s > min_scale) s = min_scale;
    } else {
      while (s - 4 >= min_scale && fp % 10000 == 0) {
        fp /= 10000;
        s -= 4;
      }
      while (s > min_scale && fp % 10 == 0) {
        fp /= 10;
        --s;
      }
    }
    Sep();
    Need(48);
    *p_++ = '"';
    if (units < 0) *p_++ = '-';
    p_ = std::to_chars(p_, p_ + 21, ip64).ptr;
    if (s > 0) {
      *p_++ = '.';
      char* end = p_ + s;
      char* q = end;
      for (; q - p_ >= 2; q -= 2) {
        std::memcpy(q - 2, kDigitPairs + 2 * (fp % 100), 2);
        fp /= 100;
      }
      if (q > p_) *--q = static_cast<char>('0' + fp % 10);
      p_ = end;
    }
    *p_++ = '"';
  }
  void OptNum(const std::optional<Decimal>& d) { d ? Num(*d) : Literal("null"); }
  // Marks and inputs are printed exactly as given.
  void Exact(const Decimal& d) { Dec(d, d.scale()); }
  void OptExact(const std::optional<Decimal>& d) { d ? Exact(*d) : Literal("null"); }

 private:
  void Need(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) [[unlikely]] Grow(static_cast<size_t>(p_ - out_.data()), n);
  }
  // Makes room for n more bytes after the first `used` (at least 4 KiB: about one valuation;
  // std::string grows its capacity geometrically, so appending many valuations stays linear).
  void Grow(size_t used, size_t n) {
    out_.resize(used + std::max(n, size_t{4096}));
    p_ = out_.data() + used;
    end_ = out_.data() + out_.size();
  }
  void Put(char c) {
    Need(1);
    *p_++ = c;
  }
  void Put(std::string_view s) {
    Need(s.size());
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }

  std::string& out_;
  char* p_ = nullptr;
  char* end_ = nullptr;
  bool first_ = true;
  bool pending_value_ = false;
};

}  // namespace

void AppendValuationJson(const Valuation& v, std::string* out) {
  Writer w(out);
  w.Open('{');
  w.Key("account_id"), w.Value(v.account_id);
  w.Key("snapshot"), w.Open('{');
  w.Key("sequence"), w.Number(v.snapshot_sequence);
  w.Key("payload_hash"), w.Value(v.snapshot_hash);
  w.Key("time"), w.IntString(v.snapshot_time_unix_nanos);
  w.Close('}');
  w.Key("risk_digest"), w.Value(v.risk_digest);
  w.Key("evaluated_time"), w.IntString(v.evaluated_unix_nanos);
  w.Key("collateral"), w.Open('[');
  for (const CollateralLine& c : v.collateral) {
    w.Open('{');
    w.Key("asset"), w.Value(c.asset);
    w.Key("quantity"), w.Exact(c.quantity);
    w.Key("mark"), w.OptExact(c.mark);
    w.Key("gross_value"), w.Money(c.gross_value);
    w.Key("haircut"), w.Num(c.haircut);
    w.Key("counted_value"), w.Money(c.counted_value);
    w.Key("reasons"), w.Open('[');
    for (uint32_t bit = 1; bit != 0 && bit <= c.reasons; bit <<= 1) {
      if (c.reasons & bit) w.Value(ReasonName(static_cast<Reason>(bit)));
    }
    w.Close(']');
    w.Close('}');
  }
  w.Close(']');
  w.Key("positions"), w.Open('[');
  for (const PositionLine& p : v.positions) {
    w.Open('{');
    w.Key("id"), w.Value(p.id);
    w.Key("asset"), w.Value(p.asset);
    w.Key("kind"), w.Value(PositionKindName(p.kind));
    w.Key("side"), w.Value(p.side == Side::kLong ? "long" : "short");
    w.Key("quantity"), w.Exact(p.quantity);
    w.Key("entry_price"), w.Exact(p.entry_price);
    w.Key("mark"), w.OptExact(p.mark);
    w.Key("cost"), w.Money(p.cost);
    w.Key("notional"), w.Money(p.notional);
    w.Key("unrealized_pnl"), w.Money(p.unrealized_pnl);
    if (p.kind == PositionKind::kSpotMargin) {
      w.Key("used_margin"), w.Money(p.used_margin);
      w.Key("opening_fee"), w.Money(p.opening_fee);
      w.Key("rollover_fees"), w.Money(p.rollover_fees);
      w.Key("rollover_periods"), w.Number(static_cast<uint64_t>(p.rollover_periods));
    } else {
      w.Key("initial_margin"), w.Money(p.initial_margin);
      w.Key("maintenance_margin"), w.Money(p.maintenance_margin);
      w.Key("funding_accrued"), w.Money(p.funding_accrued);
    }
    w.Key("margin_call_price"), w.OptNum(p.margin_call_price);
    w.Key("liquidation_price"), w.OptNum(p.liquidation_price);
    w.Key("bankruptcy_price"), w.OptNum(p.bankruptcy_price);
    w.Close('}');
  }
  w.Close(']');
  w.Key("totals"), w.Open('{');
  w.Key("collateral_value"), w.Money(v.collateral_value);
  w.Key("unrealized_pnl"), w.Money(v.unrealized_pnl);
  w.Key("fees"), w.Money(v.fees);
  w.Key("funding"), w.Money(v.funding);
  w.Key("equity"), w.Money(v.equity);
  w.Key("used_margin"), w.Money(v.used_margin);
  w.Key("initial_margin"), w.Money(v.initial_margin);
  w.Key("maintenance_margin"), w.Money(v.maintenance_margin);
  w.Key("margin_level"), w.OptNum(v.margin_level);
  w.Close('}');
  w.Key("state"), w.Value(AccountStateName(v.state));
  w.Key("requirements"), w.Open('{');
  w.Key("no_new_positions"), w.Money(v.requirement_no_new_positions);
  w.Key("margin_call"), w.Money(v.requirement_margin_call);
  w.Key("liquidation"), w.Money(v.requirement_liquidation);
  w.Close('}');
  w.Key("new_risk_allowed"), w.Bool(v.new_risk_allowed);
  w.Key("refusals"), w.Open('[');
  for (const std::string& r : v.refusals) w.Value(r);
  w.Close(']');
  w.Key("stress"), w.Open('{');
  w.Key("scenarios"), w.Open('[');
  for (const StressLine& s : v.stress) {
    w.Open('{');
    w.Key("name"), w.Value(s.name);
    w.Key("equity"), w.Money(s.equity);
    w.Key("loss"), w.Money(s.loss);
    w.Key("state"), w.Value(AccountStateName(s.state));
    w.Key("survives"), w.Bool(s.survives);
    w.Close('}');
  }
  w.Close(']');
  w.Key("worst_loss");
  v.worst_stress_loss ? w.Money(*v.worst_stress_loss) : w.Literal("null");
  w.Key("survives_all"), w.Bool(v.survives_all_stress);
  w.Close('}');
  w.Close('}');
}

json ValuationToJson(const Valuation& v) {
  std::string text;
  AppendValuationJson(v, &text);
  return json::parse(text);
}

}  // namespace plumbline::margin
