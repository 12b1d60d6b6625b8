#include "plugin/plugin_scanner.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/call_context.h"
#include "common/clock.h"
#include "plugin/plugin_status.h"

namespace berth {

namespace {

berth_str Str(const std::string& s) { return {s.data(), s.size()}; }

// One call's state, shared by the caller and the thread running it: inputs
// are copied in, so an abandoned call never reads freed memory.
struct CallState {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::atomic<bool> cancelled{false};
  berth_status rc = BERTH_E_INTERNAL;
  StringSink out{PluginScanner::kMaxReportBytes};
  StringSink err{4096};
  int64_t retry_after = 0;
  ScanSubmission submission;
  std::string scan_id, mime_type;
  CallContext ctx;  // a copy: the call may outlive its caller
  berth_call_ctx call{};

  // Given up by RunCall, or the request/job it serves was cancelled.
  static int32_t IsCancelled(void* p) {
    auto* st = static_cast<CallState*>(p);
    return st->cancelled.load() || st->ctx.cancelled() ? 1 : 0;
  }
};

}  // namespace

struct PluginScanner::Shared {
  const berth_provider* provider;
  const berth_scanner_vtable* vt;
  void* self;
  std::mutex serial;  // BERTH_THREADING_SERIALIZED providers
  ~Shared() { provider->destroy(self); }
};

PluginScanner::PluginScanner(const berth_provider* provider, void* instance)
    : shared_(std::make_shared<Shared>()),
      provider_(provider),
      caller_(std::make_unique<PluginCaller>("scanner", provider, nullptr, 0)) {
  shared_->provider = provider;
  shared_->vt = static_cast<const berth_scanner_vtable*>(provider->vtable);
  shared_->self = instance;
}

PluginScanner::~PluginScanner() = default;

namespace {

using Invoke = std::function<berth_status(const berth_scanner_vtable*, void*, CallState&)>;

// Runs `invoke` on its own thread and waits until the deadline (plus a short
// grace for plugins that honour it exactly). The thread owns references to
// the instance and the call state, so giving up on it is safe.
Status RunCall(const std::shared_ptr<void>& keep, PluginCaller& caller,
               const berth_scanner_vtable* vt, void* self, std::mutex* serial,
               std::shared_ptr<CallState> st, int64_t timeout_ms, const char* op, Invoke invoke) {
  const berth_provider* provider = caller.provider();
  const CallContext& current = CallContext::Current();
  // The caller's context and deadline, but state the call owns: the thread
  // may outlive this function.
  st->ctx = current;
  st->call = caller.MakeCall(st->ctx, timeout_ms);
  st->call.host_ctx = st.get();
  st->call.is_cancelled = &CallState::IsCancelled;
  const int64_t start = PluginClockNanos();
  bool serialized = provider->threading == BERTH_THREADING_SERIALIZED;
  std::thread([keep, st, vt, self, serial, serialized, invoke] {
    berth_status rc;
    {
      ScopedCallContext scope(st->ctx);  // the plugin's log lines name the request
      std::unique_lock<std::mutex> lock(*serial, std::defer_lock);
      if (serialized) lock.lock();
      rc = st->cancelled.load() ? BERTH_E_CANCELLED : invoke(vt, self, *st);
    }
    std::lock_guard<std::mutex> g(st->mu);
    st->rc = rc;
    st->done = true;
    st->cv.notify_all();
  }).detach();
  std::unique_lock<std::mutex> lock(st->mu);
  bool finished = st->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms + 500),
                                  [&] { return st->done; });
  std::string who = std::string("scanner '") + provider->name + "'";
  if (!finished) {
    st->cancelled = true;
    return Status(Code::kDeadlineExceeded, who + " did not answer " + op + " within " +
                                               std::to_string(timeout_ms / 1000) + " s");
  }
  if (st->out.overflowed()) {
    return Status::InvalidArgument(who + ": the " + std::string(op) + " answer is larger than " +
                                   std::to_string(PluginScanner::kMaxReportBytes >> 20) + " MiB");
  }
  // BERTH_E_RETRY is an answer here (not ready yet, busy): the callers read st->rc.
  PluginCallOptions opts;
  opts.quiet_1 = BERTH_E_RETRY;
  Status s = caller.Outcome(op, current, st->call, st->rc, st->err.str(),
                            PluginClockNanos() - start, opts);
  if (st->rc == BERTH_E_RETRY && s.code() != Code::kDeadlineExceeded) return {};
  if (s.code() == Code::kIOError) return Status(Code::kUnavailable, s.message());
  return s;
}

}  // namespace

StatusOr<std::string> PluginScanner::Metadata(int64_t timeout_ms) {
  auto st = std::make_shared<CallState>();
  BERTH_RETURN_IF_ERROR(RunCall(shared_, *caller_, shared_->vt, shared_->self, &shared_->serial, st,
                                timeout_ms, "metadata",
                                [](const berth_scanner_vtable* vt, void* self, CallState& s) {
                                  return vt->get_metadata(self, &s.call, s.out.get(), s.err.get());
                                }));
  if (st->rc == BERTH_E_RETRY) return Status(Code::kUnavailable, "scanner metadata not ready");
  auto j = nlohmann::json::parse(st->out.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument(std::string("scanner '") + provider_->name +
                                   "' returned metadata that is not a JSON object");
  }
  return st->out.str();
}

StatusOr<std::string> PluginScanner::Submit(const ScanSubmission& req, int64_t timeout_ms) {
  auto st = std::make_shared<CallState>();
  st->submission = req;
  BERTH_RETURN_IF_ERROR(RunCall(
      shared_, *caller_, shared_->vt, shared_->self, &shared_->serial, st, timeout_ms,
      "scan request", [](const berth_scanner_vtable* vt, void* self, CallState& s) {
        berth_scan_request r;
        std::memset(&r, 0, sizeof r);
        r.struct_size = sizeof r;
        r.registry_url = Str(s.submission.registry_url);
        r.registry_authorization = Str(s.submission.registry_authorization);
        r.repository = Str(s.submission.repository);
        r.digest = Str(s.submission.digest);
        r.tag = Str(s.submission.tag);
        r.mime_type = Str(s.submission.mime_type);
        r.capabilities_json = Str(s.submission.capabilities_json);
        return vt->submit_scan(self, &s.call, &r, s.out.get(), s.err.get());
      }));
  if (st->rc == BERTH_E_RETRY) {
    return Status(Code::kUnavailable, std::string("scanner '") + provider_->name + "' is busy");
  }
  if (st->out.str().empty()) {
    return Status::InvalidArgument(std::string("scanner '") + provider_->name +
                                   "' accepted the scan without an id");
  }
  return st->out.str();
}

StatusOr<ReportPoll> PluginScanner::Report(const std::string& scan_id, const std::string& mime_type,
                                           int64_t timeout_ms) {
  auto st = std::make_shared<CallState>();
  st->scan_id = scan_id;
  st->mime_type = mime_type;
  BERTH_RETURN_IF_ERROR(RunCall(
      shared_, *caller_, shared_->vt, shared_->self, &shared_->serial, st, timeout_ms, "report",
      [](const berth_scanner_vtable* vt, void* self, CallState& s) {
        return vt->get_report(self, &s.call, Str(s.scan_id), Str(s.mime_type), s.out.get(),
                              &s.retry_after, s.err.get());
      }));
  ReportPoll poll;
  if (st->rc == BERTH_E_RETRY) {
    poll.retry_after_s = st->retry_after;
    return poll;
  }
  poll.ready = true;
  poll.report = std::move(st->out.str());
  return poll;
}

}  // namespace berth
