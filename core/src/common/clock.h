// Wall-clock helpers.
#ifndef BERTH_COMMON_CLOCK_H_
#define BERTH_COMMON_CLOCK_H_

#include <cstdint>
#include <string>

namespace berth {

int64_t NowUnixMillis();
int64_t NowUnixNanos();
// "2024-01-02T03:04:05.678Z" (UTC, millisecond precision).
std::string FormatRfc3339Millis(int64_t unix_millis);
// "2024-01-02T03:04:05Z"
std::string FormatRfc3339(int64_t unix_seconds);

}  // namespace berth

#endif  // BERTH_COMMON_CLOCK_H_
