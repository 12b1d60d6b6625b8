#include "api/webhook_api.h"

#include "api/api_util.h"
#include "common/strings.h"
#include "http/response.h"

namespace berth {

namespace {

constexpr char kBase[] = "/api/v2.0/projects/{project_name_or_id}/webhook";

Status Bad(const std::string& m) { return Status::InvalidArgument(m, "BAD_REQUEST"); }

// Harbor renders an unset time as Go's zero time.
std::string TimeOrZero(int64_t ms) { return ms > 0 ? ApiTime(ms) : "0001-01-01T00:00:00.000Z"; }

nlohmann::json PolicyJson(const WebhookPolicyRecord& p) {
  nlohmann::json targets = nlohmann::json::array();
  for (const auto& t : p.targets) {
    targets.push_back({{"type", t.type},
                       {"address", t.address},
                       {"auth_header", t.auth_header},
                       {"skip_cert_verify", t.skip_cert_verify},
                       {"payload_format", t.payload_format}});
  }
  return {{"id", p.id},
          {"name", p.name},
          {"description", p.description},
          {"project_id", p.project_id},
          {"targets", targets},
          {"event_types", p.event_types},
          {"creator", p.creator},
          {"creation_time", ApiTime(p.creation_time)},
          {"update_time", ApiTime(p.update_time)},
          {"enabled", p.enabled}};
}

// Harbor's WebhookPolicy body; absent members take Go's zero values, as
// Harbor's JSON copy does (so an absent "enabled" is false).
StatusOr<WebhookPolicyRecord> PolicyFrom(const nlohmann::json& body) {
  WebhookPolicyRecord p;
  BERTH_ASSIGN_OR_RETURN(p.name, JsonString(body, "name", false));
  BERTH_ASSIGN_OR_RETURN(p.description, JsonString(body, "description", false));
  BERTH_ASSIGN_OR_RETURN(p.enabled, JsonBool(body, "enabled", false));
  if (auto it = body.find("event_types"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) return Bad("event_types must be an array of strings");
    for (const auto& t : *it) {
      if (!t.is_string()) return Bad("event_types must be an array of strings");
      p.event_types.push_back(t.get<std::string>());
    }
  }
  if (auto it = body.find("targets"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) return Bad("targets must be an array of objects");
    for (size_t i = 0; i < it->size(); ++i) {
      const auto& t = (*it)[i];
      if (!t.is_object()) return Bad("targets[" + std::to_string(i) + "] must be an object");
      WebhookTarget target;
      BERTH_ASSIGN_OR_RETURN(target.type, JsonString(t, "type", false));
      BERTH_ASSIGN_OR_RETURN(target.address, JsonString(t, "address", false));
      BERTH_ASSIGN_OR_RETURN(target.auth_header, JsonString(t, "auth_header", false));
      BERTH_ASSIGN_OR_RETURN(target.skip_cert_verify, JsonBool(t, "skip_cert_verify", false));
      BERTH_ASSIGN_OR_RETURN(target.payload_format, JsonString(t, "payload_format", false));
      p.targets.push_back(std::move(target));
    }
  }
  return p;
}

// Harbor's execution status of a delivery: a retry waiting for its turn is
// still running.
std::string ExecutionStatus(const JobRecord& j) {
  if (j.status == kJobScheduled || (j.status == kJobPending && j.attempts > 0)) return kJobRunning;
  return j.status;
}

// One execution per delivery, with its single task.
nlohmann::json ExecutionJson(const JobRecord& j) {
  auto p = nlohmann::json::parse(j.params_json, nullptr, false);
  if (!p.is_object()) p = nlohmann::json::object();
  nlohmann::json metrics = {{"task_count", 1},          {"success_task_count", 0},
                            {"error_task_count", 0},    {"pending_task_count", 0},
                            {"running_task_count", 0},  {"scheduled_task_count", 0},
                            {"stopped_task_count", 0}};
  std::string key = ToLower(j.status) + "_task_count";
  if (metrics.contains(key)) metrics[key] = 1;
  return {{"id", j.id},
          {"vendor_type", j.vendor_type},
          {"vendor_id", j.vendor_id},
          {"status", ExecutionStatus(j)},
          {"status_message", j.error},
          {"metrics", metrics},
          {"trigger", "EVENT"},
          {"extra_attrs",
           {{"event_type", p.value("event_type", "")}, {"payload", p.value("payload", "")}}},
          {"start_time", TimeOrZero(j.enqueue_time)},
          {"end_time", TimeOrZero(j.finished() ? j.end_time : 0)}};
}

nlohmann::json TaskJson(const JobRecord& j) {
  return {{"id", j.id},
          {"execution_id", j.id},
          {"status", j.status},
          {"status_message", j.error},
          {"run_count", j.attempts},
          {"extra_attrs", nlohmann::json::object()},
          {"creation_time", TimeOrZero(j.enqueue_time)},
          {"update_time", TimeOrZero(j.update_time)},
          {"start_time", TimeOrZero(j.start_time)},
          {"end_time", TimeOrZero(j.finished() ? j.end_time : 0)}};
}

// Harbor's deprecated WebhookJob: one per delivery.
nlohmann::json WebhookJobJson(const JobRecord& j) {
  auto p = nlohmann::json::parse(j.params_json, nullptr, false);
  if (!p.is_object()) p = nlohmann::json::object();
  return {{"id", j.id},
          {"policy_id", j.vendor_id},
          {"event_type", p.value("event_type", "")},
          {"notify_type", p.value("notify_type", "")},
          {"status", ExecutionStatus(j)},
          {"job_detail", p.value("payload", "")},
          {"creation_time", TimeOrZero(j.enqueue_time)},
          {"update_time", TimeOrZero(j.update_time)}};
}

// The `status` filter (repeated or comma-separated, any case) as job
// statuses; Running covers a retry waiting for its turn, as the list shows.
StatusOr<std::vector<std::string>> JobStatuses(const RequestContext& ctx) {
  std::vector<std::string> out;
  for (const auto& given : ctx.query.GetAll("status")) {
    for (const auto& part : Split(given, ',')) {
      std::string v = ToLower(Trim(part));
      if (v.empty()) continue;
      bool known = false;
      for (const char* s : {kJobPending, kJobRunning, kJobSuccess, kJobError, kJobStopped}) {
        if (v == ToLower(s)) {
          out.push_back(s);
          known = true;
        }
      }
      if (!known) {
        return Status::InvalidArgument("unknown webhook job status '" + std::string(Trim(part)) +
                                           "' (Pending, Running, Success, Error, Stopped)",
                                       "BAD_REQUEST");
      }
      if (v == "running") out.push_back(kJobScheduled);
    }
  }
  return out;
}

}  // namespace

void RegisterWebhookApi(ApiRouter& r, WebhookPolicyController& c, ProjectController& projects) {
  auto project = [&projects](ApiCall& call) {
    return projects.Resolve(call.Param("project_name_or_id"),
                            IsNameHeader(call.ctx));
  };
  const std::string policies = std::string(kBase) + "/policies";
  const std::string one = policies + "/{webhook_policy_id}";
  const std::string executions = one + "/executions";
  const std::string tasks = executions + "/{execution_id}/tasks";

  r.Add("GET", policies, "webhook_policies", [&c, project](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project(call));
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto page, c.List(call.ctx.identity, p, q));
    return SendPage(call.ctx, q, page, PolicyJson);
  });

  r.Add("POST", policies, "webhook_policies", [&c, project](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project(call));
    BERTH_RETURN_IF_ERROR(RequireAuthenticated(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_ASSIGN_OR_RETURN(WebhookPolicyRecord spec, PolicyFrom(body));
    BERTH_ASSIGN_OR_RETURN(WebhookPolicyRecord w, c.Create(call.ctx.identity, p, std::move(spec)));
    std::string path = call.ctx.path;
    while (!path.empty() && path.back() == '/') path.pop_back();
    return SendCreated(call.ctx, path + "/" + std::to_string(w.id));
  });

  r.Add("GET", one, "webhook_policy", [&c, project](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project(call));
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("webhook_policy_id"), "webhook_policy_id"));
    BERTH_ASSIGN_OR_RETURN(auto w, c.Get(call.ctx.identity, p, id));
    return SendJsonValue(call.ctx, 200, PolicyJson(w));
  });

  r.Add("PUT", one, "webhook_policy", [&c, project](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project(call));
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("webhook_policy_id"), "webhook_policy_id"));
    BERTH_RETURN_IF_ERROR(RequireAuthenticated(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_ASSIGN_OR_RETURN(WebhookPolicyRecord spec, PolicyFrom(body));
    BERTH_RETURN_IF_ERROR(c.Update(call.ctx.identity, p, id, std::move(spec)));
    return SendOk(call.ctx);
  });

  r.Add("DELETE", one, "webhook_policy", [&c, project](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project(call));
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("webhook_policy_id"), "webhook_policy_id"));
    BERTH_RETURN_IF_ERROR(c.Delete(call.ctx.identity, p, id));
    return SendOk(call.ctx);
  });

  r.Add("GET", executions, "webhook_executions", [&c, project](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project(call));
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("webhook_policy_id"), "webhook_policy_id"));
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto page, c.Executions(call.ctx.identity, p, id, q));
    return SendPage(call.ctx, q, page, ExecutionJson);
  });

  r.Add("GET", tasks, "webhook_tasks", [&c, project](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project(call));
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("webhook_policy_id"), "webhook_policy_id"));
    BERTH_ASSIGN_OR_RETURN(int64_t eid, ParseId(call.Param("execution_id"), "execution_id"));
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
    BERTH_ASSIGN_OR_RETURN(JobRecord j, c.Execution(call.ctx.identity, p, id, eid));
    nlohmann::json out = nlohmann::json::array();
    if (q.page == 1) out.push_back(TaskJson(j));  // one task per execution
    SetPagination(call.ctx, q, 1);
    return SendJsonValue(call.ctx, 200, out);
  });

  r.Add("GET", tasks + "/{task_id}/log", "webhook_task_log", [&c, project](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project(call));
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("webhook_policy_id"), "webhook_policy_id"));
    BERTH_ASSIGN_OR_RETURN(int64_t eid, ParseId(call.Param("execution_id"), "execution_id"));
    BERTH_ASSIGN_OR_RETURN(int64_t tid, ParseId(call.Param("task_id"), "task_id"));
    BERTH_ASSIGN_OR_RETURN(std::string log, c.TaskLog(call.ctx.identity, p, id, eid, tid));
    SendBody(call.ctx, 200, "text/plain; charset=utf-8", log);
    return {};
  });

  r.Add("GET", std::string(kBase) + "/lasttrigger", "webhook_lasttrigger",
        [&c, project](ApiCall& call) -> Status {
          BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project(call));
          BERTH_ASSIGN_OR_RETURN(auto triggers, c.LastTriggers(call.ctx.identity, p));
          nlohmann::json out = nlohmann::json::array();
          for (const auto& t : triggers) {
            out.push_back({{"policy_name", t.policy_name},
                           {"event_type", t.event_type},
                           {"enabled", t.enabled},
                           {"creation_time", TimeOrZero(t.creation_time)},
                           {"last_trigger_time", TimeOrZero(t.last_trigger_time)}});
          }
          return SendJsonValue(call.ctx, 200, out);
        });

  r.Add("GET", std::string(kBase) + "/jobs", "webhook_jobs", [&c, project](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project(call));
    if (!call.ctx.query.Has("policy_id")) {
      return Status::InvalidArgument("policy_id is required", "BAD_REQUEST");
    }
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.ctx.query.Get("policy_id"), "policy_id"));
    BERTH_ASSIGN_OR_RETURN(auto statuses, JobStatuses(call.ctx));
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto page, c.Jobs(call.ctx.identity, p, id, statuses, q));
    return SendPage(call.ctx, q, page, WebhookJobJson);
  });

  r.Add("GET", std::string(kBase) + "/events", "webhook_events", [&c, project](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project(call));
    BERTH_ASSIGN_OR_RETURN(auto notify_types, c.NotifyTypes(call.ctx.identity, p));
    nlohmann::json formats = nlohmann::json::array();
    // Harbor: only http targets choose a payload format.
    if (std::find(notify_types.begin(), notify_types.end(), "http") != notify_types.end()) {
      formats.push_back({{"notify_type", "http"}, {"formats", WebhookPayloadFormats()}});
    }
    return SendJsonValue(call.ctx, 200,
                         {{"event_type", WebhookEventTypes()},
                          {"notify_type", notify_types},
                          {"payload_formats", formats}});
  });
}

}  // namespace berth
