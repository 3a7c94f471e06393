#include "plumbline/attest/snapshot.h"

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <set>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "plumbline/attest/canonical_json.h"
#include "plumbline/multiplier.h"

namespace plumbline::attest {
namespace {

using nlohmann::json;

constexpr uint64_t kMaxSafeInteger = (uint64_t{1} << 53);  // exclusive bound of exact doubles

bool IsLowerHex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// ---- building -------------------------------------------------------------------------------

Status CheckTime(int64_t t, const std::string& field) {
  if (t < 0) return Status::InvalidArgument(field + ": time must be >= 0 Unix nanoseconds");
  return Status::Ok();
}

Result<json> ObservationJson(const Observation& o, const std::string& where) {
  if (o.source.empty()) return Status::InvalidArgument(where + ".source: empty");
  if (!o.price.is_positive()) return Status::InvalidArgument(where + ".price: must be > 0");
  PLUMBLINE_RETURN_IF_ERROR(CheckTime(o.observed_unix_nanos, where + ".observed_time"));
  PLUMBLINE_RETURN_IF_ERROR(CheckTime(o.received_unix_nanos, where + ".received_time"));
  json j = json::object();
  if (o.ask) {
    if (o.ask->is_negative()) return Status::InvalidArgument(where + ".ask: must be >= 0");
    j["ask"] = o.ask->ToString();
  }
  if (o.bid) {
    if (o.bid->is_negative()) return Status::InvalidArgument(where + ".bid: must be >= 0");
    j["bid"] = o.bid->ToString();
  }
  j["observed_time"] = std::to_string(o.observed_unix_nanos);
  j["price"] = o.price.ToString();
  j["received_time"] = std::to_string(o.received_unix_nanos);
  j["source"] = o.source;
  return j;
}

json OptDecimal(const std::optional<Decimal>& d) { return d ? json(d->ToString()) : json(nullptr); }
json OptTime(const std::optional<int64_t>& t) { return t ? json(std::to_string(*t)) : json(nullptr); }

// v2 members of a mark (docs/formats.md, docs/oracle.md).
Status AddOracleFields(const Mark& m, const std::string& where, json* j) {
  if ((m.status == MarkStatus::kClamped) != m.proposed_price.has_value()) {
    return Status::InvalidArgument(where + ".proposed_price: must be present exactly when status is clamped");
  }
  if (m.price_unix_nanos && m.status != MarkStatus::kMarketClosed) {
    return Status::InvalidArgument(where + ".price_time: only with status market_closed");
  }
  if (m.confidence && m.confidence->is_negative()) {
    return Status::InvalidArgument(where + ".confidence: must be >= 0");
  }
  if (m.token.has_value() != (m.asset_class == AssetClass::kToken)) {
    return Status::InvalidArgument(where + ".token: must be present exactly when asset_class is token");
  }
  (*j)["asset_class"] = AssetClassName(m.asset_class);
  (*j)["confidence"] = OptDecimal(m.confidence);
  std::vector<std::string> outliers = m.outliers;
  std::sort(outliers.begin(), outliers.end());
  (*j)["outliers"] = outliers;
  (*j)["price_time"] = OptTime(m.price_unix_nanos);
  (*j)["proposed_price"] = OptDecimal(m.proposed_price);
  (*j)["publish_reason"] = PublishReasonName(m.publish_reason);
  (*j)["session"] = m.session ? json(SessionName(*m.session)) : json(nullptr);
  if (!m.token) {
    (*j)["token"] = nullptr;
    return Status::Ok();
  }
  const TokenQuote& t = *m.token;
  if (t.underlying.empty()) return Status::InvalidArgument(where + ".token.underlying: empty");
  if (t.next_multiplier.has_value() != t.multiplier_activation_unix_nanos.has_value()) {
    return Status::InvalidArgument(where + ".token.next_multiplier: goes with multiplier_activation_time");
  }
  (*j)["token"] = TokenQuoteJson(t);
  return Status::Ok();
}

// Statuses whose mark carries a price: ok, clamped (the held price), market_closed (the last
// regular price, when one is known).
bool PriceAllowed(MarkStatus s) {
  return s == MarkStatus::kOk || s == MarkStatus::kClamped || s == MarkStatus::kMarketClosed;
}
bool PriceRequired(MarkStatus s) { return s == MarkStatus::kOk || s == MarkStatus::kClamped; }

Result<json> MarkJson(const Mark& m, const std::string& where) {
  if (m.symbol.empty()) return Status::InvalidArgument(where + ".symbol: empty");
  if (m.quorum < 1) return Status::InvalidArgument(where + ".quorum: must be >= 1");
  if ((PriceRequired(m.status) && !m.price) || (!PriceAllowed(m.status) && m.price)) {
    return Status::InvalidArgument(where +
                                   ".price: required with status ok or clamped, optional with "
                                   "market_closed, absent otherwise");
  }
  if (m.price && !m.price->is_positive()) {
    return Status::InvalidArgument(where + ".price: must be > 0");
  }
  json j = json::object();
  if (m.newest_observation_unix_nanos) {
    PLUMBLINE_RETURN_IF_ERROR(
        CheckTime(*m.newest_observation_unix_nanos, where + ".newest_observation_time"));
    j["newest_observation_time"] = std::to_string(*m.newest_observation_unix_nanos);
  } else {
    j["newest_observation_time"] = nullptr;
  }
  j["price"] = m.price ? json(m.price->ToString()) : json(nullptr);
  j["quorum"] = m.quorum;
  std::vector<const Observation*> sorted;
  for (const auto& o : m.contributions) sorted.push_back(&o);
  std::sort(sorted.begin(), sorted.end(),
            [](const Observation* a, const Observation* b) { return a->source < b->source; });
  json sources = json::array();
  for (size_t i = 0; i < sorted.size(); ++i) {
    const std::string w = where + ".sources[" + std::to_string(i) + "]";
    if (i > 0 && sorted[i]->source == sorted[i - 1]->source) {
      return Status::InvalidArgument(w + ".source: \"" + sorted[i]->source + "\" appears twice");
    }
    if (!sorted[i]->symbol.empty() && sorted[i]->symbol != m.symbol) {
      return Status::InvalidArgument(w + ": observation of \"" + sorted[i]->symbol +
                                     "\" inside mark \"" + m.symbol + "\"");
    }
    auto oj = ObservationJson(*sorted[i], w);
    if (!oj.ok()) return oj.status();
    sources.push_back(std::move(*oj));
  }
  j["sources"] = std::move(sources);
  j["status"] = MarkStatusName(m.status);
  j["symbol"] = m.symbol;
  PLUMBLINE_RETURN_IF_ERROR(AddOracleFields(m, where, &j));
  return j;
}

// ---- parsing --------------------------------------------------------------------------------

// A view of one JSON object that insists every member is known and every required one present.
class Members {
 public:
  Members(const json& obj, std::string where) : obj_(obj), where_(std::move(where)) {}

