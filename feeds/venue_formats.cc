#include "plumbline/feeds/venue_formats.h"

#include <chrono>
#include <sstream>

#include <date/date.h>
#include <nlohmann/json.hpp>

#include "plumbline/clock.h"

namespace plumbline::feeds {
namespace {

using json = nlohmann::json;

// Reads a required decimal-string field. Numbers are refused: their text may already have gone
// through a producer's double (allowed: names what we avoid).
Result<Decimal> PriceField(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::InvalidArgument(std::string("missing field '") + key + "'");
  if (!it->is_string()) {
    return Status::InvalidArgument(std::string("field '") + key + "': price must be a decimal string, got " +
                                   it->type_name());
  }
  const std::string& text = it->get_ref<const std::string&>();
  Result<Decimal> d = Decimal::Parse(text);
  if (!d.ok()) {
    return Status::InvalidArgument(std::string("field '") + key + "': '" + text +
                                   "' is not a decimal: " + d.status().message());
  }
  if (!d->is_positive()) {
    return Status::InvalidArgument(std::string("field '") + key + "': price must be positive, got '" +
                                   text + "'");
  }
  return d;
}

// Kraken's a/b/c fields are arrays whose first element is the price.
Result<Decimal> KrakenArrayPrice(const json& ticker, const char* key) {
  auto it = ticker.find(key);
  if (it == ticker.end()) return Status::InvalidArgument(std::string("missing field '") + key + "'");
  if (!it->is_array() || it->empty()) {
    return Status::InvalidArgument(std::string("field '") + key + "': expected a non-empty array");
  }
  json wrapper = json::object({{key, (*it)[0]}});
  return PriceField(wrapper, key);
}

Status CheckBidAsk(const Decimal& bid, const Decimal& ask) {
  if (bid > ask) {
    return Status::InvalidArgument("crossed book: bid " + bid.ToString() + " > ask " + ask.ToString());
  }
  return Status::Ok();
}

Status ParseKraken(const json& doc, Observation* obs) {
  auto err = doc.find("error");
  if (err == doc.end() || !err->is_array()) return Status::InvalidArgument("missing field 'error'");
  if (!err->empty()) {
    std::string joined;
    for (const auto& e : *err) {
      if (!joined.empty()) joined += "; ";
      joined += e.is_string() ? e.get<std::string>() : e.dump();
    }
    return Status::InvalidArgument("kraken reported error: " + joined);
  }
  auto result = doc.find("result");
  if (result == doc.end() || !result->is_object()) return Status::InvalidArgument("missing field 'result'");
  // The key is Kraken's own pair name (XBTUSD answers as XXBTZUSD), so take the only one.
  if (result->size() != 1) {
    return Status::InvalidArgument("field 'result': expected exactly one pair, got " +
                                   std::to_string(result->size()));
  }
  const json& ticker = result->begin().value();
  if (!ticker.is_object()) return Status::InvalidArgument("field 'result': pair entry is not an object");
  Result<Decimal> last = KrakenArrayPrice(ticker, "c");
  if (!last.ok()) return last.status();
  Result<Decimal> bid = KrakenArrayPrice(ticker, "b");
  if (!bid.ok()) return bid.status();
  Result<Decimal> ask = KrakenArrayPrice(ticker, "a");
  if (!ask.ok()) return ask.status();
  PLUMBLINE_RETURN_IF_ERROR(CheckBidAsk(*bid, *ask));
  obs->price = *last;
  obs->bid = *bid;
  obs->ask = *ask;
  return Status::Ok();
}

Result<int64_t> ParseRfc3339(const std::string& text, const char* field = "time") {
  // Coinbase writes UTC with a 'Z' and an optional fraction of up to nanoseconds. Parsed by hand
  // with integers only: date::parse reads seconds through a binary floating type, which can
  // round the fraction (and trips -Wmaybe-uninitialized at -O2). (allowed: comment only)
  auto bad = [&] {
    return Status::InvalidArgument(std::string("field '") + field + "': '" + text +
                                   "' is not an RFC 3339 UTC time like 2024-05-01T12:00:00.123456Z");
  };
  auto digits = [&](size_t pos, size_t n, int* out) {
    if (pos + n > text.size()) return false;
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      v = v * 10 + (text[i] - '0');
    }
    *out = v;
    return true;
  };
  int year, month, day, hour, minute, second;
  if (!digits(0, 4, &year) || text.size() < 20 || text[4] != '-' || !digits(5, 2, &month) ||
      text[7] != '-' || !digits(8, 2, &day) || (text[10] != 'T' && text[10] != 't') ||
      !digits(11, 2, &hour) || text[13] != ':' || !digits(14, 2, &minute) || text[16] != ':' ||
      !digits(17, 2, &second)) {
    return bad();
  }
  size_t pos = 19;
  int64_t nanos = 0;
  if (text[pos] == '.') {
    size_t n = 0;
    for (++pos; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos, ++n) {
      if (n >= 9) return bad();  // finer than a nanosecond cannot be represented exactly
      nanos = nanos * 10 + (text[pos] - '0');
    }
    if (n == 0) return bad();
    for (; n < 9; ++n) nanos *= 10;
  }
  if (pos + 1 != text.size() || (text[pos] != 'Z' && text[pos] != 'z')) return bad();
  const date::year_month_day ymd{date::year{year}, date::month{static_cast<unsigned>(month)},
                                 date::day{static_cast<unsigned>(day)}};
  if (!ymd.ok() || hour > 23 || minute > 59 || second > 59) return bad();
  const int64_t days = date::sys_days{ymd}.time_since_epoch().count();
  return ((days * 86400 + hour * 3600 + minute * 60 + second) * kNanosPerSecond) + nanos;
}

Status ParseCoinbase(const json& doc, Observation* obs) {
  Result<Decimal> price = PriceField(doc, "price");
  if (!price.ok()) return price.status();
  Result<Decimal> bid = PriceField(doc, "bid");
  if (!bid.ok()) return bid.status();
  Result<Decimal> ask = PriceField(doc, "ask");
  if (!ask.ok()) return ask.status();
  PLUMBLINE_RETURN_IF_ERROR(CheckBidAsk(*bid, *ask));
  auto time = doc.find("time");
  if (time == doc.end()) return Status::InvalidArgument("missing field 'time'");
  if (!time->is_string()) return Status::InvalidArgument("field 'time': expected a string");
  Result<int64_t> t = ParseRfc3339(time->get<std::string>());
  if (!t.ok()) return t.status();
  obs->price = *price;
  obs->bid = *bid;
  obs->ask = *ask;
  obs->observed_unix_nanos = *t;
  return Status::Ok();
}

Result<int64_t> ParseUnixSecondsString(const json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end()) return Status::InvalidArgument(std::string("missing field '") + key + "'");
  if (!it->is_string()) return Status::InvalidArgument(std::string("field '") + key + "': expected a string");
  const std::string& s = it->get_ref<const std::string&>();
  // 11 digits reach year 5138 and keep the nanosecond product far below 2^63.
  if (s.empty() || s.size() > 11 || s.find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument(std::string("field '") + key + "': '" + s +
                                   "' is not Unix seconds");
  }
  return std::stoll(s) * kNanosPerSecond;
}

