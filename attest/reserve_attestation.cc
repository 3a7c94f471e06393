#include "plumbline/attest/reserve_attestation.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "plumbline/attest/canonical_json.h"
#include "plumbline/attest/keys.h"
#include "plumbline/clock.h"

namespace plumbline::attest {
namespace {

using nlohmann::json;

constexpr uint64_t kMaxJsonInteger = uint64_t{1} << 53;

// ---- small strict readers (each error names the field) --------------------------------------

Status OnlyKeys(const json& j, const std::string& where, std::initializer_list<const char*> required,
                std::initializer_list<const char*> optional = {}) {
  if (!j.is_object()) return Status::InvalidArgument(where + ": must be a JSON object");
  for (const auto& [key, value] : j.items()) {
    const bool known = std::any_of(required.begin(), required.end(), [&](const char* k) { return key == k; }) ||
                       std::any_of(optional.begin(), optional.end(), [&](const char* k) { return key == k; });
    if (!known) return Status::InvalidArgument(where + ": unknown member \"" + key + "\"");
  }
  for (const char* k : required) {
    if (!j.contains(k)) return Status::InvalidArgument(where + ": missing member \"" + k + "\"");
  }
  return Status::Ok();
}

Result<std::string> Str(const json& j, const char* key, const std::string& where) {
  const json& v = j.at(key);
  if (!v.is_string()) return Status::InvalidArgument(where + "." + key + ": must be a JSON string");
  return v.get<std::string>();
}

Result<uint64_t> Int(const json& j, const char* key, const std::string& where, uint64_t min = 0) {
  const json& v = j.at(key);
  const bool non_negative = v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
  if (!non_negative || v.get<uint64_t>() < min || v.get<uint64_t>() >= kMaxJsonInteger) {
    return Status::InvalidArgument(where + "." + key + ": must be an integer >= " + std::to_string(min) +
                                   " and < 2^53");
  }
  return v.get<uint64_t>();
}

Result<int64_t> TimeOf(const json& j, const char* key, const std::string& where) {
  auto s = Str(j, key, where);
  if (!s.ok()) return s.status();
  int64_t t = 0;
  auto [ptr, ec] = std::from_chars(s->data(), s->data() + s->size(), t);
  if (s->empty() || ec != std::errc() || ptr != s->data() + s->size() || t < 0 || std::to_string(t) != *s) {
    return Status::InvalidArgument(where + "." + key + ": must be Unix nanoseconds as a decimal string");
  }
  return t;
}

Result<Decimal> DecOf(const json& j, const char* key, const std::string& where) {
  auto s = Str(j, key, where);
  if (!s.ok()) return s.status();
  auto d = Decimal::Parse(*s);
  if (!d.ok() || d->ToString() != *s) {
    return Status::InvalidArgument(where + "." + key + ": \"" + *s + "\" is not a canonical decimal string");
  }
  return d;
}

Result<std::optional<Decimal>> OptDec(const json& j, const char* key, const std::string& where) {
  if (j.at(key).is_null()) return std::optional<Decimal>();
  auto d = DecOf(j, key, where);
  if (!d.ok()) return d.status();
  return std::optional<Decimal>(*d);
}

Result<UInt256> UintOf(const json& j, const char* key, const std::string& where) {
  auto s = Str(j, key, where);
  if (!s.ok()) return s.status();
  auto v = UInt256::ParseDecimal(*s);
  if (!v.ok() || v->ToString() != *s) {
    return Status::InvalidArgument(where + "." + key + ": must be a canonical unsigned integer string");
  }
  return v;
}

Status ShareCount(const Decimal& d, const std::string& field) {
  if (d.is_negative()) return Status::InvalidArgument(field + ": share count must not be negative");
  if (d.scale() > kShareScale) {
    return Status::InvalidArgument(field + ": at most " + std::to_string(kShareScale) + " fractional digits");
  }
  return Status::Ok();
}

bool IsIsin(std::string_view s) {
  if (s.size() != 12) return false;
  for (size_t i = 0; i < 12; ++i) {
    const char c = s[i];
    const bool upper = c >= 'A' && c <= 'Z', digit = c >= '0' && c <= '9';
    if (i < 2 ? !upper : (i == 11 ? !digit : !(upper || digit))) return false;
  }
  return true;
}

#define RA_ASSIGN(lhs, expr)          \
  do {                                \
    auto _r = (expr);                 \
    if (!_r.ok()) return _r.status(); \
    lhs = std::move(*_r);             \
  } while (0)

// ---- JSON-RPC ---------------------------------------------------------------------------------

Result<json> RpcResult(std::string_view body) {
  auto doc = ParseStrictJson(body);
  if (!doc.ok()) return doc.status().WithContext("JSON-RPC response");
  if (!doc->is_object()) return Status::InvalidArgument("JSON-RPC response: not an object");
  if (doc->contains("error")) {
    const json& e = (*doc)["error"];
    std::string code = e.is_object() && e.contains("code") ? e["code"].dump() : "?";
    std::string message = e.is_object() && e.contains("message") && e["message"].is_string()
                              ? e["message"].get<std::string>()
                              : e.dump();
    return Status::Unavailable("rpc error " + code + ": " + message);
  }
  if (!doc->contains("result")) return Status::InvalidArgument("JSON-RPC response: no \"result\"");
  return (*doc)["result"];
}

Result<uint64_t> HexQuantity(const json& v, const std::string& field) {
  if (!v.is_string()) return Status::InvalidArgument(field + ": must be a hex string");
  auto u = UInt256::ParseHex(v.get<std::string>());
  if (!u.ok()) return u.status().WithContext(field);
  if (!u->FitsU64() || u->low64() >= kMaxJsonInteger) return Status::OutOfRange(field + ": beyond 2^53");
  return u->low64();
}


// now - t > max_ms, without overflow for any int64 inputs (parsed attestations are untrusted).
bool OlderThan(int64_t now, int64_t t, int64_t max_ms) {
  return static_cast<__int128>(now) - t > static_cast<__int128>(max_ms) * kNanosPerMilli;
}

// base units / 10^decimals as an exact Decimal; OutOfRange when it needs more than 36 digits.
Result<Decimal> TokensOf(const UInt256& units, uint32_t decimals) {
  std::string digits = units.ToString();
  if (decimals > 0) {
    if (digits.size() <= decimals) digits.insert(0, decimals + 1 - digits.size(), '0');
    digits.insert(digits.size() - decimals, ".");
  }
  auto d = Decimal::Parse(digits);
  if (!d.ok()) {
    return Status::OutOfRange("amount " + units.ToString() + " at " + std::to_string(decimals) +
                              " decimals exceeds the exact decimal range (36 digits)");
  }
  return d;
}

}  // namespace

// ---- custodian statements ---------------------------------------------------------------------

Result<std::string> CustodianStatementPayload(const CustodianStatement& s) {
  const std::string w = "statement";
  if (s.custodian_id.empty()) return Status::InvalidArgument(w + ".custodian_id: empty");
  if (s.account.empty()) return Status::InvalidArgument(w + ".account: empty");
  if (!IsIsin(s.isin)) return Status::InvalidArgument(w + ".isin: \"" + s.isin + "\" is not an ISIN");
  PLUMBLINE_RETURN_IF_ERROR(ShareCount(s.settled_shares, w + ".settled_shares"));
  PLUMBLINE_RETURN_IF_ERROR(ShareCount(s.in_transit_shares, w + ".in_transit_shares"));
  if (s.as_of_unix_nanos < 0) return Status::InvalidArgument(w + ".as_of: must be >= 0");
  if (s.sequence < 1 || s.sequence >= kMaxJsonInteger) {
    return Status::InvalidArgument(w + ".sequence: must be >= 1 and < 2^53");
  }
  json j = {{"account", s.account},
            {"as_of", std::to_string(s.as_of_unix_nanos)},
            {"custodian_id", s.custodian_id},
            {"in_transit_shares", s.in_transit_shares.ToString()},
            {"isin", s.isin},
            {"sequence", s.sequence},
            {"settled_shares", s.settled_shares.ToString()}};
  return Canonicalize(j);
}

Result<CustodianStatement> ParseCustodianStatementPayload(std::string_view payload) {
  auto doc = ParseStrictJson(payload);
  if (!doc.ok()) return doc.status().WithContext("statement");
  if (!IsCanonical(payload)) return Status::InvalidArgument("statement: payload is not RFC 8785 canonical JSON");
  const json& j = *doc;
  const std::string w = "statement";
  PLUMBLINE_RETURN_IF_ERROR(OnlyKeys(j, w, {"account", "as_of", "custodian_id", "in_transit_shares", "isin",
                                            "sequence", "settled_shares"}));
  CustodianStatement s;
  RA_ASSIGN(s.account, Str(j, "account", w));
  RA_ASSIGN(s.custodian_id, Str(j, "custodian_id", w));
  RA_ASSIGN(s.isin, Str(j, "isin", w));
  RA_ASSIGN(s.as_of_unix_nanos, TimeOf(j, "as_of", w));
  if (!j["sequence"].is_number_unsigned() && j["sequence"].is_number_integer()) {
    return Status::InvalidArgument(w + ".sequence: must be >= 1");
  }
  RA_ASSIGN(s.sequence, Int(j, "sequence", w, 1));
  for (const char* key : {"settled_shares", "in_transit_shares"}) {
    auto text = Str(j, key, w);
    if (!text.ok()) return text.status();
    auto d = Decimal::Parse(*text);
    if (!d.ok() || d->ToString() != *text) {
      return Status::InvalidArgument(w + "." + key + ": \"" + *text +
                                     "\" is not a canonical non-negative decimal string like \"1000\" or \"12.5\"");
    }
    PLUMBLINE_RETURN_IF_ERROR(ShareCount(*d, w + "." + key));
    (std::string_view(key) == "settled_shares" ? s.settled_shares : s.in_transit_shares) = *d;
  }
  if (s.account.empty() || s.custodian_id.empty()) {
    return Status::InvalidArgument(w + ": custodian_id and account must be non-empty");
  }
  if (!IsIsin(s.isin)) {
    return Status::InvalidArgument(w + ".isin: \"" + s.isin + "\" is not an ISIN (2 letters, 9 alphanumerics, 1 digit)");
  }
  return s;
}

Result<CustodianSubmission> ParseCustodianSubmission(std::string_view body) {
  auto doc = ParseStrictJson(body);
  if (!doc.ok()) return doc.status().WithContext("custodian submission");
  CustodianSubmission out;
  if (doc->is_object() && doc->contains("envelope")) {
    PLUMBLINE_RETURN_IF_ERROR(OnlyKeys(*doc, "custodian submission", {"certificate", "envelope"}));
    RA_ASSIGN(out.certificate_pem, Str(*doc, "certificate", "custodian submission"));
    auto text = Canonicalize((*doc)["envelope"]);
    if (!text.ok()) return text.status();
    RA_ASSIGN(out.envelope, ParseEnvelope(*text));
  } else {
    RA_ASSIGN(out.envelope, ParseEnvelope(body));
  }
  return out;
}

// ---- JSON-RPC responses -----------------------------------------------------------------------

Result<UInt256> ParseEthCallResponse(std::string_view body) {
  auto result = RpcResult(body);
  if (!result.ok()) return result.status();
  if (!result->is_string()) return Status::InvalidArgument("eth_call: \"result\" must be a hex string");
  const std::string word = result->get<std::string>();
  if (word == "0x") return Status::InvalidArgument("eth_call: empty result (no contract at that address?)");
  auto v = UInt256::ParseHex(word);
  if (!v.ok()) return v.status().WithContext("eth_call result");
  return v;
}

Result<EthBlock> ParseEthBlockResponse(std::string_view body) {
  auto result = RpcResult(body);
  if (!result.ok()) return result.status();
  if (result->is_null()) return Status::NotFound("eth_getBlockByNumber: the node does not have that block");
  if (!result->is_object() || !result->contains("number") || !result->contains("hash")) {
    return Status::InvalidArgument("eth_getBlockByNumber: result lacks number or hash");
  }
  EthBlock b;
  RA_ASSIGN(b.number, HexQuantity((*result)["number"], "block.number"));
  if (!(*result)["hash"].is_string()) return Status::InvalidArgument("block.hash: must be a string");
  b.hash = (*result)["hash"].get<std::string>();
  std::transform(b.hash.begin(), b.hash.end(), b.hash.begin(), [](char c) { return static_cast<char>(std::tolower(c)); });
  if (b.hash.size() != 66 || b.hash.rfind("0x", 0) != 0 ||
      !std::all_of(b.hash.begin() + 2, b.hash.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); })) {
    return Status::InvalidArgument("block.hash: must be 0x + 64 hex digits");
  }
  return b;
}

