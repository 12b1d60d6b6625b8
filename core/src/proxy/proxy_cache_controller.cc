#include "proxy/proxy_cache_controller.h"

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "auth/registry_access.h"
#include "common/clock.h"
#include "common/strings.h"
#include "registry/manifest.h"

namespace berth {

namespace {

constexpr size_t kMaxPendingPerRepo = 64;
constexpr size_t kMaxPendingRepos = 1024;
constexpr size_t kMaxChecked = 100000;
constexpr int64_t kUpstreamRestMs = 10000;
constexpr int kMaxFillDepth = 2;
constexpr size_t kMaxIdleSessions = 4;          // per registry
constexpr int64_t kSessionMaxIdleMs = 30000;    // upstreams close idle connections
constexpr int64_t kSessionMaxAgeMs = 300000;    // then a fresh login
// A slot older than this stops counting: its node died holding it (Harbor's
// Redis counter expires after an hour too).
constexpr int64_t kSlotTtlMs = 3600000;
// How long a fill job waits for a free slot before it gives up.
constexpr int64_t kFillSlotWaitMs = 600000;
constexpr int64_t kFillSlotPollMs = 500;

std::string SessionKey(const RemoteRegistryRecord& r) {
  return r.type + "\n" + r.url + "\n" + r.credential_type + "\n" + r.access_key + "\n" +
         r.sealed_secret + "\n" + (r.insecure ? "1" : "0") + "\n" + r.ca_certificate + "\n" +
         std::to_string(r.update_time);
}  // an index of images; nothing nests deeper

// The blobs of a parsed manifest that must be in the repository before it is
// stored, with their sizes.
std::vector<std::pair<std::string, int64_t>> RequiredBlobsWithSizes(const ParsedManifest& m) {
  std::vector<std::pair<std::string, int64_t>> out;
  std::vector<Descriptor> needed = m.layers;
  if (m.config) needed.push_back(*m.config);
  auto required = m.RequiredBlobs();
  for (const auto& dsc : needed) {
    std::string dd = dsc.digest.ToString();
    for (const auto& r : required) {
      if (r == dd) {
        out.emplace_back(dd, dsc.size);
        break;
      }
    }
  }
  return out;
}

int64_t SteadyMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string RefString(const ManifestReference& ref) {
  return ref.is_digest ? ref.digest.ToString() : ref.tag;
}

Status ManifestUnknown(std::string msg) {
  return Status::NotFound(std::move(msg), "MANIFEST_UNKNOWN");
}

}  // namespace

UpstreamSlot& UpstreamSlot::operator=(UpstreamSlot&& o) noexcept {
  if (this != &o) {
    std::swap(store_, o.store_);
    std::swap(id_, o.id_);
    std::swap(log_, o.log_);
  }
  return *this;
}

UpstreamSlot::~UpstreamSlot() {
  if (store_ == nullptr || id_ == 0) return;
  if (Status s = store_->Give(id_); !s.ok() && log_ != nullptr) {
    // The row stops counting once it expires.
    log_->Warn("proxy cache: an upstream slot was not given back",
               {{"slot", id_}, {"error", s.ToString()}});
  }
}

std::string UpstreamRepository(std::string_view local_repo, std::string_view registry_type) {
  size_t slash = local_repo.find('/');
  std::string rest(slash == std::string_view::npos ? local_repo : local_repo.substr(slash + 1));
  if (registry_type == "docker-hub" && rest.find('/') == std::string::npos) {
    return "library/" + rest;
  }
  return rest;
}

StatusOr<int64_t> ProxyCacheController::RegistryOf(std::string_view repo) {
  BERTH_ASSIGN_OR_RETURN(auto p, projects_.GetByName(ProjectOf(std::string(repo))));
  return p ? p->registry_id : 0;
}

StatusOr<ManifestContent> ProxyCacheController::ServeLocal(std::string_view repo,
                                                           const ManifestReference& ref,
                                                           const std::vector<std::string>& accept) {
  return manifests_.Get(repo, ref, accept);
}

bool ProxyCacheController::UpstreamResting(int64_t registry_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = resting_until_.find(registry_id);
  return it != resting_until_.end() && SteadyMillis() < it->second;
}

void ProxyCacheController::UpstreamFailed(int64_t registry_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    resting_until_[registry_id] = SteadyMillis() + kUpstreamRestMs;
  }
  DropSessions(registry_id);
}

