#include "preheat/preheat_job.h"

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "jobs/task_log.h"
#include "preheat/preheat_policy.h"
#include "registry/artifact_kind.h"

namespace berth {

namespace {

constexpr int64_t kCandidatePage = 500;
// Consecutive failed progress checks before a task gives up.
constexpr int kMaxCheckErrors = 3;

int64_t Deadline(int64_t ms) { return NowUnixNanos() + ms * 1000000; }

// Sleeps up to `ms`, waking early when the job is asked to stop.
void Nap(JobContext& ctx, int64_t ms) {
  int64_t until = NowUnixMillis() + ms;
  while (!ctx.stopping() && NowUnixMillis() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(50, ms)));
  }
}

int SeverityCode(const PreheatJobDeps& d, const std::string& repo, const std::string& digest) {
  if (d.scans == nullptr) return preheat::kUnscannedSeverity;
  auto r = d.scans->LatestVulnerabilityResult(repo, digest);
  if (!r.ok() || !r->scanned) return preheat::kUnscannedSeverity;
  int worst = static_cast<int>(Severity::kNone);
  for (const auto& f : r->findings) worst = std::max(worst, static_cast<int>(f.severity));
  return worst;
}

// The project's image artifacts in `repo`, one candidate per tag (Harbor's
// toCandidates); `only_digest` keeps one artifact.
Status AddCandidates(const PreheatJobDeps& d, const ProjectRecord& project,
                     const RepositoryInfo& repo, const std::string& only_digest,
                     const std::string& only_tag, std::vector<PreheatCandidate>* out) {
  ListQuery q;
  q.page_size = kCandidatePage;
  q.sort = {{"id", false}};
  if (!only_digest.empty()) q.terms.push_back({"digest", QueryTerm::Op::kExact, {only_digest}});
  std::string path = repo.name.substr(std::min(repo.name.size(), project.name.size() + 1));
  for (q.page = 1;; ++q.page) {
    BERTH_ASSIGN_OR_RETURN(auto page, d.artifacts.ListArtifacts(repo.id, q));
    std::vector<int64_t> ids;
    std::vector<std::string> digests;
    for (const auto& a : page.items) {
      ids.push_back(a.id);
      digests.push_back(a.digest);
    }
    BERTH_ASSIGN_OR_RETURN(auto tags, d.artifacts.TagsOf(ids));
    BERTH_ASSIGN_OR_RETURN(auto labels, d.labels.LabelsOfArtifacts(ids));
    BERTH_ASSIGN_OR_RETURN(auto accessories, d.artifacts.AccessoriesOf(repo.id, digests));
    for (const auto& a : page.items) {
      if (a.type != artifact_types::kImage) continue;  // Harbor preheats images only
      bool is_signed = false;
      for (const auto& acc : accessories[a.digest]) {
        if (acc.accessory_type == accessory_types::kCosign || acc.accessory_type == accessory_types::kNotation) {
          is_signed = true;
        }
      }
      std::vector<std::string> names;
      for (const auto& l : labels[a.id]) names.push_back(l.name);
      int severity = SeverityCode(d, repo.name, a.digest);
      for (const auto& t : tags[a.id]) {
        if (!only_tag.empty() && t.name != only_tag) continue;
        out->push_back({repo.name, path, t.name, a.digest, names, is_signed, severity});
      }
    }
    if (static_cast<int64_t>(page.items.size()) < q.page_size) break;
  }
  return {};
}

StatusOr<std::vector<PreheatTaskSpec>> Evaluate(const PreheatJobDeps& d, JobContext& ctx,
                                                const PreheatPolicyRecord& policy,
                                                const ProjectRecord& project,
                                                const nlohmann::json& artifact) {
  BERTH_ASSIGN_OR_RETURN(PreheatFilters filters, ParsePreheatFilters(policy.filters));
  for (const auto& o : ApplyProjectSecurity(project.metadata, &filters)) {
    ctx.Info("policy " + project.name + "." + policy.name + ": criterion " + o +
             " from the project configuration");
  }
  std::vector<PreheatCandidate> candidates;
  if (artifact.is_object()) {
    std::string repo = artifact.value("repository", "");
    BERTH_ASSIGN_OR_RETURN(auto info, d.artifacts.GetRepository(repo));
    if (info) {
      BERTH_RETURN_IF_ERROR(AddCandidates(d, project, *info, artifact.value("digest", ""),
                                          artifact.value("tag", ""), &candidates));
    }
  } else {
    ProjectVisibility all;
    all.all = true;
    ListQuery rq;
    rq.page_size = 100;
    for (rq.page = 1;; ++rq.page) {
      BERTH_ASSIGN_OR_RETURN(auto page, d.artifacts.ListRepositories(rq, project.project_id, all));
      for (const auto& r : page.items) {
        BERTH_RETURN_IF_ERROR(AddCandidates(d, project, r, "", "", &candidates));
      }
      if (static_cast<int64_t>(page.items.size()) < rq.page_size) break;
    }
  }
  std::vector<PreheatTaskSpec> out;
  for (const auto& c : candidates) {
    BERTH_ASSIGN_OR_RETURN(bool keep, PreheatFiltersKeep(filters, c));
    if (keep) out.push_back({c.repository, c.tag, c.digest});
  }
  ctx.Info(std::to_string(candidates.size()) + " candidates, " + std::to_string(out.size()) +
           " selected by the filters");
  return out;
}

