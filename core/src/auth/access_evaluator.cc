#include "auth/access_evaluator.h"

#include "auth/rbac.h"

namespace berth {

bool AccessEvaluator::RobotAllows(const Identity& who, const ProjectRecord* project,
                                  std::string_view resource, std::string_view action) const {
  for (const auto& p : who.robot_permissions) {
    // A grant names its project; Harbor binds it to the project's id when
    // the robot is created or updated. A project created after that (the
    // name deleted and re-created) is another project: the grant does not
    // reach it.
    bool scope_ok = project != nullptr
                        ? (p.kind == "project" &&
                           (p.ns == "*" || (p.ns == project->name &&
                                            project->creation_time <= who.robot_updated_ms + 1000)))
                        : (p.kind == "system");
    // A project robot never reaches beyond its own project.
    if (project != nullptr && who.robot_project_id != 0 && project->project_id != who.robot_project_id) {
      scope_ok = false;
    }
    if (!scope_ok) continue;
    for (const auto& [res, act] : p.access) {
      if ((res == resource || res == "*") && (act == action || act == "*")) return true;
    }
  }
  return false;
}

StatusOr<std::vector<int>> AccessEvaluator::RolesOf(const Identity& who,
                                                    const ProjectRecord& project) {
  if (who.kind != Identity::Kind::kUser || who.user_id == 0) return std::vector<int>();
  return projects_.RolesOf(project.project_id, who.user_id, who.group_ids);
}

StatusOr<bool> AccessEvaluator::Can(const Identity& who, const ProjectRecord& project,
                                    std::string_view resource, std::string_view action) {
  if (who.sysadmin) return true;
  if (project.IsPublic() && rbac::PublicAllows(resource, action)) return true;
  switch (who.kind) {
    case Identity::Kind::kUser: {
      BERTH_ASSIGN_OR_RETURN(auto roles, RolesOf(who, project));
      for (int r : roles) {
        if (rbac::RoleAllows(r, resource, action)) return true;
      }
      return false;
    }
    case Identity::Kind::kRobot:
      return RobotAllows(who, &project, resource, action);
    default:
      return false;
  }
}

bool AccessEvaluator::CanSystem(const Identity& who, std::string_view resource,
                                std::string_view action) const {
  if (who.sysadmin) return true;
  if (who.kind == Identity::Kind::kRobot) return RobotAllows(who, nullptr, resource, action);
  return false;
}

StatusOr<std::vector<std::string>> AccessEvaluator::RepositoryActions(const Identity& who,
                                                                     const ProjectRecord& project) {
  std::vector<std::string> out;
  for (const char* action : {"pull", "push", "delete"}) {
    BERTH_ASSIGN_OR_RETURN(bool ok, Can(who, project, "repository", action));
    if (ok) out.push_back(action);
  }
  // scanner-pull is only ever granted explicitly to robots.
  if (who.kind == Identity::Kind::kRobot && RobotAllows(who, &project, "repository", "scanner-pull")) {
    out.push_back("scanner-pull");
  }
  return out;
}

}  // namespace berth