// last / bid / ask decimal strings of one ticker object, checked (positive, bid <= ask) and set
// on `obs` only when all three are good.
Status LastBidAsk(const json& obj, const char* last_key, const char* bid_key, const char* ask_key,
                  Observation* obs) {
  Result<Decimal> last = PriceField(obj, last_key);
  if (!last.ok()) return last.status();
  Result<Decimal> bid = PriceField(obj, bid_key);
  if (!bid.ok()) return bid.status();
  Result<Decimal> ask = PriceField(obj, ask_key);
  if (!ask.ok()) return ask.status();
  PLUMBLINE_RETURN_IF_ERROR(CheckBidAsk(*bid, *ask));
  obs->price = *last;
  obs->bid = *bid;
  obs->ask = *ask;
  return Status::Ok();
}

Status ParseBitstamp(const json& doc, Observation* obs) {
  Result<int64_t> t = ParseUnixSecondsString(doc, "timestamp");
  if (!t.ok()) return t.status();
  PLUMBLINE_RETURN_IF_ERROR(LastBidAsk(doc, "last", "bid", "ask", obs));
  obs->observed_unix_nanos = *t;
  return Status::Ok();
}

// ---- Binance, OKX ----

Status ParseBinance(const json& doc, Observation* obs) {
  if (doc.contains("code") && doc.contains("msg")) {  // {"code":-1121,"msg":"Invalid symbol."}
    return Status::InvalidArgument("binance reported error " + doc["code"].dump() + ": " + doc["msg"].dump());
  }
  auto t = doc.find("closeTime");
  if (t == doc.end() || !t->is_number_unsigned() || t->get<uint64_t>() > 100'000'000'000'000ULL) {
    return Status::InvalidArgument("field 'closeTime': expected Unix milliseconds as a JSON integer");
  }
  PLUMBLINE_RETURN_IF_ERROR(LastBidAsk(doc, "lastPrice", "bidPrice", "askPrice", obs));
  obs->observed_unix_nanos = static_cast<int64_t>(t->get<uint64_t>()) * kNanosPerMilli;
  return Status::Ok();
}

