#include "replication/replication_job.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "common/clock.h"
#include "common/digest.h"
#include "policy/doublestar.h"
#include "registry/manifest.h"
#include "replication/replication_policy.h"

namespace berth {

namespace {

constexpr char kAllManifestTypes[] =
    "application/vnd.oci.image.index.v1+json,application/vnd.oci.image.manifest.v1+json,"
    "application/vnd.docker.distribution.manifest.list.v2+json,"
    "application/vnd.docker.distribution.manifest.v2+json,"
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
// Pulled bytes are handed to the upload in pieces of this size.
constexpr size_t kUploadPiece = 4 << 20;

std::string LogTime(int64_t ms) {
  time_t s = static_cast<time_t>(ms / 1000);
  struct tm tm;
  gmtime_r(&s, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A task log in the shape of Harbor's job logs: "<time> [LEVEL] message".
class TaskLog {
 public:
  void Info(const std::string& m) { Add("INFO", m); }
  void Error(const std::string& m) { Add("ERROR", m); }
  const std::string& text() const { return text_; }

 private:
  void Add(const char* level, const std::string& m) {
    text_ += LogTime(NowUnixMillis()) + " [" + level + "] " + m + "\n";
  }
  std::string text_;
};

// The policy's speed (KB/s) as pauses between pieces, cut short when the
// execution is being stopped.
class RateLimiter {
 public:
  explicit RateLimiter(int64_t kb_per_s) : bytes_per_s_(kb_per_s > 0 ? kb_per_s * 1024 : 0) {}
  // The most to move at once: a tenth of a second's worth when limited.
  size_t Piece(size_t cap) const {
    if (bytes_per_s_ <= 0) return cap;
    return std::min(cap, static_cast<size_t>(std::max<int64_t>(4096, bytes_per_s_ / 10)));
  }
  void Took(size_t n, const JobContext& ctx) {
    if (bytes_per_s_ <= 0) return;
    if (start_ms_ == 0) start_ms_ = NowUnixMillis();
    sent_ += static_cast<int64_t>(n);
    int64_t due_ms = start_ms_ + sent_ * 1000 / bytes_per_s_;
    for (int64_t now = NowUnixMillis(); due_ms > now && !ctx.stopping(); now = NowUnixMillis()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(100, due_ms - now)));
    }
  }

 private:
  int64_t bytes_per_s_;
  int64_t start_ms_ = 0;
  int64_t sent_ = 0;
};

struct Candidate {
  std::string repository;  // in the source
  std::string digest;
  std::vector<std::string> tags;
  std::string resource_type = "image";
  std::string dst_repository;
  std::string operation = "copy";  // or "deletion"
};

// Harbor's task resource: "repo:[tag,...]", or repo@digest when untagged.
std::string ResourceName(const std::string& repo, const std::string& digest,
                         const std::vector<std::string>& tags) {
  if (tags.empty()) return repo + "@" + digest;
  std::string out = repo + ":[";
  for (size_t i = 0; i < tags.size(); ++i) out += (i ? "," : "") + tags[i];
  return out + "]";
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
        for (const auto& a : arts.items) {
          if (!only_digest.empty() && a.digest != only_digest) continue;
          if (!a.accessory_of.empty()) continue;  // accessories are not replicated (yet)
          std::vector<std::string> tag_names, label_names;
          for (const auto& t : tags[a.id]) tag_names.push_back(t.name);
          for (const auto& l : labels[a.id]) label_names.push_back(l.name);
          std::string type = ResourceTypeOf(a.type);
          if (!ResourceSelected(p, type) || !LabelsSelected(p, label_names)) continue;
          BERTH_ASSIGN_OR_RETURN(auto kept, SelectTags(p, tag_names));
          if (!kept) continue;
          Candidate c;
          c.repository = r.name;
          c.digest = a.digest;
          c.tags = *kept;
          c.resource_type = type;
          BERTH_ASSIGN_OR_RETURN(c.dst_repository, DestinationRepository(p, r.name));
          out.push_back(std::move(c));
        }
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
// adapter that ignores a filter cannot widen the scope.
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
    for (const auto& a : meta.value("artifacts", nlohmann::json::array())) {
      std::vector<std::string> tags, labels;
      for (const auto& t : a.value("tags", nlohmann::json::array())) {
        if (t.is_string()) tags.push_back(t.get<std::string>());
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
      out.push_back(std::move(c));
    }
  }
  return out;
}

// Copies one artifact from this Berth to the remote.
class PushCopier {
 public:
  PushCopier(const ReplicationJobDeps& d, ReplicationSession& s, const ReplicationPolicy& p,
             JobContext& ctx, std::map<std::string, std::string>& at_dest)
      : d_(d), s_(s), p_(p), ctx_(ctx), at_dest_(at_dest), limiter_(p.speed_kb) {}

