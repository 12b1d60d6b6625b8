#include "api/user_api.h"

#include <set>

#include "api/api_util.h"
#include "auth/rbac.h"
#include "http/response.h"

namespace berth {

namespace {

nlohmann::json UserJson(const UserRecord& u) {
  return {{"user_id", u.user_id},
          {"username", u.username},
          {"email", u.email},
          {"realname", u.realname},
          {"comment", u.comment},
          {"sysadmin_flag", u.sysadmin},
          {"admin_role_in_auth", u.admin_in_auth},
          {"creation_time", ApiTime(u.creation_time)},
          {"update_time", ApiTime(u.update_time)}};
}

nlohmann::json GroupJson(const UserGroupRecord& g) {
  return {{"id", g.id}, {"group_name", g.group_name}, {"group_type", g.group_type},
          {"ldap_group_dn", g.ldap_group_dn}};
}

StatusOr<std::optional<std::string>> OptionalString(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return Status::InvalidArgument(std::string(key) + " must be a string", "BAD_REQUEST");
  return std::optional<std::string>(it->get<std::string>());
}

Status SendPage(ApiCall& call, const ListQuery& q, int64_t total, const nlohmann::json& items) {
  SetPagination(call.ctx, q, total);
  return SendJsonValue(call.ctx, 200, items);
}

}  // namespace

void RegisterUserApi(ApiRouter& r, UserController& c, ProjectController& projects) {
  const std::string base = "/api/v2.0/users";
  r.Add("GET", base, "users", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
    // Harbor's ListUsers also takes username= and email= (fuzzy).
    for (const char* key : {"username", "email"}) {
      if (!call.ctx.query.Get(key).empty()) {
        q.terms.push_back({key, QueryTerm::Op::kFuzzy, {call.ctx.query.Get(key)}});
      }
    }
    BERTH_ASSIGN_OR_RETURN(auto page, c.List(call.ctx.identity, q));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& u : page.items) out.push_back(UserJson(u));
    return SendPage(call, q, page.total, out);
  });
  r.Add("POST", base, "users", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    UserRecord u;
    BERTH_ASSIGN_OR_RETURN(u.username, JsonString(body, "username", true));
    BERTH_ASSIGN_OR_RETURN(u.email, JsonString(body, "email", false));
    BERTH_ASSIGN_OR_RETURN(u.realname, JsonString(body, "realname", false));
    BERTH_ASSIGN_OR_RETURN(u.comment, JsonString(body, "comment", false));
    BERTH_ASSIGN_OR_RETURN(std::string password, JsonString(body, "password", true));
    BERTH_ASSIGN_OR_RETURN(UserRecord created, c.Create(call.ctx.identity, u, password));
    return SendCreated(call.ctx, "/api/v2.0/users/" + std::to_string(created.user_id));
  });
  r.Add("GET", base + "/current", "users_current", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(UserRecord u, c.Current(call.ctx.identity));
    return SendJsonValue(call.ctx, 200, UserJson(u));
  });
  r.Add("GET", base + "/current/permissions", "users_permissions", [&projects](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    // Any signed-in caller, robots included (Harbor evaluates the caller's
    // security context, whatever it is).
    BERTH_RETURN_IF_ERROR(RequireAuthenticated(ctx));
    std::string scope = ctx.query.Get("scope");
    bool relative = ctx.query.Get("relative") == "true";
    nlohmann::json out = nlohmann::json::array();
    if (scope.rfind("/project/", 0) == 0) {
      BERTH_ASSIGN_OR_RETURN(ProjectRecord p, projects.Resolve(scope.substr(9), false));
      // Every project permission the caller holds: its roles, what a
      // public project grants everyone, a robot's own grants.
      std::set<std::pair<std::string, std::string>> candidates, grants;
      for (int role = rbac::kProjectAdmin; role <= rbac::kLimitedGuest; ++role) {
        for (const auto& g : rbac::RoleGrants(role)) candidates.insert(g);
      }
      for (const auto& g : candidates) {
        Status allowed = projects.Check(ctx.identity, p, g.first, g.second);
        if (allowed.ok()) {
          grants.insert(g);
        } else if (allowed.code() != Code::kPermissionDenied) {
          return allowed;
        }
      }
      for (const auto& [res, act] : grants) {
        std::string resource = relative ? res : scope + (res.empty() ? "" : "/" + res);
        out.push_back({{"resource", resource}, {"action", act}});
      }
    } else if (ctx.identity.sysadmin) {
      for (const auto& [res, act] : rbac::SystemPermissionCatalog()) {
        out.push_back({{"resource", relative ? res : "/system/" + res}, {"action", act}});
      }
    }
    return SendJsonValue(ctx, 200, out);
  });
  r.Add("GET", base + "/search", "users_search", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto page, c.Search(call.ctx.identity, call.ctx.query.Get("username"), q));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& u : page.items) out.push_back({{"user_id", u.user_id}, {"username", u.username}});
    return SendPage(call, q, page.total, out);
  });
  std::string one = base + "/{user_id}";
  r.Add("GET", one, "user", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("user_id"), "user_id"));
    BERTH_ASSIGN_OR_RETURN(UserRecord u, c.Get(call.ctx.identity, id));
    return SendJsonValue(call.ctx, 200, UserJson(u));
  });
  r.Add("PUT", one, "user", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("user_id"), "user_id"));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto email, OptionalString(body, "email"));
    BERTH_ASSIGN_OR_RETURN(auto realname, OptionalString(body, "realname"));
    BERTH_ASSIGN_OR_RETURN(auto comment, OptionalString(body, "comment"));
    BERTH_RETURN_IF_ERROR(c.UpdateProfile(call.ctx.identity, id, email, realname, comment));
    return SendOk(call.ctx);
  });
  r.Add("DELETE", one, "user", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("user_id"), "user_id"));
    BERTH_RETURN_IF_ERROR(c.Delete(call.ctx.identity, id));
    return SendOk(call.ctx);
  });
  r.Add("PUT", one + "/sysadmin", "user_sysadmin", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("user_id"), "user_id"));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    if (!body.contains("sysadmin_flag")) return Status::InvalidArgument("sysadmin_flag is required", "BAD_REQUEST");
    BERTH_ASSIGN_OR_RETURN(bool flag, JsonBool(body, "sysadmin_flag", false));
    BERTH_RETURN_IF_ERROR(c.SetSysadmin(call.ctx.identity, id, flag));
    return SendOk(call.ctx);
  });
  r.Add("PUT", one + "/password", "user_password", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("user_id"), "user_id"));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_ASSIGN_OR_RETURN(std::string old_pw, JsonString(body, "old_password", false));
    BERTH_ASSIGN_OR_RETURN(std::string new_pw, JsonString(body, "new_password", true));
    BERTH_RETURN_IF_ERROR(c.ChangePassword(call.ctx.identity, id, old_pw, new_pw));
    return SendOk(call.ctx);
  });
  r.Add("PUT", one + "/cli_secret", "user_cli_secret", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("user_id"), "user_id"));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_ASSIGN_OR_RETURN(std::string secret, JsonString(body, "secret", false));
    BERTH_ASSIGN_OR_RETURN(std::string set, c.SetCliSecret(call.ctx.identity, id, secret));
    return SendJsonValue(call.ctx, 200, {{"secret", set}});
  });

  // User groups.
  const std::string groups = "/api/v2.0/usergroups";
  r.Add("GET", groups, "usergroups", [&c](ApiCall& call) -> Status {
    auto& ctx = call.ctx;
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(ctx));
    if (ctx.query.Has("group_name")) q.terms.push_back({"group_name", QueryTerm::Op::kFuzzy, {ctx.query.Get("group_name")}});
    if (ctx.query.Has("ldap_group_dn")) q.terms.push_back({"ldap_group_dn", QueryTerm::Op::kExact, {ctx.query.Get("ldap_group_dn")}});
    BERTH_ASSIGN_OR_RETURN(auto page, c.ListGroups(ctx.identity, q));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& g : page.items) out.push_back(GroupJson(g));
    return SendPage(call, q, page.total, out);
  });
  r.Add("POST", groups, "usergroups", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    UserGroupRecord g;
    BERTH_ASSIGN_OR_RETURN(g.group_name, JsonString(body, "group_name", false));
    BERTH_ASSIGN_OR_RETURN(int64_t type, JsonInt(body, "group_type", 0));
    g.group_type = static_cast<int>(type);
    BERTH_ASSIGN_OR_RETURN(g.ldap_group_dn, JsonString(body, "ldap_group_dn", false));
    BERTH_ASSIGN_OR_RETURN(UserGroupRecord created, c.CreateGroup(call.ctx.identity, g));
    return SendCreated(call.ctx, "/api/v2.0/usergroups/" + std::to_string(created.id));
  });
  r.Add("GET", groups + "/search", "usergroups_search", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto page, c.SearchGroups(call.ctx.identity, call.ctx.query.Get("groupname"), q));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& g : page.items) out.push_back({{"id", g.id}, {"group_name", g.group_name}, {"group_type", g.group_type}});
    return SendPage(call, q, page.total, out);
  });
  std::string group = groups + "/{group_id}";
  r.Add("GET", group, "usergroup", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("group_id"), "group_id"));
    BERTH_ASSIGN_OR_RETURN(UserGroupRecord g, c.GetGroup(call.ctx.identity, id));
    return SendJsonValue(call.ctx, 200, GroupJson(g));
  });
  r.Add("PUT", group, "usergroup", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("group_id"), "group_id"));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_ASSIGN_OR_RETURN(std::string name, JsonString(body, "group_name", true));
    BERTH_RETURN_IF_ERROR(c.RenameGroup(call.ctx.identity, id, name));
    return SendOk(call.ctx);
  });
  r.Add("DELETE", group, "usergroup", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("group_id"), "group_id"));
    BERTH_RETURN_IF_ERROR(c.DeleteGroup(call.ctx.identity, id));
    return SendOk(call.ctx);
  });

  // LDAP and OIDC.
  r.Add("POST", "/api/v2.0/ldap/ping", "ldap_ping", [&c](ApiCall& call) -> Status {
    std::string settings;
    if (call.ctx.ContentLength() != 0) {
      BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
      // Harbor's LdapConf keys -> the plugin's config keys.
      static const std::pair<const char*, const char*> kMap[] = {
          {"ldap_url", "url"}, {"ldap_search_dn", "search_dn"}, {"ldap_search_password", "search_password"},
          {"ldap_base_dn", "base_dn"}, {"ldap_filter", "filter"}, {"ldap_uid", "uid"},
          {"ldap_connection_timeout", "timeout_s"}, {"ldap_verify_cert", "verify_cert"}};
      nlohmann::json s = nlohmann::json::object();
      for (const auto& [from, to] : kMap) {
        if (body.contains(from) && !body[from].is_null()) s[to] = body[from];
      }
      if (body.contains("ldap_scope") && body["ldap_scope"].is_number_integer()) {
        static const char* kScopes[] = {"base", "onelevel", "subtree"};
        int sc = body["ldap_scope"].get<int>();
        if (sc >= 0 && sc <= 2) s["scope"] = kScopes[sc];
      }
      settings = s.dump();
    }
    if (!call.ctx.identity.sysadmin) return Deny(call.ctx.identity, "only system administrators may test LDAP");
    // A failed connection is a result to report, not an API error.
    Status st = c.PingBackend(call.ctx.identity, "ldap", settings);
    if (st.api_code() == "BAD_REQUEST") return st;
    return SendJsonValue(call.ctx, 200, {{"success", st.ok()}, {"message", st.ok() ? "success" : st.message()}});
  });
  r.Add("GET", "/api/v2.0/ldap/users/search", "ldap_users", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto users, c.SearchLdapUsers(call.ctx.identity, call.ctx.query.Get("username")));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& u : users) out.push_back({{"username", u.username}, {"realname", u.realname}, {"email", u.email}});
    return SendJsonValue(call.ctx, 200, out);
  });
  r.Add("POST", "/api/v2.0/ldap/users/import", "ldap_import", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    std::vector<std::string> uids;
    for (const auto& v : body.value("ldap_uid_list", nlohmann::json::array())) {
      if (!v.is_string()) return Status::InvalidArgument("ldap_uid_list must hold strings", "BAD_REQUEST");
      uids.push_back(v.get<std::string>());
    }
    if (uids.empty()) return Status::InvalidArgument("ldap_uid_list is required", "BAD_REQUEST");
    BERTH_ASSIGN_OR_RETURN(auto failed, c.ImportLdapUsers(call.ctx.identity, uids));
    if (failed.empty()) return SendOk(call.ctx);
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [uid, err] : failed) out.push_back({{"uid", uid}, {"error", err}});
    return SendJsonValue(call.ctx, 404, out);
  });
  r.Add("GET", "/api/v2.0/ldap/groups/search", "ldap_groups", [&c](ApiCall& call) -> Status {
    std::string q = call.ctx.query.Get("groupname");
    if (q.empty()) q = call.ctx.query.Get("groupdn");
    BERTH_ASSIGN_OR_RETURN(auto groups, c.SearchLdapGroups(call.ctx.identity, q));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& g : groups) out.push_back({{"group_name", g.name}, {"group_type", kGroupTypeLdap}, {"ldap_group_dn", g.id}});
    return SendJsonValue(call.ctx, 200, out);
  });
  r.Add("POST", "/api/v2.0/system/oidc/ping", "oidc_ping", [&c](ApiCall& call) -> Status {
    std::string settings;
    if (call.ctx.ContentLength() != 0) {
      BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
      nlohmann::json s = nlohmann::json::object();
      if (body.contains("url")) s["endpoint"] = body["url"];
      if (body.contains("verify_cert")) s["verify_cert"] = body["verify_cert"];
      settings = s.dump();
    }
    BERTH_RETURN_IF_ERROR(c.PingBackend(call.ctx.identity, "oidc", settings));
    return SendOk(call.ctx);
  });
}

}  // namespace berth
