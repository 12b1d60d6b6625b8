#include "iam/project_controller.h"

#include <cstdint>
#include <set>

#include "auth/rbac.h"
#include "common/strings.h"

namespace berth {

namespace {

Status Bad(const std::string& m) { return Status::InvalidArgument(m, "BAD_REQUEST"); }
Status NotFound(const std::string& m) { return Status::NotFound(m, "NOT_FOUND"); }

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

Status ValidateProjectName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 255 && IsLowerAlnum(name.front()) &&
            IsLowerAlnum(name.back());
  for (size_t i = 0; ok && i < name.size(); ++i) {
    char c = name[i];
    if (IsLowerAlnum(c)) continue;
    ok = (c == '.' || c == '_' || c == '-') && i + 1 < name.size() && IsLowerAlnum(name[i + 1]);
  }
  if (!ok) {
    return Bad("invalid project name '" + name +
               "': lowercase letters and digits, optionally separated by single '.', '_' or '-'");
  }
  return {};
}

Status ValidateProjectMetadata(const std::map<std::string, std::string>& md) {
  static const std::set<std::string> kBool = {
      "public", "enable_content_trust", "enable_content_trust_cosign",
      "enable_content_trust_notation",  // Berth's explicit name for enable_content_trust
      "prevent_vul", "auto_scan",
      "auto_sbom_generation", "reuse_sys_cve_allowlist", "proxy_cache_local_on_not_found",
      "proxy_referrer_api"};
  static const std::set<std::string> kSeverity = {"none", "low", "medium", "high", "critical"};
  for (const auto& [k, v] : md) {
    if (kBool.count(k)) {
      if (v != "true" && v != "false") return Bad("metadata " + k + " must be \"true\" or \"false\"");
    } else if (k == "severity") {
      if (!kSeverity.count(ToLower(v))) return Bad("metadata severity must be none, low, medium, high or critical");
    } else if (k == "proxy_speed_kb") {
      // Harbor's handler: an int32 (KB/s; -1 or absent: unlimited).
      auto kb = ParseInt64(v);
      if (!kb || *kb < INT32_MIN || *kb > INT32_MAX) {
        return Bad("metadata.proxy_speed_kb should by an int32, but got: '" + v + "'");
      }
    } else if (k == "retention_id" || k == "max_upstream_conn") {
      if (!ParseInt64(v)) return Bad("metadata " + k + " must be an integer");
    } else if (k == "proxy_cache_filter_kind") {
      if (v != "doublestar" && v != "regex") return Bad("metadata proxy_cache_filter_kind must be doublestar or regex");
    } else if (k != "proxy_cache_filter_pattern") {
      return Bad("unknown project metadata key '" + k + "'");
    }
  }
  return {};
}

Status ProjectController::Check(const Identity& who, const ProjectRecord& p,
                                const std::string& resource, const std::string& action) {
  BERTH_ASSIGN_OR_RETURN(bool ok, evaluator_.Can(who, p, resource, action));
  if (ok) return {};
  return Deny(who, "not allowed to " + action + " " + (resource.empty() ? "the project" : resource) +
                       " of project " + p.name);
}

StatusOr<ProjectRecord> ProjectController::Resolve(const std::string& ref, bool is_name) {
  std::optional<ProjectRecord> p;
  auto id = ParseInt64(ref);
  if (id && !is_name) {
    BERTH_ASSIGN_OR_RETURN(p, projects_.GetById(*id));
  } else {
    BERTH_ASSIGN_OR_RETURN(p, projects_.GetByName(ref));
  }
  if (!p) return NotFound("project " + ref + " not found");
  return *p;
}

StatusOr<ProjectRecord> ProjectController::Create(const Identity& who, const std::string& name,
                                                  std::map<std::string, std::string> md,
                                                  std::optional<int64_t> storage_limit,
                                                  int64_t registry_id) {
  if (!who.authenticated()) return Deny(who, "");
  // With "everyone", Harbor lets every user and every system-level robot
  // create projects (never project-level robots).
  auto settings = settings_.Get();
  bool everyone = settings->project_creation_restriction == "everyone";
  bool allowed = who.sysadmin || evaluator_.CanSystem(who, "project", "create") ||
                 (who.kind == Identity::Kind::kUser && everyone) ||
                 (who.kind == Identity::Kind::kRobot && who.robot_project_id == 0 && everyone);
  if (!allowed) return Deny(who, "only system administrators may create projects");
  if (registry_id != 0 && !who.sysadmin) {
    return Deny(who, "Only system admin can create proxy cache project");
  }
  BERTH_RETURN_IF_ERROR(ValidateProjectName(name));
  if (registry_id != 0) {
    // Harbor: 400 for a registry that does not exist.
    Status found = registry_id < 0 || !registry_check_
                       ? Status::NotFound("no registry")
                       : registry_check_(registry_id);
    if (found.IsNotFound()) {
      return Status::InvalidArgument("registry " + std::to_string(registry_id) + " not found",
                                     "BAD_REQUEST");
    }
    BERTH_RETURN_IF_ERROR(found);
    // Harbor ignores content trust on proxy-cache projects.
    md.erase("enable_content_trust");
  }
  if (!md.count("public")) md["public"] = "false";
  BERTH_RETURN_IF_ERROR(ValidateProjectMetadata(md));
  int64_t limit = quotas_ ? settings->storage_per_project : -1;
  if (storage_limit && who.sysadmin) {
    BERTH_RETURN_IF_ERROR(QuotaController::ValidateStorageLimit(*storage_limit, "storage_limit"));
    limit = *storage_limit;
  }
  int64_t owner = who.kind == Identity::Kind::kUser ? who.user_id : 0;
  BERTH_ASSIGN_OR_RETURN(ProjectRecord p, projects_.Create(name, owner, md, registry_id, limit));
  if (registry_id != 0 && on_proxy_created_) {
    Status s = on_proxy_created_(who, p);
    if (!s.ok()) {
      (void)projects_.Delete(p.project_id);  // nothing half-created
      return s;
    }
  }
  Changed(p);  // repositories pushed before it existed are its now
  audit_.Record({0, p.project_id, who.username, name, "project", "create", "success", 0, {}});
  return p;
}

StatusOr<bool> ProjectController::Exists(const std::string& name) {
  BERTH_ASSIGN_OR_RETURN(auto p, projects_.GetByName(name));
  return p.has_value();
}

StatusOr<ProjectRecord> ProjectController::Get(const Identity& who, const std::string& ref,
                                               bool is_name) {
  BERTH_ASSIGN_OR_RETURN(ProjectRecord p, Resolve(ref, is_name));
  BERTH_RETURN_IF_ERROR(Check(who, p, "", "read"));
  return p;
}

StatusOr<Page<ProjectRecord>> ProjectController::List(const Identity& who, const ListQuery& q) {
  return projects_.List(q, VisibilityOf(who));
}

ProjectVisibility ProjectController::VisibilityOf(const Identity& who) const {
  ProjectVisibility v;
  v.all = who.sysadmin || evaluator_.CanSystem(who, "project", "list");
  // Harbor: a robot whose permissions cover every project ("*") sees them all.
  if (who.kind == Identity::Kind::kRobot && who.robot_project_id == 0) {
    for (const auto& p : who.robot_permissions) {
      if (p.kind == "project" && p.ns == "*") v.all = true;
    }
  }
  if (who.kind == Identity::Kind::kUser) {
    v.user_id = who.user_id;
    v.group_ids = who.group_ids;
  }
  // Project robots see their own project, and the public ones (Harbor).
  if (who.kind == Identity::Kind::kRobot && !v.all) v.project_id = who.robot_project_id;
  return v;
}

Status ProjectController::UpdateMetadata(const Identity& who, const ProjectRecord& p,
                                         const std::map<std::string, std::string>& md) {
  BERTH_RETURN_IF_ERROR(Check(who, p, "", "update"));
  BERTH_RETURN_IF_ERROR(ValidateProjectMetadata(md));
  BERTH_RETURN_IF_ERROR(projects_.SetMetadata(p.project_id, md));
  Changed(p);
  audit_.Record({0, p.project_id, who.username, p.name, "project", "update", "success", 0, {}});
  return {};
}

Status ProjectController::Delete(const Identity& who, const ProjectRecord& p) {
  BERTH_RETURN_IF_ERROR(Check(who, p, "", "delete"));
  BERTH_RETURN_IF_ERROR(projects_.Delete(p.project_id));
  Changed(p);
  if (on_deleted_) on_deleted_(p);
  audit_.Record({0, p.project_id, who.username, p.name, "project", "delete", "success", 0, {}});
  return {};
}

StatusOr<std::pair<bool, std::string>> ProjectController::Deletable(const Identity& who,
                                                                    const ProjectRecord& p) {
  BERTH_RETURN_IF_ERROR(Check(who, p, "", "delete"));
  BERTH_ASSIGN_OR_RETURN(int64_t n, projects_.RepoCount(p.project_id));
  if (n > 0) return std::make_pair(false, std::string("the project contains repositories"));
  return std::make_pair(true, std::string());
}

StatusOr<ProjectSummary> ProjectController::Summary(const Identity& who, const ProjectRecord& p) {
  BERTH_RETURN_IF_ERROR(Check(who, p, "", "read"));
  ProjectSummary s;
  BERTH_ASSIGN_OR_RETURN(s.repo_count, projects_.RepoCount(p.project_id));
  BERTH_ASSIGN_OR_RETURN(bool members, evaluator_.Can(who, p, "member", "list"));
  if (members) {
    BERTH_ASSIGN_OR_RETURN(s.role_counts, projects_.RoleCounts(p.project_id));
  }
  // Members see their project's quota (every role may read it); the public
  // project policies do not include it.
  BERTH_ASSIGN_OR_RETURN(bool quota, evaluator_.Can(who, p, "quota", "read"));
  if (quota && quotas_ != nullptr) {
    BERTH_ASSIGN_OR_RETURN(s.quota, quotas_->ForProject(p.project_id));
  }
  return s;
}

Status ProjectController::DeleteMetadataKey(const Identity& who, const ProjectRecord& p,
                                            const std::string& key) {
  BERTH_RETURN_IF_ERROR(Check(who, p, "metadata", "delete"));
  if (key == "public") return Bad("the public metadata cannot be deleted; set it to false");
  BERTH_RETURN_IF_ERROR(projects_.DeleteMetadata(p.project_id, key));
  Changed(p);
  return {};
}

StatusOr<MemberRecord> ProjectController::AddMember(const Identity& who, const ProjectRecord& p,
                                                    const MemberSpec& m) {
  BERTH_RETURN_IF_ERROR(Check(who, p, "member", "create"));
  if (!rbac::IsValidRole(m.role)) return Bad("role_id must be between 1 and 5");
  int64_t entity = 0;
  std::string type;
  if (m.user_id > 0 || !m.username.empty()) {
    std::optional<UserRecord> u;
    if (m.user_id > 0) {
      BERTH_ASSIGN_OR_RETURN(u, users_.GetById(m.user_id));
    } else {
      BERTH_ASSIGN_OR_RETURN(u, users_.GetByName(m.username));
    }
    if (!u) return NotFound("user not found");
    entity = u->user_id;
    type = "u";
  } else if (m.group_id > 0) {
    BERTH_ASSIGN_OR_RETURN(auto g, users_.GetGroup(m.group_id));
    if (!g) return NotFound("user group not found");
    entity = g->id;
    type = "g";
  } else if (!m.ldap_group_dn.empty() || !m.group_name.empty()) {
    int gtype = m.group_type != 0 ? m.group_type : (!m.ldap_group_dn.empty() ? kGroupTypeLdap : kGroupTypeHttp);
    if (gtype == kGroupTypeLdap) {
      if (m.ldap_group_dn.empty()) return Bad("ldap_group_dn is required for LDAP groups");
      if (ldap_group_check_) BERTH_RETURN_IF_ERROR(ldap_group_check_(m.ldap_group_dn));
    }
    std::string name = m.group_name.empty() ? m.ldap_group_dn : m.group_name;
    BERTH_ASSIGN_OR_RETURN(auto g, users_.EnsureGroup(name, gtype, m.ldap_group_dn));
    entity = g.id;
    type = "g";
  } else {
    return Bad("member_user or member_group is required");
  }
  BERTH_ASSIGN_OR_RETURN(MemberRecord rec, projects_.AddMember(p.project_id, entity, type, m.role));
  audit_.Record({0, p.project_id, who.username, p.name + ":" + rec.entity_name, "member", "create", "success", 0, {}});
  return rec;
}

StatusOr<Page<MemberRecord>> ProjectController::Members(const Identity& who, const ProjectRecord& p,
                                                        const ListQuery& q) {
  BERTH_RETURN_IF_ERROR(Check(who, p, "member", "list"));
  return projects_.ListMembers(p.project_id, q);
}

StatusOr<MemberRecord> ProjectController::Member(const Identity& who, const ProjectRecord& p,
                                                 int64_t member_id) {
  BERTH_RETURN_IF_ERROR(Check(who, p, "member", "read"));
  BERTH_ASSIGN_OR_RETURN(auto m, projects_.GetMember(p.project_id, member_id));
  if (!m) return NotFound("project member not found");
  return *m;
}

Status ProjectController::UpdateMember(const Identity& who, const ProjectRecord& p,
                                       int64_t member_id, int role) {
  BERTH_RETURN_IF_ERROR(Check(who, p, "member", "update"));
  if (!rbac::IsValidRole(role)) return Bad("role_id must be between 1 and 5");
  BERTH_ASSIGN_OR_RETURN(auto m, projects_.GetMember(p.project_id, member_id));
  if (!m) return NotFound("project member not found");
  if (m->entity_type == "u" && who.kind == Identity::Kind::kUser && m->entity_id == who.user_id) {
    return Forbidden("you cannot change your own role");
  }
  return projects_.UpdateMemberRole(p.project_id, member_id, role);
}

Status ProjectController::DeleteMember(const Identity& who, const ProjectRecord& p,
                                       int64_t member_id) {
  BERTH_RETURN_IF_ERROR(Check(who, p, "member", "delete"));
  BERTH_ASSIGN_OR_RETURN(auto m, projects_.GetMember(p.project_id, member_id));
  if (!m) return NotFound("project member not found");
  BERTH_RETURN_IF_ERROR(projects_.DeleteMember(p.project_id, member_id));
  audit_.Record({0, p.project_id, who.username, p.name + ":" + m->entity_name, "member", "delete", "success", 0, {}});
  return {};
}

}  // namespace berth