void ProxyCacheController::DropSessions(int64_t registry_id) {
  std::vector<IdleSession> dropped;  // closed outside the lock
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Sessions of a failing upstream may hold dead connections: none reused.
    ++session_generation_[registry_id];
    auto it = idle_sessions_.find(registry_id);
    if (it != idle_sessions_.end()) {
      dropped = std::move(it->second);
      idle_sessions_.erase(it);
    }
  }
}

StatusOr<std::shared_ptr<ReplicationSession>> ProxyCacheController::AcquireSession(
    const RemoteRegistryRecord& reg) {
  std::string key = SessionKey(reg);
  int64_t now = SteadyMillis();
  std::unique_ptr<ReplicationSession> session;
  int64_t opened = now;
  uint64_t generation = 0;
  std::vector<IdleSession> stale;  // closed outside the lock
  {
    std::lock_guard<std::mutex> lock(mu_);
    generation = session_generation_[reg.id];
    auto& idle = idle_sessions_[reg.id];
    while (!idle.empty()) {
      IdleSession cand = std::move(idle.back());
      idle.pop_back();
      if (cand.key == key && now - cand.idle_since_ms < kSessionMaxIdleMs &&
          now - cand.opened_ms < kSessionMaxAgeMs) {
        session = std::move(cand.session);
        opened = cand.opened_ms;
        break;
      }
      stale.push_back(std::move(cand));
    }
  }
  if (!session) {
    BERTH_ASSIGN_OR_RETURN(session, registries_.OpenSession(reg));
    opened = now;
  }
  int64_t id = reg.id;
  return std::shared_ptr<ReplicationSession>(
      session.release(), [this, id, key, generation, opened](ReplicationSession* s) {
        ReturnSession(id, key, generation, opened, std::unique_ptr<ReplicationSession>(s));
      });
}

void ProxyCacheController::ReturnSession(int64_t registry_id, const std::string& key,
                                         uint64_t generation, int64_t opened_ms,
                                         std::unique_ptr<ReplicationSession> s) {
  int64_t now = SteadyMillis();
  std::lock_guard<std::mutex> lock(mu_);
  if (session_generation_[registry_id] != generation || now - opened_ms >= kSessionMaxAgeMs) return;
  auto& idle = idle_sessions_[registry_id];
  if (idle.size() >= kMaxIdleSessions) return;  // s closes (under the lock: it is quick)
  idle.push_back(IdleSession{key, opened_ms, now, std::move(s)});
}

void ProxyCacheController::UpstreamAnswered(int64_t registry_id) {
  std::lock_guard<std::mutex> lock(mu_);
  resting_until_.erase(registry_id);
}

bool ProxyCacheController::CheckedRecently(const std::string& key) {
  if (opts_.manifest_check_interval_s <= 0) return false;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = checked_.find(key);
  return it != checked_.end() &&
         SteadyMillis() - it->second < opts_.manifest_check_interval_s * 1000;
}

void ProxyCacheController::MarkChecked(const std::string& key) {
  if (opts_.manifest_check_interval_s <= 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (checked_.size() >= kMaxChecked) checked_.clear();
  checked_[key] = SteadyMillis();
}

std::optional<ProxyCacheController::Pending> ProxyCacheController::FindPending(
    const std::string& repo, const std::string& reference) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pending_.find(repo);
  if (it == pending_.end()) return std::nullopt;
  for (const auto& p : it->second) {
    if (p.reference == reference || p.digest == reference) return p;
  }
  return std::nullopt;
}

