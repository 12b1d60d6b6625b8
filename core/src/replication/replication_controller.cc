#include "replication/replication_controller.h"

#include "auth/denial.h"
#include "common/clock.h"
#include "policy/doublestar.h"
#include "replication/replication_job.h"

namespace berth {

namespace {

Status PolicyNotFound(int64_t id) {
  return Status::NotFound("replication policy " + std::to_string(id) + " not found", "NOT_FOUND");
}

Status ExecutionNotFound(int64_t id) {
  return Status::NotFound("replication execution " + std::to_string(id) + " not found", "NOT_FOUND");
}

nlohmann::json FiltersJson(const std::vector<ReplicationFilter>& fs) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& f : fs) {
    nlohmann::json j = {{"type", f.type}};
    if (f.type == "label") j["value"] = f.labels;
    else j["value"] = f.value;
    if (!f.decoration.empty()) j["decoration"] = f.decoration;
    a.push_back(j);
  }
  return a;
}

}  // namespace

nlohmann::json ReplicationPolicyJson(const ReplicationPolicy& p, const nlohmann::json& src,
                                     const nlohmann::json& dest) {
  nlohmann::json trigger = {{"type", p.trigger}};
  trigger["trigger_settings"] = {{"cron", p.cron}};
  return {{"id", p.id},
          {"name", p.name},
          {"description", p.description},
          {"src_registry", src},
          {"dest_registry", dest},
          {"dest_namespace", p.dest_namespace},
          {"dest_namespace_replace_count", p.dest_namespace_replace_count},
          {"trigger", trigger},
          {"filters", FiltersJson(p.filters)},
          {"replicate_deletion", p.replicate_deletion},
          {"deletion", p.replicate_deletion},
          {"override", p.override_},
          {"enabled", p.enabled},
          {"speed", p.speed_kb},
          {"copy_by_chunk", p.copy_by_chunk},
          {"single_active_replication", p.single_active_replication},
          {"creation_time", FormatRfc3339Millis(p.creation_time)},
          {"update_time", FormatRfc3339Millis(p.update_time)}};
}

Status ReplicationController::Require(const Identity& who, const char* resource, const char* action) {
  if (ev_.CanSystem(who, resource, action)) return {};
  return Deny(who, std::string("not allowed to ") + action + " " + resource);
}

nlohmann::json ReplicationController::RegistrySide(int64_t id) {
  if (id == 0) {
    // Harbor shows its own registry as id 0, type harbor, named "Local".
    return {{"id", 0}, {"name", "Local"}, {"type", "harbor"}, {"url", ""}, {"insecure", true},
            {"status", "healthy"}, {"credential", {{"type", ""}, {"access_key", ""}}},
            {"description", ""}, {"creation_time", FormatRfc3339Millis(0)},
            {"update_time", FormatRfc3339Millis(0)}};
  }
  auto r = registries_.Load(id);
  if (!r.ok()) return {{"id", id}};
  return RemoteRegistryJson(*r);
}

StatusOr<ReplicationPolicy> ReplicationController::Load(int64_t id) {
  BERTH_ASSIGN_OR_RETURN(auto rec, store_.GetPolicy(id));
  if (!rec) return PolicyNotFound(id);
  return PolicyFromStored(rec->id, rec->name, rec->src_registry_id, rec->dest_registry_id,
                          rec->enabled, rec->policy_json, rec->creation_time, rec->update_time);
}

Status ReplicationController::CheckPolicy(const ReplicationPolicy& p) {
  int64_t remote = p.push_based() ? p.dest_registry_id : p.src_registry_id;
  auto r = registries_.Load(remote);
  if (r.status().IsNotFound()) {
    return Status::InvalidArgument("registry " + std::to_string(remote) + " not found", "BAD_REQUEST");
  }
  BERTH_RETURN_IF_ERROR(r.status());
  if (!p.cron.empty()) {
    auto next = JobService::NextRun(p.cron, NowUnixMillis());
    if (!next.ok()) {
      return Status::InvalidArgument("invalid cron string for scheduled trigger: " + p.cron + ": " +
                                         next.status().message(),
                                     "BAD_REQUEST");
    }
  }
  return {};
}