  Status Expect(std::initializer_list<const char*> required,
                std::initializer_list<const char*> optional = {}) const {
    if (!obj_.is_object()) return Status::InvalidArgument(where_ + ": must be a JSON object");
    for (const auto& [key, value] : obj_.items()) {
      bool known = false;
      for (const char* r : required) known = known || key == r;
      for (const char* o : optional) known = known || key == o;
      if (!known) return Status::InvalidArgument(where_ + ": unknown member \"" + key + "\"");
    }
    for (const char* r : required) {
      if (!obj_.contains(r)) return Status::InvalidArgument(where_ + ": missing member \"" + r + "\"");
    }
    return Status::Ok();
  }

  std::string Field(const char* name) const { return where_ + "." + name; }
  bool Has(const char* name) const { return obj_.contains(name); }
  const json& operator[](const char* name) const { return obj_.at(name); }

  Result<std::string> String(const char* name) const {
    const json& v = obj_.at(name);
    if (!v.is_string()) return Status::InvalidArgument(Field(name) + ": must be a JSON string");
    return v.get<std::string>();
  }

  Result<std::string> Hex64(const char* name) const {
    auto s = String(name);
    if (s.ok() && !IsLowerHex64(*s)) {
      return Status::InvalidArgument(Field(name) + ": must be 64 lowercase hex digits");
    }
    return s;
  }