  // Records the blobs of an artifact the destination already holds, so that
  // other artifacts sharing them mount instead of copying.
  Status Seed(const Candidate& c) {
    BERTH_ASSIGN_OR_RETURN(RemoteManifest there, s_.ManifestExists(c.dst_repository, c.digest));
    if (!there.exists) return {};
    std::vector<std::string> digests = {c.digest};
    for (size_t i = 0; i < digests.size() && i < 64; ++i) {
      std::string mt, body;
      BERTH_RETURN_IF_ERROR(LoadManifest(c.repository, digests[i], &mt, &body));
      BERTH_ASSIGN_OR_RETURN(ParsedManifest pm, ParseManifest(body, mt));
      for (const auto& child : pm.manifests) digests.push_back(child.digest.ToString());
      if (pm.config) at_dest_.emplace(pm.config->digest.ToString(), c.dst_repository);
      for (const auto& l : pm.layers) at_dest_.emplace(l.digest.ToString(), c.dst_repository);
    }
    return {};
  }

  Status Copy(const Candidate& c, TaskLog& log, int64_t* bytes) {
    std::vector<std::string> tags;
    for (const auto& t : c.tags) {
      if (!p_.override_) {
        BERTH_ASSIGN_OR_RETURN(RemoteManifest m, s_.ManifestExists(c.dst_repository, t));
        if (m.exists && m.digest != c.digest) {
          log.Info("the tag " + c.dst_repository + ":" + t +
                   " exists on the destination and override is off: skip");
          continue;
        }
      }
      tags.push_back(t);
    }
    if (tags.empty() && !c.tags.empty()) return {};
    BERTH_RETURN_IF_ERROR(CopyManifest(c.repository, c.digest, c.dst_repository, log, 0));
    std::string mt, body;
    BERTH_RETURN_IF_ERROR(LoadManifest(c.repository, c.digest, &mt, &body));
    for (const auto& t : tags) {
      BERTH_RETURN_IF_ERROR(s_.PushManifest(c.dst_repository, t, mt, body).status());
      log.Info("pushed manifest " + c.dst_repository + ":" + t);
    }
    *bytes += bytes_;
    return {};
  }

 private:
  Status LoadManifest(const std::string& repo, const std::string& digest, std::string* mt,
                      std::string* body) {
    BERTH_ASSIGN_OR_RETURN(Digest dg, Digest::Parse(digest));
    ManifestReference ref;
    ref.is_digest = true;
    ref.digest = dg;
    BERTH_ASSIGN_OR_RETURN(ManifestContent m, d_.manifests.Get(repo, ref, {}, nullptr));
    *mt = m.artifact.media_type;
    *body = *m.body;
    return {};
  }

  Status CopyManifest(const std::string& src, const std::string& digest, const std::string& dst,
                      TaskLog& log, int depth) {
    if (depth > 4) return Status::InvalidArgument("manifests nested too deep at " + digest);
    if (ctx_.stopping()) return Status(Code::kUnavailable, "stopped");
    BERTH_ASSIGN_OR_RETURN(RemoteManifest there, s_.ManifestExists(dst, digest));
    std::string mt, body;
    BERTH_RETURN_IF_ERROR(LoadManifest(src, digest, &mt, &body));
    BERTH_ASSIGN_OR_RETURN(ParsedManifest pm, ParseManifest(body, mt));
    if (there.exists) {
      log.Info("manifest " + dst + "@" + digest + " exists on the destination: skip");
      // Its blobs are there: later artifacts of this run may mount them.
      if (pm.config) at_dest_.emplace(pm.config->digest.ToString(), dst);
      for (const auto& l : pm.layers) at_dest_.emplace(l.digest.ToString(), dst);
      return {};
    }
    if (pm.is_index) {
      for (const auto& child : pm.manifests) {
        BERTH_RETURN_IF_ERROR(CopyManifest(src, child.digest.ToString(), dst, log, depth + 1));
      }
    } else {
      std::vector<Descriptor> blobs;
      if (pm.config) blobs.push_back(*pm.config);
      for (const auto& l : pm.layers) blobs.push_back(l);
      for (const auto& b : blobs) {
        if (!b.urls.empty()) continue;  // foreign layers stay where they are
        BERTH_RETURN_IF_ERROR(CopyBlob(b, dst, log));
      }
    }
    BERTH_RETURN_IF_ERROR(s_.PushManifest(dst, digest, mt, body).status());
    log.Info("pushed manifest " + dst + "@" + digest);
    return {};
  }