Status ReplicationController::ApplySchedule(const ReplicationPolicy& p) {
  if (p.trigger != "scheduled" || !p.enabled) {
    Status s = jobs_.store().DeleteSchedule(kReplicationJobKind, p.id);
    return s.IsNotFound() ? Status() : s;
  }
  nlohmann::json params = {{"policy_id", p.id}};
  return jobs_.SetSchedule(kReplicationJobKind, p.id, p.cron, kReplicationJobKind, params.dump());
}

StatusOr<int64_t> ReplicationController::Create(const Identity& who, const nlohmann::json& body) {
  BERTH_RETURN_IF_ERROR(Require(who, "replication-policy", "create"));
  BERTH_ASSIGN_OR_RETURN(ReplicationPolicy p, ParseReplicationPolicy(body));
  BERTH_RETURN_IF_ERROR(CheckPolicy(p));
  ReplicationPolicyRecord rec;
  rec.name = p.name;
  rec.src_registry_id = p.src_registry_id;
  rec.dest_registry_id = p.dest_registry_id;
  rec.enabled = p.enabled;
  rec.policy_json = StoredPolicyJson(p);
  BERTH_ASSIGN_OR_RETURN(p.id, store_.CreatePolicy(rec));
  Status s = ApplySchedule(p);
  if (!s.ok()) {
    (void)store_.DeletePolicy(p.id);  // no policy without its schedule
    return s;
  }
  return p.id;
}

StatusOr<ReplicationPolicy> ReplicationController::Get(const Identity& who, int64_t id) {
  BERTH_RETURN_IF_ERROR(Require(who, "replication-policy", "read"));
  return Load(id);
}

StatusOr<Page<ReplicationPolicy>> ReplicationController::List(const Identity& who, const ListQuery& q) {
  BERTH_RETURN_IF_ERROR(Require(who, "replication-policy", "list"));
  BERTH_ASSIGN_OR_RETURN(auto page, store_.ListPolicies(q));
  Page<ReplicationPolicy> out{{}, page.total};
  for (const auto& rec : page.items) {
    BERTH_ASSIGN_OR_RETURN(auto p, PolicyFromStored(rec.id, rec.name, rec.src_registry_id,
                                                    rec.dest_registry_id, rec.enabled,
                                                    rec.policy_json, rec.creation_time,
                                                    rec.update_time));
    out.items.push_back(std::move(p));
  }
  return out;
}

Status ReplicationController::Update(const Identity& who, int64_t id, const nlohmann::json& body) {
  BERTH_RETURN_IF_ERROR(Require(who, "replication-policy", "update"));
  BERTH_RETURN_IF_ERROR(Load(id).status());
  BERTH_ASSIGN_OR_RETURN(ReplicationPolicy p, ParseReplicationPolicy(body));
  p.id = id;
  BERTH_RETURN_IF_ERROR(CheckPolicy(p));
  ReplicationPolicyRecord rec;
  rec.id = id;
  rec.name = p.name;
  rec.src_registry_id = p.src_registry_id;
  rec.dest_registry_id = p.dest_registry_id;
  rec.enabled = p.enabled;
  rec.policy_json = StoredPolicyJson(p);
  BERTH_RETURN_IF_ERROR(store_.UpdatePolicy(rec));
  return ApplySchedule(p);
}

Status ReplicationController::Delete(const Identity& who, int64_t id) {
  BERTH_RETURN_IF_ERROR(Require(who, "replication-policy", "delete"));
  BERTH_RETURN_IF_ERROR(Load(id).status());
  BERTH_ASSIGN_OR_RETURN(auto running, jobs_.store().List(kReplicationJobKind, 1, 100, id));
  for (const auto& j : running.items) {
    if (!j.finished()) {
      return Status(Code::kPreconditionFailed,
                    "the replication policy " + std::to_string(id) + " has a running execution " +
                        std::to_string(j.id) + "; stop it first",
                    "PRECONDITION");
    }
  }
  Status s = jobs_.store().DeleteSchedule(kReplicationJobKind, id);
  if (!s.ok() && !s.IsNotFound()) return s;
  return store_.DeletePolicy(id);
}

