// Berth plugin SDK: notifiers. Include berth/plugin_sdk.hpp.
#ifndef BERTH_SDK_NOTIFIER_HPP_
#define BERTH_SDK_NOTIFIER_HPP_

#include <berth/sdk/core.hpp>

namespace berth::sdk {

// A view of one delivery: valid for the duration of Deliver().
struct Notification {
  std::string_view event_type;
  std::string_view payload_format;
  std::string_view payload_json;
  std::string_view content_type;
  std::string_view address;
  std::string_view auth_header;
  bool skip_cert_verify = false;
  int32_t attempt = 1;
};

class Notifier {
 public:
  virtual ~Notifier() = default;
  // Status::Retry for transient failures: berthd retries with backoff.
  virtual Status Deliver(const CallCtx& call, const Notification& n) = 0;
};

namespace detail {
template <class D>
struct NotifierThunks {
  static berth_status Deliver(void* s, const berth_call_ctx* c, const berth_notification* n,
                              berth_sink* err) {
    return Guard(err, [&] {
      if (n == nullptr) return Status::InvalidArgument("no notification");
      Notification v;
      v.event_type = View(n->event_type);
      v.payload_format = View(n->payload_format);
      v.payload_json = View(n->payload_json);
      v.content_type = View(n->content_type);
      v.address = View(n->address);
      v.auth_header = View(n->auth_header);
      v.skip_cert_verify = n->skip_cert_verify != 0;
      v.attempt = n->attempt;
      return static_cast<D*>(s)->Deliver(CallCtx(c), v);
    });
  }
  static const berth_notifier_vtable* Vtable() {
    static const berth_notifier_vtable vt = {sizeof(berth_notifier_vtable), &Deliver};
    return &vt;
  }
};
}  // namespace detail

template <class D>
berth_provider MakeNotifierProvider(const ProviderInfo& info) {
  return detail::MakeProvider<D>(BERTH_KIND_NOTIFIER, info, detail::NotifierThunks<D>::Vtable());
}

}  // namespace berth::sdk

#endif  // BERTH_SDK_NOTIFIER_HPP_