Result<SolanaAmount> ParseSolanaAmountResponse(std::string_view body) {
  auto result = RpcResult(body);
  if (!result.ok()) return result.status();
  const json& r = *result;
  if (!r.is_object() || !r.contains("context") || !r.contains("value") || !r["context"].is_object() ||
      !r["context"].contains("slot") || !r["context"]["slot"].is_number_unsigned() || !r["value"].is_object()) {
    return Status::InvalidArgument("solana response: expected result.context.slot and result.value");
  }
  const json& v = r["value"];
  if (!v.contains("amount") || !v["amount"].is_string()) {
    return Status::InvalidArgument("solana response: result.value.amount must be a string of base units");
  }
  if (!v.contains("decimals") || !v["decimals"].is_number_unsigned() || v["decimals"].get<uint64_t>() > 255) {
    return Status::InvalidArgument("solana response: result.value.decimals must be an integer 0..255");
  }
  SolanaAmount out;
  out.slot = r["context"]["slot"].get<uint64_t>();
  out.decimals = static_cast<uint32_t>(v["decimals"].get<uint64_t>());
  RA_ASSIGN(out.amount, UInt256::ParseDecimal(v["amount"].get<std::string>()));
  if (!out.amount.FitsU64()) return Status::OutOfRange("solana amount " + out.amount.ToString() + " exceeds u64");
  return out;
}

