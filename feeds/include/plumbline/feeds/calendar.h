// US equity trading calendar: which session a UTC instant falls in.
//
// Loaded from an operator-maintained TOML file (deploy/calendar/nyse.toml; format in
// docs/oracle.md). Time zones come from the system tz database through Howard Hinnant's date
// library (tz.h with USE_OS_TZDB), so daylight-saving changes follow the OS tzdata package.
//
// Sessions (local exchange time; a "trading day" is a weekday that is not a listed holiday):
//   overnight   [overnight_open on the previous calendar day, pre_market_open) when the day is a
//               trading day (Sunday 20:00 -> Monday 04:00 is overnight for Monday)
//   pre_market  [pre_market_open, regular_open)
//   regular     [regular_open, regular_close), regular_close = early_close on early-close days
//   post_market [regular_close, post_market_close), post_market_close = early_post_market_close
//               on early-close days
//   closed      everything else: weekends, holidays, the gap after an early close.
// Defaults are the NYSE's: 04:00, 09:30, 16:00 (13:00 early), 20:00 (17:00 early), 20:00.
//
// Errors: a malformed file, a date that is not YYYY-MM-DD or not a real day, a time that is not
// HH:MM, an unknown time zone or key: InvalidArgument naming the file, the line and the key.
//
// Thread safety: immutable after loading; SessionAt may be called from any thread.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "plumbline/market.h"
#include "plumbline/status.h"

namespace date {
class time_zone;
}

namespace plumbline::feeds {

class EquityCalendar {
 public:
  static Result<EquityCalendar> LoadFile(const std::string& path);
  // `path` names the text in messages.
  static Result<EquityCalendar> Parse(std::string_view toml_text, const std::string& path);

  Session SessionAt(int64_t unix_nanos) const;
  // True if the local calendar day (days since 1970-01-01 in exchange time) is a trading day.
  bool IsTradingDay(int64_t local_days) const;

  const std::string& time_zone_name() const { return tz_name_; }
  int first_year() const { return first_year_; }  // years the holiday list covers
  int last_year() const { return last_year_; }

 private:
  const date::time_zone* tz_ = nullptr;
  std::string tz_name_;
  int first_year_ = 0, last_year_ = 0;
  // Minutes after local midnight.
  int pre_open_ = 4 * 60, regular_open_ = 9 * 60 + 30, regular_close_ = 16 * 60;
  int early_close_ = 13 * 60, post_close_ = 20 * 60, early_post_close_ = 17 * 60;
  int overnight_open_ = 20 * 60;
  std::set<int64_t> holidays_;      // local days
  std::set<int64_t> early_closes_;  // local days
};

}  // namespace plumbline::feeds