Result<int64_t> MillisString(const json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end()) return Status::InvalidArgument(std::string("missing field '") + key + "'");
  if (!it->is_string()) return Status::InvalidArgument(std::string("field '") + key + "': expected a string");
  const std::string& s = it->get_ref<const std::string&>();
  if (s.empty() || s.size() > 14 || s.find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument(std::string("field '") + key + "': '" + s + "' is not Unix milliseconds");
  }
  return std::stoll(s) * kNanosPerMilli;
}

Status ParseOkx(const json& doc, Observation* obs) {
  auto code = doc.find("code");
  if (code == doc.end() || !code->is_string()) return Status::InvalidArgument("missing field 'code'");
  if (*code != "0") {
    std::string msg = doc.contains("msg") && doc["msg"].is_string() ? doc["msg"].get<std::string>() : "";
    return Status::InvalidArgument("okx reported error " + code->get<std::string>() + ": " + msg);
  }
  auto data = doc.find("data");
  if (data == doc.end() || !data->is_array() || data->size() != 1 || !(*data)[0].is_object()) {
    return Status::InvalidArgument("field 'data': expected an array of exactly one ticker");
  }
  const json& t = (*data)[0];
  Result<int64_t> ts = MillisString(t, "ts");
  if (!ts.ok()) return ts.status();
  PLUMBLINE_RETURN_IF_ERROR(LastBidAsk(t, "last", "bidPx", "askPx", obs));
  obs->observed_unix_nanos = *ts;
  return Status::Ok();
}

// ---- equity formats: JSON numbers read from their literal text ----

// Builds a json document in which every number is replaced by a string of its exact literal
// text (integers printed back exactly), so prices never pass through binary floating point
// (allowed: this comment only names the type to say it is avoided). Written by hand because
// nlohmann's DOM stores numbers in binary floating point; its SAX interface hands us the raw text.
class NumberTextSax {
 public:
  using number_integer_t = json::number_integer_t;
  using number_unsigned_t = json::number_unsigned_t;
  using number_float_t = json::number_float_t;  // unused value; we keep the text (allowed)
  using string_t = json::string_t;
  using binary_t = json::binary_t;

