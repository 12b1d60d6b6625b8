// CronSchedule: Harbor's 6-field cron ("sec min hour day-of-month month
// day-of-week", as robfig/cron with seconds parses it), evaluated in UTC.
// Fields take *, ?, n, a-b, */s, a-b/s, lists, and JAN..DEC / SUN..SAT;
// @yearly, @monthly, @weekly, @daily, @midnight and @hourly are accepted too.
#ifndef BERTH_JOBS_CRON_H_
#define BERTH_JOBS_CRON_H_

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace berth {

class CronSchedule {
 public:
  // kInvalidArgument naming the field that is wrong.
  static StatusOr<CronSchedule> Parse(std::string_view spec);
  // The first firing time strictly after `after` (unix seconds); -1 when
  // none within the next five years (e.g. "0 0 0 30 2 *").
  int64_t Next(int64_t after_unix_s) const;
  const std::string& spec() const { return spec_; }

 private:
  std::string spec_;
  std::bitset<60> sec_, min_;
  std::bitset<24> hour_;
  std::bitset<32> dom_;   // 1..31
  std::bitset<13> month_; // 1..12
  std::bitset<7> dow_;    // 0 = Sunday
  bool dom_star_ = false, dow_star_ = false;
};

}  // namespace berth

#endif  // BERTH_JOBS_CRON_H_
