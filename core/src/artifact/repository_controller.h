// RepositoryController: Harbor's repository resources (list, get, update,
// delete), search and statistics, with the RBAC of each operation.
#ifndef BERTH_ARTIFACT_REPOSITORY_CONTROLLER_H_
#define BERTH_ARTIFACT_REPOSITORY_CONTROLLER_H_

#include <functional>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "auth/access_evaluator.h"
#include "iam/project_controller.h"
#include "store/artifact_store.h"
#include "store/registry_store.h"

namespace berth {

struct SearchResult {
  std::vector<ProjectRecord> projects;
  std::vector<SearchRepositoryRow> repositories;
};

class RepositoryController {
 public:
  RepositoryController(ProjectController& projects, ArtifactStore& artifacts,
                       RegistryStore& registry, AccessEvaluator& evaluator, AuditLog& audit)
      : projects_(projects),
        artifacts_(artifacts),
        registry_(registry),
        evaluator_(evaluator),
        audit_(audit) {}

  // "project/name" from the project and the repository's path parameter
  // (Harbor clients encode its slashes twice: a%252Fb); NAME_INVALID /
  // 400 when it is not a valid repository name.
  static StatusOr<std::string> FullName(const ProjectRecord& p, const std::string& repo_param);

  StatusOr<Page<RepositoryInfo>> List(const Identity& who, const ProjectRecord& p,
                                      const ListQuery& q);
  // Every repository `who` may see.
  StatusOr<Page<RepositoryInfo>> ListAll(const Identity& who, const ListQuery& q);
  StatusOr<RepositoryInfo> Get(const Identity& who, const ProjectRecord& p,
                               const std::string& repo_param);
  Status Update(const Identity& who, const ProjectRecord& p, const std::string& repo_param,
                const std::string& description);
  // Artifacts and tags go; blobs are left to garbage collection.
  Status Delete(const Identity& who, const ProjectRecord& p, const std::string& repo_param);
  // Told the name of each repository deleted whole (its artifacts go without
  // one event each): the scan manager drops their reports. Set before serving.
  void set_on_deleted(std::function<void(const std::string& repository)> fn) {
    on_deleted_ = std::move(fn);
  }

  // Projects and repositories whose names contain `q`, among what `who` sees.
  StatusOr<SearchResult> Search(const Identity& who, const std::string& q);
  // Totals (projects, repositories, storage) only for system administrators.
  StatusOr<RegistryStatistics> Statistics(const Identity& who, bool* with_totals);

 private:
  StatusOr<RepositoryInfo> Find(const ProjectRecord& p, const std::string& repo_param);
  ProjectController& projects_;
  ArtifactStore& artifacts_;
  RegistryStore& registry_;
  AccessEvaluator& evaluator_;
  AuditLog& audit_;
  std::function<void(const std::string&)> on_deleted_;
};

}  // namespace berth

#endif  // BERTH_ARTIFACT_REPOSITORY_CONTROLLER_H_
