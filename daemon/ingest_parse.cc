#include "daemon/ingest_parse.h"

#include <array>
#include <charconv>
#include <system_error>

#include "plumbline/json_scan.h"

namespace plumbline::daemon::ingest_parse {
namespace {

Status OnlyMembers(const nlohmann::json& obj, std::initializer_list<const char*> allowed, const std::string& where) {
  for (const auto& [key, value] : obj.items()) {
    bool known = false;
    for (const char* a : allowed) known = known || key == a;
    if (!known) return Status::InvalidArgument(where + (where.empty() ? "" : ".") + key + ": unknown member");
  }
  return Status::Ok();
}

// An observation's members, read from the DOM: Text() is nullopt when the member is not a string.
struct DomFields {
  const nlohmann::json& o;
  bool Has(const char* name) const { return o.contains(name); }
  std::optional<std::string_view> Text(const char* name) const {
    const auto& v = o.at(name);
    if (!v.is_string()) return std::nullopt;
    return std::string_view(v.get_ref<const std::string&>());
  }
};

// The same from the fast reader (every member it accepted is a string).
struct RawFields {
  const RawObservation& o;
  const std::optional<std::string_view>* Optional(std::string_view name) const {
    if (name == "bid") return &o.bid;
    if (name == "ask") return &o.ask;
    if (name == "confidence") return &o.confidence;
    return nullptr;
  }
  bool Has(const char* name) const {
    const auto* opt = Optional(name);
    return opt == nullptr || opt->has_value();  // symbol, price, observed_time: always present
  }
  std::optional<std::string_view> Text(const char* name) const {
    const std::string_view n = name;
    if (n == "symbol") return o.symbol;
    if (n == "price") return o.price;
    if (n == "observed_time") return o.observed_time;
    return *Optional(n);
  }
};

// A positive (or, with allow_zero, non-negative) decimal string member.
template <typename Fields, typename Where>
Result<Decimal> DecimalField(const Fields& f, const char* name, const Where& where, bool allow_zero) {
  auto field = [&] { return where() + "." + name; };  // built only for an error (the hot path has none)
  const std::optional<std::string_view> text = f.Text(name);
  if (!text) return Status::InvalidArgument(field() + ": expected a decimal string such as \"65432.10\"");
  auto d = Decimal::Parse(*text);
  if (!d.ok()) return Status::InvalidArgument(field() + ": \"" + std::string(*text) + "\" is not a decimal (" + d.status().message() + ")");
  if (d->is_negative() || (!allow_zero && d->is_zero())) {
    return Status::InvalidArgument(field() + ": must be " + (allow_zero ? "zero or positive" : "positive") + ", got \"" +
                                   std::string(*text) + "\"");
  }
  return d;
}

template <typename Fields, typename Where>
Result<int64_t> UnixNanosField(const Fields& f, const char* name, const Where& where) {
  auto field = [&] { return where() + "." + name; };
  const std::optional<std::string_view> text = f.Text(name);
  if (!text) return Status::InvalidArgument(field() + ": expected Unix nanoseconds as a decimal string");
  int64_t t = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), t);
  if (ec != std::errc() || end != text->data() + text->size() || t <= 0 || (*text)[0] == '0') {
    return Status::InvalidArgument(field() + ": \"" + std::string(*text) + "\" is not a positive integer of Unix nanoseconds");
  }
  return t;
}

// The checks of one observation object whose members are known (no unknown member), shared by the
// DOM and the fast path so both answer the same.
template <typename Fields>
Result<Observation> ParseObservation(const Fields& f, size_t i) {
  auto where = [i] { return "observations[" + std::to_string(i) + "]"; };
  for (const char* required : {"symbol", "price", "observed_time"}) {
    if (!f.Has(required)) return Status::InvalidArgument(where() + "." + required + ": missing");
  }
  Observation obs;
  const std::optional<std::string_view> symbol = f.Text("symbol");
  if (!symbol) return Status::InvalidArgument(where() + ".symbol: expected a string");
  obs.symbol = std::string(*symbol);
  auto price = DecimalField(f, "price", where, false);
  if (!price.ok()) return price.status();
  obs.price = *price;
  auto t = UnixNanosField(f, "observed_time", where);
  if (!t.ok()) return t.status();
  obs.observed_unix_nanos = *t;
  const bool has_bid = f.Has("bid"), has_ask = f.Has("ask"), has_conf = f.Has("confidence");
  if (has_bid != has_ask) return Status::InvalidArgument(where() + "." + (has_bid ? "ask" : "bid") + ": bid and ask come together");
  if (has_conf && has_bid) return Status::InvalidArgument(where() + ".confidence: give either bid/ask or confidence, not both");
  if (has_bid) {
    auto bid = DecimalField(f, "bid", where, false);
    if (!bid.ok()) return bid.status();
    auto ask = DecimalField(f, "ask", where, false);
    if (!ask.ok()) return ask.status();
    if (*bid > *ask) {
      return Status::InvalidArgument(where() + ".bid: bid " + bid->ToString() + " is above ask " + ask->ToString());
    }
    obs.bid = *bid;
    obs.ask = *ask;
  }
  if (has_conf) {
    auto c = DecimalField(f, "confidence", where, true);
    if (!c.ok()) return c.status();
    auto lo = Decimal::Sub(obs.price, *c);
    auto hi = Decimal::Add(obs.price, *c);
    if (!lo.ok() || !hi.ok()) return Status::InvalidArgument(where() + ".confidence: out of range");
    if (!lo->is_positive()) {
      return Status::InvalidArgument(where() + ".confidence: " + c->ToString() + " is not below the price " + obs.price.ToString());
    }
    obs.bid = *lo;
    obs.ask = *hi;
  }
  return obs;
}

