// /api/v2.0/quotas: Harbor's quota list, get and hard-limit update.
#ifndef BERTH_API_QUOTA_API_H_
#define BERTH_API_QUOTA_API_H_

#include <nlohmann/json.hpp>

#include "api/api_router.h"
#include "quota/quota_controller.h"

namespace berth {

void RegisterQuotaApi(ApiRouter& router, QuotaController& quotas);

// Harbor's ResourceList for the storage resource: {"storage": bytes}.
nlohmann::json StorageResourceList(int64_t bytes);

}  // namespace berth

#endif  // BERTH_API_QUOTA_API_H_