  Result<uint64_t> Integer(const char* name, uint64_t min, uint64_t max_exclusive) const {
    const json& v = obj_.at(name);
    if (!v.is_number_unsigned() && !v.is_number_integer()) {
      return Status::InvalidArgument(Field(name) + ": must be a JSON integer");
    }
    if (v.is_number_integer() && !v.is_number_unsigned()) {
      return Status::InvalidArgument(Field(name) + ": must be >= " + std::to_string(min));
    }
    const uint64_t n = v.get<uint64_t>();
    if (n < min || n >= max_exclusive) {
      return Status::InvalidArgument(Field(name) + ": must be >= " + std::to_string(min) +
                                     " and < " + std::to_string(max_exclusive));
    }
    return n;
  }

  // Unix nanoseconds as the canonical decimal string of a non-negative int64.
  Result<int64_t> Time(const char* name) const {
    auto s = String(name);
    if (!s.ok()) return s.status();
    int64_t t = 0;
    const char* end = s->data() + s->size();
    auto [ptr, ec] = std::from_chars(s->data(), end, t);
    if (s->empty() || ec != std::errc() || ptr != end || t < 0 || std::to_string(t) != *s) {
      return Status::InvalidArgument(Field(name) +
                                     ": must be Unix nanoseconds as a decimal string like "
                                     "\"1700000000000000000\"");
    }
    return t;
  }

  // Decimal string printed exactly as Decimal::ToString prints it, so bytes round-trip.
  Result<Decimal> Dec(const char* name) const {
    auto s = String(name);
    if (!s.ok()) return Status::InvalidArgument(Field(name) + ": must be a decimal string");
    auto d = Decimal::Parse(*s);
    if (!d.ok() || d->ToString() != *s) {
      return Status::InvalidArgument(Field(name) + ": \"" + *s +
                                     "\" is not a canonical decimal string like \"65432.10\"");
    }
    return d;
  }

