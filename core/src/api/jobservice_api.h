// Harbor's job service dashboard: /jobservice/pools, /pools/{id}/workers,
// /jobservice/jobs/{id} (stop) and its log, /jobservice/queues (list, stop,
// pause, resume), and /schedules with the scheduler's paused status.
#ifndef BERTH_API_JOBSERVICE_API_H_
#define BERTH_API_JOBSERVICE_API_H_

#include "api/api_router.h"
#include "auth/access_evaluator.h"
#include "jobs/job_service.h"

namespace berth {

void RegisterJobServiceApi(ApiRouter& r, JobService& jobs, AccessEvaluator& evaluator);

// Shared with the per-feature execution endpoints (GC, purge): the job's log
// as text/plain, or Harbor's 404.
Status SendJobLog(RequestContext& ctx, JobStore& store, int64_t job_id,
                  const std::string& vendor_type);

}  // namespace berth

#endif  // BERTH_API_JOBSERVICE_API_H_
