#include "plumbline/reserves/supply.h"

#include <algorithm>
#include <map>
#include <optional>

#include <httplib.h>

#include "plumbline/attest/keys.h"

namespace plumbline::reserves {
namespace {

using nlohmann::json;

std::string HexQuantity(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string BalanceOfData(const std::string& address) {
  std::string a = address.rfind("0x", 0) == 0 ? address.substr(2) : address;
  std::transform(a.begin(), a.end(), a.begin(), [](char c) { return static_cast<char>(std::tolower(c)); });
  return "0x70a08231" + std::string(64 - std::min<size_t>(64, a.size()), '0') + a;
}

// A read from one provider: the parsed value and its evidence entry.
struct Read {
  std::string body;
  attest::ReserveEvidence evidence;
};

class ChainReader {
 public:
  ChainReader(const ChainConfig& c, EvidenceItems* out) : c_(c), out_(out) {}

  Result<std::string> Call(const ProviderConfig& p, const std::string& method, const json& params) {
    return JsonRpcCall(p, method, params, c_.timeout_ms);
  }

  void Keep(const ProviderConfig& p, const std::string& kind, const std::string& address, const std::string& body,
            attest::ChainSupply* s) {
    const std::string sha = attest::Sha256Hex(body);
    out_->emplace_back(sha, body);
    s->evidence.push_back({p.name, kind, address, sha});
  }

  // Values from the providers that answered, keyed by provider name; failures listed apart.
  template <typename T>
  static std::string Disagreement(const std::map<std::string, T>& values,
                                  const std::function<std::string(const T&)>& show) {
    std::string out;
    for (const auto& [name, v] : values) out += (out.empty() ? "" : ", ") + name + " " + show(v);
    return out;
  }

  void ReadEvm(attest::ChainSupply* s) {
    std::vector<std::string> failures;
    std::vector<const ProviderConfig*> alive;
    uint64_t max_head = 0;
    for (const auto& p : c_.providers) {
      auto body = Call(p, "eth_getBlockByNumber", json::array({"latest", false}));
      auto head = body.ok() ? attest::ParseEthBlockResponse(*body) : Result<attest::EthBlock>(body.status());
      if (!head.ok()) {
        failures.push_back(p.name + ": " + head.status().message());
        continue;
      }
      max_head = std::max(max_head, head->number);
      alive.push_back(&p);
    }
    const uint64_t pin = max_head > c_.confirmations ? max_head - c_.confirmations : 0;
    s->block_number = pin;
    std::map<std::string, std::string> hashes;
    std::map<std::string, UInt256> supplies;
    std::map<std::string, std::vector<UInt256>> balances;
    std::vector<const ProviderConfig*> answered;
    for (const ProviderConfig* p : alive) {
      auto fail = [&](const std::string& what, const Status& st) {
        failures.push_back(p->name + ": " + what + ": " + st.message());
      };
      auto blk_body = Call(*p, "eth_getBlockByNumber", json::array({HexQuantity(pin), false}));
      auto blk = blk_body.ok() ? attest::ParseEthBlockResponse(*blk_body) : Result<attest::EthBlock>(blk_body.status());
      if (!blk.ok()) {
        fail("block " + std::to_string(pin), blk.status().code() == Code::kNotFound
                                                 ? Status::NotFound("does not have the pinned block (behind?)")
                                                 : blk.status());
        continue;
      }
      if (blk->number != pin) {
        fail("block " + std::to_string(pin), Status::InvalidArgument("answered block " + std::to_string(blk->number)));
        continue;
      }
      const json at = {{"blockHash", blk->hash}};
      auto sup_body = Call(*p, "eth_call", json::array({{{"to", c_.token}, {"data", "0x18160ddd"}}, at}));
      auto sup = sup_body.ok() ? attest::ParseEthCallResponse(*sup_body) : Result<UInt256>(sup_body.status());
      if (!sup.ok()) {
        fail("totalSupply", sup.status());
        continue;
      }
      std::vector<UInt256> bals;
      std::vector<std::string> bal_bodies;
      bool ok = true;
      for (const auto& x : c_.excluded) {
        auto b_body = Call(*p, "eth_call", json::array({{{"to", c_.token}, {"data", BalanceOfData(x.address)}}, at}));
        auto b = b_body.ok() ? attest::ParseEthCallResponse(*b_body) : Result<UInt256>(b_body.status());
        if (!b.ok()) {
          fail("balanceOf(" + x.address + ")", b.status());
          ok = false;
          break;
        }
        bals.push_back(*b);
        bal_bodies.push_back(*b_body);
      }
      if (!ok) continue;
      hashes[p->name] = blk->hash;
      supplies[p->name] = *sup;
      balances[p->name] = bals;
      answered.push_back(p);
      Keep(*p, "block", "", *blk_body, s);
      Keep(*p, "total_supply", "", *sup_body, s);
      for (size_t i = 0; i < c_.excluded.size(); ++i) Keep(*p, "balance", c_.excluded[i].address, bal_bodies[i], s);
    }
    if (!Enough(answered.size(), failures, s)) return;
    auto first_hash = hashes.begin()->second;
    if (std::any_of(hashes.begin(), hashes.end(), [&](auto& kv) { return kv.second != first_hash; })) {
      return Fail(s, "providers disagree on the hash of block " + std::to_string(pin) + ": " +
                         Disagreement<std::string>(hashes, [](const std::string& h) { return h; }));
    }
    s->block_hash = first_hash;
    Settle(s, supplies, balances, "totalSupply at block " + std::to_string(pin), "balanceOf(", ")");
  }

  void ReadSolana(attest::ChainSupply* s) {
    std::vector<std::string> failures;
    std::map<std::string, UInt256> supplies;
    std::map<std::string, std::vector<UInt256>> balances;
    std::optional<uint64_t> min_slot;
    size_t answered = 0;
    const json finalized = {{"commitment", "finalized"}};
    for (const auto& p : c_.providers) {
      auto read = [&](const std::string& method, const std::string& key) -> Result<std::pair<attest::SolanaAmount, std::string>> {
        auto body = Call(p, method, json::array({key, finalized}));
        if (!body.ok()) return body.status();
        auto a = attest::ParseSolanaAmountResponse(*body);
        if (!a.ok()) return a.status();
        if (a->decimals != c_.decimals) {
          return Status::InvalidArgument("decimals " + std::to_string(a->decimals) + ", configured " +
                                         std::to_string(c_.decimals));
        }
        return std::make_pair(*a, *body);
      };
      auto sup = read("getTokenSupply", c_.token);
      if (!sup.ok()) {
        failures.push_back(p.name + ": getTokenSupply: " + sup.status().message());
        continue;
      }
      std::vector<std::pair<attest::SolanaAmount, std::string>> bals;
      bool ok = true;
      for (const auto& x : c_.excluded) {
        auto b = read("getTokenAccountBalance", x.address);
        if (!b.ok()) {
          failures.push_back(p.name + ": getTokenAccountBalance(" + x.address + "): " + b.status().message());
          ok = false;
          break;
        }
        bals.push_back(*b);
      }
      if (!ok) continue;
      ++answered;
      supplies[p.name] = sup->first.amount;
      uint64_t slot = sup->first.slot;
      Keep(p, "token_supply", "", sup->second, s);
      for (size_t i = 0; i < bals.size(); ++i) {
        balances[p.name].push_back(bals[i].first.amount);
        slot = std::min(slot, bals[i].first.slot);
        Keep(p, "balance", c_.excluded[i].address, bals[i].second, s);
      }
      min_slot = min_slot ? std::min(*min_slot, slot) : slot;
    }
    if (!Enough(answered, failures, s)) return;
    s->slot = min_slot;
    Settle(s, supplies, balances, "getTokenSupply", "the balance of ", "");
  }

 private:
  // All providers' supplies and balances must agree; then they become the chain's numbers.
  void Settle(attest::ChainSupply* s, const std::map<std::string, UInt256>& supplies,
              const std::map<std::string, std::vector<UInt256>>& balances, const std::string& supply_what,
              const std::string& balance_prefix, const std::string& balance_suffix) {
    auto show = [](const UInt256& v) { return v.ToString(); };
    if (!AllEqual(supplies)) {
      return Fail(s, "providers disagree on " + supply_what + ": " + Disagreement<UInt256>(supplies, show));
    }
    for (size_t i = 0; i < c_.excluded.size(); ++i) {
      std::map<std::string, UInt256> one;
      for (const auto& [name, v] : balances) one[name] = v[i];
      if (!AllEqual(one)) {
        return Fail(s, "providers disagree on " + balance_prefix + c_.excluded[i].address + balance_suffix + ": " +
                           Disagreement<UInt256>(one, show));
      }
    }
    s->gross = supplies.begin()->second;
    Excluded(s, balances.begin()->second);
  }

  static bool AllEqual(const std::map<std::string, UInt256>& m) {
    return std::all_of(m.begin(), m.end(), [&](auto& kv) { return kv.second == m.begin()->second; });
  }

  bool Enough(size_t answered, const std::vector<std::string>& failures, attest::ChainSupply* s) {
    if (answered >= std::max<size_t>(1, c_.min_providers)) return true;
    std::string why = std::to_string(answered) + " of " + std::to_string(c_.providers.size()) +
                      " providers answered, " + std::to_string(c_.min_providers) + " required";
    for (const auto& f : failures) why += "; " + f;
    Fail(s, why);
    return false;
  }

  static void Fail(attest::ChainSupply* s, const std::string& why) {
    s->error = why;
    s->gross.reset();
    s->excluded.clear();
    s->block_hash.clear();
    if (s->kind == "evm") s->block_number.reset();
    s->slot.reset();
    s->evidence.clear();
  }

  void Excluded(attest::ChainSupply* s, const std::vector<UInt256>& amounts) {
    for (size_t i = 0; i < c_.excluded.size(); ++i) {
      s->excluded.push_back({c_.excluded[i].address, c_.excluded[i].label, amounts[i]});
    }
  }

  const ChainConfig& c_;
  EvidenceItems* out_;
};

}  // namespace

Result<std::string> JsonRpcCall(const ProviderConfig& provider, const std::string& method, const json& params,
                                int64_t timeout_ms) {
  const size_t scheme = provider.url.find("://");
  const size_t slash = provider.url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  const std::string base = provider.url.substr(0, slash);
  const std::string path = slash == std::string::npos ? "/" : provider.url.substr(slash);
  httplib::Client cli(base);
  if (!cli.is_valid()) return Status::InvalidArgument("provider " + provider.name + ": bad url " + provider.url);
  const time_t sec = static_cast<time_t>(timeout_ms / 1000);
  const time_t usec = static_cast<time_t>((timeout_ms % 1000) * 1000);
  cli.set_connection_timeout(sec, usec);
  cli.set_read_timeout(sec, usec);
  cli.set_write_timeout(sec, usec);
  const json req = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", params}};
  auto res = cli.Post(path, req.dump(), "application/json");
  if (!res) {
    const auto err = res.error();
    const std::string what = "provider " + provider.name + ": " + method + ": " + httplib::to_string(err);
    return err == httplib::Error::Read || err == httplib::Error::ConnectionTimeout ? Status::DeadlineExceeded(what)
                                                                                  : Status::Unavailable(what);
  }
  if (res->status != 200) {
    return Status::Unavailable("provider " + provider.name + ": " + method + ": HTTP " + std::to_string(res->status));
  }
  return res->body;
}

attest::ChainSupply ReadChainSupply(const ChainConfig& chain, const Clock& clock, EvidenceItems* evidence) {
  attest::ChainSupply s;
  s.chain = chain.name;
  s.kind = chain.kind;
  s.token = chain.token;
  s.decimals = chain.decimals;
  s.read_unix_nanos = clock.NowUnixNanos();
  EvidenceItems mine;
  ChainReader reader(chain, &mine);
  if (chain.kind == "evm") {
    reader.ReadEvm(&s);
  } else if (chain.kind == "solana") {
    reader.ReadSolana(&s);
  } else {
    s.error = "unknown chain kind \"" + chain.kind + "\"";
  }
  // Evidence is kept only for a chain whose numbers are attested.
  if (s.error.empty()) evidence->insert(evidence->end(), mine.begin(), mine.end());
  return s;
}

}  // namespace plumbline::reserves