 private:
  const json& obj_;
  std::string where_;
};

#define ASSIGN_OR_RETURN(lhs, expr)   \
  do {                                \
    auto _r = (expr);                 \
    if (!_r.ok()) return _r.status(); \
    lhs = std::move(*_r);             \
  } while (0)

Result<Observation> ParseObservation(const json& j, const std::string& where,
                                     const std::string& symbol) {
  Members m(j, where);
  PLUMBLINE_RETURN_IF_ERROR(
      m.Expect({"observed_time", "price", "received_time", "source"}, {"ask", "bid"}));
  Observation o;
  o.symbol = symbol;
  ASSIGN_OR_RETURN(o.source, m.String("source"));
  if (o.source.empty()) return Status::InvalidArgument(m.Field("source") + ": empty");
  ASSIGN_OR_RETURN(o.price, m.Dec("price"));
  if (!o.price.is_positive()) return Status::InvalidArgument(m.Field("price") + ": must be > 0");
  if (m.Has("ask")) {
    ASSIGN_OR_RETURN(o.ask, m.Dec("ask"));
    if (o.ask->is_negative()) return Status::InvalidArgument(m.Field("ask") + ": must be >= 0");
  }
  if (m.Has("bid")) {
    ASSIGN_OR_RETURN(o.bid, m.Dec("bid"));
    if (o.bid->is_negative()) return Status::InvalidArgument(m.Field("bid") + ": must be >= 0");
  }
  ASSIGN_OR_RETURN(o.observed_unix_nanos, m.Time("observed_time"));
  ASSIGN_OR_RETURN(o.received_unix_nanos, m.Time("received_time"));
  return o;
}

Result<std::optional<Decimal>> OptDec(const Members& m, const char* name) {
  if (m[name].is_null()) return std::optional<Decimal>();
  auto d = m.Dec(name);
  if (!d.ok()) return d.status();
  return std::optional<Decimal>(*d);
}

Result<std::optional<int64_t>> OptTimeField(const Members& m, const char* name) {
  if (m[name].is_null()) return std::optional<int64_t>();
  auto t = m.Time(name);
  if (!t.ok()) return t.status();
  return std::optional<int64_t>(*t);
}

template <typename E>
Result<E> EnumField(const Members& m, const char* name, std::optional<E> (*parse)(std::string_view)) {
  auto s = m.String(name);
  if (!s.ok()) return s.status();
  auto e = parse(*s);
  if (!e) return Status::InvalidArgument(m.Field(name) + ": unknown value \"" + *s + "\"");
  return *e;
}

Result<TokenQuote> ParseToken(const json& j, const std::string& where) {
  Members m(j, where);
  PLUMBLINE_RETURN_IF_ERROR(m.Expect({"basis", "basis_bound", "basis_exceeded", "multiplier",
                                      "multiplier_activation_time", "next_multiplier", "theoretical_price",
                                      "underlying", "underlying_price", "venue_price"}));
  TokenQuote t;
  ASSIGN_OR_RETURN(t.basis, OptDec(m, "basis"));
  ASSIGN_OR_RETURN(t.basis_bound, m.Dec("basis_bound"));
  if (!m["basis_exceeded"].is_boolean()) return Status::InvalidArgument(m.Field("basis_exceeded") + ": must be a boolean");
  t.basis_exceeded = m["basis_exceeded"].get<bool>();
  ASSIGN_OR_RETURN(t.multiplier, m.String("multiplier"));
  if (!Multiplier::Parse(t.multiplier).ok()) {
    return Status::InvalidArgument(m.Field("multiplier") + ": not a multiplier like \"1.0025\" or \"1/3\"");
  }
  ASSIGN_OR_RETURN(t.multiplier_activation_unix_nanos, OptTimeField(m, "multiplier_activation_time"));
  if (!m["next_multiplier"].is_null()) {
    ASSIGN_OR_RETURN(t.next_multiplier, m.String("next_multiplier"));
  }
  if (t.next_multiplier.has_value() != t.multiplier_activation_unix_nanos.has_value()) {
    return Status::InvalidArgument(m.Field("next_multiplier") + ": goes with multiplier_activation_time");
  }
  ASSIGN_OR_RETURN(t.theoretical_price, OptDec(m, "theoretical_price"));
  ASSIGN_OR_RETURN(t.underlying, m.String("underlying"));
  ASSIGN_OR_RETURN(t.underlying_price, OptDec(m, "underlying_price"));
  ASSIGN_OR_RETURN(t.venue_price, OptDec(m, "venue_price"));
  return t;
}

Status ParseOracleFields(const Members& m, Mark* mark) {
  ASSIGN_OR_RETURN(mark->asset_class, EnumField<AssetClass>(m, "asset_class", ParseAssetClass));
  ASSIGN_OR_RETURN(mark->confidence, OptDec(m, "confidence"));
  if (mark->confidence && mark->confidence->is_negative()) {
    return Status::InvalidArgument(m.Field("confidence") + ": must be >= 0");
  }
  const json& outliers = m["outliers"];
  if (!outliers.is_array()) return Status::InvalidArgument(m.Field("outliers") + ": must be an array");
  for (const json& o : outliers) {
    if (!o.is_string()) return Status::InvalidArgument(m.Field("outliers") + ": must hold source names");
    if (!mark->outliers.empty() && !(mark->outliers.back() < o.get<std::string>())) {
      return Status::InvalidArgument(m.Field("outliers") + ": must be sorted without repeats");
    }
    mark->outliers.push_back(o.get<std::string>());
  }
  ASSIGN_OR_RETURN(mark->price_unix_nanos, OptTimeField(m, "price_time"));
  if (mark->price_unix_nanos && mark->status != MarkStatus::kMarketClosed) {
    return Status::InvalidArgument(m.Field("price_time") + ": only with status market_closed");
  }
  ASSIGN_OR_RETURN(mark->proposed_price, OptDec(m, "proposed_price"));
  if (mark->proposed_price.has_value() != (mark->status == MarkStatus::kClamped)) {
    return Status::InvalidArgument(m.Field("proposed_price") + ": present exactly when status is clamped");
  }
  ASSIGN_OR_RETURN(mark->publish_reason, EnumField<PublishReason>(m, "publish_reason", ParsePublishReason));
  if (!m["session"].is_null()) {
    ASSIGN_OR_RETURN(mark->session, EnumField<Session>(m, "session", ParseSession));
  }
  if (!m["token"].is_null()) {
    ASSIGN_OR_RETURN(mark->token, ParseToken(m["token"], m.Field("token")));
  }
  if (mark->token.has_value() != (mark->asset_class == AssetClass::kToken)) {
    return Status::InvalidArgument(m.Field("token") + ": present exactly when asset_class is token");
  }
  return Status::Ok();
}

Result<Mark> ParseMark(const json& j, const std::string& where, bool v2) {
  Members m(j, where);
  if (v2) {
    PLUMBLINE_RETURN_IF_ERROR(m.Expect({"asset_class", "confidence", "newest_observation_time", "outliers", "price",
                                        "price_time", "proposed_price", "publish_reason", "quorum", "session",
                                        "sources", "status", "symbol", "token"}));
  } else {
    PLUMBLINE_RETURN_IF_ERROR(
        m.Expect({"newest_observation_time", "price", "quorum", "sources", "status", "symbol"}));
  }
  Mark mark;
  ASSIGN_OR_RETURN(mark.symbol, m.String("symbol"));
  if (mark.symbol.empty()) return Status::InvalidArgument(m.Field("symbol") + ": empty");
  std::string status;
  ASSIGN_OR_RETURN(status, m.String("status"));
  auto parsed_status = ParseMarkStatus(status);
  if (!parsed_status || (!v2 && *parsed_status != MarkStatus::kOk && *parsed_status != MarkStatus::kStale &&
                         *parsed_status != MarkStatus::kInsufficientSources)) {
    return Status::InvalidArgument(m.Field("status") + ": unknown status \"" + status + "\", expected " +
                                   (v2 ? "ok, stale, insufficient_sources, market_closed, halted or clamped"
                                       : "ok, stale or insufficient_sources"));
  }
  mark.status = *parsed_status;
  if (m["price"].is_null()) {
    if (PriceRequired(mark.status)) {
      return Status::InvalidArgument(m.Field("price") + ": null, but status is " + status);
    }
  } else {
    if (!PriceAllowed(mark.status)) {
      return Status::InvalidArgument(m.Field("price") + ": must be null when status is " + status);
    }
    ASSIGN_OR_RETURN(mark.price, m.Dec("price"));
    if (!mark.price->is_positive()) return Status::InvalidArgument(m.Field("price") + ": must be > 0");
  }
  if (!m["newest_observation_time"].is_null()) {
    ASSIGN_OR_RETURN(mark.newest_observation_unix_nanos, m.Time("newest_observation_time"));
  }
  uint64_t quorum = 0;
  ASSIGN_OR_RETURN(quorum, m.Integer("quorum", 1, uint64_t{1} << 32));
  mark.quorum = static_cast<uint32_t>(quorum);
  const json& sources = m["sources"];
  if (!sources.is_array()) return Status::InvalidArgument(m.Field("sources") + ": must be an array");
  for (size_t i = 0; i < sources.size(); ++i) {
    const std::string w = m.Field("sources") + "[" + std::to_string(i) + "]";
    Observation o;
    ASSIGN_OR_RETURN(o, ParseObservation(sources[i], w, mark.symbol));
    if (!mark.contributions.empty() && !(mark.contributions.back().source < o.source)) {
      return Status::InvalidArgument(w + ".source: sources must be sorted by name without repeats");
    }
    mark.contributions.push_back(std::move(o));
  }
  if (v2) PLUMBLINE_RETURN_IF_ERROR(ParseOracleFields(m, &mark));
  return mark;
}

Result<Snapshot> ParseSnapshotJson(const json& doc, bool v2) {
  Members m(doc, "snapshot");
  PLUMBLINE_RETURN_IF_ERROR(m.Expect({"config_digest", "key_id", "marks", "origin",
                                      "previous_hash", "sequence", "time"}, {"reserves"}));
  Snapshot s;
  if (m.Has("reserves")) ASSIGN_OR_RETURN(s.reserves, ParseReserves(m["reserves"]));
  ASSIGN_OR_RETURN(s.config_digest, m.Hex64("config_digest"));
  ASSIGN_OR_RETURN(s.key_id, m.Hex64("key_id"));
  ASSIGN_OR_RETURN(s.origin, m.String("origin"));
  if (s.origin.empty()) return Status::InvalidArgument("snapshot.origin: empty");
  ASSIGN_OR_RETURN(s.previous_hash, m.Hex64("previous_hash"));
  ASSIGN_OR_RETURN(s.sequence, m.Integer("sequence", 1, kMaxSafeInteger));
  ASSIGN_OR_RETURN(s.time_unix_nanos, m.Time("time"));
  const json& marks = m["marks"];
  if (!marks.is_array()) return Status::InvalidArgument("snapshot.marks: must be an array");
  for (size_t i = 0; i < marks.size(); ++i) {
    const std::string w = "snapshot.marks[" + std::to_string(i) + "]";
    Mark mark;
    ASSIGN_OR_RETURN(mark, ParseMark(marks[i], w, v2));
    if (!s.marks.empty() && !(s.marks.back().symbol < mark.symbol)) {
      return Status::InvalidArgument(w + ".symbol: marks must be sorted by symbol without repeats");
    }
    s.marks.push_back(std::move(mark));
  }
  return s;
}

bool IsSnapshotType(std::string_view type) {
  return type == kSnapshotPayloadType || type == kSnapshotPayloadTypeV1;
}

Result<SignedSnapshot> FromEnvelope(const Envelope& env, const std::string& envelope_json) {
  auto snapshot = ParseSnapshotPayload(env.payload, env.payload_type);
  if (!snapshot.ok()) return snapshot.status();
  SignedSnapshot out;
  out.snapshot = std::move(*snapshot);
  out.payload = env.payload;
  out.payload_hash = Sha256Hex(env.payload);
  out.envelope_json = envelope_json;
  return out;
}

}  // namespace

nlohmann::json TokenQuoteJson(const TokenQuote& t) {
  json tj = json::object();
  tj["basis"] = OptDecimal(t.basis);
  tj["basis_bound"] = t.basis_bound.ToString();
  tj["basis_exceeded"] = t.basis_exceeded;
  tj["multiplier"] = t.multiplier;
  tj["multiplier_activation_time"] = OptTime(t.multiplier_activation_unix_nanos);
  tj["next_multiplier"] = t.next_multiplier ? json(*t.next_multiplier) : json(nullptr);
  tj["theoretical_price"] = OptDecimal(t.theoretical_price);
  tj["underlying"] = t.underlying;
  tj["underlying_price"] = OptDecimal(t.underlying_price);
  tj["venue_price"] = OptDecimal(t.venue_price);
  return tj;
}

Result<std::string> SnapshotPayload(const Snapshot& s) {
  if (s.origin.empty()) return Status::InvalidArgument("snapshot.origin: empty");
  if (s.sequence < 1 || s.sequence >= kMaxSafeInteger) {
    return Status::InvalidArgument("snapshot.sequence: must be >= 1 and < 2^53, got " +
                                   std::to_string(s.sequence));
  }
  PLUMBLINE_RETURN_IF_ERROR(CheckTime(s.time_unix_nanos, "snapshot.time"));
  if (!IsLowerHex64(s.previous_hash)) {
    return Status::InvalidArgument("snapshot.previous_hash: must be 64 lowercase hex digits");
  }
  if (!IsLowerHex64(s.config_digest)) {
    return Status::InvalidArgument("snapshot.config_digest: must be 64 lowercase hex digits");
  }
  if (!IsLowerHex64(s.key_id)) {
    return Status::InvalidArgument("snapshot.key_id: must be 64 lowercase hex digits");
  }
  std::vector<const Mark*> sorted;
  for (const auto& mk : s.marks) sorted.push_back(&mk);
  std::sort(sorted.begin(), sorted.end(),
            [](const Mark* a, const Mark* b) { return a->symbol < b->symbol; });
  json marks = json::array();
  for (size_t i = 0; i < sorted.size(); ++i) {
    const std::string w = "snapshot.marks[" + std::to_string(i) + "]";
    if (i > 0 && sorted[i]->symbol == sorted[i - 1]->symbol) {
      return Status::InvalidArgument(w + ".symbol: \"" + sorted[i]->symbol + "\" appears twice");
    }
    auto mj = MarkJson(*sorted[i], w);
    if (!mj.ok()) return mj.status();
    marks.push_back(std::move(*mj));
  }
  json doc = json::object();
  doc["config_digest"] = s.config_digest;
  doc["key_id"] = s.key_id;
  doc["marks"] = std::move(marks);
  doc["origin"] = s.origin;
  doc["previous_hash"] = s.previous_hash;
  if (!s.reserves.empty()) {
    auto reserves = ReservesJson(s.reserves);
    if (!reserves.ok()) return reserves.status();
    doc["reserves"] = std::move(*reserves);
  }
  doc["sequence"] = s.sequence;
  doc["time"] = std::to_string(s.time_unix_nanos);
  return Canonicalize(doc);
}

Result<Snapshot> ParseSnapshotPayload(std::string_view payload, std::string_view payload_type) {
  if (!IsSnapshotType(payload_type)) {
    return Status::InvalidArgument("payload type \"" + std::string(payload_type) + "\" is not a snapshot type");
  }
  auto doc = ParseStrictJson(payload);
  if (!doc.ok()) return doc.status().WithContext("snapshot payload");
  auto canonical = Canonicalize(*doc);
  if (!canonical.ok()) return canonical.status().WithContext("snapshot payload");
  if (*canonical != payload) {
    return Status::Corruption("snapshot payload is not RFC 8785 canonical JSON");
  }
  try {
    return ParseSnapshotJson(*doc, payload_type == kSnapshotPayloadType);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("snapshot payload: ") + e.what());
  }
}

