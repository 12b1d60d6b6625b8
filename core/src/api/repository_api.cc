#include "api/repository_api.h"

#include "api/api_util.h"
#include "api/project_api.h"

namespace berth {

namespace {

constexpr char kBase[] = "/api/v2.0/projects/{project_name}/repositories";

nlohmann::json RepositoryJson(const RepositoryInfo& r) {
  return {{"id", r.id},
          {"project_id", r.project_id},
          {"name", r.name},
          {"description", r.description},
          {"artifact_count", r.artifact_count},
          {"pull_count", r.pull_count},
          {"creation_time", ApiTime(r.created_at)},
          {"update_time", ApiTime(r.updated_at)}};
}

Status SendRepositories(RequestContext& ctx, const ListQuery& q, const Page<RepositoryInfo>& page) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : page.items) out.push_back(RepositoryJson(r));
  SetPagination(ctx, q, page.total);
  return SendJsonValue(ctx, 200, out);
}

}  // namespace

void RegisterRepositoryApi(ApiRouter& r, RepositoryController& repos, ProjectController& projects) {
  r.Add("GET", kBase, "repositories", [&](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, projects.Resolve(call.Param("project_name"), true));
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto page, repos.List(call.ctx.identity, p, q));
    return SendRepositories(call.ctx, q, page);
  });

  r.Add("GET", "/api/v2.0/repositories", "repositories_all", [&](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto page, repos.ListAll(call.ctx.identity, q));
    return SendRepositories(call.ctx, q, page);
  });

  const std::string one = std::string(kBase) + "/{repository_name}";
  r.Add("GET", one, "repository", [&](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, projects.Resolve(call.Param("project_name"), true));
    BERTH_ASSIGN_OR_RETURN(auto repo, repos.Get(call.ctx.identity, p, call.Param("repository_name")));
    return SendJsonValue(call.ctx, 200, RepositoryJson(repo));
  });

  r.Add("PUT", one, "repository", [&](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, projects.Resolve(call.Param("project_name"), true));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_ASSIGN_OR_RETURN(std::string description, JsonString(body, "description", false));
    if (description.size() > 4096) {
      return Status::InvalidArgument("description is longer than 4096 bytes", "BAD_REQUEST");
    }
    BERTH_RETURN_IF_ERROR(
        repos.Update(call.ctx.identity, p, call.Param("repository_name"), description));
    return SendOk(call.ctx);
  });

  r.Add("DELETE", one, "repository", [&](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, projects.Resolve(call.Param("project_name"), true));
    BERTH_RETURN_IF_ERROR(repos.Delete(call.ctx.identity, p, call.Param("repository_name")));
    return SendOk(call.ctx);
  });

  r.Add("GET", "/api/v2.0/search", "search", [&](ApiCall& call) -> Status {
    std::string q = call.ctx.query.Get("q");
    BERTH_ASSIGN_OR_RETURN(SearchResult found, repos.Search(call.ctx.identity, q));
    nlohmann::json projects_json = nlohmann::json::array();
    for (const auto& p : found.projects) {
      BERTH_ASSIGN_OR_RETURN(auto roles, projects.RolesOf(call.ctx.identity, p));
      projects_json.push_back(ProjectJson(p, roles));
    }
    nlohmann::json repos_json = nlohmann::json::array();
    for (const auto& x : found.repositories) {
      repos_json.push_back({{"project_id", x.project_id},
                            {"project_name", x.project_name},
                            {"project_public", x.project_public},
                            {"repository_name", x.repository_name},
                            {"pull_count", x.pull_count},
                            {"artifact_count", x.artifact_count}});
    }
    return SendJsonValue(call.ctx, 200, {{"project", projects_json}, {"repository", repos_json}});
  });

  r.Add("GET", "/api/v2.0/statistics", "statistics", [&](ApiCall& call) -> Status {
    bool totals = false;
    BERTH_ASSIGN_OR_RETURN(RegistryStatistics s, repos.Statistics(call.ctx.identity, &totals));
    nlohmann::json j = {{"public_project_count", s.public_projects},
                        {"private_project_count", s.private_projects},
                        {"public_repo_count", s.public_repositories},
                        {"private_repo_count", s.private_repositories},
                        {"total_project_count", s.total_projects},
                        {"total_repo_count", s.total_repositories},
                        {"total_storage_consumption", s.total_storage}};
    return SendJsonValue(call.ctx, 200, j);
  });
}

}  // namespace berth
