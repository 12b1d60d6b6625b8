#include "plugin/plugin_notifier.h"

#include <cstring>

#include "common/clock.h"
#include "plugin/plugin_status.h"

namespace berth {

namespace {
berth_str Str(const std::string& s) { return {s.data(), s.size()}; }
}  // namespace

PluginNotifier::PluginNotifier(const berth_provider* provider, void* instance)
    : provider_(provider),
      vt_(static_cast<const berth_notifier_vtable*>(provider->vtable)),
      self_(instance) {}

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
  berth_call_ctx call;
  std::memset(&call, 0, sizeof call);
  call.struct_size = sizeof call;
  call.deadline_unix_ns = deadline_unix_ns;
  StringSink err(4096);
  berth_status rc;
  {
    std::unique_lock<std::mutex> lock(mu_, std::defer_lock);
    if (provider_->threading == BERTH_THREADING_SERIALIZED) lock.lock();
    rc = vt_->deliver(self_, &call, &n, err.get());
  }
  std::string who = std::string("notifier '") + provider_->name + "'";
  if (rc == BERTH_OK && deadline_unix_ns > 0 && NowUnixNanos() > deadline_unix_ns) {
    return Status(Code::kDeadlineExceeded, who + " returned after its deadline");
  }
  if (rc == BERTH_OK) return {};
  std::string msg = who + ": " + (err.str().empty() ? PluginStatusName(rc) : err.str());
  if (rc == BERTH_E_RETRY || rc == BERTH_E_IO) return Status(Code::kUnavailable, msg);
  return FromPluginStatus(rc, msg);
}

}  // namespace berth
