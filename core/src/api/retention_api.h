// Harbor's /api/v2.0/retentions: tag-retention metadata, policies, their
// executions, per-repository tasks and task logs (swagger tag Retention).
#ifndef BERTH_API_RETENTION_API_H_
#define BERTH_API_RETENTION_API_H_

#include "api/api_router.h"
#include "retention/retention_controller.h"

namespace berth {

void RegisterRetentionApi(ApiRouter& r, RetentionController& c);

}  // namespace berth

#endif  // BERTH_API_RETENTION_API_H_
