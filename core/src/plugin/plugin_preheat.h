// PluginPreheat: a PreheatDriver backed by a preheat plugin's C vtable
// (BERTH_KIND_PREHEAT).
#ifndef BERTH_PLUGIN_PLUGIN_PREHEAT_H_
#define BERTH_PLUGIN_PLUGIN_PREHEAT_H_

#include <berth/plugin.h>

#include <mutex>

#include "plugin/plugin_call.h"
#include "preheat/preheat_driver.h"

namespace berth {

class PluginPreheat : public PreheatDriver {
 public:
  // Takes ownership of `instance`.
  PluginPreheat(const berth_provider* provider, void* instance);
  ~PluginPreheat() override;

  const char* name() const { return provider_->name; }
  StatusOr<nlohmann::json> SelfInfo(int64_t deadline_unix_ns) override;
  Status GetHealth(const PreheatEndpoint& at, int64_t deadline_unix_ns) override;
  StatusOr<PreheatProgress> Preheat(const PreheatEndpoint& at, const PreheatImageSpec& image,
                                    int64_t deadline_unix_ns) override;
  StatusOr<PreheatProgress> CheckProgress(const PreheatEndpoint& at, const std::string& task_id,
                                          int64_t deadline_unix_ns) override;

 private:
  // Runs `fn` under the provider's threading rule and maps its status.
  template <class Fn>
  Status Call(const char* what, int64_t deadline_unix_ns, Fn fn);

  const berth_provider* provider_;
  const berth_preheat_vtable* vt_;
  void* self_;
  PluginCaller caller_;
};

}  // namespace berth

#endif  // BERTH_PLUGIN_PLUGIN_PREHEAT_H_