Result<SignedSnapshot> SignSnapshot(Snapshot snapshot, const SigningKey& key) {
  snapshot.key_id = key.KeyId();
  auto payload = SnapshotPayload(snapshot);
  if (!payload.ok()) return payload.status();
  // Bring the in-memory document into the form a verifier reconstructs from the payload (marks
  // sorted by symbol, sources by name, observation symbols filled in) without parsing the
  // payload back: that round trip doubled the cost of a 1,000-mark round. snapshot_test checks
  // that the two agree.
  std::sort(snapshot.marks.begin(), snapshot.marks.end(),
            [](const Mark& a, const Mark& b) { return a.symbol < b.symbol; });
  std::sort(snapshot.reserves.begin(), snapshot.reserves.end(),
            [](const ReserveAttestation& a, const ReserveAttestation& b) { return a.asset < b.asset; });
  for (Mark& m : snapshot.marks) {
    // Already canonical (a round's marks are): read only, so contributions shared with the
    // ObservationBook stay shared instead of being copied here.
    const Contributions& c = m.contributions;
    if (std::adjacent_find(c.begin(), c.end(), [](const Observation& a, const Observation& b) {
          return !(a.source < b.source);
        }) == c.end() &&
        std::all_of(c.begin(), c.end(), [&](const Observation& o) { return o.symbol == m.symbol; })) {
      continue;
    }
    std::sort(m.contributions.begin(), m.contributions.end(),
              [](const Observation& a, const Observation& b) { return a.source < b.source; });
    for (Observation& o : m.contributions) o.symbol = m.symbol;
  }
  SignedSnapshot out;
  out.snapshot = std::move(snapshot);
  out.payload_hash = Sha256Hex(*payload);
  Envelope env = SignEnvelope(kSnapshotPayloadType, *payload, key);
  out.payload = std::move(*payload);
  out.envelope_json = EnvelopeToJson(env);
  return out;
}

