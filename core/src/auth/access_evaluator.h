// AccessEvaluator: may this identity do this action on this resource?
// Project resources follow the members' roles (directly and through
// groups) and the public-project policies; system resources are for system
// administrators; robots carry their own permission lists.
#ifndef BERTH_AUTH_ACCESS_EVALUATOR_H_
#define BERTH_AUTH_ACCESS_EVALUATOR_H_

#include <string>
#include <string_view>
#include <vector>

#include "common/identity.h"
#include "store/project_store.h"

namespace berth {

class AccessEvaluator {
 public:
  explicit AccessEvaluator(ProjectStore& projects) : projects_(projects) {}

  // `resource` is a project resource ("" = the project itself).
  StatusOr<bool> Can(const Identity& who, const ProjectRecord& project, std::string_view resource,
                     std::string_view action);
  bool CanSystem(const Identity& who, std::string_view resource, std::string_view action) const;
  // The registry actions (pull, push, delete, scanner-pull) `who` holds on the
  // repositories of `project`.
  StatusOr<std::vector<std::string>> RepositoryActions(const Identity& who,
                                                      const ProjectRecord& project);
  // The project roles of a user identity.
  StatusOr<std::vector<int>> RolesOf(const Identity& who, const ProjectRecord& project);

 private:
  bool RobotAllows(const Identity& who, const ProjectRecord* project, std::string_view resource,
                   std::string_view action) const;
  ProjectStore& projects_;
};

}  // namespace berth

#endif  // BERTH_AUTH_ACCESS_EVALUATOR_H_