StatusOr<int64_t> ReplicationController::Start(const Identity& who, int64_t policy_id) {
  BERTH_RETURN_IF_ERROR(Require(who, "replication", "create"));
  auto p = Load(policy_id);
  if (p.status().IsNotFound()) {
    return Status::InvalidArgument("replication policy " + std::to_string(policy_id) + " not found",
                                   "BAD_REQUEST");
  }
  BERTH_RETURN_IF_ERROR(p.status());
  if (!p->enabled) {
    return Status::InvalidArgument("the policy " + p->name + " is disabled", "BAD_REQUEST");
  }
  NewJob job;
  job.kind = kReplicationJobKind;
  job.params_json = nlohmann::json({{"policy_id", policy_id}}).dump();
  job.trigger = "Manual";
  job.vendor_type = kReplicationJobKind;
  job.vendor_id = policy_id;
  // single_active_replication: no second run while one is pending or running.
  job.unique = p->single_active_replication;
  return jobs_.Enqueue(job);
}

StatusOr<JobRecord> ReplicationController::ExecutionJob(int64_t id) {
  BERTH_ASSIGN_OR_RETURN(auto job, jobs_.store().Get(id));
  if (!job || job->vendor_type != kReplicationJobKind) return ExecutionNotFound(id);
  return *job;
}

StatusOr<Page<ExecutionView>> ReplicationController::Executions(const Identity& who,
                                                                int64_t policy_id,
                                                                const std::string& status,
                                                                const std::string& trigger,
                                                                const ListQuery& q) {
  BERTH_RETURN_IF_ERROR(Require(who, "replication", "list"));
  Page<ExecutionView> out;
  std::vector<JobRecord> jobs;
  if (status.empty() && trigger.empty()) {
    BERTH_ASSIGN_OR_RETURN(auto page, jobs_.store().List(kReplicationJobKind, q.page, q.page_size,
                                                         policy_id > 0 ? policy_id : -1));
    out.total = page.total;
    jobs = std::move(page.items);
  } else {
    // Filtered in memory over the newest 1000 executions.
    BERTH_ASSIGN_OR_RETURN(auto page, jobs_.store().List(kReplicationJobKind, 1, 1000,
                                                         policy_id > 0 ? policy_id : -1));
    std::vector<JobRecord> kept;
    for (auto& j : page.items) {
      std::string st = j.status == kJobPending || j.status == kJobScheduled ? "Running" : j.status;
      std::string tr = j.trigger == "Schedule" ? "scheduled" : j.trigger == "Event" ? "event_based" : "manual";
      if (!status.empty() && st != status) continue;
      if (!trigger.empty() && tr != trigger) continue;
      kept.push_back(std::move(j));
    }
    out.total = static_cast<int64_t>(kept.size());
    for (int64_t i = q.offset(); i < out.total && i < q.offset() + q.page_size; ++i) {
      jobs.push_back(kept[i]);
    }
  }
  std::vector<int64_t> ids;
  for (const auto& j : jobs) ids.push_back(j.id);
  BERTH_ASSIGN_OR_RETURN(auto counts, store_.Counts(ids));
  for (auto& j : jobs) {
    TaskCounts c = counts[j.id];
    out.items.push_back({std::move(j), c});
  }
  return out;
}

StatusOr<ExecutionView> ReplicationController::Execution(const Identity& who, int64_t id) {
  BERTH_RETURN_IF_ERROR(Require(who, "replication", "read"));
  BERTH_ASSIGN_OR_RETURN(JobRecord job, ExecutionJob(id));
  BERTH_ASSIGN_OR_RETURN(auto counts, store_.Counts({id}));
  return ExecutionView{std::move(job), counts[id]};
}

