// CallContext: who a piece of work is for, how long it may take and whether
// anyone still waits for it. Every plugin call carries one (as the ABI's
// berth_call_ctx): the request id for log correlation, a deadline, and a
// cancellation flag a disconnecting client sets.
//
// The HTTP layer makes one per request and the job service one per job
// (the job id as request id), and each installs it for its thread with
// ScopedCallContext. Storage readers and writers keep the context they were
// opened under, so a stream that outlives its handler still reports to the
// right request. Code between the handler and the plugin (controllers,
// BlobStore) does not pass it around: it reaches the plugin adapters
// through CallContext::Current().
#ifndef BERTH_COMMON_CALL_CONTEXT_H_
#define BERTH_COMMON_CALL_CONTEXT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace berth {

// Shared by a context and its copies: once set it stays set.
class Cancellation {
 public:
  Cancellation() = default;
  // `probe` (optional) is asked when the flag is not yet set, e.g. whether
  // the client's connection has closed; a true answer sets the flag.
  explicit Cancellation(std::function<bool()> probe) : probe_(std::move(probe)) {}
  void Cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const;

 private:
  mutable std::atomic<bool> cancelled_{false};
  std::function<bool()> probe_;
};

struct CallContext {
  std::string request_id;        // request id, or "job-<id>" for jobs; may be empty
  int64_t deadline_unix_ns = 0;  // 0: none beyond each call's own timeout
  std::shared_ptr<Cancellation> cancellation;  // may be null: never cancelled

  bool cancelled() const { return cancellation != nullptr && cancellation->cancelled(); }

  // A context for a job run: request id "job-<id>", cancellable by the caller.
  static CallContext ForJob(int64_t job_id);
  // The context installed on this thread, or an empty one.
  static const CallContext& Current();
};

// Installs a context as this thread's Current() for the scope's lifetime.
class ScopedCallContext {
 public:
  explicit ScopedCallContext(const CallContext& ctx);
  ~ScopedCallContext();
  ScopedCallContext(const ScopedCallContext&) = delete;
  ScopedCallContext& operator=(const ScopedCallContext&) = delete;

 private:
  const CallContext* previous_;
};

}  // namespace berth

#endif  // BERTH_COMMON_CALL_CONTEXT_H_
