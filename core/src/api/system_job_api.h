// The per-feature execution endpoints Harbor gives its system jobs, built
// once for each: GC (/system/gc) and the audit-log purge
// (/system/purgeaudit). Each has its history, one run, its log, stop, and a
// schedule (GET/POST/PUT .../schedule, where POST with type Manual runs now).
#ifndef BERTH_API_SYSTEM_JOB_API_H_
#define BERTH_API_SYSTEM_JOB_API_H_

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "api/api_router.h"
#include "auth/access_evaluator.h"
#include "jobs/job_service.h"

namespace berth {

struct SystemJobSpec {
  std::string base;      // "/api/v2.0/system/gc"
  std::string label;     // route label prefix, e.g. "gc"
  std::string kind;      // job kind, e.g. GARBAGE_COLLECTION
  std::string resource;  // RBAC system resource, e.g. garbage-collection
  // Checks the "parameters" object and returns it normalised (JSON text);
  // kInvalidArgument names the bad field.
  std::function<StatusOr<std::string>(const nlohmann::json&)> validate;
};

void RegisterSystemJobApi(ApiRouter& r, JobService& jobs, AccessEvaluator& evaluator,
                          SystemJobSpec spec);

}  // namespace berth

#endif  // BERTH_API_SYSTEM_JOB_API_H_