// ---- computation ------------------------------------------------------------------------------

void ComputeReserve(ReserveAttestation* a) {
  a->reasons.clear();
  a->circulating_tokens.reset();
  a->required_shares.reset();
  a->ratio.reset();
  bool unknown = false, stale = false;
  Decimal sum;
  if (a->chains.empty()) {
    unknown = true;
    a->reasons.push_back("no chains configured");
  }
  for (ChainSupply& c : a->chains) {
    c.circulating.reset();
    const std::string who = "chain " + c.chain + ": ";
    if (!c.error.empty() || !c.gross) {
      unknown = true;
      a->reasons.push_back(who + "supply unknown: " + (c.error.empty() ? "no gross supply" : c.error));
      continue;
    }
    UInt256 circ = *c.gross;
    bool ok = true;
    for (const ExcludedAmount& e : c.excluded) {
      auto next = UInt256::Sub(circ, e.amount);
      if (!next.ok()) {
        unknown = true;
        ok = false;
        a->reasons.push_back(who + "excluded amounts exceed the gross supply " + c.gross->ToString());
        break;
      }
      circ = *next;
    }
    if (!ok) continue;
    c.circulating = circ;
    auto tokens = TokensOf(circ, c.decimals);
    Result<Decimal> total = tokens.ok() ? Decimal::Add(sum, *tokens) : Result<Decimal>(tokens.status());
    if (!total.ok()) {
      unknown = true;
      a->reasons.push_back(who + total.status().message());
      continue;
    }
    sum = *total;
    if (OlderThan(a->checked_unix_nanos, c.read_unix_nanos, a->max_supply_age_ms)) {
      stale = true;
      a->reasons.push_back(who + "supply read at " + std::to_string(c.read_unix_nanos) + " is older than " +
                           std::to_string(a->max_supply_age_ms) + " ms");
    }
  }
  if (!unknown) {
    a->circulating_tokens = sum.Normalized();
    auto required = a->multiplier.Apply(sum, kShareScale, Rounding::kCeiling);
    if (required.ok()) {
      a->required_shares = *required;
    } else {
      unknown = true;
      a->reasons.push_back("required shares: " + required.status().message());
    }
  }
  if (!a->custodian) {
    unknown = true;
    a->reasons.push_back("no accepted custodian statement");
  } else if (OlderThan(a->checked_unix_nanos, a->custodian->as_of_unix_nanos, a->max_statement_age_ms)) {
    stale = true;
    a->reasons.push_back("custodian statement as of " + std::to_string(a->custodian->as_of_unix_nanos) +
                         " is older than " + std::to_string(a->max_statement_age_ms) + " ms");
  }
  if (unknown) {
    a->status = ReserveStatus::kUnknown;
    return;
  }
  if (stale) {
    a->status = ReserveStatus::kStale;
    return;
  }
  const Decimal& settled = a->custodian->settled_shares;
  if (a->required_shares->is_zero()) {
    a->status = ReserveStatus::kFullyBacked;
    a->reasons.push_back("no circulating supply: nothing to back");
    return;
  }
  auto ratio = Decimal::Div(settled, *a->required_shares, kRatioScale, Rounding::kFloor);
  auto threshold = Decimal::Sub(Decimal::FromInt(1), a->tolerance);
  if (!ratio.ok() || !threshold.ok()) {
    a->status = ReserveStatus::kUnknown;
    a->reasons.push_back("ratio: " + (ratio.ok() ? threshold.status() : ratio.status()).message());
    return;
  }
  a->ratio = *ratio;
  if (*ratio >= *threshold) {
    a->status = ReserveStatus::kFullyBacked;
  } else {
    a->status = ReserveStatus::kUnderBacked;
    a->reasons.push_back("settled shares " + settled.ToString() + " < required " + a->required_shares->ToString() +
                         " (ratio " + ratio->ToString() + " below " + threshold->ToString() + ")");
  }
}

