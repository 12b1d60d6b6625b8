#include "replication/replication_job.h"

#include <map>
#include <set>

#include "common/clock.h"
#include "common/strings.h"
#include "policy/doublestar.h"
#include "replication/replication_copier.h"
#include "replication/replication_policy.h"

namespace berth {

namespace {

// Harbor's task resource: "repo:[tag,...]", or repo@digest when untagged.
std::string ResourceName(const std::string& repo, const std::string& digest,
                         const std::vector<std::string>& tags) {
  if (tags.empty()) return repo + "@" + digest;
  std::string out = repo + ":[";
  for (size_t i = 0; i < tags.size(); ++i) out += (i ? "," : "") + tags[i];
  return out + "]";
}

// Harbor's getMetadataFromResource: "ns/name:[tags]" -> ("ns", "name:[tags]").
std::pair<std::string, std::string> SplitResource(const std::string& resource) {
  size_t slash = resource.find('/');
  if (slash == std::string::npos) return {"", resource};
  return {resource.substr(0, slash), resource.substr(slash + 1)};
}

// Harbor's Replication event object for one finished task.
nlohmann::json TaskEventData(const ReplicationPolicy& p, const RemoteRegistryRecord& remote,
                             const std::string& local_endpoint, const ReplicationTaskRecord& task,
                             const std::string& trigger, int64_t started_ms) {
  // The source key of a tagged artifact ends "]@<digest>" (SrcKey): Harbor's
  // resource is the part before.
  std::string src = task.src_resource;
  if (size_t tags_end = src.find("]@"); tags_end != std::string::npos) src.resize(tags_end + 1);
  auto [src_ns, src_name] = SplitResource(src);
  auto [dst_ns, dst_name] = SplitResource(task.dst_resource);
  nlohmann::json remote_res = {{"registry_name", remote.name}, {"registry_type", remote.type},
                               {"endpoint", remote.url}};
  nlohmann::json local_res = {{"registry_type", "harbor"}, {"endpoint", local_endpoint}};
  nlohmann::json r = {{"job_status", task.status},
                      {"artifact_type", task.resource_type},
                      {"override_mode", p.override_},
                      {"trigger_type", trigger},
                      {"execution_timestamp", started_ms / 1000}};
  if (!p.description.empty()) r["description"] = p.description;
  if (!remote.credential_type.empty()) r["authentication_type"] = remote.credential_type;
  if (p.push_based()) {
    local_res["namespace"] = src_ns;
    remote_res["namespace"] = dst_ns;
    r["src_resource"] = local_res;
    r["dest_resource"] = remote_res;
  } else {
    remote_res["namespace"] = src_ns;
    local_res["namespace"] = dst_ns;
    r["src_resource"] = remote_res;
    r["dest_resource"] = local_res;
  }
  r[task.status == "Success" ? "successful_artifact" : "failed_artifact"] = nlohmann::json::array(
      {{{"type", task.resource_type},
        {"status", task.status},
        {"name_tag", p.push_based() ? src_name : dst_name}}});
  return r;
}

std::string SrcKey(const Candidate& c) {
  // Unique per artifact: two untagged artifacts of one repository differ.
  return ResourceName(c.repository, c.digest, c.tags) + (c.tags.empty() ? "" : "@" + c.digest);
}

StatusOr<bool> NameSelected(const ReplicationPolicy& p, const std::string& repo) {
  const ReplicationFilter* f = FindFilter(p, "name");
  if (f == nullptr || f->value.empty()) return true;
  return DoublestarMatch(f->value, repo);
}

// The tags a tag filter keeps; nullopt when the artifact is out of scope.
StatusOr<std::optional<std::vector<std::string>>> SelectTags(const ReplicationPolicy& p,
                                                             const std::vector<std::string>& tags) {
  const ReplicationFilter* f = FindFilter(p, "tag");
  if (f == nullptr || f->value.empty()) return std::optional<std::vector<std::string>>(tags);
  std::vector<std::string> kept;
  bool excludes = f->decoration == "excludes";
  for (const auto& t : tags) {
    BERTH_ASSIGN_OR_RETURN(bool m, DoublestarMatch(f->value, t));
    if (m != excludes) kept.push_back(t);
  }
  // Harbor: with a tag filter, untagged artifacts and artifacts whose tags
  // all fall out are not replicated.
  if (kept.empty()) return std::optional<std::vector<std::string>>();
  return std::optional<std::vector<std::string>>(kept);
}

bool LabelsSelected(const ReplicationPolicy& p, const std::vector<std::string>& labels) {
  const ReplicationFilter* f = FindFilter(p, "label");
  if (f == nullptr || f->labels.empty()) return true;
  std::set<std::string> have(labels.begin(), labels.end());
  if (f->decoration == "excludes") {
    for (const auto& l : f->labels) {
      if (have.count(l)) return false;
    }
    return true;
  }
  for (const auto& l : f->labels) {
    if (!have.count(l)) return false;
  }
  return true;
}

bool ResourceSelected(const ReplicationPolicy& p, const std::string& type) {
  const ReplicationFilter* f = FindFilter(p, "resource");
  return f == nullptr || f->value.empty() || f->value == type;
}

std::string ResourceTypeOf(const std::string& harbor_type) {
  return harbor_type == "IMAGE" || harbor_type.empty() ? "image" : "artifact";
}

// Accessories (signatures, SBOMs, any subject referrer, and theirs in turn)
// follow their subject, as in Harbor, whatever the tag/label/resource filters
// say; each is copied after its subject with its own tags (cosign's
// sha256-<hex>.sig scheme included). With an event, only the event's digest
// (and what hangs below it) is taken when the subject itself was not pushed.
Status AddAccessories(const ReplicationJobDeps& d, const RepositoryInfo& r,
                      const ReplicationPolicy& p, const std::string& only_digest,
                      std::vector<std::pair<std::string, bool>> subjects,
                      std::vector<Candidate>* out) {
  for (int depth = 0; depth < 4 && !subjects.empty(); ++depth) {
    std::vector<std::string> digests;
    for (const auto& [digest, whole] : subjects) digests.push_back(digest);
    BERTH_ASSIGN_OR_RETURN(auto accessories, d.artifacts.AccessoriesOf(r.id, digests));
    std::vector<int64_t> ids;
    for (const auto& [subject, list] : accessories) {
      for (const auto& a : list) ids.push_back(a.id);
    }
    if (ids.empty()) break;
    BERTH_ASSIGN_OR_RETURN(auto tags, d.artifacts.TagsOf(ids));
    std::vector<std::pair<std::string, bool>> next;
    for (const auto& [subject, whole] : subjects) {
      auto it = accessories.find(subject);
      if (it == accessories.end()) continue;
      for (const auto& a : it->second) {
        bool take = whole || a.digest == only_digest;
        next.push_back({a.digest, take});
        if (!take) continue;
        Candidate c;
        c.repository = r.name;
        c.digest = a.digest;
        for (const auto& t : tags[a.id]) c.tags.push_back(t.name);
        c.resource_type = ResourceTypeOf(a.type);
        BERTH_ASSIGN_OR_RETURN(c.dst_repository, DestinationRepository(p, r.name));
        out->push_back(std::move(c));
      }
    }
    subjects = std::move(next);
  }
  return {};
}

// Local artifacts in scope of a push-based policy, or of one event.
StatusOr<std::vector<Candidate>> LocalCandidates(const ReplicationJobDeps& d,
                                                 const ReplicationPolicy& p,
                                                 const std::string& only_repo,
                                                 const std::string& only_digest) {
  std::vector<Candidate> out;
  ProjectVisibility all;
  all.all = true;
  ListQuery rq;
  rq.page_size = 100;
  for (rq.page = 1;; ++rq.page) {
    BERTH_ASSIGN_OR_RETURN(auto repos, d.artifacts.ListRepositories(rq, 0, all));
    for (const auto& r : repos.items) {
      if (!only_repo.empty() && r.name != only_repo) continue;
      BERTH_ASSIGN_OR_RETURN(bool named, NameSelected(p, r.name));
      if (!named) continue;
      ListQuery aq;
      aq.page_size = 100;
      aq.sort = {{"id", false}};
      for (aq.page = 1;; ++aq.page) {
        BERTH_ASSIGN_OR_RETURN(auto arts, d.artifacts.ListArtifacts(r.id, aq));
        std::vector<int64_t> ids;
        for (const auto& a : arts.items) ids.push_back(a.id);
        BERTH_ASSIGN_OR_RETURN(auto tags, d.artifacts.TagsOf(ids));
        BERTH_ASSIGN_OR_RETURN(auto labels, d.labels.LabelsOfArtifacts(ids));
        // Subjects in scope, with whether all their accessories follow
        // (false: only the event's own accessory digest does).
        std::vector<std::pair<std::string, bool>> subjects;
        for (const auto& a : arts.items) {
          std::vector<std::string> tag_names, label_names;
          for (const auto& t : tags[a.id]) tag_names.push_back(t.name);
          for (const auto& l : labels[a.id]) label_names.push_back(l.name);
          std::string type = ResourceTypeOf(a.type);
          if (!ResourceSelected(p, type) || !LabelsSelected(p, label_names)) continue;
          BERTH_ASSIGN_OR_RETURN(auto kept, SelectTags(p, tag_names));
          if (!kept) continue;
          bool whole = only_digest.empty() || a.digest == only_digest;
          subjects.push_back({a.digest, whole});
          if (!whole) continue;
          Candidate c;
          c.repository = r.name;
          c.digest = a.digest;
          c.tags = *kept;
          c.resource_type = type;
          BERTH_ASSIGN_OR_RETURN(c.dst_repository, DestinationRepository(p, r.name));
          out.push_back(std::move(c));
        }
        BERTH_RETURN_IF_ERROR(AddAccessories(d, r, p, only_digest, std::move(subjects), &out));
        if (static_cast<int64_t>(arts.items.size()) < aq.page_size) break;
      }
    }
    if (static_cast<int64_t>(repos.items.size()) < rq.page_size) break;
  }
  return out;
}

nlohmann::json FiltersForAdapter(const ReplicationPolicy& p) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& f : p.filters) {
    nlohmann::json j = {{"type", f.type}, {"decoration", f.decoration.empty() ? "matches" : f.decoration}};
    if (f.type == "label") j["value"] = f.labels;
    else j["value"] = f.value;
    a.push_back(j);
  }
  return a;
}