Status ReplicationController::Stop(const Identity& who, int64_t id) {
  BERTH_RETURN_IF_ERROR(Require(who, "replication", "update"));
  BERTH_ASSIGN_OR_RETURN(JobRecord job, ExecutionJob(id));
  BERTH_ASSIGN_OR_RETURN(bool stopping, jobs_.store().RequestStop(job.id));
  if (stopping && job.status != kJobRunning) {
    BERTH_RETURN_IF_ERROR(store_.StopUnfinished(job.id, NowUnixMillis()));
  }
  return {};
}

StatusOr<Page<ReplicationTaskRecord>> ReplicationController::Tasks(const Identity& who,
                                                                   int64_t execution_id,
                                                                   const std::string& status,
                                                                   const std::string& resource_type,
                                                                   const ListQuery& q) {
  BERTH_RETURN_IF_ERROR(Require(who, "replication", "list"));
  BERTH_RETURN_IF_ERROR(ExecutionJob(execution_id).status());
  return store_.ListTasks(execution_id, status, resource_type, q);
}

StatusOr<std::string> ReplicationController::TaskLog(const Identity& who, int64_t execution_id,
                                                     int64_t task_id) {
  BERTH_RETURN_IF_ERROR(Require(who, "replication", "read"));
  BERTH_RETURN_IF_ERROR(ExecutionJob(execution_id).status());
  BERTH_ASSIGN_OR_RETURN(auto task, store_.GetTask(task_id));
  if (!task || task->execution_id != execution_id) {
    return Status::NotFound("replication task " + std::to_string(task_id) + " not found", "NOT_FOUND");
  }
  return store_.TaskLog(task_id);
}

void ReplicationController::OnArtifactEvent(const ArtifactEvent& e) {
  if (e.kind == ArtifactEventKind::kPulled) return;
  // Untagged pushes are an index's children (or digests pushed before their
  // tag): the tagged push that follows brings them along. An accessory
  // (an SBOM or signature referrer pushed by digest) has no such push.
  if (e.kind == ArtifactEventKind::kPushed && e.tag.empty() && e.accessory_of.empty()) return;
  auto policies = store_.EnabledPolicies();
  if (!policies.ok()) {
    log_.Warn("replication: listing policies failed", {{"error", policies.status().message()}});
    return;
  }
  for (const auto& rec : *policies) {
    if (rec.src_registry_id != 0) continue;
    auto p = PolicyFromStored(rec.id, rec.name, rec.src_registry_id, rec.dest_registry_id,
                              rec.enabled, rec.policy_json, rec.creation_time, rec.update_time);
    if (!p.ok() || p->trigger != "event_based") continue;
    bool deletion = e.kind != ArtifactEventKind::kPushed;
    if (deletion && !p->replicate_deletion) continue;
    if (const ReplicationFilter* f = FindFilter(*p, "name"); f != nullptr && !f->value.empty()) {
      auto m = DoublestarMatch(f->value, e.repository);
      if (!m.ok() || !*m) continue;
    }
    nlohmann::json event = {{"operation", deletion ? "delete" : "push"},
                            {"repository", e.repository},
                            {"digest", e.digest},
                            {"tags", e.tag.empty() ? nlohmann::json::array() : nlohmann::json::array({e.tag})}};
    NewJob job;
    job.kind = kReplicationJobKind;
    job.params_json = nlohmann::json({{"policy_id", rec.id}, {"event", event}}).dump();
    job.trigger = "Event";
    job.vendor_type = kReplicationJobKind;
    job.vendor_id = rec.id;
    job.unique = p->single_active_replication;
    auto id = jobs_.Enqueue(job);
    if (!id.ok()) {
      log_.Warn("replication: queueing an event-based run failed",
                {{"policy", rec.name}, {"error", id.status().message()}});
    }
  }
}

}  // namespace berth
