#include "jobs/task_log.h"

#include <ctime>

#include "common/clock.h"

namespace berth {

void TaskLog::Add(const char* level, const std::string& m) {
  time_t s = static_cast<time_t>(NowUnixMillis() / 1000);
  struct tm tm;
  gmtime_r(&s, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  text_ += std::string(buf) + " [" + level + "] " + m + "\n";
}

}  // namespace berth
