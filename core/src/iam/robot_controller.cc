#include "iam/robot_controller.h"

#include <nlohmann/json.hpp>
#include <set>

#include "auth/denial.h"
#include "auth/rbac.h"
#include "auth/secret_hash.h"
#include "common/clock.h"
#include "common/strings.h"
#include "iam/project_controller.h"

namespace berth {

namespace {

Status Bad(const std::string& m) { return Status::InvalidArgument(m, "BAD_REQUEST"); }

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

Status ValidateRobotName(const std::string& n) {
  bool ok = !n.empty() && n.size() <= 255 && IsLowerAlnum(n.front()) && IsLowerAlnum(n.back());
  for (size_t i = 0; ok && i < n.size(); ++i) {
    ok = IsLowerAlnum(n[i]) || ((n[i] == '.' || n[i] == '_' || n[i] == '-') && IsLowerAlnum(n[i + 1]));
  }
  if (!ok) return Bad("invalid robot name '" + n + "': lowercase letters and digits, separated by '.', '_' or '-'");
  return {};
}

int64_t ExpiresAt(int64_t duration_days) {
  if (duration_days == -1) return -1;
  return NowUnixMillis() / 1000 + duration_days * 86400;
}

}  // namespace

Status RobotController::CheckRobotAccess(const Identity& who, const std::string& level,
                                         int64_t project_id, const std::string& action) {
  if (level == "system") {
    if (evaluator_.CanSystem(who, "robot", action)) return {};
    return Deny(who, "only system administrators may manage system robots");
  }
  BERTH_ASSIGN_OR_RETURN(auto p, projects_.GetById(project_id));
  if (!p) return Status::NotFound("project not found", "NOT_FOUND");
  BERTH_ASSIGN_OR_RETURN(bool ok, evaluator_.Can(who, *p, "robot", action));
  if (ok) return {};
  return Deny(who, "not allowed to " + action + " robots of project " + p->name);
}

StatusOr<int64_t> RobotController::ValidatePermissions(const std::string& level,
                                                       const std::string& json,
                                                       std::string* project_name) {
  auto perms = nlohmann::json::parse(json, nullptr, false);
  if (!perms.is_array() || perms.empty()) return Bad("permissions must be a non-empty array");
  std::set<std::pair<std::string, std::string>> system_ok, project_ok;
  for (const auto& g : rbac::SystemPermissionCatalog()) system_ok.insert(g);
  for (const auto& g : rbac::ProjectPermissionCatalog()) project_ok.insert(g);
  int64_t project_id = 0;
  for (const auto& p : perms) {
    if (!p.is_object() || !p.value("kind", nlohmann::json()).is_string() ||
        !p.value("namespace", nlohmann::json()).is_string() ||
        !p.value("access", nlohmann::json()).is_array()) {
      return Bad("each permission needs kind, namespace and access");
    }
    std::string kind = p["kind"], ns = p["namespace"];
    if (kind != "system" && kind != "project") return Bad("permission kind must be system or project");
    if (level == "project" && kind != "project") return Bad("project robots may only hold project permissions");
    if (kind == "system" && ns != "/") return Bad("system permissions use the namespace \"/\"");
    if (kind == "project") {
      if (ns == "*") {
        if (level == "project") return Bad("project robots cannot cover all projects");
      } else {
        auto proj = projects_.GetByName(ns);
        if (!proj.ok()) return proj.status();
        if (!*proj) return Status::NotFound("project " + ns + " not found", "NOT_FOUND");
        if (level == "project") {
          if (project_id != 0 && project_id != (*proj)->project_id) {
            return Bad("a project robot covers exactly one project");
          }
          project_id = (*proj)->project_id;
          *project_name = ns;
        }
      }
    }
    for (const auto& a : p["access"]) {
      if (!a.is_object() || !a.value("resource", nlohmann::json()).is_string() ||
          !a.value("action", nlohmann::json()).is_string()) {
        return Bad("each access needs resource and action");
      }
      // (value("effect", "allow") would throw on a non-string effect.)
      auto effect = a.value("effect", nlohmann::json("allow"));
      if (effect != "allow" && effect != "deny") return Bad("effect must be allow or deny");
      auto key = std::make_pair(a["resource"].get<std::string>(), a["action"].get<std::string>());
      const auto& ok = kind == "system" ? system_ok : project_ok;
      if (!ok.count(key)) {
        return Bad("cannot grant " + key.second + " on " + key.first + " at " + kind + " level");
      }
    }
  }
  if (level == "project" && project_id == 0) return Bad("a project robot needs its project's permission");
  return project_id;
}

StatusOr<CreatedRobot> RobotController::Create(const Identity& who, const RobotSpec& spec) {
  if (spec.level != "system" && spec.level != "project") return Bad("level must be system or project");
  BERTH_RETURN_IF_ERROR(ValidateRobotName(spec.name));
  auto settings = settings_.Get();
  int64_t duration =
      spec.duration == RobotSpec::kDefaultDuration ? settings->robot_token_duration_days : spec.duration;
  if (duration != -1 && duration <= 0) return Bad("duration must be -1 or a positive number of days");
  std::string project_name;
  BERTH_ASSIGN_OR_RETURN(int64_t project_id, ValidatePermissions(spec.level, spec.permissions_json, &project_name));
  BERTH_RETURN_IF_ERROR(CheckRobotAccess(who, spec.level, project_id, "create"));
  std::string secret = spec.secret;
  if (secret.empty()) secret = GenerateSecret(32);
  if (!IsStrongSecret(secret)) {
    return Bad("the secret must be 8-128 characters with an uppercase letter, a lowercase letter and a digit");
  }
  RobotRecord r;
  r.name = settings->robot_name_prefix + (spec.level == "project" ? project_name + "+" : "") + spec.name;
  r.description = spec.description;
  r.secret_hash = HashSecret(secret);
  r.level = spec.level;
  r.project_id = project_id;
  r.duration = duration;
  r.expires_at = ExpiresAt(duration);
  r.disabled = spec.disabled;
  r.permissions_json = nlohmann::json::parse(spec.permissions_json).dump();
  r.creator_type = who.kind == Identity::Kind::kRobot ? "robot" : "local";
  r.creator_ref = who.username;
  BERTH_ASSIGN_OR_RETURN(RobotRecord created, robots_.Create(r));
  audit_.Record({0, project_id, who.username, created.name, "robot", "create", "success", 0, {}});
  return CreatedRobot{created, secret};
}

StatusOr<Page<RobotRecord>> RobotController::List(const Identity& who, const ListQuery& q) {
  if (evaluator_.CanSystem(who, "robot", "list")) return robots_.List(q);
  // Others must ask about one project.
  int64_t project_id = 0;
  for (const auto& t : q.terms) {
    if (t.key == "project_id" && t.op == QueryTerm::Op::kExact) {
      project_id = ParseInt64(t.values[0]).value_or(0);
    }
  }
  if (project_id == 0) return Deny(who, "only system administrators may list all robots; filter by project");
  BERTH_RETURN_IF_ERROR(CheckRobotAccess(who, "project", project_id, "list"));
  ListQuery scoped = q;
  scoped.terms.push_back({"level", QueryTerm::Op::kExact, {"project"}});
  return robots_.List(scoped);
}

StatusOr<RobotRecord> RobotController::Get(const Identity& who, int64_t id) {
  BERTH_ASSIGN_OR_RETURN(auto r, robots_.GetById(id));
  if (!r) return Status::NotFound("robot not found", "NOT_FOUND");
  BERTH_RETURN_IF_ERROR(CheckRobotAccess(who, r->level, r->project_id, "read"));
  return *r;
}

Status RobotController::Update(const Identity& who, int64_t id, const RobotSpec& spec) {
  BERTH_ASSIGN_OR_RETURN(auto r, robots_.GetById(id));
  if (!r) return Status::NotFound("robot not found", "NOT_FOUND");
  BERTH_RETURN_IF_ERROR(CheckRobotAccess(who, r->level, r->project_id, "update"));
  if (!spec.level.empty() && spec.level != r->level) return Bad("the level of a robot cannot change");
  if (spec.duration != r->duration) {
    if (spec.duration != -1 && spec.duration <= 0) return Bad("duration must be -1 or a positive number of days");
    r->duration = spec.duration;
    r->expires_at = ExpiresAt(spec.duration);
  }
  if (!spec.permissions_json.empty()) {
    std::string project_name;
    BERTH_ASSIGN_OR_RETURN(int64_t pid, ValidatePermissions(r->level, spec.permissions_json, &project_name));
    if (r->level == "project" && pid != r->project_id) return Bad("a project robot cannot move to another project");
    r->permissions_json = nlohmann::json::parse(spec.permissions_json).dump();
  }
  r->description = spec.description;
  r->disabled = spec.disabled;
  return robots_.Update(*r);
}

Status RobotController::Delete(const Identity& who, int64_t id) {
  BERTH_ASSIGN_OR_RETURN(auto r, robots_.GetById(id));
  if (!r) return Status::NotFound("robot not found", "NOT_FOUND");
  BERTH_RETURN_IF_ERROR(CheckRobotAccess(who, r->level, r->project_id, "delete"));
  BERTH_RETURN_IF_ERROR(robots_.Delete(id));
  audit_.Record({0, r->project_id, who.username, r->name, "robot", "delete", "success", 0, {}});
  return {};
}

StatusOr<std::string> RobotController::RefreshSecret(const Identity& who, int64_t id,
                                                     std::string secret) {
  BERTH_ASSIGN_OR_RETURN(auto r, robots_.GetById(id));
  if (!r) return Status::NotFound("robot not found", "NOT_FOUND");
  BERTH_RETURN_IF_ERROR(CheckRobotAccess(who, r->level, r->project_id, "update"));
  if (secret.empty()) secret = GenerateSecret(32);
  if (!IsStrongSecret(secret)) {
    return Bad("the secret must be 8-128 characters with an uppercase letter, a lowercase letter and a digit");
  }
  BERTH_RETURN_IF_ERROR(robots_.SetSecret(id, HashSecret(secret)));
  return secret;
}

}  // namespace berth
