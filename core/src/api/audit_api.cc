#include "api/audit_api.h"

#include "api/api_util.h"
#include "common/strings.h"

namespace berth {

namespace {

nlohmann::json AuditJson(const AuditRecord& a) {
  return {{"id", a.id},
          {"username", a.username},
          {"resource", a.resource},
          {"resource_type", a.resource_type},
          {"operation", a.operation},
          {"operation_result", a.operation_result},
          {"op_time", ApiTime(a.op_time)}};
}

// op_time in q is given as times ("2024-01-02 03:04:05") or unix seconds;
// the store compares unix millis.
Status NormaliseTimes(ListQuery* q) {
  for (auto& t : q->terms) {
    if (t.key != "op_time") continue;
    for (auto& v : t.values) {
      if (v.empty()) continue;
      if (auto n = ParseInt64(v)) {
        v = std::to_string(*n * 1000);
        continue;
      }
      std::tm tm{};
      if (strptime(v.c_str(), "%Y-%m-%d %H:%M:%S", &tm) == nullptr &&
          strptime(v.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) {
        return Status::InvalidArgument("op_time must be a time like \"2024-01-02 03:04:05\"", "BAD_REQUEST");
      }
      v = std::to_string(static_cast<int64_t>(timegm(&tm)) * 1000);
    }
  }
  return {};
}

// The projects whose logs `who` may list; true when every log (system).
StatusOr<bool> VisibleProjects(const Identity& who, AccessEvaluator& evaluator,
                               ProjectStore& projects, std::vector<int64_t>* visible) {
  if (evaluator.CanSystem(who, "audit-log", "list")) return true;
  // Others see the logs of the projects whose logs they may list.
  // Every page of the projects they see (ordered by id, so stable).
  ListQuery all;
  all.page_size = 1000;
  ProjectVisibility v{false, who.user_id, who.group_ids};
  for (;; ++all.page) {
    BERTH_ASSIGN_OR_RETURN(auto page, projects.List(all, v));
    for (const auto& p : page.items) {
      BERTH_ASSIGN_OR_RETURN(bool ok, evaluator.Can(who, p, "log", "list"));
      if (ok) visible->push_back(p.project_id);
    }
    if (static_cast<int64_t>(page.items.size()) < all.page_size) break;
  }
  return false;
}

// Harbor 2.13's extended audit entry.
nlohmann::json AuditExtJson(const AuditRecord& a) {
  return {{"id", a.id},
          {"username", a.username},
          {"resource", a.resource},
          {"resource_type", a.resource_type},
          {"operation", a.operation},
          {"operation_description", a.operation + " " + a.resource_type + " " + a.resource},
          {"operation_result", a.operation_result == "success"},
          {"op_time", ApiTime(a.op_time)}};
}

// What Berth records, as Harbor's event types (<operation>_<resource type>).
const char* const kEventTypes[] = {
    "push_artifact",         "pull_artifact",         "delete_artifact", "delete_tag",
    "create_project",        "update_project",        "delete_project",  "create_member",
    "delete_member",         "create_robot",          "delete_robot",    "create_user",
    "update_user",           "delete_user",           "login_user"};

}  // namespace

void RegisterAuditApi(ApiRouter& r, AuditLog& log, AuditStore& audit, AccessEvaluator& evaluator,
                      ProjectStore& projects, ProjectController& pc) {
  // Harbor's legacy view and 2.13's extended one list the same entries in two shapes.
  using Render = nlohmann::json (*)(const AuditRecord&);
  struct View {
    const char* all_path;
    const char* all_label;
    const char* project_path;
    const char* project_label;
    Render render;
  };
  const View views[] = {
      {"/api/v2.0/audit-logs", "audit_logs", "/api/v2.0/projects/{project_name}/logs",
       "project_logs", AuditJson},
      {"/api/v2.0/auditlog-exts", "auditlog_exts",
       "/api/v2.0/projects/{project_name}/auditlog-exts", "project_auditlog_exts", AuditExtJson}};
  // One page of entries within `scope` (nullptr: every entry).
  auto send = [&audit](RequestContext& ctx, const std::vector<int64_t>* scope,
                       Render render) -> Status {
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(ctx));
    BERTH_RETURN_IF_ERROR(NormaliseTimes(&q));
    BERTH_ASSIGN_OR_RETURN(auto page, audit.List(q, scope));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& a : page.items) out.push_back(render(a));
    SetPagination(ctx, q, page.total);
    return SendJsonValue(ctx, 200, out);
  };
  for (const View& v : views) {
    Render render = v.render;
    r.Add("GET", v.all_path, v.all_label,
          [&log, &evaluator, &projects, send, render](ApiCall& call) -> Status {
            log.Flush();
            const Identity& who = call.ctx.identity;
            if (!who.authenticated()) return Deny(who, "");
            std::vector<int64_t> visible;
            BERTH_ASSIGN_OR_RETURN(bool all, VisibleProjects(who, evaluator, projects, &visible));
            return send(call.ctx, all ? nullptr : &visible, render);
          });
    r.Add("GET", v.project_path, v.project_label,
          [&log, &pc, send, render](ApiCall& call) -> Status {
            log.Flush();
            BERTH_ASSIGN_OR_RETURN(ProjectRecord p, pc.Resolve(call.Param("project_name"), true));
            BERTH_RETURN_IF_ERROR(pc.Check(call.ctx.identity, p, "log", "list"));
            std::vector<int64_t> only = {p.project_id};
            return send(call.ctx, &only, render);
          });
  }
  r.Add("GET", "/api/v2.0/auditlog-exts/events", "auditlog_ext_events", [](ApiCall& call) -> Status {
    if (!call.ctx.identity.authenticated()) return Deny(call.ctx.identity, "");
    nlohmann::json out = nlohmann::json::array();
    for (const char* e : kEventTypes) out.push_back({{"event_type", e}});
    return SendJsonValue(call.ctx, 200, out);
  });
}

}  // namespace berth