// ---- JSON -------------------------------------------------------------------------------------

Result<json> ReserveAttestationJson(const ReserveAttestation& a) {
  const std::string w = "reserves[" + a.asset + "]";
  if (a.asset.empty()) return Status::InvalidArgument("reserves: asset name empty");
  json chains = json::array();
  for (const ChainSupply& c : a.chains) {
    json cj = {{"chain", c.chain}, {"decimals", c.decimals}, {"kind", c.kind}, {"token", c.token},
               {"read_time", std::to_string(c.read_unix_nanos)}};
    if (!c.error.empty()) cj["error"] = c.error;
    if (c.block_number) {
      if (*c.block_number >= kMaxJsonInteger) return Status::InvalidArgument(w + ": block number beyond 2^53");
      cj["block_number"] = *c.block_number;
      cj["block_hash"] = c.block_hash;
    }
    if (c.slot) {
      if (*c.slot >= kMaxJsonInteger) return Status::InvalidArgument(w + ": slot beyond 2^53");
      cj["slot"] = *c.slot;
    }
    cj["gross"] = c.gross ? json(c.gross->ToString()) : json(nullptr);
    cj["circulating"] = c.circulating ? json(c.circulating->ToString()) : json(nullptr);
    json excluded = json::array();
    for (const ExcludedAmount& e : c.excluded) {
      excluded.push_back({{"address", e.address}, {"amount", e.amount.ToString()}, {"label", e.label}});
    }
    cj["excluded"] = std::move(excluded);
    json evidence = json::array();
    for (const ReserveEvidence& e : c.evidence) {
      json ej = {{"kind", e.kind}, {"provider", e.provider}, {"sha256", e.sha256}};
      if (!e.address.empty()) ej["address"] = e.address;
      evidence.push_back(std::move(ej));
    }
    cj["evidence"] = std::move(evidence);
    chains.push_back(std::move(cj));
  }
  json j = {{"asset", a.asset},
            {"isin", a.isin},
            {"multiplier", a.multiplier.ToString()},
            {"tolerance", a.tolerance.ToString()},
            {"max_supply_age_ms", a.max_supply_age_ms},
            {"max_statement_age_ms", a.max_statement_age_ms},
            {"checked_time", std::to_string(a.checked_unix_nanos)},
            {"chains", std::move(chains)},
            {"status", ReserveStatusName(a.status)},
            {"reasons", a.reasons}};
  j["circulating_tokens"] = a.circulating_tokens ? json(a.circulating_tokens->ToString()) : json(nullptr);
  j["required_shares"] = a.required_shares ? json(a.required_shares->ToString()) : json(nullptr);
  j["ratio"] = a.ratio ? json(a.ratio->ToString()) : json(nullptr);
  if (a.custodian) {
    const CustodianHolding& h = *a.custodian;
    j["custodian"] = {{"custodian_id", h.custodian_id},
                      {"account", h.account},
                      {"sequence", h.sequence},
                      {"as_of", std::to_string(h.as_of_unix_nanos)},
                      {"settled_shares", h.settled_shares.ToString()},
                      {"in_transit_shares", h.in_transit_shares.ToString()},
                      {"statement_sha256", h.statement_sha256}};
  } else {
    j["custodian"] = nullptr;
  }
  if (a.max_supply_age_ms < 0 || a.max_statement_age_ms < 0 || a.checked_unix_nanos < 0) {
    return Status::InvalidArgument(w + ": ages and times must be >= 0");
  }
  return j;
}

