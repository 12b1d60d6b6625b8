// Harbor's /api/v2.0/replication/policies and /replication/executions
// (swagger tag replication): policies, executions, tasks and task logs.
#ifndef BERTH_API_REPLICATION_API_H_
#define BERTH_API_REPLICATION_API_H_

#include "api/api_router.h"
#include "replication/replication_controller.h"

namespace berth {

void RegisterReplicationApi(ApiRouter& r, ReplicationController& c);

}  // namespace berth

#endif  // BERTH_API_REPLICATION_API_H_
