#include "plugin/plugin_notifier.h"

#include <cstring>

#include "plugin/plugin_status.h"

namespace berth {

namespace {
berth_str Str(const std::string& s) { return {s.data(), s.size()}; }
}  // namespace

PluginNotifier::PluginNotifier(const berth_provider* provider, void* instance, Logger* log)
    : provider_(provider),
      vt_(static_cast<const berth_notifier_vtable*>(provider->vtable)),
      self_(instance),
      caller_("notifier", provider, log, 0) {}

PluginNotifier::~PluginNotifier() { provider_->destroy(self_); }

Status PluginNotifier::Deliver(const Delivery& d, int64_t deadline_unix_ns) {
  berth_notification n;
  std::memset(&n, 0, sizeof n);
  n.struct_size = sizeof n;
  n.event_type = Str(d.event_type);
  n.payload_format = Str(d.payload_format);
  n.payload_json = Str(d.payload);
  n.content_type = Str(d.content_type);
  n.address = Str(d.address);
  n.auth_header = Str(d.auth_header);
  n.skip_cert_verify = d.skip_cert_verify ? 1 : 0;
  n.attempt = d.attempt;
  // The delivery's own deadline (set by the notification queue) bounds the
  // call; a transient failure is retried by the queue, so it is not logged.
  CallContext ctx = CallContext::Current();
  ctx.deadline_unix_ns = deadline_unix_ns;
  PluginCallOptions opts;
  opts.quiet_1 = BERTH_E_RETRY;
  opts.quiet_2 = BERTH_E_IO;
  Status s = caller_.Call("deliver", ctx, [&](const berth_call_ctx* c, berth_sink* err) {
    return vt_->deliver(self_, c, &n, err);
  }, opts);
  // The queue retries what is unavailable.
  if (s.code() == Code::kIOError) {
    return Status(Code::kUnavailable, s.message());
  }
  return s;
}

}  // namespace berth