void ProxyCacheController::AddPending(const std::string& repo, Pending p) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!pending_.count(repo) && pending_.size() >= kMaxPendingRepos)
    pending_.erase(pending_.begin());
  auto& list = pending_[repo];
  for (auto it = list.begin(); it != list.end();) {
    it = it->reference == p.reference ? list.erase(it) : it + 1;
  }
  if (list.size() >= kMaxPendingPerRepo) list.erase(list.begin());
  list.push_back(std::move(p));
}

void ProxyCacheController::ForgetPending(const std::string& repo, const std::string& reference) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pending_.find(repo);
  if (it == pending_.end()) return;
  auto& list = it->second;
  for (auto p = list.begin(); p != list.end();) {
    p = p->reference == reference ? list.erase(p) : p + 1;
  }
  if (list.empty()) pending_.erase(it);
}

std::optional<int64_t> ProxyCacheController::PendingBlobSize(std::string_view repo,
                                                             const Digest& d) {
  std::string digest = d.ToString();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pending_.find(std::string(repo));
  if (it == pending_.end()) return std::nullopt;
  for (const auto& p : it->second) {
    for (const auto& [bd, size] : p.blobs) {
      if (bd == digest) return size;
    }
  }
  return std::nullopt;
}

StatusOr<bool> ProxyCacheController::TryStore(const std::string& repo, const Pending& p) {
  for (const auto& [digest, size] : p.blobs) {
    BERTH_ASSIGN_OR_RETURN(auto linked, store_.GetLinkedBlobSize(repo, digest));
    if (linked) continue;
    // Stored already for another repository: the upstream's manifest vouches
    // for the blob, so it is linked here without fetching it again.
    BERTH_ASSIGN_OR_RETURN(Digest d, Digest::Parse(digest));
    if (!blobs_.Stat(d).ok()) return false;
    BERTH_RETURN_IF_ERROR(
        store_.LinkBlob(repo, digest, size, nullptr, [this, d] { return blobs_.CheckPresent(d); }));
  }
  for (const auto& child : p.children) {
    BERTH_ASSIGN_OR_RETURN(auto a, store_.GetArtifactByDigest(repo, child));
    if (!a) return false;
  }
  BERTH_ASSIGN_OR_RETURN(auto ref, ParseManifestReference(p.reference));
  BERTH_ASSIGN_OR_RETURN(auto pushed, manifests_.Put(repo, ref, *p.body, p.media_type, p.actor));
  (void)pushed;
  return true;
}

void ProxyCacheController::StoreCompleted(const std::string& repo) {
  // Image manifests first make their indexes complete: repeat while progressing.
  for (int round = 0; round < 3; ++round) {
    std::vector<Pending> candidates;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = pending_.find(repo);
      if (it == pending_.end()) return;
      candidates = it->second;
    }
    bool progress = false;
    for (const auto& p : candidates) {
      auto stored = TryStore(repo, p);
      if (!stored.ok()) {
        log_.Warn("proxy cache: storing a proxied manifest failed",
                  {{"repository", repo},
                   {"reference", p.reference},
                   {"error", stored.status().ToString()}});
        ForgetPending(repo, p.reference);  // served from the upstream until pulled again
        continue;
      }
      if (*stored) {
        ForgetPending(repo, p.reference);
        progress = true;
      }
    }
    if (!progress) return;
  }
}

