// Harbor's /api/v2.0/registries and /replication/adapters(+infos) (swagger
// tag registry): remote registry endpoints for replication.
#ifndef BERTH_API_REGISTRY_API_H_
#define BERTH_API_REGISTRY_API_H_

#include "api/api_router.h"
#include "replication/remote_registry_controller.h"

namespace berth {

void RegisterRegistryApi(ApiRouter& r, RemoteRegistryController& c);

}  // namespace berth

#endif  // BERTH_API_REGISTRY_API_H_