// Runs one task to its end; the task's status says how it ended.
Status RunTask(const PreheatJobDeps& d, JobContext& ctx, PreheatDriver& driver,
               const PreheatInstanceRecord& instance, const PreheatPolicyRecord& policy,
               PreheatTaskRecord& task) {
  TaskLog log;
  task.status = "Running";
  task.start_time = NowUnixMillis();
  task.end_time = 0;
  task.status_message.clear();
  ++task.run_count;
  BERTH_RETURN_IF_ERROR(d.store.UpdateTask(task, nullptr));
  auto finish = [&](const std::string& status, const std::string& message) -> Status {
    task.status = status;
    task.status_message = message;
    task.end_time = NowUnixMillis();
    if (status == "Error") {
      log.Error(message);
      ctx.Error(task.repository + ":" + task.tag + ": " + message);
    } else {
      log.Info(message);
    }
    return d.store.UpdateTask(task, &log.text());
  };
  const std::string image = task.repository + ":" + task.tag;
  log.Info("Preheating image '" + image + "' (" + task.digest + ") to " + instance.vendor +
           " instance '" + instance.name + "' at " + instance.endpoint);

  PreheatImageSpec spec;
  spec.type = "image";
  spec.url = d.registry_url + "/v2/" + task.repository + "/manifests/" + task.tag;
  auto cred = d.pull_credential(task.repository);
  if (!cred.ok()) return finish("Error", "cannot make a pull credential: " + cred.status().message());
  spec.headers_json = nlohmann::json({{"Authorization", *cred}}).dump();
  spec.image = image;
  spec.digest = task.digest;
  spec.scope = policy.scope;
  spec.extra_json = policy.extra_attrs.empty() ? "{}" : policy.extra_attrs;
  log.Info("Image URL: " + spec.url + " (pull credential for repository " + task.repository +
           " only); scope: " + spec.scope);

  PreheatEndpoint at = EndpointOf(instance);
  auto started = driver.Preheat(at, spec, Deadline(d.options.call_timeout_ms));
  if (!started.ok()) return finish("Error", "preheat request failed: " + started.status().message());
  PreheatProgress p = *started;
  task.provider_task_id = p.task_id;
  log.Info("Provider accepted the preheat: task id '" + p.task_id + "', status " + p.status);
  BERTH_RETURN_IF_ERROR(d.store.UpdateTask(task, &log.text()));

  int64_t give_up_at = NowUnixMillis() + d.options.task_timeout_ms;
  int check_errors = 0;
  std::string last_status = p.status;
  while (p.status != kPreheatSuccess && p.status != kPreheatFail) {
    if (ctx.stopping()) return finish("Stopped", "Preheat task is stopped");
    if (NowUnixMillis() >= give_up_at) {
      return finish("Error", "timed out after " + std::to_string(d.options.task_timeout_ms / 1000) +
                                 " s waiting for provider task '" + p.task_id +
                                 "' (last status " + p.status + ")");
    }
    Nap(ctx, d.options.poll_interval_ms);
    if (ctx.stopping()) continue;
    auto next = driver.CheckProgress(at, p.task_id, Deadline(d.options.call_timeout_ms));
    if (!next.ok()) {
      log.Error("checking progress failed: " + next.status().message());
      if (++check_errors >= kMaxCheckErrors) {
        return finish("Error", "checking the progress of provider task '" + p.task_id +
                                   "' failed " + std::to_string(check_errors) +
                                   " times in a row: " + next.status().message());
      }
      continue;
    }
    check_errors = 0;
    p = *next;
    if (p.status != last_status) {
      log.Info("Provider task '" + p.task_id + "' is " + p.status);
      last_status = p.status;
      BERTH_RETURN_IF_ERROR(d.store.UpdateTask(task, &log.text()));
    }
  }
  if (!p.message.empty()) log.Info("Provider report:\n" + p.message);
  if (p.status == kPreheatFail) {
    return finish("Error", "preheat failed at the provider: " +
                               (p.error.empty() ? std::string("no reason given") : p.error));
  }
  return finish("Success", "Preheat of '" + image + "' succeeded");
}

}  // namespace

