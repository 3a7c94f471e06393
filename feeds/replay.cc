#include <algorithm>
#include <fstream>

#include <nlohmann/json.hpp>

#include "plumbline/feeds/sources.h"

namespace plumbline::feeds {
namespace {

using json = nlohmann::json;

Result<std::string> StringField(const json& doc, const char* key, bool required) {
  auto it = doc.find(key);
  if (it == doc.end()) {
    if (required) return Status::InvalidArgument(std::string("missing field '") + key + "'");
    return std::string();
  }
  if (!it->is_string()) return Status::InvalidArgument(std::string("field '") + key + "': expected a string");
  return it->get<std::string>();
}

Result<std::optional<Decimal>> PriceField(const json& doc, const char* key, bool required) {
  if (!required && !doc.contains(key)) return std::optional<Decimal>();
  Result<std::string> text = StringField(doc, key, true);
  if (!text.ok()) return text.status();
  Result<Decimal> d = Decimal::Parse(*text);
  if (!d.ok()) return Status::InvalidArgument(std::string("field '") + key + "': " + d.status().message());
  if (!d->is_positive()) return Status::InvalidArgument(std::string("field '") + key + "': must be positive");
  return std::optional<Decimal>(*d);
}

Result<Observation> ParseLine(const std::string& line) {
  json doc = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Status::InvalidArgument("not a JSON object");
  Observation obs;
  Result<std::string> source = StringField(doc, "source", true);
  if (!source.ok()) return source.status();
  Result<std::string> symbol = StringField(doc, "symbol", true);
  if (!symbol.ok()) return symbol.status();
  Result<std::optional<Decimal>> price = PriceField(doc, "price", true);
  if (!price.ok()) return price.status();
  Result<std::optional<Decimal>> bid = PriceField(doc, "bid", false);
  if (!bid.ok()) return bid.status();
  Result<std::optional<Decimal>> ask = PriceField(doc, "ask", false);
  if (!ask.ok()) return ask.status();
  Result<std::string> time = StringField(doc, "observed_time", true);
  if (!time.ok()) return time.status();
  // Unix nanoseconds fit 19 digits until 2262.
  if (time->empty() || time->size() > 19 || time->find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument("field 'observed_time': expected Unix nanoseconds as a decimal string");
  }
  obs.source = *source;
  obs.symbol = *symbol;
  obs.price = **price;
  obs.bid = *bid;
  obs.ask = *ask;
  obs.observed_unix_nanos = std::stoll(*time);
  obs.received_unix_nanos = obs.observed_unix_nanos;
  return obs;
}

}  // namespace

Result<std::vector<Observation>> LoadRecording(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IOError("recording " + path + ": cannot open");
  std::vector<Observation> out;
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos || line[0] == '#') continue;
    Result<Observation> obs = ParseLine(line);
    if (!obs.ok()) return obs.status().WithContext("recording " + path + " line " + std::to_string(line_no));
    out.push_back(std::move(obs).value());
  }
  if (in.bad()) return Status::IOError("recording " + path + ": read failed");
  return out;
}

ReplaySource::ReplaySource(std::vector<Observation> recording) : recording_(std::move(recording)) {
  std::stable_sort(recording_.begin(), recording_.end(), [](const Observation& a, const Observation& b) {
    return a.observed_unix_nanos < b.observed_unix_nanos;
  });
}

size_t ReplaySource::ReleaseUntil(int64_t now_unix_nanos, ObservationBook* book) {
  size_t released = 0;
  while (next_ < recording_.size() && recording_[next_].observed_unix_nanos <= now_unix_nanos) {
    Observation obs = recording_[next_++];
    obs.received_unix_nanos = obs.observed_unix_nanos;
    book->Put(std::move(obs));
    ++released;
  }
  return released;
}

}  // namespace plumbline::feeds