  Status CopyBlob(const Descriptor& b, const std::string& dst, TaskLog& log) {
    std::string digest = b.digest.ToString();
    BERTH_ASSIGN_OR_RETURN(bool exists, s_.BlobExists(dst, digest));
    if (exists) {
      log.Info("blob " + digest + " exists on the destination: skip");
      at_dest_[digest] = dst;
      return {};
    }
    auto known = at_dest_.find(digest);
    if (known != at_dest_.end() && known->second != dst) {
      Status m = s_.MountBlob(known->second, digest, dst);
      if (m.ok()) {
        log.Info("blob " + digest + " mounted from " + known->second);
        at_dest_[digest] = dst;
        return {};
      }
      if (m.code() != Code::kUnsupported) log.Info("mounting " + digest + " failed, copying: " + m.message());
    }
    BERTH_ASSIGN_OR_RETURN(auto reader, d_.blobs.OpenReader(b.digest, 0));
    int64_t sent = 0;
    Status st = s_.PushBlob(dst, digest, b.size, [&](char* buf, size_t cap) -> StatusOr<size_t> {
      if (ctx_.stopping()) return Status(Code::kUnavailable, "the execution is being stopped");
      BERTH_ASSIGN_OR_RETURN(size_t n, reader->Read(buf, limiter_.Piece(cap)));
      sent += static_cast<int64_t>(n);
      limiter_.Took(n, ctx_);
      return n;
    });
    bytes_ += sent;
    BERTH_RETURN_IF_ERROR(st);
    log.Info("copied blob " + digest + " (" + std::to_string(b.size) + " bytes)");
    at_dest_[digest] = dst;
    return {};
  }

  const ReplicationJobDeps& d_;
  ReplicationSession& s_;
  const ReplicationPolicy& p_;
  JobContext& ctx_;
  std::map<std::string, std::string>& at_dest_;
  RateLimiter limiter_;
  int64_t bytes_ = 0;
};

// Copies one artifact from the remote into this Berth, through the
// registry's upload and manifest paths.
class PullCopier {
 public:
  PullCopier(const ReplicationJobDeps& d, ReplicationSession& s, const ReplicationPolicy& p,
             JobContext& ctx)
      : d_(d), s_(s), p_(p), ctx_(ctx), limiter_(p.speed_kb) {}

  Status Copy(const Candidate& c, TaskLog& log, int64_t* bytes) {
    BERTH_RETURN_IF_ERROR(EnsureProject(c.dst_repository, log));
    std::string ref = c.digest.empty() ? c.tags.front() : c.digest;
    std::string mt, body;
    BERTH_RETURN_IF_ERROR(s_.PullManifest(c.repository, ref, kAllManifestTypes, &mt, &body));
    BERTH_ASSIGN_OR_RETURN(std::string digest, CopyManifestBody(c.repository, mt, body, c.dst_repository, log, 0));
    for (const auto& t : c.tags) {
      if (!p_.override_) {
        ManifestReference tr;
        tr.tag = t;
        auto have = d_.registry.GetArtifactByTag(c.dst_repository, t);
        if (have.ok() && *have && (*have)->digest != digest) {
          log.Info("the tag " + c.dst_repository + ":" + t + " exists here and override is off: skip");
          continue;
        }
      }
      ManifestReference tr;
      tr.tag = t;
      BERTH_RETURN_IF_ERROR(d_.manifests.Put(c.dst_repository, tr, body, mt, Actor{"replication", ""}).status());
      log.Info("stored manifest " + c.dst_repository + ":" + t);
    }
    *bytes += bytes_;
    return {};
  }

 private:
  Status EnsureProject(const std::string& repo, TaskLog& log) {
    std::string project = repo.substr(0, repo.find('/'));
    BERTH_ASSIGN_OR_RETURN(bool exists, d_.projects.Exists(project));
    if (exists) return {};
    Identity admin;
    admin.kind = Identity::Kind::kUser;
    admin.username = "admin";
    admin.user_id = 1;
    admin.sysadmin = true;
    auto made = d_.projects.Create(admin, project, {{"public", "false"}});
    if (!made.ok() && made.status().code() != Code::kConflict) return made.status();
    log.Info("created project " + project);
    return {};
  }

