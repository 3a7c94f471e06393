#include "plumbline/feeds/calendar.h"

#include <cctype>
#include <chrono>
#include <fstream>
#include <sstream>

#include <date/date.h>
#include <date/tz.h>
#include <toml++/toml.h>

#include "plumbline/clock.h"

namespace plumbline::feeds {
namespace {

std::string Where(const std::string& file, const toml::node& node, const std::string& key) {
  return "calendar " + file + ": line " + std::to_string(node.source().begin.line) + ", key '" + key + "'";
}

Result<int64_t> ParseDay(const std::string& text) {
  auto digits = [&](size_t pos, size_t n, int* out) {
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      v = v * 10 + (text[i] - '0');
    }
    *out = v;
    return true;
  };
  int y = 0, m = 0, d = 0;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' || !digits(0, 4, &y) || !digits(5, 2, &m) ||
      !digits(8, 2, &d)) {
    return Status::InvalidArgument("'" + text + "' is not a date YYYY-MM-DD");
  }
  const date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(m)}, date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return Status::InvalidArgument("'" + text + "' is not a real calendar day");
  return static_cast<int64_t>(date::sys_days{ymd}.time_since_epoch().count());
}

Result<int> ParseMinutes(const std::string& text) {
  if (text.size() != 5 || text[2] != ':' || !isdigit(text[0]) || !isdigit(text[1]) || !isdigit(text[3]) ||
      !isdigit(text[4])) {
    return Status::InvalidArgument("'" + text + "' is not a time HH:MM");
  }
  const int h = (text[0] - '0') * 10 + (text[1] - '0'), m = (text[3] - '0') * 10 + (text[4] - '0');
  if (h > 23 || m > 59) return Status::InvalidArgument("'" + text + "' is not a time HH:MM");
  return h * 60 + m;
}

int YearOf(int64_t days) {
  return static_cast<int>(date::year_month_day{date::sys_days{date::days{days}}}.year());
}

}  // namespace

Result<EquityCalendar> EquityCalendar::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("calendar " + path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

Result<EquityCalendar> EquityCalendar::Parse(std::string_view toml_text, const std::string& path) {
  toml::table root;
  try {
    root = toml::parse(toml_text, path);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << "calendar " << path << ": line " << e.source().begin.line << ": " << e.description();
    return Status::InvalidArgument(os.str());
  }
  EquityCalendar cal;
  cal.tz_name_ = "America/New_York";
  for (const auto& [k, v] : root) {
    const std::string key(k.str());
    const std::string where = Where(path, v, key);
    if (key == "time_zone") {
      if (!v.is_string()) return Status::InvalidArgument(where + ": expected a string");
      cal.tz_name_ = v.as_string()->get();
      continue;
    }
    int* minutes = key == "pre_market_open"          ? &cal.pre_open_
                   : key == "regular_open"           ? &cal.regular_open_
                   : key == "regular_close"          ? &cal.regular_close_
                   : key == "early_close"            ? &cal.early_close_
                   : key == "post_market_close"      ? &cal.post_close_
                   : key == "early_post_market_close" ? &cal.early_post_close_
                   : key == "overnight_open"         ? &cal.overnight_open_
                                                     : nullptr;
    if (minutes != nullptr) {
      if (!v.is_string()) return Status::InvalidArgument(where + ": expected a string HH:MM");
      Result<int> m = ParseMinutes(v.as_string()->get());
      if (!m.ok()) return Status::InvalidArgument(where + ": " + m.status().message());
      *minutes = *m;
      continue;
    }
    std::set<int64_t>* days = key == "holidays" ? &cal.holidays_ : key == "early_closes" ? &cal.early_closes_ : nullptr;
    if (days == nullptr) return Status::InvalidArgument(where + ": unknown key");
    if (!v.is_array()) return Status::InvalidArgument(where + ": expected an array of \"YYYY-MM-DD\" strings");
    const toml::array& arr = *v.as_array();
    for (size_t i = 0; i < arr.size(); ++i) {
      const toml::node& e = *arr.get(i);
      const std::string ew = Where(path, e, key + "[" + std::to_string(i) + "]");
      if (!e.is_string()) return Status::InvalidArgument(ew + ": expected a string \"YYYY-MM-DD\"");
      Result<int64_t> day = ParseDay(e.as_string()->get());
      if (!day.ok()) return Status::InvalidArgument(ew + ": " + day.status().message());
      if (!days->insert(*day).second) return Status::InvalidArgument(ew + ": listed twice");
      const int year = YearOf(*day);
      cal.first_year_ = cal.first_year_ == 0 ? year : std::min(cal.first_year_, year);
      cal.last_year_ = std::max(cal.last_year_, year);
    }
  }
  if (!(cal.pre_open_ <= cal.regular_open_ && cal.regular_open_ < cal.early_close_ &&
        cal.early_close_ <= cal.regular_close_ && cal.regular_close_ <= cal.post_close_ &&
        cal.early_close_ <= cal.early_post_close_ && cal.post_close_ <= cal.overnight_open_)) {
    return Status::InvalidArgument("calendar " + path +
                                   ": session times must satisfy pre_market_open <= regular_open < early_close "
                                   "<= regular_close <= post_market_close <= overnight_open");
  }
  for (int64_t d : cal.early_closes_) {
    if (cal.holidays_.count(d)) {
      return Status::InvalidArgument("calendar " + path + ": a day is both a holiday and an early close");
    }
  }
  try {
    cal.tz_ = date::locate_zone(cal.tz_name_);
  } catch (const std::exception& e) {
    return Status::InvalidArgument("calendar " + path + ": key 'time_zone': '" + cal.tz_name_ +
                                   "' is not in the system tz database: " + e.what());
  }
  return cal;
}

bool EquityCalendar::IsTradingDay(int64_t local_days) const {
  const date::weekday wd{date::sys_days{date::days{local_days}}};
  if (wd == date::Saturday || wd == date::Sunday) return false;
  return !holidays_.count(local_days);
}

Session EquityCalendar::SessionAt(int64_t unix_nanos) const {
  using namespace std::chrono;
  const date::sys_time<seconds> t{seconds{unix_nanos / kNanosPerSecond - (unix_nanos % kNanosPerSecond < 0)}};
  const auto local = tz_->to_local(t);
  const auto local_day = date::floor<date::days>(local);
  const int64_t day = local_day.time_since_epoch().count();
  const int minute = static_cast<int>(duration_cast<minutes>(local - local_day).count());
  if (minute >= overnight_open_) return IsTradingDay(day + 1) ? Session::kOvernight : Session::kClosed;
  if (!IsTradingDay(day)) return Session::kClosed;
  if (minute < pre_open_) return Session::kOvernight;
  if (minute < regular_open_) return Session::kPreMarket;
  const bool early = early_closes_.count(day) != 0;
  if (minute < (early ? early_close_ : regular_close_)) return Session::kRegular;
  if (minute < (early ? early_post_close_ : post_close_)) return Session::kPostMarket;
  return Session::kClosed;
}

}  // namespace plumbline::feeds
