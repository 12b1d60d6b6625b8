// PluginCaller: the one path every call from berthd into a plugin takes.
//
// Each adapter (storage, auth, scanner, replication, notifier, preheat) owns
// one per provider instance and runs every vtable slot through Call():
//  - the berth_call_ctx: the deadline (the adapter's per-call timeout, or the
//    caller's own deadline when that is sooner), the request id and the
//    cancellation flag of the CallContext the work runs under;
//  - that context installed for the thread, so lines the plugin logs through
//    the host's log service carry the request id;
//  - the per-instance lock of BERTH_THREADING_SERIALIZED providers;
//  - the error sink, a deadline check after the call, the mapping of
//    berth_status to Status and one log line for a failure;
//  - per kind/provider/slot counters on /metrics (calls, failures, seconds).
#ifndef BERTH_PLUGIN_PLUGIN_CALL_H_
#define BERTH_PLUGIN_PLUGIN_CALL_H_

#include <berth/plugin.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "common/call_context.h"
#include "common/logger.h"
#include "common/status.h"
#include "plugin/plugin_status.h"

namespace berth {

// Counters for one (kind, provider, slot), kept until the process exits.
struct PluginCallStats {
  std::atomic<uint64_t> calls{0};
  std::atomic<uint64_t> failures{0};
  std::atomic<uint64_t> nanos{0};
};

// How one slot's failures are reported.
struct PluginCallOptions {
  // Statuses that are an answer, not a failure: not logged, not counted.
  berth_status quiet_1 = BERTH_E_NOT_FOUND;
  berth_status quiet_2 = BERTH_OK;
  // Bounds the error message the plugin may write.
  size_t max_error_bytes = 4096;
};

class PluginCaller {
 public:
  // `kind` labels logs and metrics ("storage", "auth", ...). A timeout of 0
  // leaves only the caller's deadline.
  PluginCaller(const char* kind, const berth_provider* provider, Logger* log,
               int64_t call_timeout_ms);

  const berth_provider* provider() const { return provider_; }
  const char* kind() const { return kind_; }
  Logger* log() const { return log_; }

  // Runs fn(const berth_call_ctx* call, berth_sink* err) -> berth_status.
  template <class Fn>
  Status Call(const char* op, const CallContext& ctx, Fn&& fn,
              const PluginCallOptions& opts = PluginCallOptions()) {
    StringSink err(opts.max_error_bytes);
    Started s = Start(ctx);
    berth_status rc;
    {
      ScopedCallContext scope(ctx);
      auto lock = Lock();
      rc = fn(static_cast<const berth_call_ctx*>(&s.call), err.get());
    }
    return Finish(op, ctx, s, rc, err.str(), opts);
  }

  // For slots outside Call(): the per-instance lock of SERIALIZED providers.
  std::unique_lock<std::mutex> Lock() {
    return serialized_ ? std::unique_lock<std::mutex>(mu_) : std::unique_lock<std::mutex>();
  }
  // The call context and the Status mapping of Call(), for adapters that
  // must run the plugin elsewhere (on a thread they can abandon).
  berth_call_ctx MakeCall(const CallContext& ctx, int64_t timeout_ms = -1) const;
  Status Outcome(const char* op, const CallContext& ctx, const berth_call_ctx& call,
                 berth_status rc, const std::string& error, int64_t elapsed_ns,
                 const PluginCallOptions& opts = PluginCallOptions());
  std::string Who() const;

  // Appends every caller's counters (process-wide) as Prometheus text.
  static void AppendMetrics(std::string* out);

 private:
  struct Started {
    berth_call_ctx call;
    int64_t start_ns;
  };
  Started Start(const CallContext& ctx) const;
  Status Finish(const char* op, const CallContext& ctx, const Started& s, berth_status rc,
                const std::string& error, const PluginCallOptions& opts);

  const char* kind_;
  const berth_provider* provider_;
  Logger* log_;
  int64_t timeout_ns_;
  bool serialized_;
  std::mutex mu_;
};

// A monotonic clock for call latency and deadlines (vDSO, no syscall).
int64_t PluginClockNanos();

}  // namespace berth

#endif  // BERTH_PLUGIN_PLUGIN_CALL_H_
