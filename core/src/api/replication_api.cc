#include "api/replication_api.h"

#include "api/api_util.h"
#include "http/response.h"

namespace berth {

namespace {

constexpr char kPolicies[] = "/api/v2.0/replication/policies";
constexpr char kExecutions[] = "/api/v2.0/replication/executions";

std::string ExecutionStatus(const std::string& job_status) {
  if (job_status == kJobPending || job_status == kJobScheduled) return "Running";
  return job_status;
}

nlohmann::json ExecutionJson(const ExecutionView& e) {
  const JobRecord& j = e.job;
  std::string trigger = j.trigger == "Schedule" ? "scheduled" : j.trigger == "Event" ? "event_based"
                                                                                     : "manual";
  nlohmann::json out = {{"id", j.id},
                        {"policy_id", j.vendor_id},
                        {"status", ExecutionStatus(j.status)},
                        {"status_text", j.error},
                        {"trigger", trigger},
                        {"start_time", ApiTime(j.start_time > 0 ? j.start_time : j.enqueue_time)},
                        {"total", e.counts.total},
                        {"failed", e.counts.failed},
                        {"succeed", e.counts.succeed},
                        {"in_progress", e.counts.in_progress},
                        {"stopped", e.counts.stopped}};
  if (j.finished() && j.end_time > 0) out["end_time"] = ApiTime(j.end_time);
  return out;
}

nlohmann::json TaskJson(const ReplicationTaskRecord& t) {
  nlohmann::json out = {{"id", t.id},
                        {"execution_id", t.execution_id},
                        {"status", t.status},
                        {"job_id", std::to_string(t.execution_id)},
                        {"operation", t.operation},
                        {"resource_type", t.resource_type},
                        {"src_resource", t.src_resource},
                        {"dst_resource", t.dst_resource}};
  if (t.start_time > 0) out["start_time"] = ApiTime(t.start_time);
  if (t.end_time > 0) out["end_time"] = ApiTime(t.end_time);
  return out;
}

}  // namespace

void RegisterReplicationApi(ApiRouter& r, ReplicationController& c) {
  auto policy_json = [&c](const ReplicationPolicy& p) {
    return ReplicationPolicyJson(p, c.RegistrySide(p.src_registry_id), c.RegistrySide(p.dest_registry_id));
  };
  r.Add("POST", kPolicies, "replication_policies", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_ASSIGN_OR_RETURN(int64_t id, c.Create(call.ctx.identity, body));
    return SendCreated(call.ctx, std::string(kPolicies) + "/" + std::to_string(id));
  });
  r.Add("GET", kPolicies, "replication_policies", [&c, policy_json](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
    if (std::string name = call.ctx.query.Get("name"); !name.empty()) {
      q.terms.push_back({"name", QueryTerm::Op::kFuzzy, {name}});
    }
    BERTH_ASSIGN_OR_RETURN(auto page, c.List(call.ctx.identity, q));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : page.items) out.push_back(policy_json(p));
    SetPagination(call.ctx, q, page.total);
    return SendJsonValue(call.ctx, 200, out);
  });
  r.Add("GET", std::string(kPolicies) + "/{id}", "replication_policy",
        [&c, policy_json](ApiCall& call) -> Status {
          BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("id"), "id"));
          BERTH_ASSIGN_OR_RETURN(auto p, c.Get(call.ctx.identity, id));
          return SendJsonValue(call.ctx, 200, policy_json(p));
        });
  r.Add("PUT", std::string(kPolicies) + "/{id}", "replication_policy", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("id"), "id"));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_RETURN_IF_ERROR(c.Update(call.ctx.identity, id, body));
    return SendOk(call.ctx);
  });
  r.Add("DELETE", std::string(kPolicies) + "/{id}", "replication_policy", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("id"), "id"));
    BERTH_RETURN_IF_ERROR(c.Delete(call.ctx.identity, id));
    return SendOk(call.ctx);
  });

  r.Add("POST", kExecutions, "replication_executions", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    auto pid = body.find("policy_id");
    if (pid == body.end() || !pid->is_number_integer()) {
      return Status::InvalidArgument("policy_id is required", "BAD_REQUEST");
    }
    BERTH_ASSIGN_OR_RETURN(int64_t id, c.Start(call.ctx.identity, pid->get<int64_t>()));
    return SendCreated(call.ctx, std::string(kExecutions) + "/" + std::to_string(id));
  });
  r.Add("GET", kExecutions, "replication_executions", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
    int64_t policy_id = 0;
    if (call.ctx.query.Has("policy_id")) {
      BERTH_ASSIGN_OR_RETURN(policy_id, ParseId(call.ctx.query.Get("policy_id"), "policy_id"));
    }
    BERTH_ASSIGN_OR_RETURN(auto page, c.Executions(call.ctx.identity, policy_id,
                                                   call.ctx.query.Get("status"),
                                                   call.ctx.query.Get("trigger"), q));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : page.items) out.push_back(ExecutionJson(e));
    SetPagination(call.ctx, q, page.total);
    return SendJsonValue(call.ctx, 200, out);
  });
  r.Add("GET", std::string(kExecutions) + "/{id}", "replication_execution", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("id"), "id"));
    BERTH_ASSIGN_OR_RETURN(auto e, c.Execution(call.ctx.identity, id));
    return SendJsonValue(call.ctx, 200, ExecutionJson(e));
  });
  r.Add("PUT", std::string(kExecutions) + "/{id}", "replication_execution", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("id"), "id"));
    BERTH_RETURN_IF_ERROR(c.Stop(call.ctx.identity, id));
    return SendOk(call.ctx);
  });
  r.Add("GET", std::string(kExecutions) + "/{id}/tasks", "replication_tasks", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("id"), "id"));
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto page, c.Tasks(call.ctx.identity, id, call.ctx.query.Get("status"),
                                              call.ctx.query.Get("resource_type"), q));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& t : page.items) out.push_back(TaskJson(t));
    SetPagination(call.ctx, q, page.total);
    return SendJsonValue(call.ctx, 200, out);
  });
  r.Add("GET", std::string(kExecutions) + "/{id}/tasks/{tid}/log", "replication_task_log",
        [&c](ApiCall& call) -> Status {
          BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("id"), "id"));
          BERTH_ASSIGN_OR_RETURN(int64_t tid, ParseId(call.Param("tid"), "tid"));
          BERTH_ASSIGN_OR_RETURN(std::string log, c.TaskLog(call.ctx.identity, id, tid));
          SendBody(call.ctx, 200, "text/plain; charset=utf-8", log);
          return Status();
        });
}

}  // namespace berth
