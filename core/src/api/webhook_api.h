// /api/v2.0/projects/{project_name_or_id}/webhook/...: Harbor's webhook
// policies, their executions, tasks and logs, last triggers and the
// supported event types.
#ifndef BERTH_API_WEBHOOK_API_H_
#define BERTH_API_WEBHOOK_API_H_

#include "api/api_router.h"
#include "notify/webhook_policy_controller.h"

namespace berth {

void RegisterWebhookApi(ApiRouter& router, WebhookPolicyController& webhooks,
                        ProjectController& projects);

}  // namespace berth

#endif  // BERTH_API_WEBHOOK_API_H_
