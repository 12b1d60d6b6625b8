#include "common/call_context.h"

namespace berth {

namespace {
thread_local const CallContext* t_current = nullptr;
}  // namespace

bool Cancellation::cancelled() const {
  if (cancelled_.load(std::memory_order_relaxed)) return true;
  if (probe_ && probe_()) {
    cancelled_.store(true, std::memory_order_relaxed);
    return true;
  }
  return false;
}

CallContext CallContext::ForJob(int64_t job_id) {
  CallContext c;
  c.request_id = "job-" + std::to_string(job_id);
  c.cancellation = std::make_shared<Cancellation>();
  return c;
}

const CallContext& CallContext::Current() {
  static const CallContext kNone;
  return t_current != nullptr ? *t_current : kNone;
}

ScopedCallContext::ScopedCallContext(const CallContext& ctx) : previous_(t_current) {
  t_current = &ctx;
}

ScopedCallContext::~ScopedCallContext() { t_current = previous_; }

}  // namespace berth
