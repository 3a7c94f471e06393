#include "plumbline/feeds/calendar.h"

#include <gtest/gtest.h>

#include <chrono>

#include <date/date.h>

#include "plumbline/clock.h"

namespace plumbline::feeds {
namespace {

// UTC instant from a UTC date and time.
int64_t Utc(int y, unsigned m, unsigned d, int hh, int mm) {
  const auto day = date::sys_days{date::year{y} / date::month{m} / date::day{d}};
  return (day.time_since_epoch().count() * 86400LL + hh * 3600LL + mm * 60LL) * kNanosPerSecond;
}

class NyseCalendar : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cal = EquityCalendar::LoadFile(PLUMBLINE_NYSE_CALENDAR);
    ASSERT_TRUE(cal.ok()) << cal.status().ToString();
    cal_ = std::make_unique<EquityCalendar>(std::move(cal).value());
  }
  std::unique_ptr<EquityCalendar> cal_;
};

TEST_F(NyseCalendar, SessionsOnAnOrdinaryDayInWinterAndSummer) {
  EXPECT_EQ(cal_->first_year(), 2025);
  EXPECT_EQ(cal_->last_year(), 2027);
  // Tuesday 2026-01-13, EST (UTC-5).
  EXPECT_EQ(cal_->SessionAt(Utc(2026, 1, 13, 8, 59)), Session::kOvernight);    // 03:59
  EXPECT_EQ(cal_->SessionAt(Utc(2026, 1, 13, 9, 0)), Session::kPreMarket);     // 04:00
  EXPECT_EQ(cal_->SessionAt(Utc(2026, 1, 13, 14, 29)), Session::kPreMarket);   // 09:29
  EXPECT_EQ(cal_->SessionAt(Utc(2026, 1, 13, 14, 30)), Session::kRegular);     // 09:30
  EXPECT_EQ(cal_->SessionAt(Utc(2026, 1, 13, 20, 59)), Session::kRegular);     // 15:59
  EXPECT_EQ(cal_->SessionAt(Utc(2026, 1, 13, 21, 0)), Session::kPostMarket);   // 16:00
  EXPECT_EQ(cal_->SessionAt(Utc(2026, 1, 14, 1, 0)), Session::kOvernight);     // 20:00
  // Tuesday 2026-07-14, EDT (UTC-4): the same local times, one hour earlier in UTC.
  EXPECT_EQ(cal_->SessionAt(Utc(2026, 7, 14, 13, 30)), Session::kRegular);     // 09:30
  EXPECT_EQ(cal_->SessionAt(Utc(2026, 7, 14, 13, 29)), Session::kPreMarket);
  EXPECT_EQ(cal_->SessionAt(Utc(2026, 7, 14, 20, 0)), Session::kPostMarket);   // 16:00
}

TEST_F(NyseCalendar, WeekendsHolidaysAndEarlyCloses) {
  EXPECT_EQ(cal_->SessionAt(Utc(2026, 1, 16, 22, 0)), Session::kPostMarket);  // Fri 17:00
  EXPECT_EQ(cal_->SessionAt(Utc(2026, 1, 17, 1, 0)), Session::kClosed);       // Fri 20:00
  EXPECT_EQ(cal_->SessionAt(Utc(2026, 1, 17, 17, 0)), Session::kClosed);      // Saturday
  // Monday 2026-01-19 is MLK day: Sunday night and Monday are closed, Monday 20:00 opens the
  // overnight session for Tuesday.
  EXPECT_EQ(cal_->SessionAt(Utc(2026, 1, 19, 1, 0)), Session::kClosed);       // Sun 20:00
  EXPECT_EQ(cal_->SessionAt(Utc(2026, 1, 19, 15, 0)), Session::kClosed);      // Mon 10:00
  EXPECT_EQ(cal_->SessionAt(Utc(2026, 1, 20, 1, 0)), Session::kOvernight);    // Mon 20:00
  // An ordinary Sunday night is overnight for Monday.
  EXPECT_EQ(cal_->SessionAt(Utc(2026, 1, 26, 1, 0)), Session::kOvernight);    // Sun 2026-01-25 20:00
  // 2026-11-27: early close 13:00, post-market to 17:00, then closed.
  EXPECT_EQ(cal_->SessionAt(Utc(2026, 11, 27, 17, 59)), Session::kRegular);   // 12:59 EST
  EXPECT_EQ(cal_->SessionAt(Utc(2026, 11, 27, 18, 0)), Session::kPostMarket); // 13:00
  EXPECT_EQ(cal_->SessionAt(Utc(2026, 11, 27, 22, 0)), Session::kClosed);     // 17:00
  EXPECT_EQ(cal_->SessionAt(Utc(2026, 12, 25, 15, 0)), Session::kClosed);     // Christmas
}

TEST_F(NyseCalendar, DaylightSavingSwitchFollowsTheTzDatabase) {
  // 2026-03-08 clocks go forward; Monday 03-09 opens 09:30 EDT = 13:30 UTC.
  EXPECT_EQ(cal_->SessionAt(Utc(2026, 3, 9, 13, 30)), Session::kRegular);
  EXPECT_EQ(cal_->SessionAt(Utc(2026, 3, 6, 14, 29)), Session::kPreMarket);  // Fri before: EST
}

TEST(CalendarFile, MalformedDateNamesFileLineAndKey) {
  const std::string text =
      "time_zone = \"America/New_York\"\n"
      "holidays = [\n"
      "  \"2026-01-01\",\n"
      "  \"2026-13-01\",\n"
      "]\n";
  auto cal = EquityCalendar::Parse(text, "nyse.toml");
  ASSERT_FALSE(cal.ok());
  EXPECT_EQ(cal.status().message(),
            "calendar nyse.toml: line 4, key 'holidays[1]': '2026-13-01' is not a real calendar day");
  auto cal2 = EquityCalendar::Parse("early_closes = [\"2026/11/27\"]\n", "x.toml");
  ASSERT_FALSE(cal2.ok());
  EXPECT_EQ(cal2.status().message(),
            "calendar x.toml: line 1, key 'early_closes[0]': '2026/11/27' is not a date YYYY-MM-DD");
  auto cal3 = EquityCalendar::Parse("regular_open = \"9:30\"\n", "x.toml");
  ASSERT_FALSE(cal3.ok());
  EXPECT_NE(cal3.status().message().find("key 'regular_open': '9:30' is not a time HH:MM"), std::string::npos);
  auto cal4 = EquityCalendar::Parse("time_zone = \"Mars/Olympus\"\n", "x.toml");
  ASSERT_FALSE(cal4.ok());
  EXPECT_NE(cal4.status().message().find("key 'time_zone': 'Mars/Olympus'"), std::string::npos);
  auto cal5 = EquityCalendar::Parse("holiday = [\"2026-01-01\"]\n", "x.toml");
  ASSERT_FALSE(cal5.ok());
  EXPECT_NE(cal5.status().message().find("key 'holiday': unknown key"), std::string::npos);
}

}  // namespace
}  // namespace plumbline::feeds
