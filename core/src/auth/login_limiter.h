// LoginLimiter: slows down password guessing. Failures are counted per
// username and per client address; past a threshold within a window, further
// attempts are refused outright for a while, whether or not the user exists.
#ifndef BERTH_AUTH_LOGIN_LIMITER_H_
#define BERTH_AUTH_LOGIN_LIMITER_H_

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace berth {

class LoginLimiter {
 public:
  struct Options {
    int max_failures_per_user = 5;
    int max_failures_per_address = 30;
    int64_t window_ms = 5 * 60 * 1000;
    int64_t lockout_ms = 5 * 60 * 1000;
  };
  LoginLimiter() : LoginLimiter(Options()) {}
  explicit LoginLimiter(Options o) : o_(o) {}

  // 0 when an attempt may proceed, otherwise the milliseconds to wait.
  int64_t RetryAfterMs(const std::string& username, const std::string& address, int64_t now_ms);
  void RecordFailure(const std::string& username, const std::string& address, int64_t now_ms);
  void RecordSuccess(const std::string& username);

 private:
  struct Counter {
    int failures = 0;
    int64_t window_start = 0;
    int64_t locked_until = 0;
  };
  void Bump(Counter& c, int max, int64_t now);
  Options o_;
  std::mutex mu_;
  std::unordered_map<std::string, Counter> users_, addresses_;
};

}  // namespace berth

#endif  // BERTH_AUTH_LOGIN_LIMITER_H_
