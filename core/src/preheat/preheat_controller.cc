#include "preheat/preheat_controller.h"

#include "auth/denial.h"
#include "auth/registry_access.h"
#include "common/clock.h"
#include "common/strings.h"
#include "preheat/preheat_job.h"
#include "preheat/preheat_policy.h"

namespace berth {

namespace {

constexpr int64_t kHealthTimeoutMs = 10000;
constexpr char kPolicyResource[] = "preheat-policy";
constexpr char kInstanceResource[] = "preheat-instance";

Status Bad(const std::string& m) { return Status::InvalidArgument(m, "BAD_REQUEST"); }

Status InstanceNotFound(const std::string& name) {
  return Status::NotFound("instance " + name + " not found", "NOT_FOUND");
}

Status PolicyNotFound(const std::string& name) {
  return Status::NotFound("preheat policy " + name + " not found", "NOT_FOUND");
}

Status CheckEndpoint(const std::string& endpoint) {
  if (endpoint.empty()) return Bad("endpoint is required");
  std::string lower = ToLower(endpoint);
  size_t scheme = lower.rfind("http://", 0) == 0 ? 7 : lower.rfind("https://", 0) == 0 ? 8 : 0;
  if (scheme == 0 || endpoint.size() == scheme || endpoint[scheme] == '/' ||
      endpoint.find_first_of(" \t\r\n") != std::string::npos) {
    return Bad("endpoint '" + endpoint + "' is invalid: it must be an http or https URL");
  }
  return {};
}

// Harbor's auth handlers need: BASIC username and password, OAUTH a token,
// CUSTOM one header (name -> value). NONE carries nothing.
Status CheckAuth(const std::string& mode, const std::map<std::string, std::string>& info) {
  if (mode == "NONE") return {};
  if (mode == "BASIC") {
    if (info.count("username") == 0 || info.at("username").empty() || info.count("password") == 0) {
      return Bad("auth_info of auth_mode BASIC needs username and password");
    }
    return {};
  }
  if (mode == "OAUTH") {
    if (info.count("token") == 0 || info.at("token").empty()) {
      return Bad("auth_info of auth_mode OAUTH needs token");
    }
    return {};
  }
  if (mode == "CUSTOM") {
    if (info.empty()) return Bad("auth_info of auth_mode CUSTOM needs a header name and value");
    for (const auto& [k, v] : info) {
      if (k.empty() || k.find_first_of(" :\r\n") != std::string::npos ||
          v.find_first_of("\r\n") != std::string::npos) {
        return Bad("auth_info of auth_mode CUSTOM: '" + k + "' is not a valid header");
      }
    }
    return {};
  }
  return Bad("auth_mode '" + mode + "' is invalid: use NONE, BASIC, OAUTH or CUSTOM");
}

std::map<std::string, std::string> AuthMap(const std::string& json) {
  std::map<std::string, std::string> out;
  auto j = nlohmann::json::parse(json.empty() ? "{}" : json, nullptr, false);
  if (!j.is_object()) return out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.value().is_string()) out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

std::string AuthJson(const std::map<std::string, std::string>& m) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j.dump();
}

std::string NormalizedMode(const std::string& mode) {
  return mode.empty() ? std::string("NONE") : mode;
}

}  // namespace

Status PreheatController::RequireSystem(const Identity& who, const char* action) {
  if (evaluator_.CanSystem(who, kInstanceResource, action)) return {};
  return Deny(who, std::string("not allowed to ") + action + " preheat provider instances");
}

StatusOr<PreheatDriver*> PreheatController::DriverFor(const std::string& vendor) {
  auto it = drivers_.find(vendor);
  if (it == drivers_.end()) {
    std::string known;
    for (const auto& [name, _] : drivers_) known += (known.empty() ? "" : ", ") + name;
    return Bad("vendor '" + vendor + "' is not a loaded preheat provider (loaded: " +
               (known.empty() ? std::string("none") : known) + ")");
  }
  return it->second;
}