Result<ReserveAttestation> ParseReserveAttestation(const json& j, const std::string& w) {
  PLUMBLINE_RETURN_IF_ERROR(OnlyKeys(j, w, {"asset", "chains", "checked_time", "circulating_tokens", "custodian",
                                            "isin", "max_statement_age_ms", "max_supply_age_ms", "multiplier",
                                            "ratio", "reasons", "required_shares", "status", "tolerance"}));
  ReserveAttestation a;
  RA_ASSIGN(a.asset, Str(j, "asset", w));
  RA_ASSIGN(a.isin, Str(j, "isin", w));
  std::string text;
  RA_ASSIGN(text, Str(j, "multiplier", w));
  RA_ASSIGN(a.multiplier, Multiplier::Parse(text));
  RA_ASSIGN(a.tolerance, DecOf(j, "tolerance", w));
  uint64_t n = 0;
  RA_ASSIGN(n, Int(j, "max_supply_age_ms", w));
  a.max_supply_age_ms = static_cast<int64_t>(n);
  RA_ASSIGN(n, Int(j, "max_statement_age_ms", w));
  a.max_statement_age_ms = static_cast<int64_t>(n);
  RA_ASSIGN(a.checked_unix_nanos, TimeOf(j, "checked_time", w));
  RA_ASSIGN(text, Str(j, "status", w));
  auto status = ParseReserveStatus(text);
  if (!status) return Status::InvalidArgument(w + ".status: unknown status \"" + text + "\"");
  a.status = *status;
  if (!j["reasons"].is_array()) return Status::InvalidArgument(w + ".reasons: must be an array");
  for (const json& r : j["reasons"]) {
    if (!r.is_string()) return Status::InvalidArgument(w + ".reasons: must hold strings");
    a.reasons.push_back(r.get<std::string>());
  }
  RA_ASSIGN(a.circulating_tokens, OptDec(j, "circulating_tokens", w));
  RA_ASSIGN(a.required_shares, OptDec(j, "required_shares", w));
  RA_ASSIGN(a.ratio, OptDec(j, "ratio", w));
  if (!j["custodian"].is_null()) {
    const json& h = j["custodian"];
    const std::string hw = w + ".custodian";
    PLUMBLINE_RETURN_IF_ERROR(OnlyKeys(h, hw, {"account", "as_of", "custodian_id", "in_transit_shares", "sequence",
                                               "settled_shares", "statement_sha256"}));
    CustodianHolding c;
    RA_ASSIGN(c.custodian_id, Str(h, "custodian_id", hw));
    RA_ASSIGN(c.account, Str(h, "account", hw));
    RA_ASSIGN(c.sequence, Int(h, "sequence", hw, 1));
    RA_ASSIGN(c.as_of_unix_nanos, TimeOf(h, "as_of", hw));
    RA_ASSIGN(c.settled_shares, DecOf(h, "settled_shares", hw));
    RA_ASSIGN(c.in_transit_shares, DecOf(h, "in_transit_shares", hw));
    RA_ASSIGN(c.statement_sha256, Str(h, "statement_sha256", hw));
    a.custodian = std::move(c);
  }
  if (!j["chains"].is_array()) return Status::InvalidArgument(w + ".chains: must be an array");
  for (size_t i = 0; i < j["chains"].size(); ++i) {
    const json& cj = j["chains"][i];
    const std::string cw = w + ".chains[" + std::to_string(i) + "]";
    PLUMBLINE_RETURN_IF_ERROR(OnlyKeys(cj, cw, {"chain", "circulating", "decimals", "evidence", "excluded", "gross",
                                                "kind", "read_time", "token"},
                                       {"block_hash", "block_number", "error", "slot"}));
    ChainSupply c;
    RA_ASSIGN(c.chain, Str(cj, "chain", cw));
    RA_ASSIGN(c.kind, Str(cj, "kind", cw));
    RA_ASSIGN(c.token, Str(cj, "token", cw));
    RA_ASSIGN(n, Int(cj, "decimals", cw));
    if (n > Decimal::kMaxScale) return Status::InvalidArgument(cw + ".decimals: at most 30");
    c.decimals = static_cast<uint32_t>(n);
    RA_ASSIGN(c.read_unix_nanos, TimeOf(cj, "read_time", cw));
    if (cj.contains("error")) RA_ASSIGN(c.error, Str(cj, "error", cw));
    if (cj.contains("block_number")) {
      RA_ASSIGN(c.block_number, Int(cj, "block_number", cw));
      RA_ASSIGN(c.block_hash, Str(cj, "block_hash", cw));
    }
    if (cj.contains("slot")) RA_ASSIGN(c.slot, Int(cj, "slot", cw));
    if (!cj["gross"].is_null()) RA_ASSIGN(c.gross, UintOf(cj, "gross", cw));
    if (!cj["circulating"].is_null()) RA_ASSIGN(c.circulating, UintOf(cj, "circulating", cw));
    if (!cj["excluded"].is_array() || !cj["evidence"].is_array()) {
      return Status::InvalidArgument(cw + ": excluded and evidence must be arrays");
    }
    for (const json& e : cj["excluded"]) {
      PLUMBLINE_RETURN_IF_ERROR(OnlyKeys(e, cw + ".excluded[]", {"address", "amount", "label"}));
      ExcludedAmount x;
      RA_ASSIGN(x.address, Str(e, "address", cw));
      RA_ASSIGN(x.label, Str(e, "label", cw));
      RA_ASSIGN(x.amount, UintOf(e, "amount", cw + ".excluded[]"));
      c.excluded.push_back(std::move(x));
    }
    for (const json& e : cj["evidence"]) {
      PLUMBLINE_RETURN_IF_ERROR(OnlyKeys(e, cw + ".evidence[]", {"kind", "provider", "sha256"}, {"address"}));
      ReserveEvidence x;
      RA_ASSIGN(x.kind, Str(e, "kind", cw));
      RA_ASSIGN(x.provider, Str(e, "provider", cw));
      RA_ASSIGN(x.sha256, Str(e, "sha256", cw));
      if (e.contains("address")) RA_ASSIGN(x.address, Str(e, "address", cw));
      c.evidence.push_back(std::move(x));
    }
    a.chains.push_back(std::move(c));
  }
  return a;
}

