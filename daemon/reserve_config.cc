#include "plumbline/daemon/reserve_config.h"

#include <fstream>
#include <set>
#include <sstream>

#include "plumbline/attest/keys.h"
#include "plumbline/attest/reserve_attestation.h"

namespace plumbline::daemon {
namespace {

// Reads the keys of one table; Done() reports any key nobody asked for.
class Keys {
 public:
  Keys(const toml::table& t, const std::string& file, std::string path) : t_(t), file_(file), path_(std::move(path)) {}

  Status Bad(std::string_view key, const std::string& why) const {
    return Status::InvalidArgument("config " + file_ + ": key '" + path_ + "." + std::string(key) + "': " + why);
  }
  const toml::node* Get(std::string_view key) {
    asked_.insert(std::string(key));
    return t_.get(key);
  }
  Status Text(std::string_view key, bool required, std::string* out) {
    const toml::node* n = Get(key);
    if (!n) return required ? Bad(key, "missing; expected a string") : Status::Ok();
    if (!n->is_string() || n->as_string()->get().empty()) return Bad(key, "expected a non-empty string");
    *out = n->as_string()->get();
    return Status::Ok();
  }
  template <typename T>
  Status Number(std::string_view key, int64_t lo, int64_t hi, T* out) {
    const toml::node* n = Get(key);
    if (!n) return Status::Ok();
    if (!n->is_integer() || n->as_integer()->get() < lo || n->as_integer()->get() > hi) {
      return Bad(key, "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    *out = static_cast<T>(n->as_integer()->get());
    return Status::Ok();
  }
  // An array of tables (either [[x]] or an inline array of inline tables).
  Status Tables(std::string_view key, bool required, std::vector<const toml::table*>* out) {
    const toml::node* n = Get(key);
    if (!n) return required ? Bad(key, "missing; expected an array of tables") : Status::Ok();
    const toml::array* a = n->as_array();
    if (!a) return Bad(key, "expected an array of tables");
    for (const auto& e : *a) {
      if (!e.is_table()) return Bad(key, "expected an array of tables");
      out->push_back(e.as_table());
    }
    return Status::Ok();
  }
  Status Done() const {
    for (const auto& [k, v] : t_) {
      if (!asked_.count(std::string(k.str()))) return Bad(k.str(), "unknown key");
    }
    return Status::Ok();
  }
  const std::string& path() const { return path_; }

 private:
  const toml::table& t_;
  const std::string& file_;
  std::string path_;
  std::set<std::string> asked_;
};

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool IsEvmAddress(const std::string& s) {
  return s.size() == 42 && s.rfind("0x", 0) == 0 &&
         std::all_of(s.begin() + 2, s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

Status ParseChain(const toml::table& t, const std::string& file, const std::string& path, reserves::ChainConfig* c) {
  Keys k(t, file, path);
  PLUMBLINE_RETURN_IF_ERROR(k.Text("name", true, &c->name));
  PLUMBLINE_RETURN_IF_ERROR(k.Text("kind", true, &c->kind));
  if (c->kind != "evm" && c->kind != "solana") return k.Bad("kind", "expected \"evm\" or \"solana\", got \"" + c->kind + "\"");
  PLUMBLINE_RETURN_IF_ERROR(k.Text("token", true, &c->token));
  if (c->kind == "evm" && !IsEvmAddress(c->token)) return k.Bad("token", "expected an address 0x + 40 hex digits");
  if (!k.Get("decimals")) return k.Bad("decimals", "missing; expected an integer in [0, 30]");
  PLUMBLINE_RETURN_IF_ERROR(k.Number("decimals", 0, Decimal::kMaxScale, &c->decimals));
  PLUMBLINE_RETURN_IF_ERROR(k.Number("min_providers", 1, 16, &c->min_providers));
  PLUMBLINE_RETURN_IF_ERROR(k.Number("confirmations", 0, 10000, &c->confirmations));
  PLUMBLINE_RETURN_IF_ERROR(k.Number("timeout_ms", 10, 60000, &c->timeout_ms));
  std::vector<const toml::table*> providers, excluded;
  PLUMBLINE_RETURN_IF_ERROR(k.Tables("providers", true, &providers));
  for (size_t i = 0; i < providers.size(); ++i) {
    Keys p(*providers[i], file, path + ".providers[" + std::to_string(i) + "]");
    reserves::ProviderConfig pc;
    PLUMBLINE_RETURN_IF_ERROR(p.Text("name", true, &pc.name));
    PLUMBLINE_RETURN_IF_ERROR(p.Text("url", true, &pc.url));
    if (pc.url.rfind("http://", 0) != 0 && pc.url.rfind("https://", 0) != 0) {
      return p.Bad("url", "expected an http:// or https:// URL, got \"" + pc.url + "\"");
    }
    PLUMBLINE_RETURN_IF_ERROR(p.Done());
    c->providers.push_back(std::move(pc));
  }
  if (c->providers.size() < c->min_providers) {
    return k.Bad("providers", "lists " + std::to_string(c->providers.size()) + " providers, min_providers is " +
                                  std::to_string(c->min_providers));
  }
  PLUMBLINE_RETURN_IF_ERROR(k.Tables("excluded", false, &excluded));
  for (size_t i = 0; i < excluded.size(); ++i) {
    Keys x(*excluded[i], file, path + ".excluded[" + std::to_string(i) + "]");
    reserves::ExcludedAddress e;
    PLUMBLINE_RETURN_IF_ERROR(x.Text("address", true, &e.address));
    if (c->kind == "evm" && !IsEvmAddress(e.address)) return x.Bad("address", "expected 0x + 40 hex digits");
    PLUMBLINE_RETURN_IF_ERROR(x.Text("label", true, &e.label));
    PLUMBLINE_RETURN_IF_ERROR(x.Done());
    c->excluded.push_back(std::move(e));
  }
  return k.Done();
}

Status ParseAsset(const toml::table& t, const std::string& file, const std::string& path, reserves::AssetConfig* a) {
  Keys k(t, file, path);
  PLUMBLINE_RETURN_IF_ERROR(k.Text("asset", true, &a->asset));
  PLUMBLINE_RETURN_IF_ERROR(k.Text("isin", true, &a->isin));
  {
    attest::CustodianStatement probe{"x", "x", a->isin, Decimal(), Decimal(), 0, 1};
    if (!attest::CustodianStatementPayload(probe).ok()) {
      return k.Bad("isin", "\"" + a->isin + "\" is not an ISIN (2 letters, 9 alphanumerics, 1 digit)");
    }
  }
  std::string text = "1";
  PLUMBLINE_RETURN_IF_ERROR(k.Text("multiplier", false, &text));
  auto m = Multiplier::Parse(text);
  if (!m.ok()) return k.Bad("multiplier", m.status().message());
  a->multiplier.current = *m;
  std::string next;
  PLUMBLINE_RETURN_IF_ERROR(k.Text("multiplier_next", false, &next));
  int64_t activation = -1;
  PLUMBLINE_RETURN_IF_ERROR(k.Number("multiplier_activation_unix_ns", 0, INT64_MAX, &activation));
  if (!next.empty() || activation >= 0) {
    if (next.empty() || activation < 0) {
      return k.Bad("multiplier_next", "multiplier_next and multiplier_activation_unix_ns go together");
    }
    auto n = Multiplier::Parse(next);
    if (!n.ok()) return k.Bad("multiplier_next", n.status().message());
    a->multiplier.next = *n;
    a->multiplier.activation_unix_nanos = activation;
  }
  text = "0";
  PLUMBLINE_RETURN_IF_ERROR(k.Text("tolerance", false, &text));
  auto tol = Decimal::Parse(text);
  if (!tol.ok() || tol->is_negative() || *tol >= Decimal::FromInt(1)) {
    return k.Bad("tolerance", "expected a decimal string in [0, 1), e.g. \"0.001\"");
  }
  a->tolerance = *tol;
  PLUMBLINE_RETURN_IF_ERROR(k.Number("max_supply_age_ms", 1, 7 * 86400000LL, &a->max_supply_age_ms));
  PLUMBLINE_RETURN_IF_ERROR(k.Number("max_statement_age_ms", 1, 366 * 86400000LL, &a->max_statement_age_ms));
  PLUMBLINE_RETURN_IF_ERROR(k.Text("custodian_id", true, &a->custodian.id));
  PLUMBLINE_RETURN_IF_ERROR(k.Text("custodian_account", true, &a->custodian.account));
  std::string pub, ca;
  PLUMBLINE_RETURN_IF_ERROR(k.Text("custodian_public_key", false, &pub));
  PLUMBLINE_RETURN_IF_ERROR(k.Text("custodian_ca", false, &ca));
  if (pub.empty() == ca.empty()) {
    return k.Bad("custodian_public_key", "set exactly one of custodian_public_key (Ed25519 SPKI PEM) and "
                                         "custodian_ca (PEM CA certificate for ECDSA P-256 statements)");
  }
  if (!pub.empty()) {
    auto key = attest::PublicKey::LoadFile(pub);
    if (!key.ok()) return k.Bad("custodian_public_key", key.status().message());
    a->custodian.ed25519_key = *key;
  } else {
    auto pem = ReadFile(ca);
    if (!pem.ok()) return k.Bad("custodian_ca", pem.status().message());
    if (pem->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      return k.Bad("custodian_ca", ca + " holds no PEM certificate");
    }
    a->custodian.ca_pem = *pem;
  }
  std::vector<const toml::table*> chains;
  PLUMBLINE_RETURN_IF_ERROR(k.Tables("chains", true, &chains));
  if (chains.empty()) return k.Bad("chains", "must list at least one chain");
  std::set<std::string> names;
  for (size_t i = 0; i < chains.size(); ++i) {
    reserves::ChainConfig c;
    const std::string cp = path + ".chains[" + std::to_string(i) + "]";
    PLUMBLINE_RETURN_IF_ERROR(ParseChain(*chains[i], file, cp, &c));
    if (!names.insert(c.name).second) return Keys(*chains[i], file, cp).Bad("name", "duplicate chain \"" + c.name + "\"");
    a->chains.push_back(std::move(c));
  }
  return k.Done();
}

}  // namespace

Status ParseReservesConfig(const toml::node* reserves, const toml::node* round, const std::string& file,
                           reserves::ReservesConfig* out) {
  if (round) {
    if (!round->is_table()) {
      return Status::InvalidArgument("config " + file + ": key 'reserves_round': expected a table");
    }
    Keys k(*round->as_table(), file, "reserves_round");
    PLUMBLINE_RETURN_IF_ERROR(k.Number("interval_ms", 100, 86400000, &out->interval_ms));
    PLUMBLINE_RETURN_IF_ERROR(k.Number("parallelism", 1, 256, &out->parallelism));
    PLUMBLINE_RETURN_IF_ERROR(k.Text("data_dir", false, &out->data_dir));
    int64_t retention_days = 0;
    PLUMBLINE_RETURN_IF_ERROR(k.Number("evidence_retention_days", 1, 36500, &retention_days));
    out->evidence_retention_ms = retention_days * 86'400'000;
    PLUMBLINE_RETURN_IF_ERROR(k.Done());
  }
  if (!reserves) return Status::Ok();
  if (!reserves->is_array_of_tables()) {
    return Status::InvalidArgument("config " + file + ": key 'reserves': expected an array of tables ([[reserves]])");
  }
  std::set<std::string> assets, isins;
  const toml::array& a = *reserves->as_array();
  for (size_t i = 0; i < a.size(); ++i) {
    reserves::AssetConfig asset;
    const std::string path = "reserves[" + std::to_string(i) + "]";
    PLUMBLINE_RETURN_IF_ERROR(ParseAsset(*a.get(i)->as_table(), file, path, &asset));
    if (!assets.insert(asset.asset).second || !isins.insert(asset.isin).second) {
      return Status::InvalidArgument("config " + file + ": key '" + path + ".asset': asset \"" + asset.asset +
                                     "\" or ISIN " + asset.isin + " appears twice");
    }
    out->assets.push_back(std::move(asset));
  }
  return Status::Ok();
}

std::string ReservesFingerprint(const reserves::ReservesConfig& c) {
  std::ostringstream o;
  o << c.interval_ms << '|' << c.parallelism << '|' << c.data_dir << '|' << c.evidence_retention_ms << '\n';
  for (const auto& a : c.assets) {
    o << a.asset << '|' << a.isin << '|' << a.multiplier.current.ToString() << '|'
      << (a.multiplier.next ? a.multiplier.next->ToString() : "") << '|'
      << a.multiplier.activation_unix_nanos.value_or(-1) << '|' << a.tolerance.ToString() << '|'
      << a.max_supply_age_ms << '|' << a.max_statement_age_ms << '|' << a.custodian.id << '|' << a.custodian.account
      << '|' << (a.custodian.ed25519_key ? a.custodian.ed25519_key->KeyId() : "") << '|'
      << attest::Sha256Hex(a.custodian.ca_pem) << '\n';
    for (const auto& ch : a.chains) {
      o << ' ' << ch.name << '|' << ch.kind << '|' << ch.token << '|' << ch.decimals << '|' << ch.min_providers << '|'
        << ch.confirmations << '|' << ch.timeout_ms;
      for (const auto& p : ch.providers) o << '|' << p.name << '=' << p.url;
      for (const auto& x : ch.excluded) o << '|' << x.address << '=' << x.label;
      o << '\n';
    }
  }
  return o.str();
}

}  // namespace plumbline::daemon