StatusOr<ManifestContent> ProxyCacheController::GetManifest(int64_t registry_id,
                                                            std::string_view repo_view,
                                                            const ManifestReference& ref,
                                                            const std::vector<std::string>& accept,
                                                            const Actor& actor) {
  std::string repo(repo_view);
  std::string reference = RefString(ref);
  std::optional<ArtifactRecord> local;
  if (ref.is_digest) {
    BERTH_ASSIGN_OR_RETURN(local, store_.GetArtifactByDigest(repo, reference));
    // Content by digest never changes: no need to ask.
    if (local) return ServeLocal(repo, ref, accept);
  } else {
    BERTH_ASSIGN_OR_RETURN(local, store_.GetArtifactByTag(repo, ref.tag));
  }
  std::string check_key = repo + ":" + reference;
  if (local && (CheckedRecently(check_key) || UpstreamResting(registry_id))) {
    return ServeLocal(repo, ref, accept);
  }

  const Limits limits = LimitsOf(repo);
  auto slot = TakeSlot(limits);
  if (!slot.ok()) {
    // All upstream connections busy: what the cache holds is served.
    if (local) return ServeLocal(repo, ref, accept);
    if (auto p = FindPending(repo, reference)) return ContentOf(*p);
    return slot.status();
  }
  // Ask the upstream whether (and as what) the reference exists.
  std::shared_ptr<ReplicationSession> session;
  std::string upstream;
  StatusOr<RemoteManifest> head = Status(Code::kUnavailable, "no session");
  {
    auto reg = registries_.Load(registry_id);
    if (reg.ok()) {
      upstream = UpstreamRepository(repo, reg->type);
      auto opened = AcquireSession(*reg);
      if (opened.ok()) {
        session = std::move(*opened);
        head = session->ManifestExists(upstream, reference);
      } else {
        head = opened.status();
      }
    } else {
      head = reg.status();
    }
  }
  if (!head.ok()) {
    UpstreamFailed(registry_id);
    // Harbor fails here; a cache that already holds the manifest serves it.
    if (local) {
      log_.Warn(
          "proxy cache: upstream unavailable, serving the cached manifest",
          {{"repository", repo}, {"reference", reference}, {"error", head.status().ToString()}});
      return ServeLocal(repo, ref, accept);
    }
    if (auto p = FindPending(repo, reference)) return ContentOf(*p);
    return ManifestUnknown(
        "manifest unknown: " + reference +
        " is not cached and the upstream registry could not be asked: " + head.status().message());
  }
  UpstreamAnswered(registry_id);
  if (!head->exists) {
    // Harbor: what the upstream no longer has is no longer served; the tag
    // goes (the artifact stays, untagged, for retention and GC).
    ForgetPending(repo, reference);
    if (local && !ref.is_digest) {
      Status s = manifests_.Delete(repo, ref, actor);
      if (!s.ok() && !s.IsNotFound()) {
        log_.Warn("proxy cache: removing a tag the upstream dropped failed",
                  {{"repository", repo}, {"tag", ref.tag}, {"error", s.ToString()}});
      }
    }
    return ManifestUnknown("manifest unknown: " + upstream + ":" + reference +
                           " does not exist in the upstream registry");
  }
  if (local && head->digest == local->digest) {
    MarkChecked(check_key);
    return ServeLocal(repo, ref, accept);
  }
  // The tag moved to content the repository holds already: move it here too.
  if (!ref.is_digest && !head->digest.empty()) {
    BERTH_ASSIGN_OR_RETURN(auto known, store_.GetArtifactByDigest(repo, head->digest));
    if (known) {
      ManifestReference by_digest;
      BERTH_ASSIGN_OR_RETURN(by_digest, ParseManifestReference(head->digest));
      BERTH_ASSIGN_OR_RETURN(auto content, ServeLocal(repo, by_digest, {}));
      BERTH_RETURN_IF_ERROR(
          manifests_.Put(repo, ref, *content.body, content.artifact.media_type, actor).status());
      MarkChecked(check_key);
      return ServeLocal(repo, ref, accept);
    }
  }

  std::string media_type, body;
  Status pulled = session->PullManifest(upstream, reference, "", &media_type, &body);
  if (!pulled.ok()) {
    if (local) return ServeLocal(repo, ref, accept);
    if (pulled.IsNotFound()) return ManifestUnknown("manifest unknown: " + pulled.message());
    return ManifestUnknown("manifest unknown: " + reference +
                           " is not cached and the upstream registry failed: " + pulled.message());
  }
  Digest digest = Digest::Of(ref.is_digest ? ref.digest.algorithm : DigestAlgorithm::kSha256, body);
  if (ref.is_digest && !(digest == ref.digest)) {
    return Status(Code::kIOError, "the upstream registry sent a manifest of digest " +
                                      digest.ToString() + " for " + reference);
  }
  auto parsed = ParseManifest(body, media_type);
  if (!parsed.ok()) {
    return Status(Code::kIOError, "the upstream registry sent a manifest Berth cannot store: " +
                                      parsed.status().message());
  }
  Pending p;
  p.reference = reference;
  p.digest = digest.ToString();
  p.media_type = parsed->media_type;
  p.body = std::make_shared<const std::string>(std::move(body));
  p.blobs = RequiredBlobsWithSizes(*parsed);
  for (const auto& c : parsed->manifests) p.children.push_back(c.digest.ToString());
  p.actor = actor;
  AddPending(repo, p);
  StoreCompleted(repo);
  BERTH_ASSIGN_OR_RETURN(auto stored, store_.GetArtifactByDigest(repo, p.digest));
  if (stored) {
    MarkChecked(check_key);
    return ServeLocal(repo, ref, accept);
  }
  // Whatever the client pulls next, the job completes and stores it.
  EnqueueFill(registry_id, repo, reference, p.digest, actor);
  return ContentOf(p);
}