StatusOr<std::vector<nlohmann::json>> PreheatController::Providers(const Identity& who) {
  BERTH_RETURN_IF_ERROR(RequireSystem(who, "list"));
  std::vector<nlohmann::json> out;
  for (const auto& [name, driver] : drivers_) {
    auto info = driver->SelfInfo(NowUnixNanos() + kHealthTimeoutMs * 1000000);
    if (!info.ok()) {
      log_.Warn("preheat provider self_info failed", {{"provider", name}, {"error", info.status().message()}});
      continue;
    }
    out.push_back(std::move(*info));
  }
  return out;
}

StatusOr<Page<PreheatInstanceRecord>> PreheatController::ListInstances(const Identity& who,
                                                                       const ListQuery& q) {
  BERTH_RETURN_IF_ERROR(RequireSystem(who, "list"));
  return store_.ListInstances(q);
}

StatusOr<PreheatInstanceRecord> PreheatController::InstanceByName(const std::string& name) {
  BERTH_ASSIGN_OR_RETURN(auto rec, store_.GetInstanceByName(name));
  if (!rec) return InstanceNotFound(name);
  return *rec;
}

StatusOr<PreheatInstanceRecord> PreheatController::GetInstance(const Identity& who,
                                                               const std::string& name) {
  BERTH_RETURN_IF_ERROR(RequireSystem(who, "read"));
  return InstanceByName(name);
}

StatusOr<PreheatInstanceRecord> PreheatController::CreateInstance(const Identity& who,
                                                                  PreheatInstanceInput in) {
  BERTH_RETURN_IF_ERROR(RequireSystem(who, "create"));
  BERTH_RETURN_IF_ERROR(ValidatePreheatName(in.name, "name"));
  if (in.vendor.empty()) return Bad("vendor is required");
  BERTH_RETURN_IF_ERROR(DriverFor(in.vendor).status());
  BERTH_RETURN_IF_ERROR(CheckEndpoint(in.endpoint));
  PreheatInstanceRecord r;
  r.name = in.name;
  r.description = in.description;
  r.vendor = in.vendor;
  r.endpoint = in.endpoint;
  r.auth_mode = NormalizedMode(in.auth_mode);
  if (r.auth_mode == "NONE") in.auth_info.clear();
  BERTH_RETURN_IF_ERROR(CheckAuth(r.auth_mode, in.auth_info));
  r.auth_data = AuthJson(in.auth_info);
  r.enabled = in.enabled;
  r.is_default = in.is_default;
  r.insecure = in.insecure;
  r.setup_timestamp = NowUnixMillis() / 1000;
  return store_.CreateInstance(std::move(r));
}

Status PreheatController::UpdateInstance(const Identity& who, const std::string& name,
                                         PreheatInstanceInput in) {
  BERTH_RETURN_IF_ERROR(RequireSystem(who, "update"));
  BERTH_ASSIGN_OR_RETURN(PreheatInstanceRecord r, InstanceByName(name));
  if (!in.name.empty() && in.name != r.name) {
    BERTH_RETURN_IF_ERROR(ValidatePreheatName(in.name, "name"));
    r.name = in.name;
  }
  if (!in.vendor.empty() && in.vendor != r.vendor) {
    BERTH_RETURN_IF_ERROR(DriverFor(in.vendor).status());
    r.vendor = in.vendor;
  }
  if (!in.endpoint.empty()) {
    BERTH_RETURN_IF_ERROR(CheckEndpoint(in.endpoint));
    r.endpoint = in.endpoint;
  }
  r.description = in.description;
  std::string mode = in.auth_mode.empty() ? r.auth_mode : NormalizedMode(in.auth_mode);
  std::map<std::string, std::string> stored = AuthMap(r.auth_data);
  std::map<std::string, std::string> info;
  if (mode == "NONE") {
    // Harbor: NONE drops the old credentials.
  } else if (!in.has_auth_info) {
    info = stored;  // omitted or empty: keep what was stored
  } else {
    info = in.auth_info;
    // A masked value sent back (GET-edit-PUT) keeps the stored secret.
    for (auto& [k, v] : info) {
      if (v == kMaskedSecret && stored.count(k)) v = stored[k];
    }
  }
  BERTH_RETURN_IF_ERROR(CheckAuth(mode, info));
  r.auth_mode = mode;
  r.auth_data = AuthJson(info);
  r.enabled = in.enabled;
  r.is_default = in.is_default;
  r.insecure = in.insecure;
  return store_.UpdateInstance(r);
}

