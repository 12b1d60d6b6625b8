// The QUOTA_RECOUNT job: recomputes project storage usage from what the
// projects reference and repairs any drift (usage is kept exact in the
// registry transactions; this is the check, and the repair after raw SQL or a
// restore). Parameters: {"project_id": N} for one project, {} for all.
#ifndef BERTH_QUOTA_QUOTA_RECOUNT_JOB_H_
#define BERTH_QUOTA_QUOTA_RECOUNT_JOB_H_

#include <string>

#include <nlohmann/json.hpp>

#include "jobs/job_service.h"
#include "quota/quota_controller.h"

namespace berth {

inline constexpr char kQuotaRecountJobKind[] = "QUOTA_RECOUNT";

StatusOr<std::string> ValidateQuotaRecountParams(const nlohmann::json& params);
Status RunQuotaRecount(QuotaController& quotas, JobContext& ctx);

}  // namespace berth

#endif  // BERTH_QUOTA_QUOTA_RECOUNT_JOB_H_
