#include "common/bandwidth_limiter.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace berth {

namespace {

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

size_t BandwidthLimiter::Piece(size_t cap) const {
  if (bytes_per_s_ <= 0) return cap;
  return std::min(cap, static_cast<size_t>(std::max<int64_t>(4096, bytes_per_s_ / 10)));
}

void BandwidthLimiter::Took(size_t n, const std::function<bool()>& stopping) {
  if (bytes_per_s_ <= 0) return;
  if (start_ms_ == 0) start_ms_ = SteadyMs();
  moved_ += static_cast<int64_t>(n);
  int64_t due_ms = start_ms_ + moved_ * 1000 / bytes_per_s_;
  for (int64_t now = SteadyMs(); now < due_ms; now = SteadyMs()) {
    if (stopping && stopping()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(due_ms - now, 100)));
  }
}

}  // namespace berth