Status PreheatController::DeleteInstance(const Identity& who, const std::string& name) {
  BERTH_RETURN_IF_ERROR(RequireSystem(who, "delete"));
  BERTH_ASSIGN_OR_RETURN(PreheatInstanceRecord r, InstanceByName(name));
  return store_.DeleteInstance(r.id);
}

Status PreheatController::Ping(const Identity& who, const PreheatInstanceInput& in) {
  BERTH_RETURN_IF_ERROR(RequireSystem(who, "read"));
  PreheatInstanceRecord r;
  if (in.id > 0) {
    BERTH_ASSIGN_OR_RETURN(auto rec, store_.GetInstance(in.id));
    if (!rec) return Status::NotFound("instance " + std::to_string(in.id) + " not found", "NOT_FOUND");
    r = *rec;
  } else {
    if (in.endpoint.empty()) return Bad("endpoint is required when no instance id is given");
    if (in.vendor.empty()) return Bad("vendor is required when no instance id is given");
    BERTH_RETURN_IF_ERROR(CheckEndpoint(in.endpoint));
    r.vendor = in.vendor;
    r.endpoint = in.endpoint;
    r.auth_mode = NormalizedMode(in.auth_mode);
    std::map<std::string, std::string> info = r.auth_mode == "NONE" ? decltype(info){} : in.auth_info;
    BERTH_RETURN_IF_ERROR(CheckAuth(r.auth_mode, info));
    r.auth_data = AuthJson(info);
    r.insecure = in.insecure;
  }
  BERTH_ASSIGN_OR_RETURN(PreheatDriver * driver, DriverFor(r.vendor));
  Status s = driver->GetHealth(EndpointOf(r), NowUnixNanos() + kHealthTimeoutMs * 1000000);
  if (!s.ok()) {
    return Bad("failed to ping " + r.vendor + " endpoint " + r.endpoint + ": " + s.message());
  }
  return {};
}

StatusOr<std::vector<PreheatInstanceRecord>> PreheatController::ProjectProviders(
    const Identity& who, const ProjectRecord& project) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, project, kPolicyResource, "list"));
  return store_.AllInstances();
}

Status PreheatController::CheckPolicy(PreheatPolicyRecord& p) {
  BERTH_RETURN_IF_ERROR(ValidatePreheatName(p.name, "name"));
  if (p.provider_id <= 0) return Bad("provider_id is required");
  BERTH_ASSIGN_OR_RETURN(auto instance, store_.GetInstance(p.provider_id));
  if (!instance) {
    return Bad("provider_id " + std::to_string(p.provider_id) + ": no such provider instance");
  }
  BERTH_RETURN_IF_ERROR(ParsePreheatFilters(p.filters).status());
  BERTH_ASSIGN_OR_RETURN(PreheatTrigger trigger, ParsePreheatTrigger(p.trigger));
  if (!trigger.cron.empty()) {
    auto next = JobService::NextRun(trigger.cron, NowUnixMillis());
    if (!next.ok()) {
      return Bad("trigger.trigger_setting.cron '" + trigger.cron + "' is invalid: " +
                 next.status().message());
    }
    if (*next < 0) return Bad("trigger.trigger_setting.cron '" + trigger.cron + "' never fires");
  }
  BERTH_RETURN_IF_ERROR(ValidatePreheatExtraAttrs(p.extra_attrs));
  // The scope travels in extra_attrs ({"scope": ..., "cluster_ids": [...]});
  // a top-level "scope" (Harbor 2.11+ clients) is merged into it.
  nlohmann::json extra = nlohmann::json::parse(Trim(p.extra_attrs).empty() ? "{}" : p.extra_attrs,
                                               nullptr, false);
  if (!p.scope.empty()) {
    extra["scope"] = p.scope;
    p.extra_attrs = extra.dump();
  } else if (auto s = extra.find("scope"); s != extra.end() && !s->is_null()) {
    if (!s->is_string()) return Bad("extra_attrs.scope must be a string");
    p.scope = s->get<std::string>();
  }
  BERTH_ASSIGN_OR_RETURN(p.scope, ParsePreheatScope(p.scope));
  return {};
}