// Printable ASCII only (0x7f declined too): the fast path's strings are canonical as they stand.
class Scan : public JsonScan {
 public:
  Scan(std::string_view s, bool whitespace) : JsonScan(s, whitespace, 0x7f) {}
  // An integer in [1, 2^53) written canonically.
  bool Sequence(uint64_t* out) { return Positive(out) && *out < (uint64_t{1} << 53); }
};

// {"ask":..,"bid":..,"confidence":..,"observed_time":..,"price":..,"symbol":..} in canonical order,
// optional members skipped; symbol, price and observed_time required.
bool ReadObservation(Scan& s, RawObservation* o) {
  if (!s.Eat('{')) return false;
  // Members in canonical order, each at most once: every key must come later than the previous.
  static constexpr std::array<std::string_view, 6> kKeys = {"\"ask\":",   "\"bid\":",   "\"confidence\":",
                                                            "\"observed_time\":", "\"price\":", "\"symbol\":"};
  std::array<std::optional<std::string_view>, 6> values;
  size_t k = 0;
  bool first = true;
  while (true) {
    if (s.Eat('}')) break;
    if (!first && !s.Eat(',')) return false;
    while (k < kKeys.size() && !s.Peek(kKeys[k])) ++k;
    if (k == kKeys.size()) return false;  // unknown, repeated or out-of-order member
    std::string_view v;
    if (!s.Lit(kKeys[k]) || !s.Str(&v)) return false;
    values[k++] = v;
    first = false;
  }
  if (!values[3] || !values[4] || !values[5]) return false;  // the DOM path names what is missing
  o->ask = values[0];
  o->bid = values[1];
  o->confidence = values[2];
  o->observed_time = *values[3];
  o->price = *values[4];
  o->symbol = *values[5];
  return true;
}

constexpr std::array<int8_t, 256> MakeBase64Table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr std::array<int8_t, 256> kBase64 = MakeBase64Table();

}  // namespace

Result<ParsedBatch> ParsePayload(const nlohmann::json& doc) {
  if (!doc.is_object()) return Status::InvalidArgument("payload: expected a JSON object");
  PLUMBLINE_RETURN_IF_ERROR(OnlyMembers(doc, {"publisher", "sequence", "observations"}, ""));
  ParsedBatch batch;
  auto pub = doc.find("publisher");
  if (pub == doc.end() || !pub->is_string()) return Status::InvalidArgument("publisher: expected a string");
  batch.publisher = pub->get<std::string>();
  auto seq = doc.find("sequence");
  if (seq == doc.end() || !seq->is_number_unsigned() || seq->get<uint64_t>() == 0 ||
      seq->get<uint64_t>() >= (uint64_t{1} << 53)) {
    return Status::InvalidArgument("sequence: expected an integer in [1, 2^53)");
  }
  batch.sequence = seq->get<uint64_t>();
  auto list = doc.find("observations");
  if (list == doc.end() || !list->is_array() || list->empty()) {
    return Status::InvalidArgument("observations: expected a non-empty array");
  }
  for (size_t i = 0; i < list->size(); ++i) {
    const auto& o = (*list)[i];
    if (!o.is_object()) return Status::InvalidArgument("observations[" + std::to_string(i) + "]: expected an object");
    PLUMBLINE_RETURN_IF_ERROR(
        OnlyMembers(o, {"symbol", "price", "bid", "ask", "confidence", "observed_time"}, "observations[" + std::to_string(i) + "]"));
    auto obs = ParseObservation(DomFields{o}, i);
    if (!obs.ok()) return obs.status();
    batch.observations.push_back(std::move(obs).value());
  }
  return batch;
}