ManifestContent ProxyCacheController::ContentOf(const Pending& p) {
  ArtifactRecord a;
  a.digest = p.digest;
  a.media_type = p.media_type;
  return ManifestContent{std::move(a), p.body};
}

std::shared_ptr<std::mutex> ProxyCacheController::FetchLock(const std::string& digest) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = fetching_.begin(); it != fetching_.end();) {
    it = it->second.expired() ? fetching_.erase(it) : std::next(it);
  }
  auto& weak = fetching_[digest];
  auto strong = weak.lock();
  if (!strong) {
    strong = std::make_shared<std::mutex>();
    weak = strong;
  }
  return strong;
}

StatusOr<bool> ProxyCacheController::FetchBlob(int64_t registry_id, std::string_view repo_view,
                                               const Digest& d,
                                               const std::function<Status(int64_t)>& start,
                                               const UploadController::ChunkSink& sink) {
  std::string repo(repo_view);
  std::string digest = d.ToString();
  auto gate = FetchLock(digest);
  std::lock_guard<std::mutex> one_fetch(*gate);
  BERTH_ASSIGN_OR_RETURN(auto linked, store_.GetLinkedBlobSize(repo, digest));
  if (linked) return false;
  std::optional<int64_t> known = PendingBlobSize(repo, d);
  if (known && blobs_.Stat(d).ok()) {
    BERTH_RETURN_IF_ERROR(store_.LinkBlob(repo, digest, *known, nullptr,
                                          [this, d] { return blobs_.CheckPresent(d); }));
    StoreCompleted(repo);
    return false;
  }
  const Limits limits = LimitsOf(repo);
  BERTH_ASSIGN_OR_RETURN(UpstreamSlot slot, TakeSlot(limits));
  BERTH_ASSIGN_OR_RETURN(auto reg, registries_.Load(registry_id));
  std::string upstream = UpstreamRepository(repo, reg.type);
  BERTH_ASSIGN_OR_RETURN(auto session, AcquireSession(reg));
  bool started = false;
  BandwidthLimiter limiter(limits.speed_kb);
  auto imported = uploads_.Import(repo, d, [&](const UploadController::ChunkSink& store) {
    return session->PullBlob(
        upstream, digest, 0, -1,
        [&](const char* data, size_t len) -> Status {
          if (!started) {
            started = true;
            BERTH_RETURN_IF_ERROR(start(known.value_or(-1)));
          }
          BERTH_RETURN_IF_ERROR(store(data, len));
          BERTH_RETURN_IF_ERROR(sink(data, len));
          limiter.Took(len);
          return Status{};
        },
        nullptr);
  });
  if (!imported.ok()) {
    if (imported.status().code() != Code::kNotFound) DropSessions(registry_id);
    if (!started && imported.status().IsNotFound()) {
      return Status::NotFound("blob " + digest + " unknown to registry (and to the upstream)",
                              "BLOB_UNKNOWN");
    }
    return imported.status();
  }
  if (!started) BERTH_RETURN_IF_ERROR(start(0));  // an empty blob
  StoreCompleted(repo);
  return true;
}