  StatusOr<std::string> CopyManifestBody(const std::string& src, const std::string& mt,
                                         const std::string& body, const std::string& dst,
                                         TaskLog& log, int depth) {
    if (depth > 4) return Status::InvalidArgument("manifests nested too deep");
    if (ctx_.stopping()) return Status(Code::kUnavailable, "stopped");
    BERTH_ASSIGN_OR_RETURN(ParsedManifest pm, ParseManifest(body, mt));
    if (pm.is_index) {
      for (const auto& child : pm.manifests) {
        std::string cmt, cbody;
        BERTH_RETURN_IF_ERROR(s_.PullManifest(src, child.digest.ToString(), kAllManifestTypes, &cmt, &cbody));
        BERTH_RETURN_IF_ERROR(CopyManifestBody(src, cmt, cbody, dst, log, depth + 1).status());
      }
    } else {
      std::vector<Descriptor> blobs;
      if (pm.config) blobs.push_back(*pm.config);
      for (const auto& l : pm.layers) blobs.push_back(l);
      for (const auto& b : blobs) {
        if (!b.urls.empty()) continue;
        BERTH_RETURN_IF_ERROR(CopyBlob(src, b, dst, log));
      }
    }
    Digest dg = Digest::Of(DigestAlgorithm::kSha256, body);
    ManifestReference ref;
    ref.is_digest = true;
    ref.digest = dg;
    BERTH_ASSIGN_OR_RETURN(PushedManifest pushed,
                           d_.manifests.Put(dst, ref, body, mt, Actor{"replication", ""}));
    log.Info("stored manifest " + dst + "@" + pushed.digest);
    return pushed.digest;
  }

  Status CopyBlob(const std::string& src, const Descriptor& b, const std::string& dst, TaskLog& log) {
    std::string digest = b.digest.ToString();
    BERTH_ASSIGN_OR_RETURN(auto linked, d_.registry.GetLinkedBlobSize(dst, digest));
    if (linked) {
      log.Info("blob " + digest + " is here already: skip");
      return {};
    }
    BERTH_ASSIGN_OR_RETURN(UploadStatus up, d_.uploads.Start(dst));
    std::string piece;
    int64_t got = 0;
    auto flush = [&]() -> Status {
      if (piece.empty()) return {};
      std::istringstream in(piece);
      auto r = d_.uploads.Append(dst, up.uuid, in, std::nullopt, static_cast<int64_t>(piece.size()));
      piece.clear();
      return r.status();
    };
    int64_t total = 0;
    Status st = s_.PullBlob(src, digest, 0, -1, [&](const char* data, size_t len) -> Status {
      if (ctx_.stopping()) return Status(Code::kUnavailable, "the execution is being stopped");
      piece.append(data, len);
      got += static_cast<int64_t>(len);
      limiter_.Took(len, ctx_);
      if (piece.size() >= kUploadPiece) return flush();
      return {};
    }, &total);
    if (st.ok()) st = flush();
    bytes_ += got;
    if (st.ok()) st = d_.uploads.Complete(dst, up.uuid, b.digest, nullptr, std::nullopt, -1).status();
    if (!st.ok()) {
      (void)d_.uploads.Cancel(dst, up.uuid);
      return st;
    }
    log.Info("copied blob " + digest + " (" + std::to_string(got) + " bytes)");
    return {};
  }

  const ReplicationJobDeps& d_;
  ReplicationSession& s_;
  const ReplicationPolicy& p_;
  JobContext& ctx_;
  RateLimiter limiter_;
  int64_t bytes_ = 0;
};

Status PropagateDeletion(ReplicationSession& s, const Candidate& c, TaskLog& log) {
  if (!c.tags.empty()) {
    for (const auto& t : c.tags) {
      Status st = s.DeleteTag(c.dst_repository, t);
      if (st.IsNotFound()) {
        log.Info("tag " + c.dst_repository + ":" + t + " is not on the destination");
        continue;
      }
      BERTH_RETURN_IF_ERROR(st);
      log.Info("deleted tag " + c.dst_repository + ":" + t);
    }
    return {};
  }
  Status st = s.DeleteManifest(c.dst_repository, c.digest);
  if (st.IsNotFound()) {
    log.Info("artifact " + c.dst_repository + "@" + c.digest + " is not on the destination");
    return {};
  }
  BERTH_RETURN_IF_ERROR(st);
  log.Info("deleted artifact " + c.dst_repository + "@" + c.digest);
  return {};
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