Result<ParsedBatch> ParseBatch(const RawBatch& raw) {
  ParsedBatch batch;
  batch.publisher = std::string(raw.publisher);
  batch.sequence = raw.sequence;
  batch.observations.reserve(raw.observations.size());
  for (size_t i = 0; i < raw.observations.size(); ++i) {
    auto obs = ParseObservation(RawFields{raw.observations[i]}, i);
    if (!obs.ok()) return obs.status();
    batch.observations.push_back(std::move(obs).value());
  }
  return batch;
}

bool ReadPayloadFast(std::string_view payload, RawBatch* out) {
  Scan s(payload, /*whitespace=*/false);
  out->observations.clear();
  if (!s.Lit("{\"observations\":[")) return false;
  do {
    if (!ReadObservation(s, &out->observations.emplace_back())) return false;
  } while (s.Eat(','));
  return s.Lit("],\"publisher\":") && s.Str(&out->publisher) && s.Lit(",\"sequence\":") && s.Sequence(&out->sequence) &&
         s.Eat('}') && s.AtEnd();
}

bool ReadEnvelopeFast(std::string_view body, attest::Envelope* out) {
  Scan s(body, /*whitespace=*/true);
  if (!s.Eat('{')) return false;
  unsigned seen = 0;
  std::string_view payload64, sig64, keyid;
  do {
    std::string_view key;
    if (!s.Str(&key) || !s.Eat(':')) return false;
    unsigned bit = 0;
    if (key == "payload") {
      bit = 1;
      if (!s.Str(&payload64)) return false;
    } else if (key == "payloadType") {
      bit = 2;
      std::string_view type;
      if (!s.Str(&type)) return false;
      out->payload_type.assign(type);
    } else if (key == "signatures") {
      bit = 4;
      std::string_view k1, k2;
      // Exactly one signature whose members are keyid and sig (either order).
      if (!s.Eat('[') || !s.Eat('{') || !s.Str(&k1) || !s.Eat(':')) return false;
      std::string_view v1, v2;
      if (!s.Str(&v1) || !s.Eat(',') || !s.Str(&k2) || !s.Eat(':') || !s.Str(&v2) || !s.Eat('}') || !s.Eat(']')) return false;
      if (k1 == "keyid" && k2 == "sig") {
        keyid = v1, sig64 = v2;
      } else if (k1 == "sig" && k2 == "keyid") {
        sig64 = v1, keyid = v2;
      } else {
        return false;
      }
    } else {
      return false;
    }
    if (seen & bit) return false;
    seen |= bit;
  } while (s.Eat(','));
  if (!s.Eat('}') || !s.AtEnd() || seen != 7) return false;
  out->signatures.resize(1);
  attest::EnvelopeSignature& sig = out->signatures.front();
  sig.keyid.assign(keyid);
  return DecodeBase64Into(payload64, &out->payload) && DecodeBase64Into(sig64, &sig.sig) && sig.sig.size() == 64;
}

bool DecodeBase64Into(std::string_view text, std::string* out) {
  out->clear();
  if (text.size() % 4 != 0) return false;
  size_t pad = 0;
  if (!text.empty() && text.back() == '=') pad = text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : 1;
  out->resize(text.size() / 4 * 3 - pad);
  char* dst = out->data();
  const size_t full = text.size() - (pad ? 4 : 0);  // groups without padding
  for (size_t i = 0; i < full; i += 4) {
    const int a = kBase64[static_cast<unsigned char>(text[i])], b = kBase64[static_cast<unsigned char>(text[i + 1])],
              c = kBase64[static_cast<unsigned char>(text[i + 2])], d = kBase64[static_cast<unsigned char>(text[i + 3])];
    if ((a | b | c | d) < 0) return false;
    const uint32_t v = (uint32_t(a) << 18) | (uint32_t(b) << 12) | (uint32_t(c) << 6) | uint32_t(d);
    *dst++ = static_cast<char>(v >> 16);
    *dst++ = static_cast<char>(v >> 8);
    *dst++ = static_cast<char>(v);
  }
  if (pad == 0) return true;
  const size_t i = full;
  const int a = kBase64[static_cast<unsigned char>(text[i])], b = kBase64[static_cast<unsigned char>(text[i + 1])];
  if ((a | b) < 0) return false;
  if (pad == 2) {
    if (b & 0x0f) return false;  // unused bits must be zero (one encoding per value)
    *dst++ = static_cast<char>((a << 2) | (b >> 4));
    return true;
  }
  const int c = kBase64[static_cast<unsigned char>(text[i + 2])];
  if (c < 0 || (c & 0x03)) return false;
  *dst++ = static_cast<char>((a << 2) | (b >> 4));
  *dst++ = static_cast<char>(((b & 0x0f) << 4) | (c >> 2));
  return true;
}

}  // namespace plumbline::daemon::ingest_parse
