// /api/v2.0/configurations: Harbor's system configuration (administrators).
#ifndef BERTH_API_CONFIGURATION_API_H_
#define BERTH_API_CONFIGURATION_API_H_

#include "api/api_router.h"
#include "config/config_controller.h"

namespace berth {

void RegisterConfigurationApi(ApiRouter& router, ConfigController& configs);

}  // namespace berth

#endif  // BERTH_API_CONFIGURATION_API_H_