Status PreheatController::ApplySchedule(const PreheatPolicyRecord& p) {
  auto trigger = ParsePreheatTrigger(p.trigger);
  if (!p.enabled || !trigger.ok() || trigger->type != preheat::kTriggerScheduled) {
    Status s = jobs_.store().DeleteSchedule(kPreheatJobKind, p.id);
    return s.IsNotFound() ? Status() : s;
  }
  nlohmann::json params = {{"policy_id", p.id}, {"trigger", preheat::kTriggerScheduled}};
  return jobs_.SetSchedule(kPreheatJobKind, p.id, trigger->cron, kPreheatJobKind, params.dump());
}

StatusOr<PreheatPolicyRecord> PreheatController::Load(const Identity& who, const ProjectRecord& p,
                                                      const std::string& name,
                                                      const char* action) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, p, kPolicyResource, action));
  BERTH_ASSIGN_OR_RETURN(auto rec, store_.GetPolicyByName(p.project_id, name));
  if (!rec) return PolicyNotFound(name);
  return *rec;
}

StatusOr<Page<PreheatPolicyRecord>> PreheatController::ListPolicies(const Identity& who,
                                                                    const ProjectRecord& p,
                                                                    const ListQuery& q) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, p, kPolicyResource, "list"));
  return store_.ListPolicies(p.project_id, q);
}

StatusOr<PreheatPolicyRecord> PreheatController::GetPolicy(const Identity& who,
                                                           const ProjectRecord& p,
                                                           const std::string& name) {
  return Load(who, p, name, "read");
}

StatusOr<PreheatPolicyRecord> PreheatController::CreatePolicy(const Identity& who,
                                                              const ProjectRecord& p,
                                                              PreheatPolicyRecord in) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, p, kPolicyResource, "create"));
  in.project_id = p.project_id;
  BERTH_RETURN_IF_ERROR(CheckPolicy(in));
  BERTH_ASSIGN_OR_RETURN(PreheatPolicyRecord created, store_.CreatePolicy(std::move(in)));
  Status s = ApplySchedule(created);
  if (!s.ok()) {
    (void)store_.DeletePolicy(created.id);  // no policy without its schedule
    return s;
  }
  return created;
}

Status PreheatController::UpdatePolicy(const Identity& who, const ProjectRecord& p,
                                       const std::string& name, PreheatPolicyRecord in) {
  BERTH_ASSIGN_OR_RETURN(PreheatPolicyRecord old, Load(who, p, name, "update"));
  if (in.id != 0 && in.id != old.id) {
    // Harbor's requirePolicyAccess: the body's id must be this project's policy.
    return Status::NotFound("preheat policy id " + std::to_string(in.id) +
                                " does not match policy " + name + " of project " + p.name,
                            "NOT_FOUND");
  }
  in.id = old.id;
  in.project_id = p.project_id;
  if (in.name.empty()) in.name = old.name;
  BERTH_RETURN_IF_ERROR(CheckPolicy(in));
  BERTH_RETURN_IF_ERROR(store_.UpdatePolicy(in));
  return ApplySchedule(in);
}

Status PreheatController::DeletePolicy(const Identity& who, const ProjectRecord& p,
                                       const std::string& name) {
  BERTH_ASSIGN_OR_RETURN(PreheatPolicyRecord policy, Load(who, p, name, "delete"));
  BERTH_ASSIGN_OR_RETURN(auto recent, jobs_.store().List(kPreheatJobKind, 1, 100, policy.id));
  for (const auto& j : recent.items) {
    if (j.status == kJobRunning) {
      return Status(Code::kPreconditionFailed,
                    "execution " + std::to_string(j.id) + " under the policy " + policy.name +
                        " is running, stop it and retry",
                    "PRECONDITION");
    }
  }
  Status s = jobs_.store().DeleteSchedule(kPreheatJobKind, policy.id);
  if (!s.ok() && !s.IsNotFound()) return s;
  return store_.DeletePolicy(policy.id);
}

