// UpstreamRateLimiter: a proxy-cache project's proxy_speed_kb (Harbor's
// bandwidth limit towards the upstream, KB/s) as pauses between the pieces
// read from the upstream, so the average rate since the first byte stays at
// or below the limit.
#ifndef BERTH_PROXY_UPSTREAM_RATE_LIMITER_H_
#define BERTH_PROXY_UPSTREAM_RATE_LIMITER_H_

#include <cstddef>
#include <cstdint>
#include <functional>

namespace berth {

class UpstreamRateLimiter {
 public:
  // kb_per_s <= 0: unlimited.
  explicit UpstreamRateLimiter(int64_t kb_per_s) : bytes_per_s_(kb_per_s > 0 ? kb_per_s * 1024 : 0) {}
  bool limited() const { return bytes_per_s_ > 0; }
  // Called after `n` more bytes arrived: sleeps until the average is back
  // within the limit, in short steps that end early once `stopping` is true.
  void Took(size_t n, const std::function<bool()>& stopping = {});

 private:
  int64_t bytes_per_s_;
  int64_t start_ms_ = 0;
  int64_t received_ = 0;
};

}  // namespace berth

#endif  // BERTH_PROXY_UPSTREAM_RATE_LIMITER_H_