  bool null() { return Put(nullptr) != nullptr; }
  bool boolean(bool b) { return Put(b) != nullptr; }
  bool number_integer(number_integer_t v) { return Put(std::to_string(v)) != nullptr; }
  bool number_unsigned(number_unsigned_t v) { return Put(std::to_string(v)) != nullptr; }
  bool number_float(number_float_t, const string_t& text) { return Put(text) != nullptr; }  // (allowed)
  bool string(string_t& s) { return Put(s) != nullptr; }
  bool binary(binary_t&) { return false; }
  bool start_object(std::size_t) { return Push(json::object()); }
  bool key(string_t& k) {
    key_ = k;
    return true;
  }
  bool end_object() { return Pop(); }
  bool start_array(std::size_t) { return Push(json::array()); }
  bool end_array() { return Pop(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

  json& root() { return root_; }

 private:
  json* Put(json v) {
    if (stack_.empty()) {
      if (done_) return nullptr;
      root_ = std::move(v);
      done_ = true;
      return &root_;
    }
    json& top = *stack_.back();
    if (top.is_array()) {
      top.push_back(std::move(v));
      return &top.back();
    }
    json& slot = top[key_];
    slot = std::move(v);
    return &slot;
  }
  bool Push(json v) {
    json* p = Put(std::move(v));
    if (p == nullptr || stack_.size() > 64) return false;
    stack_.push_back(p);
    return true;
  }
  bool Pop() {
    if (stack_.empty()) return false;
    stack_.pop_back();
    return true;
  }

  json root_;
  bool done_ = false;
  std::vector<json*> stack_;
  std::string key_;
};

bool ParseKeepingNumberText(std::string_view body, json* out) {
  NumberTextSax sax;
  if (!json::sax_parse(body, &sax, json::input_format_t::json, /*strict=*/true)) return false;
  *out = std::move(sax.root());
  return true;
}

// A price from a JSON number's literal text (ParseKeepingNumberText made it a string).
Result<Decimal> NumberPrice(const json& obj, const char* key) { return PriceField(obj, key); }

// Optional bid/ask where 0 means "no quote on that side".
Status OptionalBidAsk(const json& quote, const char* bid_key, const char* ask_key, Observation* obs) {
  auto b = quote.find(bid_key);
  auto a = quote.find(ask_key);
  if (b == quote.end() || a == quote.end() || !b->is_string() || !a->is_string()) return Status::Ok();
  if (*b == "0" || *a == "0") return Status::Ok();
  Result<Decimal> bid = PriceField(quote, bid_key);
  if (!bid.ok()) return bid.status();
  Result<Decimal> ask = PriceField(quote, ask_key);
  if (!ask.ok()) return ask.status();
  PLUMBLINE_RETURN_IF_ERROR(CheckBidAsk(*bid, *ask));
  obs->bid = *bid;
  obs->ask = *ask;
  return Status::Ok();
}

Status ParseAlpaca(const json& doc, Observation* obs) {
  if (doc.contains("message") && !doc.contains("latestTrade")) {
    return Status::InvalidArgument("alpaca reported error: " + doc["message"].dump());
  }
  auto trade = doc.find("latestTrade");
  if (trade == doc.end() || !trade->is_object()) return Status::InvalidArgument("missing field 'latestTrade'");
  Result<Decimal> price = NumberPrice(*trade, "p");
  if (!price.ok()) return price.status().WithContext("latestTrade");
  auto t = trade->find("t");
  if (t == trade->end() || !t->is_string()) return Status::InvalidArgument("missing field 'latestTrade.t'");
  Result<int64_t> time = ParseRfc3339(t->get<std::string>(), "latestTrade.t");
  if (!time.ok()) return time.status();
  auto quote = doc.find("latestQuote");
  if (quote != doc.end() && quote->is_object()) {
    Status st = OptionalBidAsk(*quote, "bp", "ap", obs);
    if (!st.ok()) return st.WithContext("latestQuote");
  }
  obs->price = *price;
  obs->observed_unix_nanos = *time;
  return Status::Ok();
}

Result<int64_t> IntegerText(const json& obj, const char* key, size_t max_digits) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::InvalidArgument(std::string("missing field '") + key + "'");
  if (!it->is_string()) return Status::InvalidArgument(std::string("field '") + key + "': expected an integer");
  const std::string& s = it->get_ref<const std::string&>();
  if (s.empty() || s.size() > max_digits || s.find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument(std::string("field '") + key + "': '" + s + "' is not a non-negative integer");
  }
  return std::stoll(s);
}

Status ParsePolygon(const json& doc, Observation* obs) {
  auto status = doc.find("status");
  if (status == doc.end() || !status->is_string()) return Status::InvalidArgument("missing field 'status'");
  if (*status != "OK") {
    std::string msg = doc.contains("message") ? doc["message"].dump() : doc.contains("error") ? doc["error"].dump() : "";
    return Status::InvalidArgument("polygon reported status " + status->get<std::string>() + " " + msg);
  }
  auto results = doc.find("results");
  if (results == doc.end() || !results->is_object()) return Status::InvalidArgument("missing field 'results'");
  Result<Decimal> bid = NumberPrice(*results, "p");
  if (!bid.ok()) return bid.status().WithContext("results (bid)");
  Result<Decimal> ask = NumberPrice(*results, "P");
  if (!ask.ok()) return ask.status().WithContext("results (ask)");
  PLUMBLINE_RETURN_IF_ERROR(CheckBidAsk(*bid, *ask));
  Result<int64_t> t = IntegerText(*results, "t", 19);
  if (!t.ok()) return t.status().WithContext("results");
  Result<Decimal> mid = Decimal::Midpoint(*bid, *ask);
  if (!mid.ok()) return mid.status();
  obs->price = *mid;
  obs->bid = *bid;
  obs->ask = *ask;
  obs->observed_unix_nanos = *t;
  return Status::Ok();
}

Status ParseFinnhub(const json& doc, Observation* obs) {
  if (doc.contains("error")) return Status::InvalidArgument("finnhub reported error: " + doc["error"].dump());
  auto c = doc.find("c");
  auto t = doc.find("t");
  if (c != doc.end() && t != doc.end() && *c == "0" && *t == "0") {
    return Status::InvalidArgument("finnhub: no quote (c = 0, t = 0: unknown symbol)");
  }
  Result<Decimal> price = NumberPrice(doc, "c");
  if (!price.ok()) return price.status();
  Result<int64_t> secs = IntegerText(doc, "t", 11);
  if (!secs.ok()) return secs.status();
  obs->price = *price;
  obs->observed_unix_nanos = *secs * kNanosPerSecond;
  return Status::Ok();
}

bool UsesNumberText(VenueFormat f) {
  return f == VenueFormat::kAlpaca || f == VenueFormat::kPolygon || f == VenueFormat::kFinnhub;
}

}  // namespace

Result<int64_t> ParseRfc3339Utc(std::string_view text) { return ParseRfc3339(std::string(text)); }