Result<json> ReservesJson(const std::vector<ReserveAttestation>& reserves) {
  std::vector<const ReserveAttestation*> sorted;
  for (const auto& r : reserves) sorted.push_back(&r);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->asset < b->asset; });
  json out = json::array();
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i > 0 && sorted[i]->asset == sorted[i - 1]->asset) {
      return Status::InvalidArgument("snapshot.reserves: asset \"" + sorted[i]->asset + "\" appears twice");
    }
    auto j = ReserveAttestationJson(*sorted[i]);
    if (!j.ok()) return j.status();
    out.push_back(std::move(*j));
  }
  return out;
}

Result<std::vector<ReserveAttestation>> ParseReserves(const json& j) {
  if (!j.is_array()) return Status::InvalidArgument("snapshot.reserves: must be an array");
  std::vector<ReserveAttestation> out;
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string w = "snapshot.reserves[" + std::to_string(i) + "]";
    auto a = ParseReserveAttestation(j[i], w);
    if (!a.ok()) return a.status();
    if (!out.empty() && !(out.back().asset < a->asset)) {
      return Status::InvalidArgument(w + ".asset: must be sorted by asset without repeats");
    }
    out.push_back(std::move(*a));
  }
  return out;
}

// ---- auditor check ----------------------------------------------------------------------------

