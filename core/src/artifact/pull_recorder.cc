#include "artifact/pull_recorder.h"

#include <algorithm>
#include <vector>

namespace berth {

void PullRecorder::Record(const std::string& repository, const std::string& digest,
                          const std::string& tag, int64_t time_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  PullRecord& p = pending_[Key{repository, digest, tag}];
  if (p.count == 0) {
    p.repository = repository;
    p.digest = digest;
    p.tag = tag;
  }
  p.time = std::max(p.time, time_ms);
  ++p.count;
}

Status PullRecorder::Flush() {
  std::vector<PullRecord> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [k, p] : pending_) batch.push_back(std::move(p));
    pending_.clear();
  }
  Status s = store_.RecordPulls(batch);
  if (!s.ok()) {
    // Put them back: the next interval tries again.
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& p : batch) {
      PullRecord& q = pending_[Key{p.repository, p.digest, p.tag}];
      if (q.count == 0) {
        q = std::move(p);
      } else {
        q.time = std::max(q.time, p.time);
        q.count += p.count;
      }
    }
  }
  return s;
}

void PullRecorder::Start() {
  writer_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_));
      if (stopping_ || pending_.empty()) continue;
      lock.unlock();
      Status s = Flush();
      if (!s.ok()) log_.Warn("recording pulls failed; will retry", {{"error", s.ToString()}});
      lock.lock();
    }
  });
}

void PullRecorder::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  Status s = Flush();
  if (!s.ok()) log_.Warn("recording pulls at shutdown failed", {{"error", s.ToString()}});
}

}  // namespace berth
