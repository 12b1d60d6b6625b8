#include "artifact/repository_controller.h"

#include "auth/denial.h"
#include "common/strings.h"
#include "registry/reference.h"

namespace berth {

namespace {

constexpr int64_t kSearchLimit = 500;

Status RepositoryNotFound(const std::string& name) {
  return Status::NotFound("repository " + name + " not found", "NOT_FOUND");
}

}  // namespace

StatusOr<std::string> RepositoryController::FullName(const ProjectRecord& p,
                                                     const std::string& repo_param) {
  // The router decoded once; a%252Fb arrives as a%2Fb.
  std::string repo = repo_param;
  if (repo.find('%') != std::string::npos) {
    auto twice = UrlDecode(repo);
    if (!twice) return Status::InvalidArgument("invalid repository name encoding", "BAD_REQUEST");
    repo = *twice;
  }
  std::string full = p.name + "/" + repo;
  Status valid = ValidateRepositoryName(full);
  if (!valid.ok()) return Status::InvalidArgument(valid.message(), "BAD_REQUEST");
  return full;
}

StatusOr<RepositoryInfo> RepositoryController::Find(const ProjectRecord& p,
                                                    const std::string& repo_param) {
  BERTH_ASSIGN_OR_RETURN(std::string name, FullName(p, repo_param));
  BERTH_ASSIGN_OR_RETURN(auto r, artifacts_.GetRepository(name));
  if (!r) return RepositoryNotFound(name);
  return *r;
}

StatusOr<Page<RepositoryInfo>> RepositoryController::List(const Identity& who,
                                                          const ProjectRecord& p,
                                                          const ListQuery& q) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, p, "repository", "list"));
  return artifacts_.ListRepositories(q, p.project_id, {});
}

StatusOr<Page<RepositoryInfo>> RepositoryController::ListAll(const Identity& who,
                                                             const ListQuery& q) {
  return artifacts_.ListRepositories(q, 0, projects_.VisibilityOf(who));
}

StatusOr<RepositoryInfo> RepositoryController::Get(const Identity& who, const ProjectRecord& p,
                                                   const std::string& repo_param) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, p, "repository", "read"));
  return Find(p, repo_param);
}

Status RepositoryController::Update(const Identity& who, const ProjectRecord& p,
                                    const std::string& repo_param,
                                    const std::string& description) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, p, "repository", "update"));
  BERTH_ASSIGN_OR_RETURN(RepositoryInfo r, Find(p, repo_param));
  BERTH_RETURN_IF_ERROR(artifacts_.SetRepositoryDescription(r.name, description));
  audit_.Record({0, p.project_id, who.username, r.name, "repository", "update", "success", 0, {}});
  return {};
}

Status RepositoryController::Delete(const Identity& who, const ProjectRecord& p,
                                    const std::string& repo_param) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, p, "repository", "delete"));
  BERTH_ASSIGN_OR_RETURN(RepositoryInfo r, Find(p, repo_param));
  Status s = registry_.DeleteRepository(r.name);
  if (s.code() == Code::kNotFound) return RepositoryNotFound(r.name);
  BERTH_RETURN_IF_ERROR(s);
  if (on_deleted_) on_deleted_(r.name);
  audit_.Record({0, p.project_id, who.username, r.name, "repository", "delete", "success", 0, {}});
  return {};
}

StatusOr<SearchResult> RepositoryController::Search(const Identity& who, const std::string& q) {
  SearchResult out;
  ListQuery pq;
  pq.page_size = kSearchLimit;
  pq.terms.push_back({"name", QueryTerm::Op::kFuzzy, {q}});
  BERTH_ASSIGN_OR_RETURN(auto projects, projects_.List(who, pq));
  out.projects = std::move(projects.items);
  BERTH_ASSIGN_OR_RETURN(out.repositories,
                         artifacts_.SearchRepositories(q, projects_.VisibilityOf(who), kSearchLimit));
  return out;
}

StatusOr<RegistryStatistics> RepositoryController::Statistics(const Identity& who,
                                                              bool* with_totals) {
  if (!who.authenticated()) return Deny(who, "");
  ProjectVisibility v = projects_.VisibilityOf(who);
  BERTH_ASSIGN_OR_RETURN(RegistryStatistics s, artifacts_.Statistics(v));
  *with_totals = who.sysadmin || evaluator_.CanSystem(who, "project", "list");
  if (!*with_totals) {
    s.total_projects = s.total_repositories = s.total_storage = 0;
  }
  return s;
}

}  // namespace berth