std::vector<std::string> CheckReserveAttestation(const ReserveAttestation& a, const EvidenceFetcher& fetch) {
  std::vector<std::string> problems;
  const std::string who = a.asset + ": ";
  auto opt = [](const std::optional<Decimal>& d) { return d ? d->ToString() : std::string("null"); };
  ReserveAttestation re = a;
  ComputeReserve(&re);
  if (re.status != a.status) {
    problems.push_back(who + "status is " + ReserveStatusName(a.status) + ", re-derived " + ReserveStatusName(re.status));
  }
  if (opt(re.ratio) != opt(a.ratio)) problems.push_back(who + "ratio is " + opt(a.ratio) + ", re-derived " + opt(re.ratio));
  if (opt(re.required_shares) != opt(a.required_shares)) {
    problems.push_back(who + "required_shares is " + opt(a.required_shares) + ", re-derived " + opt(re.required_shares));
  }
  if (opt(re.circulating_tokens) != opt(a.circulating_tokens)) {
    problems.push_back(who + "circulating_tokens is " + opt(a.circulating_tokens) + ", re-derived " +
                       opt(re.circulating_tokens));
  }
  for (size_t i = 0; i < a.chains.size(); ++i) {
    if (a.chains[i].circulating != re.chains[i].circulating) {
      problems.push_back(who + "chain " + a.chains[i].chain + ": circulating does not re-derive");
    }
  }
  if (!fetch) return problems;

  auto load = [&](const std::string& sha) -> Result<std::string> {
    auto bytes = fetch(sha);
    if (!bytes.ok()) return bytes.status();
    if (Sha256Hex(*bytes) != sha) return Status::Corruption("evidence bytes do not hash to " + sha);
    return bytes;
  };
  for (const ChainSupply& c : a.chains) {
    if (!c.error.empty()) continue;
    const std::string cw = who + "chain " + c.chain + ": ";
    std::set<std::string> supply_providers;
    std::map<std::string, int> balance_reads;
    for (const ReserveEvidence& e : c.evidence) {
      auto bytes = load(e.sha256);
      if (!bytes.ok()) {
        problems.push_back(cw + "evidence " + e.sha256 + ": " + bytes.status().message());
        continue;
      }
      const std::string ew = cw + e.kind + " from " + e.provider + ": ";
      if (e.kind == "block") {
        auto b = ParseEthBlockResponse(*bytes);
        if (!b.ok() || !c.block_number || b->number != *c.block_number || b->hash != c.block_hash) {
          problems.push_back(ew + "does not show block " + (c.block_number ? std::to_string(*c.block_number) : "?") +
                             " " + c.block_hash);
        }
      } else if (e.kind == "total_supply" || e.kind == "token_supply") {
        Result<UInt256> v = e.kind == "total_supply" ? ParseEthCallResponse(*bytes)
                                                     : [&]() -> Result<UInt256> {
          auto s = ParseSolanaAmountResponse(*bytes);
          if (!s.ok()) return s.status();
          return s->amount;
        }();
        if (!v.ok() || !c.gross || *v != *c.gross) {
          problems.push_back(ew + (v.ok() ? "shows " + v->ToString() : v.status().message()) + ", attestation says " +
                             (c.gross ? c.gross->ToString() : "null"));
        }
        supply_providers.insert(e.provider);
      } else if (e.kind == "balance") {
        Result<UInt256> v = c.kind == "evm" ? ParseEthCallResponse(*bytes) : [&]() -> Result<UInt256> {
          auto s = ParseSolanaAmountResponse(*bytes);
          if (!s.ok()) return s.status();
          return s->amount;
        }();
        auto it = std::find_if(c.excluded.begin(), c.excluded.end(),
                               [&](const ExcludedAmount& x) { return x.address == e.address; });
        if (it == c.excluded.end() || !v.ok() || *v != it->amount) {
          problems.push_back(ew + "balance of " + e.address + " does not match the excluded amount");
        } else {
          balance_reads[e.address]++;
        }
      } else {
        problems.push_back(ew + "unknown evidence kind");
      }
    }
    if (supply_providers.size() < 2) {
      problems.push_back(cw + "supply is backed by " + std::to_string(supply_providers.size()) +
                         " provider(s) of evidence, at least 2 required");
    }
    for (const ExcludedAmount& x : c.excluded) {
      if (balance_reads[x.address] == 0) problems.push_back(cw + "no evidence for the balance of " + x.address);
    }
  }
  if (a.custodian) {
    auto bytes = load(a.custodian->statement_sha256);
    if (!bytes.ok()) {
      problems.push_back(who + "statement " + a.custodian->statement_sha256 + ": " + bytes.status().message());
    } else {
      auto sub = ParseCustodianSubmission(*bytes);
      auto st = sub.ok() ? ParseCustodianStatementPayload(sub->envelope.payload) : Result<CustodianStatement>(sub.status());
      if (!st.ok()) {
        problems.push_back(who + "statement does not parse: " + st.status().message());
      } else if (st->settled_shares != a.custodian->settled_shares ||
                 st->in_transit_shares != a.custodian->in_transit_shares || st->sequence != a.custodian->sequence ||
                 st->as_of_unix_nanos != a.custodian->as_of_unix_nanos || st->isin != a.isin ||
                 st->custodian_id != a.custodian->custodian_id || st->account != a.custodian->account) {
        problems.push_back(who + "statement numbers differ from the attestation's custodian member");
      }
    }
  }
  return problems;
}

}  // namespace plumbline::attest
