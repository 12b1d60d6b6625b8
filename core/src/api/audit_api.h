// /api/v2.0/audit-logs and /projects/{name}/logs.
#ifndef BERTH_API_AUDIT_API_H_
#define BERTH_API_AUDIT_API_H_

#include "api/api_router.h"
#include "audit/audit_log.h"
#include "auth/access_evaluator.h"
#include "iam/project_controller.h"
#include "store/audit_store.h"

namespace berth {

// Reads flush the writer's pending entries first, so a caller sees what it
// just did.
void RegisterAuditApi(ApiRouter& router, AuditLog& log, AuditStore& audit,
                      AccessEvaluator& evaluator, ProjectStore& projects,
                      ProjectController& project_controller);

}  // namespace berth

#endif  // BERTH_API_AUDIT_API_H_