Status ProxyCacheController::FetchBlobRange(int64_t registry_id, std::string_view repo_view,
                                            const Digest& d, int64_t offset, int64_t length,
                                            const std::function<Status()>& start,
                                            const UploadController::ChunkSink& sink) {
  std::string repo(repo_view);
  std::string digest = d.ToString();
  const Limits limits = LimitsOf(repo);
  BERTH_ASSIGN_OR_RETURN(UpstreamSlot slot, TakeSlot(limits));
  BERTH_ASSIGN_OR_RETURN(auto reg, registries_.Load(registry_id));
  std::string upstream = UpstreamRepository(repo, reg.type);
  BERTH_ASSIGN_OR_RETURN(auto session, AcquireSession(reg));
  BandwidthLimiter limiter(limits.speed_kb);
  bool started = false;
  Status pulled = session->PullBlob(
      upstream, digest, offset, length,
      [&](const char* data, size_t len) -> Status {
        if (!started) {
          started = true;
          BERTH_RETURN_IF_ERROR(start());
        }
        BERTH_RETURN_IF_ERROR(sink(data, len));
        limiter.Took(len);
        return Status{};
      },
      nullptr);
  if (!pulled.ok()) {
    if (!pulled.IsNotFound()) DropSessions(registry_id);
    if (!started && pulled.IsNotFound()) {
      return Status::NotFound("blob " + digest + " unknown to registry (and to the upstream)",
                              "BLOB_UNKNOWN");
    }
    return pulled;
  }
  if (!started) BERTH_RETURN_IF_ERROR(start());
  return {};
}

ProxyCacheController::Limits ProxyCacheController::LimitsOf(const std::string& repo) {
  Limits out;
  auto p = projects_.GetByName(ProjectOf(repo));
  if (!p.ok() || !*p) return out;
  out.project_id = (*p)->project_id;
  auto positive = [&p](const char* key) -> int64_t {
    auto it = (*p)->metadata.find(key);
    if (it == (*p)->metadata.end()) return 0;
    auto v = ParseInt64(it->second);
    return v && *v > 0 ? *v : 0;
  };
  out.speed_kb = positive("proxy_speed_kb");
  out.max_upstream_conn = positive("max_upstream_conn");
  return out;
}

StatusOr<UpstreamSlot> ProxyCacheController::TakeSlot(const Limits& limits) {
  if (limits.max_upstream_conn <= 0 || limits.project_id <= 0) return UpstreamSlot();
  BERTH_ASSIGN_OR_RETURN(int64_t id, slots_.Take(limits.project_id, limits.max_upstream_conn,
                                                 NowUnixMillis(), kSlotTtlMs));
  if (id == 0) {
    return Status(Code::kTooManyRequests,
                  "the proxy cache project's " + std::to_string(limits.max_upstream_conn) +
                      " upstream connections (max_upstream_conn) are all in use; retry later");
  }
  return UpstreamSlot(&slots_, id, &log_);
}

void ProxyCacheController::EnqueueFill(int64_t registry_id, const std::string& repo,
                                       const std::string& reference, const std::string& digest,
                                       const Actor& actor) {
  if (jobs_ == nullptr) return;
  NewJob job;
  job.kind = kProxyCacheFillJobKind;
  job.params_json = nlohmann::json{{"registry_id", registry_id},
                                   {"repository", repo},
                                   {"reference", reference},
                                   {"digest", digest},
                                   {"username", actor.username}}
                        .dump();
  job.trigger = "Event";
  job.run_at = opts_.fill_delay_ms > 0 ? NowUnixMillis() + opts_.fill_delay_ms : 0;
  // One job per manifest in a repository at a time, whatever the node.
  job.vendor_type = "PROXY_CACHE:" + repo + "@" + digest;
  job.vendor_id = registry_id;
  job.unique = true;
  auto queued = jobs_->Enqueue(job);
  if (!queued.ok() && queued.status().code() != Code::kConflict) {
    log_.Warn("proxy cache: queueing the job that stores a proxied manifest failed",
              {{"repository", repo}, {"reference", reference}, {"error", queued.status().ToString()}});
  }
}

