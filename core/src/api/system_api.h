// /api/v2.0 system endpoints: ping, systeminfo, health, permissions,
// plugins; and /api/version.
#ifndef BERTH_API_SYSTEM_API_H_
#define BERTH_API_SYSTEM_API_H_

#include "api/api_router.h"
#include "auth/access_evaluator.h"
#include "config/config.h"
#include "config/runtime_settings.h"
#include "http/ops_handler.h"
#include "plugin/plugin_registry.h"

namespace berth {

struct SystemApiDeps {
  const Config& config;
  const OpsHandler& health;
  const PluginRegistry& plugins;
  AccessEvaluator& evaluator;
  const SettingsSource& settings;  // what /configurations may change
};

void RegisterSystemApi(ApiRouter& router, SystemApiDeps deps);

}  // namespace berth

#endif  // BERTH_API_SYSTEM_API_H_
