#include "api/preheat_api.h"

#include "api/api_util.h"
#include "common/strings.h"
#include "http/response.h"

namespace berth {

namespace {

constexpr char kInstances[] = "/api/v2.0/p2p/preheat/instances";
constexpr char kPolicies[] = "/api/v2.0/projects/{project_name}/preheat/policies";

Status Bad(const std::string& m) { return Status::InvalidArgument(m, "BAD_REQUEST"); }

// Harbor renders an unset time as Go's zero time.
std::string TimeOrZero(int64_t ms) { return ms > 0 ? ApiTime(ms) : "0001-01-01T00:00:00.000Z"; }

// Secrets never leave berthd: every auth_info value but the user name is masked.
nlohmann::json InstanceJson(const PreheatInstanceRecord& r) {
  nlohmann::json auth = nlohmann::json::object();
  auto stored = nlohmann::json::parse(r.auth_data.empty() ? "{}" : r.auth_data, nullptr, false);
  if (stored.is_object()) {
    for (auto it = stored.begin(); it != stored.end(); ++it) {
      auth[it.key()] = it.key() == "username" && it.value().is_string() ? it.value().get<std::string>()
                                                                        : std::string(kMaskedSecret);
    }
  }
  return {{"id", r.id},
          {"name", r.name},
          {"description", r.description},
          {"vendor", r.vendor},
          {"endpoint", r.endpoint},
          {"auth_mode", r.auth_mode},
          {"auth_info", auth},
          {"status", "Unknown"},  // Harbor's list does not ping; use /ping
          {"enabled", r.enabled},
          {"default", r.is_default},
          {"insecure", r.insecure},
          {"setup_timestamp", r.setup_timestamp}};
}

StatusOr<PreheatInstanceInput> InstanceFrom(const nlohmann::json& body) {
  PreheatInstanceInput in;
  BERTH_ASSIGN_OR_RETURN(in.id, JsonInt(body, "id", 0));
  BERTH_ASSIGN_OR_RETURN(in.name, JsonString(body, "name", false));
  BERTH_ASSIGN_OR_RETURN(in.description, JsonString(body, "description", false));
  BERTH_ASSIGN_OR_RETURN(in.vendor, JsonString(body, "vendor", false));
  BERTH_ASSIGN_OR_RETURN(in.endpoint, JsonString(body, "endpoint", false));
  BERTH_ASSIGN_OR_RETURN(in.auth_mode, JsonString(body, "auth_mode", false));
  BERTH_ASSIGN_OR_RETURN(in.enabled, JsonBool(body, "enabled", false));
  BERTH_ASSIGN_OR_RETURN(in.is_default, JsonBool(body, "default", false));
  BERTH_ASSIGN_OR_RETURN(in.insecure, JsonBool(body, "insecure", false));
  if (auto it = body.find("auth_info"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return Bad("auth_info must be an object of strings");
    for (auto a = it->begin(); a != it->end(); ++a) {
      if (!a.value().is_string()) return Bad("auth_info." + a.key() + " must be a string");
      in.auth_info[a.key()] = a.value().get<std::string>();
    }
    in.has_auth_info = !in.auth_info.empty();
  }
  return in;
}

nlohmann::json PolicyJson(const PreheatPolicyRecord& p, const std::string& provider_name) {
  return {{"id", p.id},
          {"name", p.name},
          {"description", p.description},
          {"project_id", p.project_id},
          {"provider_id", p.provider_id},
          {"provider_name", provider_name},
          {"filters", p.filters},
          {"trigger", p.trigger},
          {"enabled", p.enabled},
          {"extra_attrs", p.extra_attrs},
          {"creation_time", ApiTime(p.creation_time)},
          {"update_time", ApiTime(p.update_time)}};
}

// Harbor's PreheatPolicy body; absent members take Go's zero values.
StatusOr<PreheatPolicyRecord> PolicyFrom(const nlohmann::json& body) {
  PreheatPolicyRecord p;
  BERTH_ASSIGN_OR_RETURN(p.id, JsonInt(body, "id", 0));
  BERTH_ASSIGN_OR_RETURN(p.name, JsonString(body, "name", false));
  BERTH_ASSIGN_OR_RETURN(p.description, JsonString(body, "description", false));
  BERTH_ASSIGN_OR_RETURN(p.provider_id, JsonInt(body, "provider_id", 0));
  BERTH_ASSIGN_OR_RETURN(p.filters, JsonString(body, "filters", false));
  BERTH_ASSIGN_OR_RETURN(p.trigger, JsonString(body, "trigger", false));
  BERTH_ASSIGN_OR_RETURN(p.enabled, JsonBool(body, "enabled", false));
  BERTH_ASSIGN_OR_RETURN(p.extra_attrs, JsonString(body, "extra_attrs", false));
  BERTH_ASSIGN_OR_RETURN(p.scope, JsonString(body, "scope", false));
  return p;
}

// Harbor's execution status: a job waiting for a retry is still running.
std::string ExecutionStatus(const JobRecord& j) {
  if (j.status == kJobScheduled) return kJobPending;
  if (j.status == kJobPending && j.attempts > 0) return kJobRunning;
  return j.status;
}

nlohmann::json ExecutionJson(const PreheatExecution& e) {
  const JobRecord& j = e.job;
  auto params = nlohmann::json::parse(j.params_json, nullptr, false);
  if (!params.is_object()) params = nlohmann::json::object();
  std::string trigger = params.value("trigger", "manual");
  int64_t total = 0;
  for (const auto& [_, n] : e.task_counts) total += n;
  auto count = [&e](const char* status) {
    auto it = e.task_counts.find(status);
    return it == e.task_counts.end() ? int64_t{0} : it->second;
  };
  nlohmann::json metrics = {{"task_count", total},
                            {"success_task_count", count("Success")},
                            {"error_task_count", count("Error")},
                            {"pending_task_count", count("Pending")},
                            {"running_task_count", count("Running")},
                            {"scheduled_task_count", count("Scheduled")},
                            {"stopped_task_count", count("Stopped")}};
  std::string message = j.error;
  if (message.empty() && j.status == kJobSuccess && total == 0) message = "no artifacts to preheat";
  std::string setting = "-";
  return {{"id", j.id},
          {"vendor_type", j.vendor_type},
          {"vendor_id", j.vendor_id},
          {"status", ExecutionStatus(j)},
          {"status_message", message},
          {"metrics", metrics},
          {"trigger", trigger},
          {"extra_attrs", {{"totalCount", total}, {"trigger", trigger}, {"triggerSetting", setting}}},
          {"start_time", TimeOrZero(j.start_time > 0 ? j.start_time : j.enqueue_time)},
          {"end_time", TimeOrZero(j.finished() ? j.end_time : 0)}};
}

nlohmann::json TaskJson(const PreheatTaskRecord& t) {
  return {{"id", t.id},
          {"execution_id", t.execution_id},
          {"status", t.status},
          {"status_message", t.status_message},
          {"run_count", t.run_count},
          {"extra_attrs",
           {{"artifact", t.repository + ":" + t.tag}, {"digest", t.digest}, {"kind", "image"},
            {"provider_task_id", t.provider_task_id}}},
          {"creation_time", TimeOrZero(t.creation_time)},
          {"update_time", TimeOrZero(t.update_time)},
          {"start_time", TimeOrZero(t.start_time)},
          {"end_time", TimeOrZero(t.end_time)}};
}

std::string TrimmedPath(const std::string& path) {
  std::string p = path;
  while (!p.empty() && p.back() == '/') p.pop_back();
  return p;
}

}  // namespace

void RegisterPreheatApi(ApiRouter& r, PreheatController& c, PreheatStore& store,
                        ProjectController& projects) {
  auto project = [&projects](ApiCall& call) {
    return projects.Resolve(call.Param("project_name"), true);
  };
  const std::string instance = std::string(kInstances) + "/{preheat_instance_name}";
  const std::string policy = std::string(kPolicies) + "/{preheat_policy_name}";
  const std::string executions = policy + "/executions";
  const std::string execution = executions + "/{execution_id}";
  const std::string tasks = execution + "/tasks";

  r.Add("GET", "/api/v2.0/p2p/preheat/providers", "preheat_providers", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto providers, c.Providers(call.ctx.identity));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : providers) {
      // Harbor's Metadata: id, name, icon, maintainers, version, source.
      nlohmann::json m = nlohmann::json::object();
      for (const char* k : {"id", "name", "icon", "version", "source"}) {
        if (p.contains(k) && p[k].is_string()) m[k] = p[k];
      }
      if (p.contains("maintainers") && p["maintainers"].is_array()) m["maintainers"] = p["maintainers"];
      out.push_back(std::move(m));
    }
    return SendJsonValue(call.ctx, 200, out);
  });

  r.Add("POST", std::string(kInstances) + "/ping", "preheat_instance_ping", [&c](ApiCall& call) -> Status {
    BERTH_RETURN_IF_ERROR(RequireAuthenticated(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_ASSIGN_OR_RETURN(PreheatInstanceInput in, InstanceFrom(body));
    BERTH_RETURN_IF_ERROR(c.Ping(call.ctx.identity, in));
    return SendOk(call.ctx);
  });

  r.Add("GET", kInstances, "preheat_instances", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto page, c.ListInstances(call.ctx.identity, q));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& i : page.items) out.push_back(InstanceJson(i));
    SetPagination(call.ctx, q, page.total);
    return SendJsonValue(call.ctx, 200, out);
  });

  r.Add("POST", kInstances, "preheat_instances", [&c](ApiCall& call) -> Status {
    BERTH_RETURN_IF_ERROR(RequireAuthenticated(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_ASSIGN_OR_RETURN(PreheatInstanceInput in, InstanceFrom(body));
    BERTH_ASSIGN_OR_RETURN(auto created, c.CreateInstance(call.ctx.identity, std::move(in)));
    return SendCreated(call.ctx, TrimmedPath(call.ctx.path) + "/" + created.name);
  });

  r.Add("GET", instance, "preheat_instance", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto i, c.GetInstance(call.ctx.identity, call.Param("preheat_instance_name")));
    return SendJsonValue(call.ctx, 200, InstanceJson(i));
  });

  r.Add("PUT", instance, "preheat_instance", [&c](ApiCall& call) -> Status {
    BERTH_RETURN_IF_ERROR(RequireAuthenticated(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_ASSIGN_OR_RETURN(PreheatInstanceInput in, InstanceFrom(body));
    BERTH_RETURN_IF_ERROR(
        c.UpdateInstance(call.ctx.identity, call.Param("preheat_instance_name"), std::move(in)));
    return SendOk(call.ctx);
  });

  r.Add("DELETE", instance, "preheat_instance", [&c](ApiCall& call) -> Status {
    BERTH_RETURN_IF_ERROR(c.DeleteInstance(call.ctx.identity, call.Param("preheat_instance_name")));
    return SendOk(call.ctx);
  });

  r.Add("GET", "/api/v2.0/projects/{project_name}/preheat/providers", "preheat_project_providers",
        [&c, project](ApiCall& call) -> Status {
          BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project(call));
          BERTH_ASSIGN_OR_RETURN(auto instances, c.ProjectProviders(call.ctx.identity, p));
          nlohmann::json out = nlohmann::json::array();
          for (const auto& i : instances) {
            out.push_back({{"id", i.id},
                           {"provider", i.vendor + " " + i.name + "-" + i.endpoint},
                           {"enabled", i.enabled},
                           {"default", i.is_default}});
          }
          return SendJsonValue(call.ctx, 200, out);
        });

  // The provider's name, for PreheatPolicy.provider_name.
  auto provider_name = [&store](int64_t id) -> std::string {
    auto i = store.GetInstance(id);
    return i.ok() && *i ? (*i)->name : std::string();
  };

  r.Add("GET", kPolicies, "preheat_policies", [&c, project, provider_name](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project(call));
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto page, c.ListPolicies(call.ctx.identity, p, q));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& pol : page.items) out.push_back(PolicyJson(pol, provider_name(pol.provider_id)));
    SetPagination(call.ctx, q, page.total);
    return SendJsonValue(call.ctx, 200, out);
  });

  r.Add("POST", kPolicies, "preheat_policies", [&c, project](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project(call));
    BERTH_RETURN_IF_ERROR(RequireAuthenticated(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_ASSIGN_OR_RETURN(PreheatPolicyRecord in, PolicyFrom(body));
    BERTH_ASSIGN_OR_RETURN(auto created, c.CreatePolicy(call.ctx.identity, p, std::move(in)));
    return SendCreated(call.ctx, TrimmedPath(call.ctx.path) + "/" + created.name);
  });

  r.Add("GET", policy, "preheat_policy", [&c, project, provider_name](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project(call));
    BERTH_ASSIGN_OR_RETURN(auto pol, c.GetPolicy(call.ctx.identity, p, call.Param("preheat_policy_name")));
    return SendJsonValue(call.ctx, 200, PolicyJson(pol, provider_name(pol.provider_id)));
  });

  r.Add("PUT", policy, "preheat_policy", [&c, project](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project(call));
    BERTH_RETURN_IF_ERROR(RequireAuthenticated(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_ASSIGN_OR_RETURN(PreheatPolicyRecord in, PolicyFrom(body));
    BERTH_RETURN_IF_ERROR(
        c.UpdatePolicy(call.ctx.identity, p, call.Param("preheat_policy_name"), std::move(in)));
    return SendOk(call.ctx);
  });

  // Harbor's ManualPreheat: the body (a PreheatPolicy) is not used.
  r.Add("POST", policy, "preheat_policy_run", [&c, project](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project(call));
    BERTH_RETURN_IF_ERROR(RequireAuthenticated(call.ctx));
    const std::string name = call.Param("preheat_policy_name");
    BERTH_ASSIGN_OR_RETURN(int64_t id, c.Run(call.ctx.identity, p, name));
    return SendCreated(call.ctx, "/api/v2.0/projects/" + p.name + "/preheat/policies/" + name +
                                     "/executions/" + std::to_string(id));
  });

  r.Add("DELETE", policy, "preheat_policy", [&c, project](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project(call));
    BERTH_RETURN_IF_ERROR(c.DeletePolicy(call.ctx.identity, p, call.Param("preheat_policy_name")));
    return SendOk(call.ctx);
  });

  r.Add("GET", executions, "preheat_executions", [&c, project](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project(call));
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto page,
                           c.Executions(call.ctx.identity, p, call.Param("preheat_policy_name"), q));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : page.items) out.push_back(ExecutionJson(e));
    SetPagination(call.ctx, q, page.total);
    return SendJsonValue(call.ctx, 200, out);
  });

  r.Add("GET", execution, "preheat_execution", [&c, project](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project(call));
    BERTH_ASSIGN_OR_RETURN(int64_t eid, ParseId(call.Param("execution_id"), "execution_id"));
    BERTH_ASSIGN_OR_RETURN(auto e, c.Execution(call.ctx.identity, p, call.Param("preheat_policy_name"), eid));
    return SendJsonValue(call.ctx, 200, ExecutionJson(e));
  });

  r.Add("PATCH", execution, "preheat_execution", [&c, project](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project(call));
    BERTH_RETURN_IF_ERROR(RequireAuthenticated(call.ctx));
    BERTH_ASSIGN_OR_RETURN(int64_t eid, ParseId(call.Param("execution_id"), "execution_id"));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_ASSIGN_OR_RETURN(std::string status, JsonString(body, "status", false));
    if (status != "Stopped") {
      return Bad("status '" + status + "' is invalid: only \"Stopped\" (stop the execution) is supported");
    }
    BERTH_RETURN_IF_ERROR(
        c.StopExecution(call.ctx.identity, p, call.Param("preheat_policy_name"), eid));
    return SendOk(call.ctx);
  });

  r.Add("GET", tasks, "preheat_tasks", [&c, project](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project(call));
    BERTH_ASSIGN_OR_RETURN(int64_t eid, ParseId(call.Param("execution_id"), "execution_id"));
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto page,
                           c.Tasks(call.ctx.identity, p, call.Param("preheat_policy_name"), eid, q));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& t : page.items) out.push_back(TaskJson(t));
    SetPagination(call.ctx, q, page.total);
    return SendJsonValue(call.ctx, 200, out);
  });

  r.Add("GET", tasks + "/{task_id}/logs", "preheat_task_log", [&c, project](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project(call));
    BERTH_ASSIGN_OR_RETURN(int64_t eid, ParseId(call.Param("execution_id"), "execution_id"));
    BERTH_ASSIGN_OR_RETURN(int64_t tid, ParseId(call.Param("task_id"), "task_id"));
    BERTH_ASSIGN_OR_RETURN(std::string log, c.TaskLog(call.ctx.identity, p,
                                                      call.Param("preheat_policy_name"), eid, tid));
    SendBody(call.ctx, 200, "text/plain; charset=utf-8", log);
    return {};
  });
}

}  // namespace berth
