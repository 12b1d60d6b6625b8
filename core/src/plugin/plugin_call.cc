#include "plugin/plugin_call.h"

#include <time.h>

#include <array>
#include <cstdio>
#include <cstring>


namespace berth {

int64_t PluginClockNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

namespace {

// The plugin sees its deadline on the wall clock; a coarse read (a few ns,
// ~4 ms granularity) is precise enough for timeouts of seconds.
int64_t CoarseUnixNanos() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

int32_t IsCancelledThunk(void* host_ctx) {
  return static_cast<const CallContext*>(host_ctx)->cancelled() ? 1 : 0;
}

// Every (kind, provider, slot) ever called, in static storage: open
// addressing on the identities of the provider and the slot name (string
// literals), so the per-call lookup is a hash and two compares.
struct StatsEntry {
  std::atomic<const berth_provider*> provider{nullptr};
  std::atomic<const char*> op{nullptr};
  const char* kind = nullptr;
  PluginCallStats stats;
};
constexpr size_t kStatsSlots = 1024;
std::array<StatsEntry, kStatsSlots> g_stats;
std::mutex g_stats_insert;
PluginCallStats g_overflow;

PluginCallStats& StatsFor(const char* kind, const berth_provider* p, const char* op) {
  size_t h = (reinterpret_cast<uintptr_t>(p) >> 4) * 31 + (reinterpret_cast<uintptr_t>(op) >> 2);
  for (size_t i = 0; i < kStatsSlots; ++i) {
    StatsEntry& e = g_stats[(h + i) % kStatsSlots];
    const char* eop = e.op.load(std::memory_order_acquire);
    if (eop == nullptr) {
      std::lock_guard<std::mutex> lock(g_stats_insert);
      if (e.op.load(std::memory_order_relaxed) == nullptr) {
        e.kind = kind;
        e.provider.store(p, std::memory_order_relaxed);
        e.op.store(op, std::memory_order_release);
        return e.stats;
      }
      eop = e.op.load(std::memory_order_relaxed);
    }
    if (eop == op && e.provider.load(std::memory_order_relaxed) == p) return e.stats;
  }
  return g_overflow;
}

void RenderStats(std::string* out) {
  struct Family {
    const char* name;
    const char* help;
    const char* type;
    std::atomic<uint64_t> PluginCallStats::*field;
    double scale;
  };
  static const Family kFamilies[] = {
      {"berth_host_plugin_calls_total", "Calls into plugins by kind, provider and slot.", "counter",
       &PluginCallStats::calls, 1},
      {"berth_host_plugin_call_failures_total",
       "Plugin calls that failed (not counting answers such as not found).", "counter",
       &PluginCallStats::failures, 1},
      {"berth_host_plugin_call_seconds_total", "Time spent in plugin calls.", "counter",
       &PluginCallStats::nanos, 1e-9},
  };
  for (const Family& f : kFamilies) {
    *out += std::string("# HELP ") + f.name + " " + f.help + "\n# TYPE " + f.name + " " + f.type +
            "\n";
    for (const StatsEntry& e : g_stats) {
      const char* op = e.op.load(std::memory_order_acquire);
      if (op == nullptr) continue;
      double v = static_cast<double>((e.stats.*f.field).load(std::memory_order_relaxed)) * f.scale;
      char num[64];
      std::snprintf(num, sizeof num, "%.9g", v);
      *out += std::string(f.name) + "{kind=\"" + e.kind + "\",provider=\"" +
              e.provider.load(std::memory_order_relaxed)->name + "\",slot=\"" + op + "\"} " +
              num + "\n";
    }
  }
}

}  // namespace

PluginCaller::PluginCaller(const char* kind, const berth_provider* provider, Logger* log,
                           int64_t call_timeout_ms)
    : kind_(kind),
      provider_(provider),
      log_(log),
      timeout_ns_(call_timeout_ms > 0 ? call_timeout_ms * 1000000LL : 0),
      serialized_(provider->threading == BERTH_THREADING_SERIALIZED) {}

std::string PluginCaller::Who() const {
  return std::string(kind_) + " plugin '" + provider_->name + "'";
}

berth_call_ctx PluginCaller::MakeCall(const CallContext& ctx, int64_t timeout_ms) const {
  berth_call_ctx c;
  std::memset(&c, 0, sizeof c);
  c.struct_size = sizeof c;
  int64_t timeout_ns = timeout_ms >= 0 ? timeout_ms * 1000000LL : timeout_ns_;
  if (timeout_ns > 0) c.deadline_unix_ns = CoarseUnixNanos() + timeout_ns;
  if (ctx.deadline_unix_ns > 0 &&
      (c.deadline_unix_ns == 0 || ctx.deadline_unix_ns < c.deadline_unix_ns)) {
    c.deadline_unix_ns = ctx.deadline_unix_ns;
  }
  c.request_id = {ctx.request_id.data(), ctx.request_id.size()};
  c.host_ctx = const_cast<CallContext*>(&ctx);
  c.is_cancelled = &IsCancelledThunk;
  return c;
}

PluginCaller::Started PluginCaller::Start(const CallContext& ctx) const {
  return {MakeCall(ctx), PluginClockNanos()};
}

Status PluginCaller::Finish(const char* op, const CallContext& ctx, const Started& s,
                            berth_status rc, const std::string& error,
                            const PluginCallOptions& opts) {
  return Outcome(op, ctx, s.call, rc, error, PluginClockNanos() - s.start_ns, opts);
}

Status PluginCaller::Outcome(const char* op, const CallContext& ctx, const berth_call_ctx& call,
                             berth_status rc, const std::string& error, int64_t elapsed_ns,
                             const PluginCallOptions& opts) {
  PluginCallStats& stats = StatsFor(kind_, provider_, op);
  stats.calls.fetch_add(1, std::memory_order_relaxed);
  stats.nanos.fetch_add(static_cast<uint64_t>(elapsed_ns > 0 ? elapsed_ns : 0),
                        std::memory_order_relaxed);
  Status st;
  // The plugin was given min(own timeout, caller's deadline); a success past
  // it no longer counts. A failure keeps the plugin's own reason (its
  // "timed out" says more than ours).
  bool late = rc == BERTH_OK &&
              ((timeout_ns_ > 0 && elapsed_ns > timeout_ns_) ||
               (ctx.deadline_unix_ns > 0 && call.deadline_unix_ns == ctx.deadline_unix_ns &&
                CoarseUnixNanos() > ctx.deadline_unix_ns));
  if (late) {
    st = Status(Code::kDeadlineExceeded, Who() + " missed the deadline of " + op);
  } else if (rc == BERTH_OK) {
    return st;
  } else {
    st = FromPluginStatus(rc, Who() + " " + op + ": " +
                                  (error.empty() ? PluginStatusName(rc) : error));
    if (rc == opts.quiet_1 || (opts.quiet_2 != BERTH_OK && rc == opts.quiet_2)) return st;
  }
  stats.failures.fetch_add(1, std::memory_order_relaxed);
  if (log_ != nullptr) {
    log_->Warn(std::string(kind_) + " plugin call failed", {{"kind", kind_},
                                      {"plugin", provider_->name},
                                      {"operation", op},
                                      {"request_id", ctx.request_id},
                                      {"status", PluginStatusName(rc)},
                                      {"error", st.message()}});
  }
  return st;
}

void PluginCaller::AppendMetrics(std::string* out) { RenderStats(out); }

}  // namespace berth
