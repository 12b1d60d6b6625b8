#include "api/project_api.h"

#include "api/api_util.h"
#include "api/cve_allowlist_api.h"
#include "api/quota_api.h"
#include "auth/rbac.h"
#include "common/strings.h"
#include "http/response.h"

namespace berth {

namespace {

constexpr char kBase[] = "/api/v2.0/projects";

nlohmann::json MemberJson(const MemberRecord& m) {
  return {{"id", m.id},
          {"project_id", m.project_id},
          {"entity_name", m.entity_name},
          {"role_name", rbac::RoleName(m.role)},
          {"role_id", m.role},
          {"entity_id", m.entity_id},
          {"entity_type", m.entity_type}};
}

// ProjectReq.metadata plus the deprecated top-level "public".
StatusOr<std::map<std::string, std::string>> MetadataFrom(const nlohmann::json& body) {
  std::map<std::string, std::string> md;
  if (auto m = body.find("metadata"); m != body.end() && !m->is_null()) {
    if (!m->is_object()) return Status::InvalidArgument("metadata must be an object", "BAD_REQUEST");
    for (const auto& [k, v] : m->items()) {
      if (v.is_string()) md[k] = v.get<std::string>();
      else if (v.is_boolean()) md[k] = v.get<bool>() ? "true" : "false";
      else if (v.is_number_integer()) md[k] = std::to_string(v.get<int64_t>());
      else return Status::InvalidArgument("metadata " + k + " must be a string", "BAD_REQUEST");
    }
  }
  if (auto p = body.find("public"); p != body.end() && !p->is_null()) {
    if (!p->is_boolean()) return Status::InvalidArgument("public must be a boolean", "BAD_REQUEST");
    if (!md.count("public")) md["public"] = p->get<bool>() ? "true" : "false";
  }
  return md;
}

// The project's cve_allowlist of a create or update body, if any. On update
// a project_id other than 0 must be the project's (Harbor's message).
StatusOr<std::optional<CveAllowlistSpec>> AllowlistFrom(const nlohmann::json& body,
                                                        CveAllowlistController* allowlists,
                                                        int64_t project_id) {
  auto a = body.find("cve_allowlist");
  if (a == body.end() || a->is_null()) return std::optional<CveAllowlistSpec>();
  if (allowlists == nullptr) {
    return Status::InvalidArgument("CVE allowlists are not available", "BAD_REQUEST");
  }
  if (a->is_object() && project_id != 0) {
    if (auto pid = a->find("project_id"); pid != a->end() && !pid->is_null()) {
      if (!pid->is_number_integer()) {
        return Status::InvalidArgument("project_id in cve_allowlist must be an integer", "BAD_REQUEST");
      }
      int64_t given = pid->get<int64_t>();
      if (given != 0 && given != project_id) {
        return Status::InvalidArgument("project_id in cve_allowlist must be " +
                                           std::to_string(project_id) + " but it's " +
                                           std::to_string(given),
                                       "BAD_REQUEST");
      }
    }
  }
  BERTH_ASSIGN_OR_RETURN(auto spec, CveAllowlistFromJson(*a));
  return std::optional<CveAllowlistSpec>(std::move(spec));
}

// The project as its API renders it, with its own allowlist.
StatusOr<nlohmann::json> RenderProject(ProjectController& c, CveAllowlistController* allowlists,
                                       const Identity& who, const ProjectRecord& p) {
  BERTH_ASSIGN_OR_RETURN(auto roles, c.RolesOf(who, p));
  if (allowlists == nullptr) return ProjectJson(p, roles);
  BERTH_ASSIGN_OR_RETURN(auto own, allowlists->OfProject(p.project_id));
  return ProjectJson(p, roles, &own);
}

}  // namespace

nlohmann::json ProjectJson(const ProjectRecord& p, const std::vector<int>& roles,
                           const CveAllowlistRecord* allowlist) {
  CveAllowlistRecord own;
  if (allowlist != nullptr) own = *allowlist;
  own.project_id = p.project_id;
  if (own.id == 0) {
    // Never written: Harbor creates the empty list with the project.
    own.creation_time = own.update_time = p.creation_time;
  }
  nlohmann::json md = nlohmann::json::object();
  for (const auto& [k, v] : p.metadata) md[k] = v;
  nlohmann::json j = {{"project_id", p.project_id},
                      {"owner_id", p.owner_id},
                      {"owner_name", p.owner_name},
                      {"name", p.name},
                      {"registry_id", p.registry_id},
                      {"creation_time", ApiTime(p.creation_time)},
                      {"update_time", ApiTime(p.update_time)},
                      {"deleted", false},
                      {"togglable", true},
                      {"repo_count", p.repo_count},
                      {"metadata", md},
                      {"cve_allowlist", CveAllowlistJson(own)}};
  int best = 0;
  for (int r : roles) best = best == 0 ? r : std::min(best, r);
  j["current_user_role_id"] = best;
  j["current_user_role_ids"] = roles;
  return j;
}

void RegisterProjectApi(ApiRouter& r, ProjectController& c, CveAllowlistController* allowlists) {
  r.Add("GET", kBase, "projects", [&c, allowlists](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(ctx));
    if (ctx.query.Has("name")) q.terms.push_back({"name", QueryTerm::Op::kFuzzy, {ctx.query.Get("name")}});
    if (ctx.query.Has("public")) {
      std::string v = ToLower(ctx.query.Get("public"));
      if (v != "true" && v != "false") return Status::InvalidArgument("public must be true or false", "BAD_REQUEST");
      q.terms.push_back({"public", QueryTerm::Op::kExact, {v}});
    }
    if (ctx.query.Has("owner")) q.terms.push_back({"owner", QueryTerm::Op::kExact, {ctx.query.Get("owner")}});
    BERTH_ASSIGN_OR_RETURN(auto page, c.List(ctx.identity, q));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : page.items) {
      BERTH_ASSIGN_OR_RETURN(auto j, RenderProject(c, allowlists, ctx.identity, p));
      out.push_back(std::move(j));
    }
    SetPagination(ctx, q, page.total);
    return SendJsonValue(ctx, 200, out);
  });

  r.Add("HEAD", kBase, "projects", [&c](ApiCall& call) -> Status {
    // Signed-in callers only (Harbor): names of private projects are not
    // for anonymous probing.
    BERTH_RETURN_IF_ERROR(RequireAuthenticated(call.ctx));
    std::string name = call.ctx.query.Get("project_name");
    if (name.empty()) return Status::InvalidArgument("project_name is required", "BAD_REQUEST");
    BERTH_ASSIGN_OR_RETURN(bool exists, c.Exists(name));
    SendEmpty(call.ctx, exists ? 200 : 404);
    return {};
  });

  r.Add("POST", kBase, "projects", [&c, allowlists](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(ctx));
    BERTH_ASSIGN_OR_RETURN(std::string name, JsonString(body, "project_name", true));
    BERTH_ASSIGN_OR_RETURN(auto md, MetadataFrom(body));
    // Validated before the project exists: nothing half-written on bad input.
    BERTH_ASSIGN_OR_RETURN(auto allowlist, AllowlistFrom(body, allowlists, 0));
    // A proxy-cache project (docs/proxy-cache.md) of this registry endpoint.
    int64_t registry_id = 0;
    if (auto rid = body.find("registry_id"); rid != body.end() && !rid->is_null()) {
      BERTH_ASSIGN_OR_RETURN(registry_id, JsonInt(body, "registry_id", 0));
      if (registry_id <= 0) {
        return Status::InvalidArgument("registry " + std::to_string(registry_id) + " not found", "BAD_REQUEST");
      }
    }
    std::optional<int64_t> storage_limit;
    if (auto sl = body.find("storage_limit"); sl != body.end() && !sl->is_null()) {
      BERTH_ASSIGN_OR_RETURN(storage_limit, JsonInt(body, "storage_limit", -1));
    }
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, c.Create(ctx.identity, name, md, storage_limit, registry_id));
    // Harbor ignores a cve_allowlist on create; Berth keeps it.
    if (allowlist) BERTH_RETURN_IF_ERROR(allowlists->SetForProject(p.project_id, *allowlist).status());
    bool by_name = EqualsIgnoreCase(ctx.Header("X-Resource-Name-In-Location"), "true");
    return SendCreated(ctx, std::string(kBase) + "/" + (by_name ? p.name : std::to_string(p.project_id)));
  });

  std::string one = std::string(kBase) + "/{project_name_or_id}";
  r.Add("GET", one, "project", [&c, allowlists](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, c.Get(ctx.identity, call.Param("project_name_or_id"), IsNameHeader(ctx)));
    BERTH_ASSIGN_OR_RETURN(auto j, RenderProject(c, allowlists, ctx.identity, p));
    return SendJsonValue(ctx, 200, j);
  });

  r.Add("PUT", one, "project", [&c, allowlists](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, c.Resolve(call.Param("project_name_or_id"), IsNameHeader(ctx)));
    // Permission before the body's checks: a guest learns nothing from 400s.
    BERTH_RETURN_IF_ERROR(c.Check(ctx.identity, p, "", "update"));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(ctx));
    BERTH_ASSIGN_OR_RETURN(auto md, MetadataFrom(body));
    BERTH_RETURN_IF_ERROR(ValidateProjectMetadata(md));
    BERTH_ASSIGN_OR_RETURN(auto allowlist, AllowlistFrom(body, allowlists, p.project_id));
    // A project is a proxy cache, or not, from its creation on.
    if (auto rid = body.find("registry_id"); rid != body.end() && !rid->is_null()) {
      BERTH_ASSIGN_OR_RETURN(int64_t given, JsonInt(body, "registry_id", 0));
      if (given != p.registry_id) {
        return Status::InvalidArgument("the registry_id of a project cannot be changed", "BAD_REQUEST");
      }
    }
    if (p.registry_id != 0) md.erase("enable_content_trust");
    BERTH_RETURN_IF_ERROR(c.UpdateMetadata(ctx.identity, p, md));
    if (allowlist) BERTH_RETURN_IF_ERROR(allowlists->SetForProject(p.project_id, *allowlist).status());
    return SendOk(ctx);
  });

  r.Add("DELETE", one, "project", [&c](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, c.Resolve(call.Param("project_name_or_id"), IsNameHeader(ctx)));
    BERTH_RETURN_IF_ERROR(c.Delete(ctx.identity, p));
    return SendOk(ctx);
  });

  r.Add("GET", one + "/_deletable", "project_deletable", [&c](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, c.Resolve(call.Param("project_name_or_id"), IsNameHeader(ctx)));
    BERTH_ASSIGN_OR_RETURN(auto d, c.Deletable(ctx.identity, p));
    nlohmann::json j = {{"deletable", d.first}};
    if (!d.second.empty()) j["message"] = d.second;
    return SendJsonValue(ctx, 200, j);
  });

  r.Add("GET", one + "/summary", "project_summary", [&c](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, c.Resolve(call.Param("project_name_or_id"), IsNameHeader(ctx)));
    BERTH_ASSIGN_OR_RETURN(ProjectSummary s, c.Summary(ctx.identity, p));
    auto count = [&](int role) {
      auto it = s.role_counts.find(role);
      return it == s.role_counts.end() ? int64_t{0} : it->second;
    };
    nlohmann::json j = {{"repo_count", s.repo_count},
                        {"project_admin_count", count(rbac::kProjectAdmin)},
                        {"maintainer_count", count(rbac::kMaintainer)},
                        {"developer_count", count(rbac::kDeveloper)},
                        {"guest_count", count(rbac::kGuest)},
                        {"limited_guest_count", count(rbac::kLimitedGuest)}};
    if (s.quota) {
      j["quota"] = {{"hard", StorageResourceList(s.quota->hard_storage)},
                    {"used", StorageResourceList(s.quota->used_storage)}};
    }
    return SendJsonValue(ctx, 200, j);
  });

  // Metadata.
  std::string md = one + "/metadatas";
  r.Add("GET", md, "project_metadata", [&c](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, c.Resolve(call.Param("project_name_or_id"), IsNameHeader(ctx)));
    BERTH_RETURN_IF_ERROR(c.Check(ctx.identity, p, "metadata", "read"));
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [k, v] : p.metadata) j[k] = v;
    return SendJsonValue(ctx, 200, j);
  });
  auto set_metadata = [&c](ApiCall& call, const char* action) -> Status {
    auto& ctx = call.ctx;
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, c.Resolve(call.Param("project_name_or_id"), IsNameHeader(ctx)));
    BERTH_RETURN_IF_ERROR(c.Check(ctx.identity, p, "metadata", action));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(ctx));
    BERTH_ASSIGN_OR_RETURN(auto values, MetadataFrom(nlohmann::json{{"metadata", body}}));
    if (call.params.count("meta_name")) {
      if (values.size() != 1 || !values.count(call.Param("meta_name"))) {
        return Status::InvalidArgument("the body must set exactly " + call.Param("meta_name"), "BAD_REQUEST");
      }
      if (!p.metadata.count(call.Param("meta_name"))) {
        return Status::NotFound("metadata " + call.Param("meta_name") + " not found", "NOT_FOUND");
      }
    }
    BERTH_RETURN_IF_ERROR(c.UpdateMetadata(ctx.identity, p, values));
    return SendOk(ctx);
  };
  r.Add("POST", md, "project_metadata", [set_metadata](ApiCall& call) { return set_metadata(call, "create"); });
  r.Add("GET", md + "/{meta_name}", "project_metadata", [&c](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, c.Resolve(call.Param("project_name_or_id"), IsNameHeader(ctx)));
    BERTH_RETURN_IF_ERROR(c.Check(ctx.identity, p, "metadata", "read"));
    auto it = p.metadata.find(call.Param("meta_name"));
    if (it == p.metadata.end()) return Status::NotFound("metadata not found", "NOT_FOUND");
    return SendJsonValue(ctx, 200, nlohmann::json{{it->first, it->second}});
  });
  r.Add("PUT", md + "/{meta_name}", "project_metadata", [set_metadata](ApiCall& call) { return set_metadata(call, "update"); });
  r.Add("DELETE", md + "/{meta_name}", "project_metadata", [&c](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, c.Resolve(call.Param("project_name_or_id"), IsNameHeader(ctx)));
    BERTH_RETURN_IF_ERROR(c.DeleteMetadataKey(ctx.identity, p, call.Param("meta_name")));
    return SendOk(ctx);
  });

  // Members.
  std::string members = one + "/members";
  r.Add("GET", members, "project_members", [&c](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, c.Resolve(call.Param("project_name_or_id"), IsNameHeader(ctx)));
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(ctx));
    if (ctx.query.Has("entityname")) {
      q.terms.push_back({"entityname", QueryTerm::Op::kFuzzy, {ctx.query.Get("entityname")}});
    }
    BERTH_ASSIGN_OR_RETURN(auto page, c.Members(ctx.identity, p, q));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& m : page.items) out.push_back(MemberJson(m));
    SetPagination(ctx, q, page.total);
    return SendJsonValue(ctx, 200, out);
  });
  r.Add("POST", members, "project_members", [&c](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, c.Resolve(call.Param("project_name_or_id"), IsNameHeader(ctx)));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(ctx));
    MemberSpec m;
    BERTH_ASSIGN_OR_RETURN(int64_t role, JsonInt(body, "role_id", 0));
    m.role = static_cast<int>(role);
    if (auto u = body.find("member_user"); u != body.end() && u->is_object()) {
      BERTH_ASSIGN_OR_RETURN(m.user_id, JsonInt(*u, "user_id", 0));
      BERTH_ASSIGN_OR_RETURN(m.username, JsonString(*u, "username", false));
    }
    if (auto g = body.find("member_group"); g != body.end() && g->is_object()) {
      BERTH_ASSIGN_OR_RETURN(m.group_id, JsonInt(*g, "id", 0));
      BERTH_ASSIGN_OR_RETURN(m.group_name, JsonString(*g, "group_name", false));
      BERTH_ASSIGN_OR_RETURN(int64_t gt, JsonInt(*g, "group_type", 0));
      m.group_type = static_cast<int>(gt);
      BERTH_ASSIGN_OR_RETURN(m.ldap_group_dn, JsonString(*g, "ldap_group_dn", false));
    }
    BERTH_ASSIGN_OR_RETURN(MemberRecord rec, c.AddMember(ctx.identity, p, m));
    return SendCreated(ctx, std::string(kBase) + "/" + std::to_string(p.project_id) + "/members/" +
                                std::to_string(rec.id));
  });
  std::string member = members + "/{mid}";
  r.Add("GET", member, "project_member", [&c](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, c.Resolve(call.Param("project_name_or_id"), IsNameHeader(ctx)));
    BERTH_ASSIGN_OR_RETURN(int64_t mid, ParseId(call.Param("mid"), "mid"));
    BERTH_ASSIGN_OR_RETURN(MemberRecord m, c.Member(ctx.identity, p, mid));
    return SendJsonValue(ctx, 200, MemberJson(m));
  });
  r.Add("PUT", member, "project_member", [&c](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, c.Resolve(call.Param("project_name_or_id"), IsNameHeader(ctx)));
    BERTH_ASSIGN_OR_RETURN(int64_t mid, ParseId(call.Param("mid"), "mid"));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(ctx));
    BERTH_ASSIGN_OR_RETURN(int64_t role, JsonInt(body, "role_id", 0));
    BERTH_RETURN_IF_ERROR(c.UpdateMember(ctx.identity, p, mid, static_cast<int>(role)));
    return SendOk(ctx);
  });
  r.Add("DELETE", member, "project_member", [&c](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, c.Resolve(call.Param("project_name_or_id"), IsNameHeader(ctx)));
    BERTH_ASSIGN_OR_RETURN(int64_t mid, ParseId(call.Param("mid"), "mid"));
    BERTH_RETURN_IF_ERROR(c.DeleteMember(ctx.identity, p, mid));
    return SendOk(ctx);
  });
}

}  // namespace berth