StatusOr<int64_t> PreheatController::Run(const Identity& who, const ProjectRecord& p,
                                         const std::string& name) {
  // Harbor checks read on preheat-policy for a manual run.
  BERTH_ASSIGN_OR_RETURN(PreheatPolicyRecord policy, Load(who, p, name, "read"));
  if (!policy.enabled) {
    return Status(Code::kPreconditionFailed, "policy " + policy.name + " is not enabled",
                  "PRECONDITION");
  }
  BERTH_ASSIGN_OR_RETURN(auto instance, store_.GetInstance(policy.provider_id));
  if (!instance) return Bad("the provider instance of policy " + policy.name + " no longer exists");
  if (!instance->enabled) {
    return Status(Code::kPreconditionFailed,
                  "preheat provider instance " + instance->name + " is not enabled", "PRECONDITION");
  }
  BERTH_ASSIGN_OR_RETURN(PreheatDriver * driver, DriverFor(instance->vendor));
  Status health = driver->GetHealth(EndpointOf(*instance), NowUnixNanos() + kHealthTimeoutMs * 1000000);
  if (!health.ok()) {
    return Status(Code::kPreconditionFailed,
                  "preheat provider instance " + instance->vendor + "-" + instance->name + ":" +
                      instance->endpoint + " is not healthy: " + health.message(),
                  "PRECONDITION");
  }
  NewJob job;
  job.kind = kPreheatJobKind;
  job.params_json = nlohmann::json({{"policy_id", policy.id}, {"trigger", preheat::kTriggerManual}}).dump();
  job.trigger = "Manual";
  job.vendor_type = kPreheatJobKind;
  job.vendor_id = policy.id;
  return jobs_.Enqueue(job);
}

StatusOr<JobRecord> PreheatController::ExecutionJob(int64_t policy_id, int64_t execution_id) {
  BERTH_ASSIGN_OR_RETURN(auto job, jobs_.store().Get(execution_id));
  if (!job || job->vendor_type != kPreheatJobKind || job->vendor_id != policy_id) {
    return Status::NotFound("execution " + std::to_string(execution_id) + " not found", "NOT_FOUND");
  }
  return *job;
}

StatusOr<Page<PreheatExecution>> PreheatController::Executions(const Identity& who,
                                                               const ProjectRecord& p,
                                                               const std::string& name,
                                                               const ListQuery& q) {
  BERTH_ASSIGN_OR_RETURN(PreheatPolicyRecord policy, Load(who, p, name, "list"));
  BERTH_ASSIGN_OR_RETURN(JobPage jobs, jobs_.store().List(kPreheatJobKind, q.page, q.page_size, policy.id));
  std::vector<int64_t> ids;
  for (const auto& j : jobs.items) ids.push_back(j.id);
  BERTH_ASSIGN_OR_RETURN(auto counts, store_.TaskCounts(ids));
  Page<PreheatExecution> out{{}, jobs.total};
  for (auto& j : jobs.items) out.items.push_back({j, counts[j.id]});
  return out;
}

StatusOr<PreheatExecution> PreheatController::Execution(const Identity& who,
                                                        const ProjectRecord& p,
                                                        const std::string& name,
                                                        int64_t execution_id) {
  BERTH_ASSIGN_OR_RETURN(PreheatPolicyRecord policy, Load(who, p, name, "read"));
  BERTH_ASSIGN_OR_RETURN(JobRecord job, ExecutionJob(policy.id, execution_id));
  BERTH_ASSIGN_OR_RETURN(auto counts, store_.TaskCounts({job.id}));
  return PreheatExecution{job, counts[job.id]};
}