Result<SignedSnapshot> VerifySnapshotEnvelope(std::string_view envelope_json, const PublicKey& key) {
  auto env = ParseEnvelope(envelope_json);
  if (!env.ok()) return env.status();
  const std::string_view type = env->payload_type == kSnapshotPayloadTypeV1 ? kSnapshotPayloadTypeV1
                                                                           : kSnapshotPayloadType;
  PLUMBLINE_RETURN_IF_ERROR(VerifyEnvelope(*env, type, key));
  auto out = FromEnvelope(*env, EnvelopeToJson(*env));
  if (!out.ok()) return out.status();
  if (out->snapshot.key_id != key.KeyId()) {
    return Status::Unauthenticated("snapshot key_id " + out->snapshot.key_id +
                                   " does not name the verifying key " + key.KeyId());
  }
  return out;
}

Result<SignedSnapshot> DecodeSnapshotEnvelope(std::string_view envelope_json) {
  auto env = ParseEnvelope(envelope_json);
  if (!env.ok()) return env.status();
  if (!IsSnapshotType(env->payload_type)) {
    return Status::InvalidArgument("payload type is \"" + env->payload_type + "\", expected \"" +
                                   std::string(kSnapshotPayloadType) + "\" (or v1)");
  }
  return FromEnvelope(*env, EnvelopeToJson(*env));
}

}  // namespace plumbline::attest
