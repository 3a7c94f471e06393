#include "plumbline/feeds/observation_log.h"

#include <charconv>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

namespace plumbline::feeds {
namespace {

using json = nlohmann::json;

json ObservationJson(const Observation& o) {
  json j = json::object();
  if (o.ask) j["ask"] = o.ask->ToString();
  if (o.bid) j["bid"] = o.bid->ToString();
  j["observed_time"] = std::to_string(o.observed_unix_nanos);
  j["price"] = o.price.ToString();
  j["received_time"] = std::to_string(o.received_unix_nanos);
  j["source"] = o.source;
  j["symbol"] = o.symbol;
  return j;
}

Result<int64_t> TimeOf(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return Status::InvalidArgument(std::string("'") + key + "' must be a string");
  const std::string& s = it->get_ref<const std::string&>();
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
    return Status::InvalidArgument(std::string("'") + key + "' is not Unix nanoseconds");
  }
  return v;
}

Result<Decimal> DecOf(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return Status::InvalidArgument(std::string("'") + key + "' must be a decimal string");
  return Decimal::Parse(it->get<std::string>());
}

Result<Observation> ParseObservation(const json& j) {
  if (!j.is_object()) return Status::InvalidArgument("observation is not an object");
  Observation o;
  if (!j.contains("source") || !j["source"].is_string() || !j.contains("symbol") || !j["symbol"].is_string()) {
    return Status::InvalidArgument("observation needs 'source' and 'symbol' strings");
  }
  o.source = j["source"].get<std::string>();
  o.symbol = j["symbol"].get<std::string>();
  Result<Decimal> price = DecOf(j, "price");
  if (!price.ok()) return price.status();
  o.price = *price;
  for (const char* side : {"bid", "ask"}) {
    if (!j.contains(side)) continue;
    Result<Decimal> d = DecOf(j, side);
    if (!d.ok()) return d.status();
    (side[0] == 'b' ? o.bid : o.ask) = *d;
  }
  Result<int64_t> observed = TimeOf(j, "observed_time");
  if (!observed.ok()) return observed.status();
  Result<int64_t> received = TimeOf(j, "received_time");
  if (!received.ok()) return received.status();
  o.observed_unix_nanos = *observed;
  o.received_unix_nanos = *received;
  return o;
}

}  // namespace

std::string ObservationLogRoundLine(uint64_t sequence, int64_t time, const std::vector<Observation>& observations,
                                    const std::vector<std::string>& halted) {
  json obs = json::array();
  for (const Observation& o : observations) obs.push_back(ObservationJson(o));
  json j = {{"halted", halted}, {"observations", std::move(obs)}, {"sequence", sequence}, {"time", std::to_string(time)}};
  return j.dump();
}

std::string ObservationLogSeedLine(uint64_t sequence) { return json({{"seed_sequence", sequence}}).dump(); }

Result<std::vector<LoggedRound>> LoadObservationLog(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IOError("observation log " + path + ": cannot open");
  std::vector<LoggedRound> out;
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    if (line.empty()) continue;
    auto where = [&](const std::string& what) {
      return Status::InvalidArgument("observation log " + path + " line " + std::to_string(line_no) + ": " + what);
    };
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return where("not a JSON object (torn write?)");
    LoggedRound r;
    if (j.contains("seed_sequence")) {
      if (!j["seed_sequence"].is_number_unsigned()) return where("'seed_sequence' must be an integer");
      r.seed = true;
      r.sequence = j["seed_sequence"].get<uint64_t>();
      out.push_back(std::move(r));
      continue;
    }
    if (!j.contains("sequence") || !j["sequence"].is_number_unsigned()) return where("'sequence' must be an integer");
    r.sequence = j["sequence"].get<uint64_t>();
    Result<int64_t> t = TimeOf(j, "time");
    if (!t.ok()) return where(t.status().message());
    r.time_unix_nanos = *t;
    if (!j.contains("observations") || !j["observations"].is_array()) return where("'observations' must be an array");
    if (j.contains("halted")) {
      if (!j["halted"].is_array()) return where("'halted' must be an array of symbols");
      for (const json& h : j["halted"]) {
        if (!h.is_string()) return where("'halted' must be an array of symbols");
        r.halted.push_back(h.get<std::string>());
      }
    }
    for (const json& o : j["observations"]) {
      Result<Observation> obs = ParseObservation(o);
      if (!obs.ok()) return where(obs.status().message());
      r.observations.push_back(std::move(obs).value());
    }
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::unique_ptr<ObservationLogWriter>> ObservationLogWriter::Open(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (f == nullptr) return Status::IOError("observation log " + path + ": cannot open for appending");
  return std::unique_ptr<ObservationLogWriter>(new ObservationLogWriter(f, path));
}

ObservationLogWriter::~ObservationLogWriter() { std::fclose(file_); }

Status ObservationLogWriter::Append(const std::string& line) {
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fputc('\n', file_) == EOF ||
      std::fflush(file_) != 0) {
    return Status::IOError("observation log " + path_ + ": write failed");
  }
  return Status::Ok();
}

}  // namespace plumbline::feeds
