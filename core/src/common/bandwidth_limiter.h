// BandwidthLimiter: a transfer's speed limit (KB/s: a replication policy's
// speed, a proxy-cache project's proxy_speed_kb) as pauses between the
// pieces moved, so the average rate since the first byte stays at or below
// the limit.
#ifndef BERTH_COMMON_BANDWIDTH_LIMITER_H_
#define BERTH_COMMON_BANDWIDTH_LIMITER_H_

#include <cstddef>
#include <cstdint>
#include <functional>

namespace berth {

class BandwidthLimiter {
 public:
  // kb_per_s <= 0: unlimited.
  explicit BandwidthLimiter(int64_t kb_per_s) : bytes_per_s_(kb_per_s > 0 ? kb_per_s * 1024 : 0) {}
  bool limited() const { return bytes_per_s_ > 0; }
  // The most to move at once: a tenth of a second's worth when limited.
  size_t Piece(size_t cap) const;
  // Called after `n` more bytes moved: sleeps until the average is back
  // within the limit, in short steps that end early once `stopping` is true.
  void Took(size_t n, const std::function<bool()>& stopping = {});

 private:
  int64_t bytes_per_s_;
  int64_t start_ms_ = 0;
  int64_t moved_ = 0;
};

}  // namespace berth

#endif  // BERTH_COMMON_BANDWIDTH_LIMITER_H_
