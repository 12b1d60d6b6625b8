#include "retention/retention_controller.h"

#include "common/clock.h"
#include "common/strings.h"
#include "retention/retention_job.h"

namespace berth {

namespace {

std::string StoredJson(const RetentionPolicy& p) {
  nlohmann::json j = RetentionPolicyJson(p);
  j.erase("id");
  return j.dump();
}

Status PolicyNotFound(int64_t id) {
  return Status::NotFound("retention policy " + std::to_string(id) + " not found", "NOT_FOUND");
}

}  // namespace

Status RetentionController::CheckCron(const std::string& cron) {
  if (cron.empty()) return {};
  auto next = JobService::NextRun(cron, NowUnixMillis());
  if (!next.ok()) {
    return Status::InvalidArgument("trigger.settings.cron '" + cron + "' is invalid: " +
                                       next.status().message(),
                                   "BAD_REQUEST");
  }
  if (*next < 0) {
    return Status::InvalidArgument("trigger.settings.cron '" + cron + "' never fires", "BAD_REQUEST");
  }
  return {};
}

Status RetentionController::ApplySchedule(const RetentionPolicy& p) {
  if (p.cron.empty()) {
    Status s = jobs_.store().DeleteSchedule(kRetentionJobKind, p.id);
    return s.IsNotFound() ? Status() : s;
  }
  nlohmann::json params = {{"policy_id", p.id}, {"dry_run", false}};
  return jobs_.SetSchedule(kRetentionJobKind, p.id, p.cron, kRetentionJobKind, params.dump());
}

StatusOr<std::pair<RetentionPolicy, ProjectRecord>> RetentionController::Load(
    const Identity& who, int64_t id, const std::string& action) {
  BERTH_ASSIGN_OR_RETURN(auto rec, store_.GetPolicy(id));
  if (!rec) return PolicyNotFound(id);
  auto project = projects_.Resolve(std::to_string(rec->project_id), false);
  if (project.status().IsNotFound()) return PolicyNotFound(id);
  BERTH_RETURN_IF_ERROR(project.status());
  BERTH_RETURN_IF_ERROR(projects_.Check(who, *project, "tag-retention", action));
  auto policy = ParseRetentionPolicy(nlohmann::json::parse(rec->policy_json, nullptr, false));
  if (!policy.ok()) return Status::Internal("stored retention policy " + std::to_string(id) +
                                            " is invalid: " + policy.status().message());
  policy->id = id;
  return std::make_pair(std::move(*policy), std::move(*project));
}

StatusOr<int64_t> RetentionController::Create(const Identity& who, const nlohmann::json& body) {
  BERTH_ASSIGN_OR_RETURN(RetentionPolicy p, ParseRetentionPolicy(body));
  auto project = projects_.Resolve(std::to_string(p.project_id), false);
  if (project.status().IsNotFound()) {
    return Status::InvalidArgument("scope.ref: invalid Project id " + std::to_string(p.project_id),
                                   "BAD_REQUEST");
  }
  BERTH_RETURN_IF_ERROR(project.status());
  BERTH_RETURN_IF_ERROR(projects_.Check(who, *project, "tag-retention", "create"));
  BERTH_RETURN_IF_ERROR(CheckCron(p.cron));
  auto id = store_.CreatePolicy(p.project_id, StoredJson(p));
  if (id.status().code() == Code::kConflict) {
    return Status::InvalidArgument(id.status().message(), "BAD_REQUEST");  // Harbor's 400
  }
  BERTH_RETURN_IF_ERROR(id.status());
  p.id = *id;
  Status s = ApplySchedule(p);
  if (!s.ok()) {
    (void)store_.DeletePolicy(p.id);  // no policy without its schedule
    return s;
  }
  return p.id;
}

StatusOr<int64_t> RetentionController::CreateProxyCacheDefault(const Identity& who,
                                                             int64_t project_id) {
  // Harbor's policy.WithNDaysSinceLastPull(project, 7).
  nlohmann::json selector_all = {{"kind", "doublestar"}, {"decoration", "matches"}, {"pattern", "**"}};
  nlohmann::json repos_all = {{"kind", "doublestar"}, {"decoration", "repoMatches"}, {"pattern", "**"}};
  nlohmann::json body = {
      {"algorithm", "or"},
      {"rules",
       nlohmann::json::array({{{"id", 1},
                               {"priority", 1},
                               {"action", "retain"},
                               {"template", "nDaysSinceLastPull"},
                               {"params", {{"nDaysSinceLastPull", 7}}},
                               {"tag_selectors", nlohmann::json::array({selector_all})},
                               {"scope_selectors", {{"repository", nlohmann::json::array({repos_all})}}}}})},
      {"trigger", {{"kind", "Schedule"}, {"settings", {{"cron", "0 0 0 * * *"}}}}},
      {"scope", {{"level", "project"}, {"ref", project_id}}}};
  return Create(who, body);
}

StatusOr<RetentionPolicy> RetentionController::Get(const Identity& who, int64_t id) {
  BERTH_ASSIGN_OR_RETURN(auto loaded, Load(who, id, "read"));
  return std::move(loaded.first);
}

Status RetentionController::Update(const Identity& who, int64_t id, const nlohmann::json& body) {
  BERTH_ASSIGN_OR_RETURN(auto loaded, Load(who, id, "update"));
  BERTH_ASSIGN_OR_RETURN(RetentionPolicy p, ParseRetentionPolicy(body));
  if (p.project_id != loaded.second.project_id) {
    // Harbor's requirePolicyAccess: the id must be the project's retention_id.
    return Status::NotFound("the retention policy id " + std::to_string(id) +
                                " does not match project " + std::to_string(p.project_id),
                            "NOT_FOUND");
  }
  BERTH_RETURN_IF_ERROR(CheckCron(p.cron));
  p.id = id;
  BERTH_RETURN_IF_ERROR(store_.UpdatePolicy(id, StoredJson(p)));
  return ApplySchedule(p);
}

Status RetentionController::Delete(const Identity& who, int64_t id) {
  BERTH_ASSIGN_OR_RETURN(auto loaded, Load(who, id, "delete"));
  Status s = jobs_.store().DeleteSchedule(kRetentionJobKind, id);
  if (!s.ok() && !s.IsNotFound()) return s;
  return store_.DeletePolicy(id);
}

Status RetentionController::ProjectDeleted(const ProjectRecord& project) {
  auto it = project.metadata.find("retention_id");
  if (it == project.metadata.end()) return {};
  auto id = ParseInt64(it->second);
  if (!id) return {};
  Status s = jobs_.store().DeleteSchedule(kRetentionJobKind, *id);
  if (!s.ok() && !s.IsNotFound()) return s;
  s = store_.DeletePolicy(*id);  // the project's cascade may have taken the row already
  return s.IsNotFound() ? Status() : s;
}

StatusOr<int64_t> RetentionController::Trigger(const Identity& who, int64_t id, bool dry_run) {
  BERTH_ASSIGN_OR_RETURN(auto loaded, Load(who, id, "update"));
  NewJob job;
  job.kind = kRetentionJobKind;
  job.params_json = nlohmann::json({{"policy_id", id}, {"dry_run", dry_run}}).dump();
  job.trigger = "Manual";
  job.vendor_type = kRetentionJobKind;
  job.vendor_id = id;
  return jobs_.Enqueue(job);
}

StatusOr<JobPage> RetentionController::Executions(const Identity& who, int64_t id,
                                                  const ListQuery& q) {
  BERTH_ASSIGN_OR_RETURN(auto loaded, Load(who, id, "list"));
  return jobs_.store().List(kRetentionJobKind, q.page, q.page_size, id);
}

StatusOr<JobRecord> RetentionController::Execution(int64_t policy_id, int64_t execution_id) {
  BERTH_ASSIGN_OR_RETURN(auto job, jobs_.store().Get(execution_id));
  if (!job || job->vendor_type != kRetentionJobKind || job->vendor_id != policy_id) {
    return Status::NotFound("retention execution " + std::to_string(execution_id) + " not found",
                            "NOT_FOUND");
  }
  return *job;
}

Status RetentionController::Operate(const Identity& who, int64_t id, int64_t execution_id,
                                    const std::string& action) {
  if (action != "stop") return Status::InvalidArgument("action should be 'stop'", "BAD_REQUEST");
  BERTH_ASSIGN_OR_RETURN(auto loaded, Load(who, id, "update"));
  BERTH_ASSIGN_OR_RETURN(JobRecord job, Execution(id, execution_id));
  BERTH_ASSIGN_OR_RETURN(bool stopping, jobs_.store().RequestStop(job.id));
  // A pending run stops at once: its tasks (if a crashed attempt made any) too.
  if (stopping && job.status != kJobRunning) {
    BERTH_RETURN_IF_ERROR(store_.StopUnfinished(job.id, NowUnixMillis()));
  }
  return {};
}

StatusOr<Page<RetentionTaskRecord>> RetentionController::Tasks(const Identity& who, int64_t id,
                                                               int64_t execution_id,
                                                               const ListQuery& q) {
  BERTH_ASSIGN_OR_RETURN(auto loaded, Load(who, id, "list"));
  BERTH_RETURN_IF_ERROR(Execution(id, execution_id).status());
  return store_.ListTasks(execution_id, q);
}

StatusOr<std::string> RetentionController::TaskLog(const Identity& who, int64_t id,
                                                   int64_t execution_id, int64_t task_id) {
  BERTH_ASSIGN_OR_RETURN(auto loaded, Load(who, id, "read"));
  BERTH_RETURN_IF_ERROR(Execution(id, execution_id).status());
  BERTH_ASSIGN_OR_RETURN(auto task, store_.GetTask(task_id));
  if (!task || task->execution_id != execution_id) {
    return Status::NotFound("retention task " + std::to_string(task_id) + " not found",
                            "NOT_FOUND");
  }
  return store_.TaskLog(task_id);
}

}  // namespace berth
