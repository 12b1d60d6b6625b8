#include "jobs/cron.h"

#include <gtest/gtest.h>

#include <ctime>

namespace berth {
namespace {

// Unix seconds of a UTC calendar time.
int64_t Utc(int y, int mo, int d, int h, int mi, int s) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<int64_t>(timegm(&tm));
}

int64_t NextOf(const char* spec, int64_t after) {
  auto c = CronSchedule::Parse(spec);
  EXPECT_TRUE(c.ok()) << spec << ": " << c.status().ToString();
  return c.ok() ? c->Next(after) : -2;
}

TEST(CronTest, HarborPresets) {
  int64_t t = Utc(2026, 12, 4, 13, 27, 10);  // a Friday
  EXPECT_EQ(NextOf("0 0 * * * *", t), Utc(2026, 12, 4, 14, 0, 0));   // Hourly
  EXPECT_EQ(NextOf("0 0 0 * * *", t), Utc(2026, 12, 5, 0, 0, 0));    // Daily
  EXPECT_EQ(NextOf("0 0 0 * * 0", t), Utc(2026, 12, 6, 0, 0, 0));    // Weekly: Sunday
  EXPECT_EQ(NextOf("@daily", t), Utc(2026, 12, 5, 0, 0, 0));
  EXPECT_EQ(NextOf("@hourly", t), Utc(2026, 12, 4, 14, 0, 0));
}

TEST(CronTest, StepsRangesListsAndNames) {
  int64_t t = Utc(2026, 12, 4, 13, 27, 10);
  EXPECT_EQ(NextOf("*/15 * * * * *", t), Utc(2026, 12, 4, 13, 27, 15));
  EXPECT_EQ(NextOf("*/2 * * * * *", t), Utc(2026, 12, 4, 13, 27, 12));
  EXPECT_EQ(NextOf("0 30 9-17/4 * * MON-FRI", t), Utc(2026, 12, 4, 13, 30, 0));  // 9, 13, 17
  EXPECT_EQ(NextOf("0 30 9-17/4 * * MON-FRI", Utc(2026, 12, 4, 17, 30, 0)), Utc(2026, 12, 7, 9, 30, 0));
  EXPECT_EQ(NextOf("0 0 12 1,15 * *", t), Utc(2026, 12, 15, 12, 0, 0));
  EXPECT_EQ(NextOf("0 0 0 1 JAN *", t), Utc(2027, 1, 1, 0, 0, 0));
  EXPECT_EQ(NextOf("0 0 0 29 2 *", t), Utc(2028, 2, 29, 0, 0, 0));  // leap day
  EXPECT_EQ(NextOf("5 4 3 * * ?", t), Utc(2026, 12, 5, 3, 4, 5));
  EXPECT_EQ(NextOf("0 0 0 * * 7", t), Utc(2026, 12, 6, 0, 0, 0));   // 7 is Sunday too
}

TEST(CronTest, DayOfMonthOrDayOfWeekWhenBothAreRestricted) {
  // robfig/cron: with both restricted a day matches either.
  int64_t t = Utc(2026, 12, 4, 13, 0, 0);  // Friday the 4th
  EXPECT_EQ(NextOf("0 0 0 10 * SAT", t), Utc(2026, 12, 5, 0, 0, 0));
  EXPECT_EQ(NextOf("0 0 0 5 * MON", t), Utc(2026, 12, 5, 0, 0, 0));
}

TEST(CronTest, StrictlyAfterAndRollover) {
  int64_t t = Utc(2026, 12, 31, 23, 59, 59);
  EXPECT_EQ(NextOf("0 0 0 * * *", t), Utc(2027, 1, 1, 0, 0, 0));
  EXPECT_EQ(NextOf("59 59 23 31 12 *", t), Utc(2027, 12, 31, 23, 59, 59));
}

TEST(CronTest, NeverFiringIsMinusOne) { EXPECT_EQ(NextOf("0 0 0 30 2 *", 0), -1); }

TEST(CronTest, InvalidSpecsNameTheField) {
  struct Case {
    const char* spec;
    const char* needle;
  } cases[] = {{"", "empty"},
               {"* * * * *", "6 fields"},
               {"* * * * * * *", "6 fields"},
               {"60 * * * * *", "second"},
               {"* 60 * * * *", "minute"},
               {"* * 24 * * *", "hour"},
               {"* * * 0 * *", "day-of-month"},
               {"* * * * 13 *", "month"},
               {"* * * * * 8", "day-of-week"},
               {"*/0 * * * * *", "second"},
               {"5-1 * * * * *", "second"},
               {"a * * * * *", "second"},
               {"1,,2 * * * * *", "second"},
               {"@often", "descriptor"}};
  for (const auto& c : cases) {
    auto r = CronSchedule::Parse(c.spec);
    ASSERT_FALSE(r.ok()) << c.spec;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << c.spec;
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos)
        << c.spec << " -> " << r.status().message();
  }
}

}  // namespace
}  // namespace berth