const std::vector<VenueFormat>& AllVenueFormats() {
  static const std::vector<VenueFormat> kAll = {VenueFormat::kKraken,  VenueFormat::kCoinbase, VenueFormat::kBitstamp,
                                                VenueFormat::kBinance, VenueFormat::kOkx,      VenueFormat::kAlpaca,
                                                VenueFormat::kPolygon, VenueFormat::kFinnhub};
  return kAll;
}

const char* VenueFormatName(VenueFormat format) {
  switch (format) {
    case VenueFormat::kKraken: return "kraken";
    case VenueFormat::kCoinbase: return "coinbase";
    case VenueFormat::kBitstamp: return "bitstamp";
    case VenueFormat::kBinance: return "binance";
    case VenueFormat::kOkx: return "okx";
    case VenueFormat::kAlpaca: return "alpaca";
    case VenueFormat::kPolygon: return "polygon";
    case VenueFormat::kFinnhub: return "finnhub";
  }
  return "unknown";
}

std::string VenueFormatList() {
  std::string out;
  for (VenueFormat f : AllVenueFormats()) {
    if (!out.empty()) out += ", ";
    out += std::string("\"") + VenueFormatName(f) + "\"";
  }
  return out;
}

Result<VenueFormat> ParseVenueFormat(std::string_view name) {
  for (VenueFormat f : AllVenueFormats()) {
    if (name == VenueFormatName(f)) return f;
  }
  return Status::InvalidArgument("unknown venue format '" + std::string(name) + "' (expected one of " +
                                 VenueFormatList() + ")");
}

std::string TickerPath(VenueFormat format, std::string_view venue_symbol) {
  const std::string sym(venue_symbol);
  switch (format) {
    case VenueFormat::kKraken: return "/0/public/Ticker?pair=" + sym;
    case VenueFormat::kCoinbase: return "/products/" + sym + "/ticker";
    case VenueFormat::kBitstamp: return "/api/v2/ticker/" + sym + "/";
    case VenueFormat::kBinance: return "/api/v3/ticker/24hr?symbol=" + sym;
    case VenueFormat::kOkx: return "/api/v5/market/ticker?instId=" + sym;
    case VenueFormat::kAlpaca: return "/v2/stocks/" + sym + "/snapshot";
    case VenueFormat::kPolygon: return "/v2/last/nbbo/" + sym;
    case VenueFormat::kFinnhub: return "/api/v1/quote?symbol=" + sym;
  }
  return "/";
}

Result<Observation> ParseTicker(VenueFormat format, std::string_view body,
                                int64_t received_unix_nanos) {
  json doc;
  if (UsesNumberText(format)) {
    if (!ParseKeepingNumberText(body, &doc)) doc = json(json::value_t::discarded);
  } else {
    doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  }
  if (doc.is_discarded()) {
    return Status::InvalidArgument(std::string(VenueFormatName(format)) +
                                   " ticker: malformed or truncated JSON (" +
                                   std::to_string(body.size()) + " bytes)");
  }
  if (!doc.is_object()) {
    return Status::InvalidArgument(std::string(VenueFormatName(format)) +
                                   " ticker: expected a JSON object");
  }
  Observation obs;
  obs.received_unix_nanos = received_unix_nanos;
  obs.observed_unix_nanos = received_unix_nanos;  // Kraken has no venue time
  Status st;
  try {
    switch (format) {
      case VenueFormat::kKraken: st = ParseKraken(doc, &obs); break;
      case VenueFormat::kCoinbase: st = ParseCoinbase(doc, &obs); break;
      case VenueFormat::kBitstamp: st = ParseBitstamp(doc, &obs); break;
      case VenueFormat::kBinance: st = ParseBinance(doc, &obs); break;
      case VenueFormat::kOkx: st = ParseOkx(doc, &obs); break;
      case VenueFormat::kAlpaca: st = ParseAlpaca(doc, &obs); break;
      case VenueFormat::kPolygon: st = ParsePolygon(doc, &obs); break;
      case VenueFormat::kFinnhub: st = ParseFinnhub(doc, &obs); break;
    }
  } catch (const std::exception& e) {  // nlohmann type errors; the checks above should prevent them
    st = Status::InvalidArgument(e.what());
  }
  if (!st.ok()) return st.WithContext(std::string(VenueFormatName(format)) + " ticker");
  // A venue clock ahead of ours must not make an observation look fresher than its receipt.
  if (obs.observed_unix_nanos > received_unix_nanos) obs.observed_unix_nanos = received_unix_nanos;
  return obs;
}

}  // namespace plumbline::feeds