// Remote artifacts in scope of a pull-based policy: the adapter filters
// (Harbor's FetchArtifacts), and the rules are applied again here so an
// adapter that ignores a filter cannot widen the scope. An artifact the
// adapter reports with "accessory_of" (a signature, an SBOM, a referrer)
// follows its subject whatever the filters say, as on the push side, and is
// copied after it.
StatusOr<std::vector<Candidate>> RemoteCandidates(ReplicationSession& s, const ReplicationPolicy& p) {
  BERTH_ASSIGN_OR_RETURN(std::string json, s.FetchArtifacts(FiltersForAdapter(p).dump()));
  auto resources = nlohmann::json::parse(json, nullptr, false);
  if (!resources.is_array()) return Status::IOError("the source adapter returned malformed resources");
  std::vector<Candidate> out;
  for (const auto& r : resources) {
    if (!r.is_object()) continue;
    const auto meta = r.value("metadata", nlohmann::json::object());
    std::string repo = meta.value("repository", nlohmann::json::object()).value("name", "");
    if (repo.empty()) continue;
    BERTH_ASSIGN_OR_RETURN(bool named, NameSelected(p, repo));
    if (!named) continue;
    std::set<std::string> selected;
    const nlohmann::json artifacts = meta.value("artifacts", nlohmann::json::array());
    std::vector<const nlohmann::json*> accessories;  // into `artifacts`
    for (const auto& a : artifacts) {
      if (!a.is_object()) continue;
      std::vector<std::string> tags, labels;
      for (const auto& t : a.value("tags", nlohmann::json::array())) {
        if (t.is_string()) tags.push_back(t.get<std::string>());
      }
      if (a.value("accessory_of", nlohmann::json()).is_string()) {
        accessories.push_back(&a);
        continue;
      }
      for (const auto& l : a.value("labels", nlohmann::json::array())) {
        if (l.is_string()) labels.push_back(l.get<std::string>());
      }
      std::string type = ResourceTypeOf(a.value("type", ""));
      if (!ResourceSelected(p, type) || !LabelsSelected(p, labels)) continue;
      BERTH_ASSIGN_OR_RETURN(auto kept, SelectTags(p, tags));
      if (!kept) continue;
      Candidate c;
      c.repository = repo;
      c.digest = a.value("digest", "");
      if (c.digest.empty() && kept->empty()) continue;
      c.tags = *kept;
      c.resource_type = type;
      BERTH_ASSIGN_OR_RETURN(c.dst_repository, DestinationRepository(p, repo));
      if (!c.digest.empty()) selected.insert(c.digest);
      out.push_back(std::move(c));
    }
    // Subjects before their accessories, an accessory's accessories after it
    // (the adapter may list them in any order; nesting is shallow).
    for (bool added = true; added;) {
      added = false;
      for (auto& a : accessories) {
        if (a == nullptr || !selected.count((*a)["accessory_of"].get<std::string>())) continue;
        Candidate c;
        c.repository = repo;
        c.digest = a->value("digest", "");
        for (const auto& t : a->value("tags", nlohmann::json::array())) {
          if (t.is_string()) c.tags.push_back(t.get<std::string>());
        }
        c.resource_type = ResourceTypeOf(a->value("type", ""));
        a = nullptr;
        if (c.digest.empty() || !selected.insert(c.digest).second) continue;
        BERTH_ASSIGN_OR_RETURN(c.dst_repository, DestinationRepository(p, repo));
        out.push_back(std::move(c));
        added = true;
      }
    }
  }
  return out;
}

