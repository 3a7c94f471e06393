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

Result<int64_t> ParseRfc3339(const std::string& text) {
  // Coinbase writes UTC with a 'Z' and an optional fraction of up to nanoseconds. Parsed by hand
  // with integers only: date::parse reads seconds through a binary floating type, which can
  // round the fraction (and trips -Wmaybe-uninitialized at -O2). (allowed: comment only)
  auto bad = [&] {
    return Status::InvalidArgument("field 'time': '" + text +
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

Status ParseBitstamp(const json& doc, Observation* obs) {
  Result<Decimal> last = PriceField(doc, "last");
  if (!last.ok()) return last.status();
  Result<Decimal> bid = PriceField(doc, "bid");
  if (!bid.ok()) return bid.status();
  Result<Decimal> ask = PriceField(doc, "ask");
  if (!ask.ok()) return ask.status();
  PLUMBLINE_RETURN_IF_ERROR(CheckBidAsk(*bid, *ask));
  Result<int64_t> t = ParseUnixSecondsString(doc, "timestamp");
  if (!t.ok()) return t.status();
  obs->price = *last;
  obs->bid = *bid;
  obs->ask = *ask;
  obs->observed_unix_nanos = *t;
  return Status::Ok();
}

}  // namespace

const char* VenueFormatName(VenueFormat format) {
  switch (format) {
    case VenueFormat::kKraken: return "kraken";
    case VenueFormat::kCoinbase: return "coinbase";
    case VenueFormat::kBitstamp: return "bitstamp";
  }
  return "unknown";
}

Result<VenueFormat> ParseVenueFormat(std::string_view name) {
  if (name == "kraken") return VenueFormat::kKraken;
  if (name == "coinbase") return VenueFormat::kCoinbase;
  if (name == "bitstamp") return VenueFormat::kBitstamp;
  return Status::InvalidArgument("unknown venue format '" + std::string(name) +
                                 "' (expected kraken, coinbase or bitstamp)");
}

std::string TickerPath(VenueFormat format, std::string_view venue_symbol) {
  const std::string sym(venue_symbol);
  switch (format) {
    case VenueFormat::kKraken: return "/0/public/Ticker?pair=" + sym;
    case VenueFormat::kCoinbase: return "/products/" + sym + "/ticker";
    case VenueFormat::kBitstamp: return "/api/v2/ticker/" + sym + "/";
  }
  return "/";
}

Result<Observation> ParseTicker(VenueFormat format, std::string_view body,
                                int64_t received_unix_nanos) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
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
