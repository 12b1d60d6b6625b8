#include "retention/retention_job.h"

#include <map>
#include <set>

#include "common/clock.h"
#include "jobs/task_log.h"
#include "common/digest.h"
#include "common/strings.h"
#include "retention/retention_evaluator.h"

namespace berth {

namespace {

// Artifacts read per query while loading a repository's candidates.
constexpr int64_t kCandidatePage = 500;

StatusOr<std::vector<RetentionCandidate>> LoadCandidates(const RetentionJobDeps& d,
                                                         int64_t repository_id) {
  std::vector<RetentionCandidate> out;
  ListQuery q;
  q.page_size = kCandidatePage;
  q.sort = {{"id", false}};
  for (q.page = 1;; ++q.page) {
    BERTH_ASSIGN_OR_RETURN(auto page, d.artifacts.ListArtifacts(repository_id, q));
    std::vector<int64_t> ids;
    for (const auto& a : page.items) ids.push_back(a.id);
    BERTH_ASSIGN_OR_RETURN(auto tags, d.artifacts.TagsOf(ids));
    BERTH_ASSIGN_OR_RETURN(auto labels, d.labels.LabelsOfArtifacts(ids));
    for (const auto& a : page.items) {
      RetentionCandidate c;
      c.id = a.id;
      c.digest = a.digest;
      c.creation_time = c.push_time = a.push_time;
      c.pull_time = a.pull_time;
      // Harbor's GetCandidates: the latest push and pull over the artifact and its tags.
      for (const auto& t : tags[a.id]) {
        c.tags.push_back(t.name);
        c.push_time = std::max(c.push_time, t.push_time);
        c.pull_time = std::max(c.pull_time, t.pull_time);
      }
      for (const auto& l : labels[a.id]) c.labels.push_back(l.name);
      out.push_back(std::move(c));
    }
    if (static_cast<int64_t>(page.items.size()) < q.page_size) break;
  }
  return out;
}

struct RepoInScope {
  RepositoryInfo repo;
  std::vector<const RetentionRule*> rules;
};

// The path of `repository` inside `project` ("app" for "library/app").
std::string InProject(const std::string& repository, const std::string& project) {
  return repository.substr(std::min(repository.size(), project.size() + 1));
}

// Harbor's Retention event object for one finished task, or null when the
// task neither deleted nor failed to delete anything (Harbor sends nothing
// then). Harbor's handler lists only the last deletion, a bug: all go here.
nlohmann::json TaskEventData(const nlohmann::json& policy_json, int64_t policy_id,
                             const std::string& project, const std::string& repository,
                             const std::vector<RetentionCandidate>& candidates,
                             const std::map<int64_t, std::string>& marks, int64_t deleted,
                             bool stopped) {
  nlohmann::json artifacts = nlohmann::json::array();
  for (const RetentionCandidate& c : candidates) {
    auto m = marks.find(c.id);
    if (m == marks.end() || (m->second != "DEL" && m->second != "ERR")) continue;
    artifacts.push_back(
        {{"type", "image"},
         {"status", m->second == "DEL" ? "SUCCESS" : "FAILED"},
         {"name_tag", c.tags.empty() ? "" : InProject(repository, project) + ":" + c.tags[0]}});
  }
  if (artifacts.empty()) return nullptr;
  nlohmann::json rules = nlohmann::json::array();
  for (const auto& r : policy_json.value("rules", nlohmann::json::array())) {
    rules.push_back({{"template", r.value("template", "")},
                     {"params", r.value("params", nlohmann::json::object())},
                     {"tag_selectors", r.value("tag_selectors", nlohmann::json::array())},
                     {"scope_selectors", r.value("scope_selectors", nlohmann::json::object())}});
  }
  const auto total = static_cast<int64_t>(candidates.size());
  return {{"total", total},
          {"retained", total - deleted},
          {"project_name", project},
          {"retention_policy_id", policy_id},
          {"retention_rule", std::move(rules)},
          {"result", stopped ? "STOPPED" : "SUCCESS"},
          {"deleted_artifact", std::move(artifacts)}};
}

}  // namespace

ArtifactDeleter RegistryArtifactDeleter(ManifestController& manifests) {
  return [&manifests](const std::string& repo, const std::string& digest) -> Status {
    auto d = Digest::Parse(digest);
    if (!d.ok()) return d.status();
    ManifestReference ref;
    ref.is_digest = true;
    ref.digest = *d;
    return manifests.Delete(repo, ref, Actor{"retention", ""});
  };
}

Status RunRetentionJob(const RetentionJobDeps& d, JobContext& ctx) {
  nlohmann::json params = nlohmann::json::parse(ctx.params_json(), nullptr, false);
  if (!params.is_object() || !params.value("policy_id", nlohmann::json()).is_number_integer()) {
    ctx.GiveUp();
    return Status::InvalidArgument("bad parameters: " + ctx.params_json());
  }
  int64_t policy_id = params["policy_id"].get<int64_t>();
  bool dry_run = params.value("dry_run", false);
  BERTH_ASSIGN_OR_RETURN(auto rec, d.store.GetPolicy(policy_id));
  if (!rec) {
    // Deleted with its project (or by hand) after this run was queued.
    ctx.Info("retention policy " + std::to_string(policy_id) + " no longer exists");
    Status s = d.jobs.DeleteSchedule(kRetentionJobKind, policy_id);
    if (!s.ok() && !s.IsNotFound()) return s;
    return {};
  }
  nlohmann::json pj = nlohmann::json::parse(rec->policy_json, nullptr, false);
  auto policy = ParseRetentionPolicy(pj);
  if (!policy.ok()) {
    ctx.GiveUp();
    return Status::Internal("stored retention policy is invalid: " + policy.status().message());
  }
  policy->id = policy_id;
  BERTH_ASSIGN_OR_RETURN(ProjectRecord project,
                         d.projects.Resolve(std::to_string(rec->project_id), false));
  ctx.Info("retention policy " + std::to_string(policy_id) + " of project " + project.name +
           (dry_run ? " (dry run)" : ""));

  // The repositories some enabled rule covers, each with its rules.
  std::map<std::string, RepoInScope> scope;
  ProjectVisibility all;
  all.all = true;
  ListQuery rq;
  rq.page_size = 100;
  for (rq.page = 1;; ++rq.page) {
    BERTH_ASSIGN_OR_RETURN(auto page, d.artifacts.ListRepositories(rq, project.project_id, all));
    for (auto& r : page.items) {
      BERTH_ASSIGN_OR_RETURN(auto rules, RulesForRepository(*policy, InProject(r.name, project.name)));
      if (!rules.empty()) scope[r.name] = RepoInScope{r, std::move(rules)};
    }
    if (static_cast<int64_t>(page.items.size()) < rq.page_size) break;
  }
  std::vector<std::string> names;
  for (const auto& [name, _] : scope) names.push_back(name);
  BERTH_ASSIGN_OR_RETURN(auto tasks, d.store.EnsureTasks(ctx.id(), policy_id, names));
  ctx.Info(std::to_string(tasks.size()) + " repositories in scope");

  int failed = 0;
  for (RetentionTaskRecord& task : tasks) {
    if (task.status == "Success" || task.status == "Error" || task.status == "Stopped") continue;
    if (ctx.stopping()) break;
    auto it = scope.find(task.repository);
    TaskLog log;
    task.status = "Running";
    task.start_time = NowUnixMillis();
    BERTH_RETURN_IF_ERROR(d.store.UpdateTask(task, nullptr));
    log.Info("Run retention process.\n Repository: " + task.repository +
             " \n Rule Algorithm: or \n Dry Run: " + (dry_run ? "true" : "false"));
    if (it == scope.end()) {
      // Gone since an earlier attempt made the task.
      log.Info("Load 0 candidates from repository " + task.repository);
      task.status = "Success";
      task.end_time = NowUnixMillis();
      BERTH_RETURN_IF_ERROR(d.store.UpdateTask(task, &log.text()));
      continue;
    }
    auto candidates = LoadCandidates(d, it->second.repo.id);
    StatusOr<std::set<int64_t>> retained =
        candidates.ok() ? RetainedBy(it->second.rules, *candidates, NowUnixMillis())
                        : StatusOr<std::set<int64_t>>(candidates.status());
    if (!retained.ok()) {
      log.Error("retention job: " + retained.status().message());
      ctx.Error(task.repository + ": " + retained.status().message());
      task.status = "Error";
      task.end_time = NowUnixMillis();
      BERTH_RETURN_IF_ERROR(d.store.UpdateTask(task, &log.text()));
      ++failed;
      continue;
    }
    log.Info("Load " + std::to_string(candidates->size()) + " candidates from repository " +
             task.repository);
    std::map<int64_t, std::string> marks;
    std::vector<std::string> errors;
    int64_t deleted = 0;
    bool stopped = false;
    for (const RetentionCandidate& c : *candidates) {
      if (retained->count(c.id)) continue;
      // Harbor keeps an artifact any of whose tags is immutable.
      bool immutable = false;
      for (const auto& t : c.tags) {
        if (!d.is_immutable) break;
        auto im = d.is_immutable(project.project_id, task.repository, t);
        if (!im.ok()) {
          errors.push_back(c.digest + ": immutability check: " + im.status().message());
          immutable = true;  // unknown: never delete
          break;
        }
        if (*im) {
          immutable = true;
          break;
        }
      }
      if (immutable) {
        marks[c.id] = "IMMUTABLE";
        continue;
      }
      if (ctx.stopping()) {
        stopped = true;
        continue;  // left as retained: this run deletes nothing more
      }
      if (!dry_run) {
        Status s = d.delete_artifact(task.repository, c.digest);
        if (!s.ok() && !s.IsNotFound()) {
          marks[c.id] = "ERR";
          errors.push_back("Retention error for artifact image:" + task.repository + ":" +
                           c.digest + " : " + s.message());
          continue;
        }
      }
      marks[c.id] = "DEL";
      ++deleted;
    }
    if (!dry_run && d.on_task_event) {
      nlohmann::json data = TaskEventData(pj, policy_id, project.name, task.repository,
                                          *candidates, marks, deleted, stopped);
      if (!data.is_null()) d.on_task_event(project.name, data, ToUpper(ctx.job().trigger));
    }
    log.Info("\n" + RetentionTable(*candidates, marks));
    for (const auto& e : errors) log.Info(e);
    if (stopped) log.Info("Retention job is stopped");
    task.total = static_cast<int64_t>(candidates->size());
    task.retained = task.total - deleted;
    task.status = stopped ? "Stopped" : "Success";
    task.end_time = NowUnixMillis();
    BERTH_RETURN_IF_ERROR(d.store.UpdateTask(task, &log.text()));
    ctx.Info(task.repository + ": " + std::to_string(task.total) + " candidates, " +
             std::to_string(deleted) + (dry_run ? " would be deleted" : " deleted") + ", " +
             std::to_string(task.retained) + " retained");
  }
  if (ctx.stopping()) {
    BERTH_RETURN_IF_ERROR(d.store.StopUnfinished(ctx.id(), NowUnixMillis()));
    ctx.Info("Retention job is stopped");
    return {};
  }
  if (failed > 0) {
    return Status::Internal(std::to_string(failed) + " of " + std::to_string(tasks.size()) +
                            " repositories failed");
  }
  return {};
}

}  // namespace berth