nlohmann::json PushResources(const std::vector<Candidate>& cs) {
  std::map<std::string, nlohmann::json> by_repo;
  for (const auto& c : cs) {
    if (c.operation != "copy") continue;
    auto& arts = by_repo[c.dst_repository];
    if (arts.is_null()) arts = nlohmann::json::array();
    arts.push_back({{"digest", c.digest}, {"tags", c.tags}, {"type", c.resource_type}});
  }
  nlohmann::json out = nlohmann::json::array();
  for (auto& [repo, arts] : by_repo) {
    out.push_back({{"type", "image"},
                   {"metadata", {{"repository", {{"name", repo}}}, {"artifacts", arts}}},
                   {"override", true}});
  }
  return out;
}

}  // namespace

Status RunReplicationJob(const ReplicationJobDeps& d, JobContext& ctx) {
  nlohmann::json params = nlohmann::json::parse(ctx.params_json(), nullptr, false);
  if (!params.is_object() || !params.value("policy_id", nlohmann::json()).is_number_integer()) {
    ctx.GiveUp();
    return Status::InvalidArgument("bad parameters: " + ctx.params_json());
  }
  int64_t policy_id = params["policy_id"].get<int64_t>();
  BERTH_ASSIGN_OR_RETURN(auto rec, d.store.GetPolicy(policy_id));
  if (!rec) {
    ctx.Info("replication policy " + std::to_string(policy_id) + " no longer exists");
    return {};
  }
  auto policy = PolicyFromStored(rec->id, rec->name, rec->src_registry_id, rec->dest_registry_id,
                                 rec->enabled, rec->policy_json, rec->creation_time, rec->update_time);
  if (!policy.ok()) {
    ctx.GiveUp();
    return policy.status();
  }
  const ReplicationPolicy& p = *policy;
  int64_t remote_id = p.push_based() ? p.dest_registry_id : p.src_registry_id;
  auto remote = d.registries.Load(remote_id);
  if (!remote.ok()) {
    ctx.GiveUp();
    return remote.status();
  }
  ctx.Info("replication policy " + p.name + ": " + (p.push_based() ? "push to " : "pull from ") +
           remote->name + " (" + remote->url + ")");
  // copy_by_chunk travels to the adapter in the URL fragment (never sent).
  auto session = d.registries.OpenSession(*remote, p.copy_by_chunk ? "#berth-chunked" : "");
  if (!session.ok()) return session.status();
  ReplicationSession& s = **session;

  std::vector<Candidate> candidates;
  const nlohmann::json event = params.value("event", nlohmann::json());
  if (event.is_object()) {
    std::string op = event.value("operation", "");
    std::string repo = event.value("repository", "");
    std::string digest = event.value("digest", "");
    if (op == "delete") {
      Candidate c;
      c.repository = repo;
      c.digest = digest;
      for (const auto& t : event.value("tags", nlohmann::json::array())) {
        if (t.is_string()) c.tags.push_back(t.get<std::string>());
      }
      c.operation = "deletion";
      BERTH_ASSIGN_OR_RETURN(c.dst_repository, DestinationRepository(p, repo));
      candidates.push_back(std::move(c));
    } else {
      BERTH_ASSIGN_OR_RETURN(candidates, LocalCandidates(d, p, repo, digest));
    }
  } else if (p.push_based()) {
    BERTH_ASSIGN_OR_RETURN(candidates, LocalCandidates(d, p, "", ""));
  } else {
    BERTH_ASSIGN_OR_RETURN(candidates, RemoteCandidates(s, p));
  }

  std::vector<NewReplicationTask> wanted;
  std::map<std::string, const Candidate*> by_key;
  for (const auto& c : candidates) {
    std::string key = SrcKey(c);
    if (by_key.count(key)) continue;
    by_key[key] = &c;
    wanted.push_back({c.resource_type, c.operation, key,
                      ResourceName(c.dst_repository, c.digest, c.tags)});
  }
  BERTH_ASSIGN_OR_RETURN(auto tasks, d.store.EnsureTasks(ctx.id(), policy_id, wanted));
  ctx.Info(std::to_string(tasks.size()) + " artifacts in scope");
  if (p.push_based() && !wanted.empty()) {
    Status prep = s.PrepareForPush(PushResources(candidates).dump());
    if (!prep.ok()) {
      ctx.Error("prepare for push: " + prep.message());
      return prep;
    }
  }

  std::map<std::string, std::string> at_dest;  // blobs known at the destination
  if (p.push_based()) {
    // What the destination already has seeds the mount sources.
    PushCopier seeder(d, s, p, ctx, at_dest);
    for (const auto& c : candidates) {
      if (ctx.stopping()) break;
      if (c.operation != "copy") continue;
      Status st = seeder.Seed(c);
      if (!st.ok()) ctx.Warn("checking " + c.dst_repository + "@" + c.digest + ": " + st.message());
    }
  }
  int failed = 0;
  for (ReplicationTaskRecord& task : tasks) {
    if (task.status == "Success" || task.status == "Error" || task.status == "Stopped") continue;
    if (ctx.stopping()) break;
    TaskLog log;
    task.status = "Running";
    task.start_time = NowUnixMillis();
    task.bytes = 0;
    BERTH_RETURN_IF_ERROR(d.store.UpdateTask(task, nullptr));
    log.Info("replicating " + task.src_resource + " to " + task.dst_resource);
    auto it = by_key.find(task.src_resource);
    Status st;
    if (it == by_key.end()) {
      log.Info("the resource is no longer in scope");
    } else if (it->second->operation == "deletion") {
      st = PropagateDeletion(s, *it->second, log);
    } else if (p.push_based()) {
      PushCopier copier(d, s, p, ctx, at_dest);
      st = copier.Copy(*it->second, log, &task.bytes);
    } else {
      PullCopier copier(d, s, p, ctx);
      st = copier.Copy(*it->second, log, &task.bytes);
    }
    task.end_time = NowUnixMillis();
    if (!st.ok() && ctx.stopping()) {
      log.Info("the execution was stopped");
      task.status = "Stopped";
    } else if (!st.ok()) {
      log.Error(st.message());
      ctx.Error(task.src_resource + ": " + st.message());
      task.status = "Error";
      ++failed;
    } else {
      log.Info("done, " + std::to_string(task.bytes) + " bytes transferred");
      task.status = "Success";
    }
    BERTH_RETURN_IF_ERROR(d.store.UpdateTask(task, &log.text()));
    if (d.on_task_event && task.status != "Stopped") {
      const std::string local = SplitResource(p.push_based() ? task.src_resource
                                                             : task.dst_resource).first;
      const std::string trigger = ToUpper(ctx.job().trigger);
      d.on_task_event(local,
                      TaskEventData(p, *remote, d.local_endpoint, task, trigger,
                                    ctx.job().start_time),
                      trigger);
    }
  }
  if (ctx.stopping()) {
    BERTH_RETURN_IF_ERROR(d.store.StopUnfinished(ctx.id(), NowUnixMillis()));
    ctx.Info("the execution is stopped");
    return {};
  }
  if (failed > 0) {
    ctx.GiveUp();
    return Status::Internal(std::to_string(failed) + " of " + std::to_string(tasks.size()) +
                            " tasks failed");
  }
  return {};
}

}  // namespace berth
