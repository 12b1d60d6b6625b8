// The PURGE_AUDIT_LOG job: Harbor's audit-log retention (audit_retention_hour,
// include_operations, dry_run).
#ifndef BERTH_AUDIT_AUDIT_PURGE_H_
#define BERTH_AUDIT_AUDIT_PURGE_H_

#include <string>

#include <nlohmann/json.hpp>

#include "jobs/job_service.h"
#include "store/audit_store.h"

namespace berth {

inline constexpr char kPurgeAuditJobKind[] = "PURGE_AUDIT_LOG";

// Checks and normalises the job's parameters; errors name the field.
StatusOr<std::string> ValidatePurgeAuditParams(const nlohmann::json& params);
Status RunAuditPurge(AuditStore& store, JobContext& ctx);

}  // namespace berth

#endif  // BERTH_AUDIT_AUDIT_PURGE_H_
