#include "plumbline/margin/risk_params.h"

#include <openssl/sha.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "plumbline/toml_reader.h"

namespace plumbline::margin {

const char* AssetClassName(AssetClass c) {
  switch (c) {
    case AssetClass::kCrypto: return "crypto";
    case AssetClass::kEquity: return "equity";
    case AssetClass::kTokenizedStock: return "tokenized_stock";
    case AssetClass::kCash: return "cash";
  }
  return "crypto";
}

std::optional<AssetClass> ParseAssetClass(std::string_view name) {
  for (AssetClass c : {AssetClass::kCrypto, AssetClass::kEquity, AssetClass::kTokenizedStock, AssetClass::kCash}) {
    if (name == AssetClassName(c)) return c;
  }
  return std::nullopt;
}

const AssetParams* RiskParams::FindAsset(std::string_view id) const {
  auto it = std::lower_bound(assets.begin(), assets.end(), id,
                             [](const AssetParams& a, std::string_view k) { return a.id < k; });
  return it != assets.end() && it->id == id ? &*it : nullptr;
}

namespace {

// Reads keys of one table and reports unknown ones; messages name the file and the key path.
class Reader : public TomlTableReader {
 public:
  Reader(const toml::table& t, const std::string& file, std::string prefix)
      : TomlTableReader(t, "risk file " + file, std::move(prefix)), file_(file) {}
  const std::string& file() const { return file_; }
  std::string Path(std::string_view key) const { return KeyPath(key); }

