// PluginNotifier: a Notifier backed by a notifier plugin's C vtable.
#ifndef BERTH_PLUGIN_PLUGIN_NOTIFIER_H_
#define BERTH_PLUGIN_PLUGIN_NOTIFIER_H_

#include <berth/plugin.h>

#include <mutex>

#include "notify/notifier.h"
#include "plugin/plugin_call.h"

namespace berth {

class PluginNotifier : public Notifier {
 public:
  // Takes ownership of `instance`. Failures are logged to `log` (may be null).
  PluginNotifier(const berth_provider* provider, void* instance, Logger* log = nullptr);
  ~PluginNotifier() override;
  Status Deliver(const Delivery& d, int64_t deadline_unix_ns) override;

 private:
  const berth_provider* provider_;
  const berth_notifier_vtable* vt_;
  void* self_;
  PluginCaller caller_;
};

}  // namespace berth

#endif  // BERTH_PLUGIN_PLUGIN_NOTIFIER_H_