PreheatEndpoint EndpointOf(const PreheatInstanceRecord& instance) {
  PreheatEndpoint at;
  at.endpoint = instance.endpoint;
  at.auth_mode = instance.auth_mode;
  at.auth_info_json = instance.auth_data.empty() ? "{}" : instance.auth_data;
  at.insecure = instance.insecure;
  return at;
}

Status RunPreheatJob(const PreheatJobDeps& d, JobContext& ctx) {
  auto params = nlohmann::json::parse(ctx.params_json(), nullptr, false);
  if (!params.is_object() || !params.value("policy_id", nlohmann::json()).is_number_integer()) {
    ctx.GiveUp();
    return Status::InvalidArgument("bad parameters: " + ctx.params_json());
  }
  int64_t policy_id = params["policy_id"].get<int64_t>();
  std::string trigger = params.value("trigger", preheat::kTriggerManual);
  BERTH_ASSIGN_OR_RETURN(auto policy, d.store.GetPolicy(policy_id));
  if (!policy) {
    // Deleted (with its project, or by hand) after this run was queued.
    ctx.Info("preheat policy " + std::to_string(policy_id) + " no longer exists");
    Status s = d.jobs.DeleteSchedule(kPreheatJobKind, policy_id);
    if (!s.ok() && !s.IsNotFound()) return s;
    return {};
  }
  if (!policy->enabled && trigger != preheat::kTriggerManual) {
    ctx.Info("preheat policy " + policy->name + " is disabled; nothing to do");
    return {};
  }
  BERTH_ASSIGN_OR_RETURN(auto instance, d.store.GetInstance(policy->provider_id));
  if (!instance) {
    ctx.GiveUp();
    return Status::NotFound("provider instance " + std::to_string(policy->provider_id) +
                            " of the policy no longer exists");
  }
  auto driver = d.drivers.find(instance->vendor);
  if (driver == d.drivers.end()) {
    ctx.GiveUp();
    return Status::Unsupported("no loaded preheat plugin provides vendor '" + instance->vendor + "'");
  }
  BERTH_ASSIGN_OR_RETURN(ProjectRecord project,
                         d.projects.Resolve(std::to_string(policy->project_id), false));
  ctx.Info("preheat policy " + project.name + "." + policy->name + " (" + trigger + ") with " +
           instance->vendor + " instance '" + instance->name + "'");

  BERTH_ASSIGN_OR_RETURN(auto tasks, d.store.TasksOf(ctx.id()));
  if (tasks.empty()) {
    BERTH_ASSIGN_OR_RETURN(auto specs, Evaluate(d, ctx, *policy, project,
                                                params.value("artifact", nlohmann::json())));
    if (specs.empty()) {
      ctx.Info("no artifacts to preheat");
      return {};
    }
    BERTH_ASSIGN_OR_RETURN(tasks, d.store.EnsureTasks(ctx.id(), policy_id, specs));
  }

  int failed = 0;
  for (PreheatTaskRecord& task : tasks) {
    if (task.status == "Success" || task.status == "Error" || task.status == "Stopped") {
      if (task.status == "Error") ++failed;
      continue;
    }
    if (ctx.stopping()) break;
    BERTH_RETURN_IF_ERROR(RunTask(d, ctx, *driver->second, *instance, *policy, task));
    if (task.status == "Error") ++failed;
  }
  if (ctx.stopping()) {
    BERTH_RETURN_IF_ERROR(d.store.StopUnfinished(ctx.id(), NowUnixMillis()));
    ctx.Info("preheat execution is stopped");
    return {};
  }
  if (failed > 0) {
    ctx.GiveUp();
    return Status::Internal(std::to_string(failed) + " of " + std::to_string(tasks.size()) +
                            " preheat tasks failed");
  }
  ctx.Info(std::to_string(tasks.size()) + " artifacts preheated");
  return {};
}

}  // namespace berth
