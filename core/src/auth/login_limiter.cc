#include "auth/login_limiter.h"

#include <algorithm>

#include "common/strings.h"

namespace berth {

int64_t LoginLimiter::RetryAfterMs(const std::string& username, const std::string& address,
                                   int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t until = 0;
  if (auto it = users_.find(ToLower(username)); it != users_.end()) until = it->second.locked_until;
  if (auto it = addresses_.find(address); it != addresses_.end()) {
    until = std::max(until, it->second.locked_until);
  }
  return until > now ? until - now : 0;
}

void LoginLimiter::Bump(Counter& c, int max, int64_t now) {
  if (now - c.window_start > o_.window_ms) {
    c.window_start = now;
    c.failures = 0;
  }
  if (++c.failures >= max) {
    c.locked_until = now + o_.lockout_ms;
    c.failures = 0;
    c.window_start = now;
  }
}

void LoginLimiter::RecordFailure(const std::string& username, const std::string& address,
                                 int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  // Keep the maps bounded: drop idle entries when they grow large.
  if (users_.size() > 100000 || addresses_.size() > 100000) {
    for (auto* m : {&users_, &addresses_}) {
      for (auto it = m->begin(); it != m->end();) {
        bool idle = it->second.locked_until < now && now - it->second.window_start > o_.window_ms;
        it = idle ? m->erase(it) : std::next(it);
      }
    }
  }
  Bump(users_[ToLower(username)], o_.max_failures_per_user, now);
  Bump(addresses_[address], o_.max_failures_per_address, now);
}

void LoginLimiter::RecordSuccess(const std::string& username) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = users_.find(ToLower(username));
  if (it != users_.end() && it->second.locked_until == 0) users_.erase(it);
}

}  // namespace berth