Status ProxyCacheController::FillBlob(JobContext& ctx, ReplicationSession& session,
                                      const std::string& repo, const std::string& upstream,
                                      const std::string& digest, int64_t size,
                                      BandwidthLimiter& limiter) {
  BERTH_ASSIGN_OR_RETURN(Digest d, Digest::Parse(digest));
  // A client on this node streaming the blob holds the gate: wait, then link.
  auto gate = FetchLock(digest);
  std::lock_guard<std::mutex> one_fetch(*gate);
  BERTH_ASSIGN_OR_RETURN(auto linked, store_.GetLinkedBlobSize(repo, digest));
  if (linked) return {};
  if (blobs_.Stat(d).ok()) {
    return store_.LinkBlob(repo, digest, size, nullptr, [this, d] { return blobs_.CheckPresent(d); });
  }
  auto stopping = [&ctx] { return ctx.stopping(); };
  auto imported = uploads_.Import(repo, d, [&](const UploadController::ChunkSink& store) {
    return session.PullBlob(
        upstream, digest, 0, -1,
        [&](const char* data, size_t len) -> Status {
          if (ctx.stopping()) return Status(Code::kUnavailable, "the job is stopping");
          BERTH_RETURN_IF_ERROR(store(data, len));
          limiter.Took(len, stopping);
          return Status{};
        },
        nullptr);
  });
  if (!imported.ok()) {
    return Status(imported.status().code(),
                  "fetching blob " + digest + " failed: " + imported.status().message());
  }
  ctx.Info("fetched blob " + digest + " (" + std::to_string(size) + " bytes)");
  return {};
}

Status ProxyCacheController::FillManifest(JobContext& ctx, ReplicationSession& session,
                                          const std::string& repo, const std::string& upstream,
                                          const std::string& digest, const ManifestReference& ref,
                                          const Actor& actor, BandwidthLimiter& limiter,
                                          int depth) {
  if (depth > kMaxFillDepth) {
    return Status::InvalidArgument("manifest " + digest + " nests indexes too deeply");
  }
  std::string media_type, body;
  Status pulled = session.PullManifest(upstream, digest, "", &media_type, &body);
  if (!pulled.ok()) {
    return Status(pulled.code(), "the upstream registry could not send manifest " + upstream + "@" +
                                     digest + ": " + pulled.message());
  }
  BERTH_ASSIGN_OR_RETURN(Digest want, Digest::Parse(digest));
  if (!(Digest::Of(want.algorithm, body) == want)) {
    return Status::IOError("the upstream registry sent another manifest for " + digest);
  }
  auto parsed = ParseManifest(body, media_type);
  if (!parsed.ok()) {
    return Status::IOError("the upstream registry sent a manifest Berth cannot store: " +
                           parsed.status().message());
  }
  // Every child of an index (all platforms: the upstream's digest is kept).
  for (const auto& child : parsed->manifests) {
    if (ctx.stopping()) return Status(Code::kUnavailable, "the job is stopping");
    std::string cd = child.digest.ToString();
    BERTH_ASSIGN_OR_RETURN(auto have, store_.GetArtifactByDigest(repo, cd));
    if (have) continue;
    BERTH_ASSIGN_OR_RETURN(auto child_ref, ParseManifestReference(cd));
    BERTH_RETURN_IF_ERROR(
        FillManifest(ctx, session, repo, upstream, cd, child_ref, actor, limiter, depth + 1));
  }
  for (const auto& [bd, size] : RequiredBlobsWithSizes(*parsed)) {
    if (ctx.stopping()) return Status(Code::kUnavailable, "the job is stopping");
    BERTH_RETURN_IF_ERROR(FillBlob(ctx, session, repo, upstream, bd, size, limiter));
  }
  BERTH_RETURN_IF_ERROR(manifests_.Put(repo, ref, body, parsed->media_type, actor).status());
  ctx.Info("stored " + repo + "@" + digest);
  return {};
}