  // A decimal string within [min, max] (bounds optional). TOML floats are refused: they are binary.
  Status Dec(std::string_view key, bool required, std::optional<Decimal> min, std::optional<Decimal> max,
             Decimal* out, bool min_exclusive = false) {
    const toml::node* n = Find(key);
    if (n == nullptr) return required ? Error(key, "missing; expected a decimal string such as \"0.05\"") : Status::Ok();
    if (!n->is_string()) {
      return Error(key, "expected a decimal string such as \"0.05\" (not a TOML number), got " + TypeName(*n));
    }
    auto d = Decimal::Parse(n->as_string()->get());
    if (!d.ok()) return Error(key, d.status().message());
    if (d->scale() > 12) return Error(key, "at most 12 fractional digits, got \"" + d->ToString() + "\"");
    std::string range = "[" + (min ? min->ToString() : std::string("-inf")) + ", " +
                        (max ? max->ToString() : std::string("inf")) + "]";
    if (min_exclusive) range[0] = '(';
    if ((min && (*d < *min || (min_exclusive && *d == *min))) || (max && *d > *max)) {
      return Error(key, "expected a decimal in " + range + ", got \"" + d->ToString() + "\"");
    }
    *out = *d;
    return Status::Ok();
  }
 private:
  const std::string& file_;
};

const Decimal kZero;
const Decimal kOne = Decimal::FromInt(1);

// Reads `up_to` (absent only on the last tier, strictly increasing, > 0).
Status TierBound(Reader& r, size_t i, size_t n, const std::optional<Decimal>& previous, std::optional<Decimal>* out) {
  const bool last = i + 1 == n;
  if (r.Find("up_to") == nullptr) {
    if (!last) return r.Error("up_to", "missing; every tier but the last needs an upper bound in USD");
    return Status::Ok();
  }
  if (last) return r.Error("up_to", "the last tier must be open-ended (no up_to)");
  Decimal v;
  PLUMBLINE_RETURN_IF_ERROR(r.Dec("up_to", true, previous.value_or(kZero), std::nullopt, &v, true));
  *out = v;
  return Status::Ok();
}

// An array of tier tables: each has `up_to` (see TierBound) plus what `read_rates` reads.
template <typename T, typename ReadRates>
Status ParseTierList(Reader& parent, std::string_view key, std::vector<T>* out, ReadRates read_rates) {
  const toml::array* arr = nullptr;
  PLUMBLINE_RETURN_IF_ERROR(parent.ArrayOfTables(key, &arr));
  if (arr == nullptr) return Status::Ok();
  if (arr->empty()) return parent.Error(key, "must have at least one tier");
  out->clear();
  for (size_t i = 0; i < arr->size(); ++i) {
    Reader r(*arr->get(i)->as_table(), parent.file(), parent.Path(key) + "[" + std::to_string(i) + "]");
    T t;
    PLUMBLINE_RETURN_IF_ERROR(TierBound(r, i, arr->size(), out->empty() ? std::nullopt : out->back().up_to, &t.up_to));
    PLUMBLINE_RETURN_IF_ERROR(read_rates(r, out->empty() ? nullptr : &out->back(), &t));
    PLUMBLINE_RETURN_IF_ERROR(r.CheckNoUnknownKeys());
    out->push_back(std::move(t));
  }
  return Status::Ok();
}

// Rates never decrease from one tier to the next: that keeps the valuation concave in price
// (docs/margin.md, "Solving").
Status ParseTiers(Reader& parent, std::string_view key, std::vector<Tier>* out) {
  return ParseTierList(parent, key, out, [](Reader& r, const Tier* prev, Tier* t) {
    PLUMBLINE_RETURN_IF_ERROR(r.Dec("haircut", true, kZero, kOne, &t->rate));
    if (prev && t->rate < prev->rate) return r.Error("haircut", "haircuts must not decrease from one tier to the next");
    return Status::Ok();
  });
}

Status ParseMarginTiers(Reader& parent, std::string_view key, std::vector<MarginTier>* out) {
  return ParseTierList(parent, key, out, [](Reader& r, const MarginTier* prev, MarginTier* t) {
    PLUMBLINE_RETURN_IF_ERROR(r.Dec("im", true, kZero, kOne, &t->im, true));
    PLUMBLINE_RETURN_IF_ERROR(r.Dec("mm", true, kZero, t->im, &t->mm, true));
    if (prev && (t->im < prev->im || t->mm < prev->mm)) {
      return r.Error("mm", "margin rates must not decrease from one tier to the next");
    }
    return Status::Ok();
  });
}

Status ParseRollover(Reader& parent, std::vector<RolloverTier>* out) {
  const toml::array* arr = nullptr;
  PLUMBLINE_RETURN_IF_ERROR(parent.ArrayOfTables("rollover", &arr));
  if (arr == nullptr) return Status::Ok();
  out->clear();
  for (size_t i = 0; i < arr->size(); ++i) {
    Reader r(*arr->get(i)->as_table(), parent.file(), parent.Path("rollover") + "[" + std::to_string(i) + "]");
    RolloverTier t;
    const int64_t min = out->empty() ? 4 : out->back().up_to_hours + 4;
    PLUMBLINE_RETURN_IF_ERROR(r.Integer("up_to_hours", true, min, 24 * 366 * 10, &t.up_to_hours));
    if (t.up_to_hours % 4 != 0) return r.Error("up_to_hours", "expected a multiple of 4 (rollover is charged every 4 hours)");
    PLUMBLINE_RETURN_IF_ERROR(r.Dec("rate_per_4h", true, kZero, kOne, &t.rate_per_4h));
    PLUMBLINE_RETURN_IF_ERROR(r.CheckNoUnknownKeys());
    out->push_back(std::move(t));
  }
  return Status::Ok();
}

// Reads the class-parameter keys present in `r` over `p` (which holds the defaults).
Status ParseClassKeys(Reader& r, ClassParams* p) {
  PLUMBLINE_RETURN_IF_ERROR(ParseTiers(r, "haircut_tiers", &p->haircut_tiers));
  const Decimal kMaxLev = Decimal::FromInt(1000);
  if (r.Find("spot_max_leverage")) {
    Decimal v;
    PLUMBLINE_RETURN_IF_ERROR(r.Dec("spot_max_leverage", true, kOne, kMaxLev, &v));
    p->spot_max_leverage = v;
  }
  if (r.Find("futures_max_leverage")) {
    Decimal v;
    PLUMBLINE_RETURN_IF_ERROR(r.Dec("futures_max_leverage", true, kOne, kMaxLev, &v));
    p->futures_max_leverage = v;
  }
  PLUMBLINE_RETURN_IF_ERROR(ParseMarginTiers(r, "futures_tiers", &p->futures_tiers));
  PLUMBLINE_RETURN_IF_ERROR(r.Dec("opening_fee", false, kZero, kOne, &p->opening_fee));
  PLUMBLINE_RETURN_IF_ERROR(ParseRollover(r, &p->rollover));
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("max_mark_age_ms", false, 1, 30LL * 86400 * 1000, &p->max_mark_age_ms));
  PLUMBLINE_RETURN_IF_ERROR(r.Dec("session_haircut", false, kZero, kOne, &p->session_haircut));
  PLUMBLINE_RETURN_IF_ERROR(r.Dec("stale_mark_haircut", false, kZero, kOne, &p->stale_mark_haircut));
  PLUMBLINE_RETURN_IF_ERROR(r.Dec("reserve_stale_penalty", false, kZero, kOne, &p->reserve_stale_penalty));
  PLUMBLINE_RETURN_IF_ERROR(r.Dec("reserve_unknown_penalty", false, kZero, kOne, &p->reserve_unknown_penalty));
  if (p->futures_max_leverage && p->futures_tiers.empty()) {
    return r.Error("futures_tiers", "missing; required when futures_max_leverage is set");
  }
  return Status::Ok();
}

std::string Sha256Hex(std::string_view bytes) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), md);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : md) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

}  // namespace

