// Harbor's P2P preheat API: /p2p/preheat/providers, /p2p/preheat/instances
// (and /ping), /projects/{project_name}/preheat/policies with manual runs,
// executions, tasks and task logs, and /projects/{project_name}/preheat/providers.
#ifndef BERTH_API_PREHEAT_API_H_
#define BERTH_API_PREHEAT_API_H_

#include "api/api_router.h"
#include "iam/project_controller.h"
#include "preheat/preheat_controller.h"

namespace berth {

void RegisterPreheatApi(ApiRouter& r, PreheatController& c, PreheatStore& store,
                        ProjectController& projects);

}  // namespace berth

#endif  // BERTH_API_PREHEAT_API_H_
