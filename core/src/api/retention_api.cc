#include "api/retention_api.h"

#include "api/api_util.h"
#include "http/response.h"

namespace berth {

namespace {

constexpr char kBase[] = "/api/v2.0/retentions";

// Harbor's execution statuses: a run not yet taken by a worker already
// counts as Running (Harbor creates executions Running).
std::string ExecutionStatus(const std::string& job_status) {
  if (job_status == kJobPending || job_status == kJobScheduled) return "Running";
  return job_status;
}

// Harbor's job status codes (jobservice/job/status.go).
int StatusCode(const std::string& s) {
  if (s == "Pending") return 0;
  if (s == "Scheduled") return 1;
  if (s == "Running") return 2;
  return 3;
}

nlohmann::json ExecutionJson(const JobRecord& j) {
  nlohmann::json params = nlohmann::json::parse(j.params_json, nullptr, false);
  bool dry_run = params.is_object() && params.value("dry_run", false);
  std::string trigger = j.trigger == "Schedule" ? "SCHEDULE" : j.trigger == "Event" ? "EVENT"
                                                                                     : "MANUAL";
  nlohmann::json out = {{"id", j.id},
                        {"policy_id", j.vendor_id},
                        {"start_time", ApiTime(j.start_time > 0 ? j.start_time : j.enqueue_time)},
                        {"status", ExecutionStatus(j.status)},
                        {"trigger", trigger},
                        {"dry_run", dry_run}};
  if (j.finished() && j.end_time > 0) out["end_time"] = ApiTime(j.end_time);
  return out;
}

nlohmann::json TaskJson(const RetentionTaskRecord& t) {
  nlohmann::json out = {{"id", t.id},
                        {"execution_id", t.execution_id},
                        {"repository", t.repository},
                        {"job_id", std::to_string(t.execution_id)},
                        {"status", t.status},
                        {"status_code", StatusCode(t.status)},
                        {"status_revision", t.update_time / 1000},
                        {"total", t.total},
                        {"retained", t.retained}};
  if (t.start_time > 0) out["start_time"] = ApiTime(t.start_time);
  if (t.end_time > 0) out["end_time"] = ApiTime(t.end_time);
  return out;
}

}  // namespace

void RegisterRetentionApi(ApiRouter& r, RetentionController& c) {
  // Before /{id}: "metadatas" is not an id.
  r.Add("GET", std::string(kBase) + "/metadatas", "retention_metadatas", [](ApiCall& call) {
    BERTH_RETURN_IF_ERROR(RequireAuthenticated(call.ctx));
    return SendJsonValue(call.ctx, 200, RetentionMetadataJson());
  });
  r.Add("POST", kBase, "retentions", [&c](ApiCall& call) -> Status {
    BERTH_RETURN_IF_ERROR(RequireAuthenticated(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_ASSIGN_OR_RETURN(int64_t id, c.Create(call.ctx.identity, body));
    return SendCreated(call.ctx, std::string(kBase) + "/" + std::to_string(id));
  });
  r.Add("GET", std::string(kBase) + "/{id}", "retention", [&c](ApiCall& call) -> Status {
    BERTH_RETURN_IF_ERROR(RequireAuthenticated(call.ctx));
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("id"), "id"));
    BERTH_ASSIGN_OR_RETURN(auto p, c.Get(call.ctx.identity, id));
    return SendJsonValue(call.ctx, 200, RetentionPolicyJson(p));
  });
  r.Add("PUT", std::string(kBase) + "/{id}", "retention", [&c](ApiCall& call) -> Status {
    BERTH_RETURN_IF_ERROR(RequireAuthenticated(call.ctx));
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("id"), "id"));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_RETURN_IF_ERROR(c.Update(call.ctx.identity, id, body));
    return SendOk(call.ctx);
  });
  r.Add("DELETE", std::string(kBase) + "/{id}", "retention", [&c](ApiCall& call) -> Status {
    BERTH_RETURN_IF_ERROR(RequireAuthenticated(call.ctx));
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("id"), "id"));
    BERTH_RETURN_IF_ERROR(c.Delete(call.ctx.identity, id));
    return SendOk(call.ctx);
  });
  r.Add("POST", std::string(kBase) + "/{id}/executions", "retention_executions",
        [&c](ApiCall& call) -> Status {
          BERTH_RETURN_IF_ERROR(RequireAuthenticated(call.ctx));
          BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("id"), "id"));
          BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
          BERTH_ASSIGN_OR_RETURN(bool dry_run, JsonBool(body, "dry_run", false));
          BERTH_ASSIGN_OR_RETURN(int64_t eid, c.Trigger(call.ctx.identity, id, dry_run));
          return SendCreated(call.ctx, std::string(kBase) + "/" + std::to_string(id) +
                                           "/executions/" + std::to_string(eid));
        });
  r.Add("GET", std::string(kBase) + "/{id}/executions", "retention_executions",
        [&c](ApiCall& call) -> Status {
          BERTH_RETURN_IF_ERROR(RequireAuthenticated(call.ctx));
          BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("id"), "id"));
          BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
          BERTH_ASSIGN_OR_RETURN(auto page, c.Executions(call.ctx.identity, id, q));
          return SendPage(call.ctx, q, page, ExecutionJson);
        });
  r.Add("PATCH", std::string(kBase) + "/{id}/executions/{eid}", "retention_execution",
        [&c](ApiCall& call) -> Status {
          BERTH_RETURN_IF_ERROR(RequireAuthenticated(call.ctx));
          BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("id"), "id"));
          BERTH_ASSIGN_OR_RETURN(int64_t eid, ParseId(call.Param("eid"), "eid"));
          BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
          BERTH_ASSIGN_OR_RETURN(std::string action, JsonString(body, "action", true));
          BERTH_RETURN_IF_ERROR(c.Operate(call.ctx.identity, id, eid, action));
          return SendOk(call.ctx);
        });
  r.Add("GET", std::string(kBase) + "/{id}/executions/{eid}/tasks", "retention_tasks",
        [&c](ApiCall& call) -> Status {
          BERTH_RETURN_IF_ERROR(RequireAuthenticated(call.ctx));
          BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("id"), "id"));
          BERTH_ASSIGN_OR_RETURN(int64_t eid, ParseId(call.Param("eid"), "eid"));
          BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
          BERTH_ASSIGN_OR_RETURN(auto page, c.Tasks(call.ctx.identity, id, eid, q));
          return SendPage(call.ctx, q, page, TaskJson);
        });
  r.Add("GET", std::string(kBase) + "/{id}/executions/{eid}/tasks/{tid}", "retention_task_log",
        [&c](ApiCall& call) -> Status {
          BERTH_RETURN_IF_ERROR(RequireAuthenticated(call.ctx));
          BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("id"), "id"));
          BERTH_ASSIGN_OR_RETURN(int64_t eid, ParseId(call.Param("eid"), "eid"));
          BERTH_ASSIGN_OR_RETURN(int64_t tid, ParseId(call.Param("tid"), "tid"));
          BERTH_ASSIGN_OR_RETURN(std::string log, c.TaskLog(call.ctx.identity, id, eid, tid));
          SendBody(call.ctx, 200, "text/plain; charset=utf-8", log);
          return Status();
        });
}

}  // namespace berth