Result<RiskParams> ParseRiskParams(std::string_view toml_text, const std::string& path) {
  RiskParams params;
  params.path = path;
  params.digest = Sha256Hex(toml_text);
  const std::string file = path.empty() ? "<text>" : path;
  toml::table root;
  try {
    root = toml::parse(toml_text, path);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << "risk file " << file << ": line " << e.source().begin.line << ", column " << e.source().begin.column
       << ": " << e.description();
    return Status::InvalidArgument(os.str());
  }
  Reader r(root, file, "");
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("max_snapshot_age_ms", false, 1, 86400LL * 1000, &params.max_snapshot_age_ms));
  int64_t batch = params.max_batch_accounts;
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("max_batch_accounts", false, 1, 1'000'000, &batch));
  params.max_batch_accounts = static_cast<uint32_t>(batch);

  const toml::table* t = nullptr;
  PLUMBLINE_RETURN_IF_ERROR(r.Table("levels", &t));
  if (t != nullptr) {
    Reader lr(*t, file, "levels");
    Levels& l = params.levels;
    PLUMBLINE_RETURN_IF_ERROR(lr.Dec("no_new_positions", false, kZero, Decimal::FromInt(100), &l.no_new_positions, true));
    PLUMBLINE_RETURN_IF_ERROR(lr.Dec("margin_call", false, kZero, l.no_new_positions, &l.margin_call, true));
    PLUMBLINE_RETURN_IF_ERROR(lr.Dec("liquidation", false, kZero, l.margin_call, &l.liquidation, true));
    PLUMBLINE_RETURN_IF_ERROR(lr.Dec("futures_margin_call", false, kOne, Decimal::FromInt(100), &l.futures_margin_call));
    PLUMBLINE_RETURN_IF_ERROR(lr.CheckNoUnknownKeys());
  }

  PLUMBLINE_RETURN_IF_ERROR(r.Table("regions", &t));
  if (t != nullptr) {
    for (const auto& [name, node] : *t) {
      const std::string key = "regions." + std::string(name.str());
      if (!node.is_table()) return r.Error(key, "expected a table such as { max_leverage = \"10\" }");
      Reader rr(*node.as_table(), file, key);
      Decimal lev;
      PLUMBLINE_RETURN_IF_ERROR(rr.Dec("max_leverage", true, kOne, Decimal::FromInt(1000), &lev));
      PLUMBLINE_RETURN_IF_ERROR(rr.CheckNoUnknownKeys());
      params.region_max_leverage[std::string(name.str())] = lev;
    }
  }

  std::map<AssetClass, ClassParams> classes;
  PLUMBLINE_RETURN_IF_ERROR(r.Table("classes", &t));
  if (t != nullptr) {
    for (const auto& [name, node] : *t) {
      const std::string key = "classes." + std::string(name.str());
      auto c = ParseAssetClass(name.str());
      if (!c) return r.Error(key, "unknown asset class; expected crypto, equity, tokenized_stock or cash");
      if (!node.is_table()) return r.Error(key, "expected a table, got " + Reader::TypeName(node));
      Reader cr(*node.as_table(), file, key);
      ClassParams p;
      PLUMBLINE_RETURN_IF_ERROR(ParseClassKeys(cr, &p));
      PLUMBLINE_RETURN_IF_ERROR(cr.CheckNoUnknownKeys());
      classes[*c] = std::move(p);
    }
  }

  PLUMBLINE_RETURN_IF_ERROR(r.Table("assets", &t));
  if (t == nullptr || t->empty()) return r.Error("assets", "missing; expected at least one [assets.ID] table");
  for (const auto& [name, node] : *t) {
    const std::string key = "assets." + std::string(name.str());
    if (!node.is_table()) return r.Error(key, "expected a table, got " + Reader::TypeName(node));
    Reader ar(*node.as_table(), file, key);
    AssetParams a;
    a.id = std::string(name.str());
    std::string cls;
    PLUMBLINE_RETURN_IF_ERROR(ar.String("class", true, &cls));
    auto c = ParseAssetClass(cls);
    if (!c) return ar.Error("class", "expected crypto, equity, tokenized_stock or cash, got \"" + cls + "\"");
    a.asset_class = *c;
    PLUMBLINE_RETURN_IF_ERROR(ar.String("mark", a.asset_class != AssetClass::kCash, &a.mark));
    if (a.asset_class == AssetClass::kCash && !a.mark.empty()) {
      return ar.Error("mark", "cash is worth exactly 1 USD and has no mark");
    }
    a.params = classes.count(*c) ? classes[*c] : ClassParams{};
    PLUMBLINE_RETURN_IF_ERROR(ParseClassKeys(ar, &a.params));
    PLUMBLINE_RETURN_IF_ERROR(ar.CheckNoUnknownKeys());
    if (a.asset_class == AssetClass::kCash && (a.params.spot_max_leverage || a.params.futures_max_leverage)) {
      return ar.Error("class", "cash cannot be traded on margin");
    }
    params.assets.push_back(std::move(a));
  }
  std::sort(params.assets.begin(), params.assets.end(), [](const AssetParams& x, const AssetParams& y) { return x.id < y.id; });

  const toml::array* stress = nullptr;
  PLUMBLINE_RETURN_IF_ERROR(r.ArrayOfTables("stress", &stress));
  if (stress != nullptr) {
    std::set<std::string> names;
    for (size_t i = 0; i < stress->size(); ++i) {
      const std::string key = "stress[" + std::to_string(i) + "]";
      Reader sr(*stress->get(i)->as_table(), file, key);
      StressScenario s;
      PLUMBLINE_RETURN_IF_ERROR(sr.String("name", true, &s.name));
      if (!names.insert(s.name).second) return sr.Error("name", "duplicate scenario name \"" + s.name + "\"");
      const Decimal kMinShock = Decimal::FromInt(-1), kMaxShock = Decimal::FromInt(10);
      for (AssetClass c : {AssetClass::kCrypto, AssetClass::kEquity, AssetClass::kTokenizedStock}) {
        if (sr.Find(AssetClassName(c)) == nullptr) continue;
        Decimal v;
        PLUMBLINE_RETURN_IF_ERROR(sr.Dec(AssetClassName(c), true, kMinShock, kMaxShock, &v));
        s.class_shocks[c] = v;
      }
      const toml::table* assets = nullptr;
      PLUMBLINE_RETURN_IF_ERROR(sr.Table("assets", &assets));
      if (assets != nullptr) {
        Reader xr(*assets, file, key + ".assets");
        for (const auto& [id, v] : *assets) {
          if (params.FindAsset(id.str()) == nullptr) return xr.Error(id.str(), "not an asset listed under [assets]");
          Decimal d;
          PLUMBLINE_RETURN_IF_ERROR(xr.Dec(id.str(), true, kMinShock, kMaxShock, &d));
          s.asset_shocks[std::string(id.str())] = d;
        }
      }
      PLUMBLINE_RETURN_IF_ERROR(sr.CheckNoUnknownKeys());
      params.stress.push_back(std::move(s));
    }
  }
  PLUMBLINE_RETURN_IF_ERROR(r.CheckNoUnknownKeys());
  return params;
}

Result<RiskParams> LoadRiskParams(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("risk file " + path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return ParseRiskParams(text.str(), path);
}

Status RiskParamsHolder::Reload() {
  auto loaded = LoadRiskParams(path_);
  if (!loaded.ok()) return loaded.status();
  auto next = std::make_shared<const RiskParams>(std::move(loaded).value());
  std::lock_guard<std::mutex> lock(mu_);
  current_ = std::move(next);
  return Status::Ok();
}

std::shared_ptr<const RiskParams> RiskParamsHolder::Get() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

}  // namespace plumbline::margin
