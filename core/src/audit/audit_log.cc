#include "audit/audit_log.h"

#include <chrono>

#include "common/clock.h"

namespace berth {

AuditLog::AuditLog(AuditStore& store, Logger& log) : store_(store), log_(log) {}

AuditLog::~AuditLog() { Stop(); }

void AuditLog::Start() { thread_ = std::thread([this] { Run(); }); }

void AuditLog::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AuditLog::Record(AuditRecord r) {
  if (r.op_time == 0) r.op_time = NowUnixMillis();
  std::lock_guard<std::mutex> lock(mu_);
  if (pending_.size() >= 100000) {
    log_.Error("audit log backlog full; entry dropped",
               {{"operation", r.operation}, {"resource", r.resource}});
    return;
  }
  pending_.push_back(std::move(r));
  ++recorded_;
  if (pending_.size() >= 256) cv_.notify_all();
}

void AuditLog::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  uint64_t target = recorded_;
  flush_requested_ = true;
  cv_.notify_all();
  flushed_.wait_for(lock, std::chrono::seconds(10), [&] { return written_ >= target || !thread_.joinable(); });
}

void AuditLog::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    // Batch: write when a batch is full, a flush is asked for, or after
    // 200 ms; under load that is one transaction per few hundred entries.
    cv_.wait_for(lock, std::chrono::milliseconds(200),
                 [&] { return stopping_ || flush_requested_ || pending_.size() >= 256; });
    flush_requested_ = false;
    std::vector<AuditRecord> batch;
    batch.swap(pending_);
    bool stop = stopping_;
    std::shared_ptr<AuditForwarder> forwarder = forwarder_;
    bool skip_database = skip_database_;
    lock.unlock();
    if (!batch.empty() && forwarder != nullptr) forwarder->Send(batch);
    if (!batch.empty() && !skip_database) {
      Status s = store_.AddBatch(batch);
      if (!s.ok()) log_.Error("audit log write failed", {{"error", s.message()}, {"entries", static_cast<int64_t>(batch.size())}});
    }
    lock.lock();
    written_ += batch.size();
    flushed_.notify_all();
    if (stop && pending_.empty()) return;
  }
}

}  // namespace berth