Status ProxyCacheController::RunFill(JobContext& ctx) {
  auto params = nlohmann::json::parse(ctx.params_json(), nullptr, false);
  if (!params.is_object()) return Status::InvalidArgument("bad job parameters");
  int64_t registry_id = params.value("registry_id", int64_t{0});
  std::string repo = params.value("repository", "");
  std::string reference = params.value("reference", "");
  std::string digest = params.value("digest", "");
  Actor actor{params.value("username", ""), "job-" + std::to_string(ctx.id())};
  auto give_up = [&](const std::string& why) {
    std::string msg = repo + ":" + reference + " not stored: " + why;
    ctx.Error(msg);
    ctx.GiveUp();
    return Status(Code::kUnavailable, msg);
  };
  BERTH_ASSIGN_OR_RETURN(auto ref, ParseManifestReference(reference));
  BERTH_ASSIGN_OR_RETURN(int64_t caching, RegistryOf(repo));
  if (caching != registry_id) {
    ctx.Info("project of " + repo + " no longer caches registry " + std::to_string(registry_id) +
             ": nothing to store");
    return {};
  }
  // Stored meanwhile (the client pulled everything, or another job): done.
  // A tag that points elsewhere by now was moved by a later pull: kept.
  BERTH_ASSIGN_OR_RETURN(auto by_digest, store_.GetArtifactByDigest(repo, digest));
  bool tagged = true;
  if (!ref.is_digest) {
    BERTH_ASSIGN_OR_RETURN(auto by_tag, store_.GetArtifactByTag(repo, ref.tag));
    tagged = by_tag.has_value();
  }
  if (by_digest && tagged) {
    ctx.Info(repo + ":" + reference + " is stored already");
    ForgetPending(repo, reference);
    return {};
  }
  // One slot for the whole fill; the job waits for it rather than fail.
  const Limits limits = LimitsOf(repo);
  UpstreamSlot slot;
  for (int64_t waited = 0;; waited += kFillSlotPollMs) {
    auto taken = TakeSlot(limits);
    if (taken.ok()) {
      slot = std::move(*taken);
      break;
    }
    if (taken.status().code() != Code::kTooManyRequests || ctx.stopping()) return taken.status();
    if (waited >= kFillSlotWaitMs) return give_up(taken.status().message());
    ctx.CheckIn("waiting for a free upstream connection (max_upstream_conn)");
    std::this_thread::sleep_for(std::chrono::milliseconds(kFillSlotPollMs));
  }
  ctx.CheckIn("storing " + repo + ":" + reference);
  auto reg = registries_.Load(registry_id);
  if (!reg.ok()) return give_up("registry " + std::to_string(registry_id) + ": " + reg.status().message());
  std::string upstream = UpstreamRepository(repo, reg->type);
  auto session = AcquireSession(*reg);
  if (!session.ok()) {
    UpstreamFailed(registry_id);
    return give_up("the upstream registry could not be reached: " + session.status().message());
  }
  BandwidthLimiter limiter(limits.speed_kb);
  Status filled = FillManifest(ctx, **session, repo, upstream, digest, ref, actor, limiter, 0);
  if (!filled.ok()) {
    if (filled.code() != Code::kNotFound) DropSessions(registry_id);
    if (ctx.stopping()) return filled;  // back to the queue, another run resumes
    return give_up(filled.message());
  }
  ForgetPending(repo, reference);
  return {};
}

}  // namespace berth