Status PreheatController::StopExecution(const Identity& who, const ProjectRecord& p,
                                        const std::string& name, int64_t execution_id) {
  BERTH_ASSIGN_OR_RETURN(PreheatPolicyRecord policy, Load(who, p, name, "update"));
  BERTH_ASSIGN_OR_RETURN(JobRecord job, ExecutionJob(policy.id, execution_id));
  BERTH_ASSIGN_OR_RETURN(bool stopping, jobs_.store().RequestStop(job.id));
  // A pending run stops at once, with any tasks an earlier attempt made.
  if (stopping && job.status != kJobRunning) {
    BERTH_RETURN_IF_ERROR(store_.StopUnfinished(job.id, NowUnixMillis()));
  }
  return {};
}

StatusOr<Page<PreheatTaskRecord>> PreheatController::Tasks(const Identity& who,
                                                           const ProjectRecord& p,
                                                           const std::string& name,
                                                           int64_t execution_id,
                                                           const ListQuery& q) {
  BERTH_ASSIGN_OR_RETURN(PreheatPolicyRecord policy, Load(who, p, name, "list"));
  BERTH_RETURN_IF_ERROR(ExecutionJob(policy.id, execution_id).status());
  return store_.ListTasks(execution_id, q);
}

StatusOr<std::string> PreheatController::TaskLog(const Identity& who, const ProjectRecord& p,
                                                 const std::string& name, int64_t execution_id,
                                                 int64_t task_id) {
  BERTH_ASSIGN_OR_RETURN(PreheatPolicyRecord policy, Load(who, p, name, "read"));
  BERTH_RETURN_IF_ERROR(ExecutionJob(policy.id, execution_id).status());
  BERTH_ASSIGN_OR_RETURN(auto task, store_.GetTask(task_id));
  if (!task || task->execution_id != execution_id) {
    return Status::NotFound("task " + std::to_string(task_id) + " not found", "NOT_FOUND");
  }
  return store_.TaskLog(task_id);
}

void PreheatController::OnArtifactPushed(const std::string& repository, const std::string& digest,
                                         const std::string& tag) {
  if (tag.empty()) return;  // candidates are tags (Harbor's enforcer)
  TriggerEventPolicies(repository, digest, tag);
}

void PreheatController::TriggerEventPolicies(const std::string& repository,
                                             const std::string& digest, const std::string& tag) {
  std::string project = ProjectOf(repository);
  auto policies = store_.EnabledForProject(project);
  if (!policies.ok()) {
    log_.Warn("preheat: reading event-based policies failed",
              {{"repository", repository}, {"error", policies.status().message()}});
    return;
  }
  std::string path = repository.substr(std::min(repository.size(), project.size() + 1));
  for (const auto& p : *policies) {
    auto trigger = ParsePreheatTrigger(p.trigger);
    if (!trigger.ok() || trigger->type != preheat::kTriggerEventBased) continue;
    auto filters = ParsePreheatFilters(p.filters);
    if (!filters.ok()) continue;
    // The cheap filters here; labels, signature and vulnerability in the job.
    PreheatFilters names_only;
    names_only.repository = filters->repository;
    if (!tag.empty()) names_only.tag = filters->tag;
    PreheatCandidate c;
    c.repository = repository;
    c.path = path;
    c.tag = tag;
    auto keep = PreheatFiltersKeep(names_only, c);
    if (!keep.ok() || !*keep) continue;
    NewJob job;
    job.kind = kPreheatJobKind;
    job.params_json =
        nlohmann::json({{"policy_id", p.id},
                        {"trigger", preheat::kTriggerEventBased},
                        {"artifact", {{"repository", repository}, {"digest", digest}, {"tag", tag}}}})
            .dump();
    job.trigger = "Event";
    job.vendor_type = kPreheatJobKind;
    job.vendor_id = p.id;
    auto id = jobs_.Enqueue(job);
    if (!id.ok()) {
      log_.Warn("preheat: queueing an event-based execution failed",
                {{"policy", p.name}, {"error", id.status().message()}});
    }
  }
}

}  // namespace berth
