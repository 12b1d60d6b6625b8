// ProxyCacheController: Harbor's proxy cache. A project created with a
// registry_id is a pull-through cache of that remote registry: manifests and
// blobs it does not hold are fetched through the registry's replication
// adapter (the registry's credentials, never the client's), served, and stored
// through the ordinary manifest and upload controllers, so cached content is
// counted in quotas, listed by the artifact API and collected by GC as any
// pushed content.
//
// A manifest is stored once everything it needs is in the repository (its
// blobs, an index's children); until then it is remembered in memory
// ("pending") and served from the upstream. Every manifest served but not
// stored also gets a durable PROXY_CACHE_FILL job, run a little later on any
// node, that fetches what the client did not pull (blobs, an index's other
// children) and stores it, so the cache holds what was pulled even when the
// client skipped layers or pulled one platform. A cached tag is checked
// upstream with a HEAD at most once per interval; when the upstream cannot
// answer, the cached manifest is served.
#ifndef BERTH_PROXY_PROXY_CACHE_CONTROLLER_H_
#define BERTH_PROXY_PROXY_CACHE_CONTROLLER_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "blob/blob_store.h"
#include "common/logger.h"
#include "jobs/job_service.h"
#include "common/bandwidth_limiter.h"
#include "registry/manifest_controller.h"
#include "registry/upload_controller.h"
#include "replication/remote_registry_controller.h"
#include "store/project_store.h"
#include "store/registry_store.h"
#include "store/upstream_slot_store.h"

namespace berth {

struct ProxyCacheOptions {
  int64_t manifest_check_interval_s = 0;  // 0: every pull by tag (Harbor)
  int64_t fill_delay_ms = 10000;          // before a PROXY_CACHE_FILL job runs
};

// The durable job that completes a manifest served but not stored. Params:
// {"registry_id", "repository", "reference", "digest", "username"}.
inline constexpr char kProxyCacheFillJobKind[] = "PROXY_CACHE_FILL";

// The upstream repository of a proxy project's repository: the project is
// dropped, and a single remaining component gets Docker Hub's "library/"
// when the registry is of type "docker-hub" (Harbor's rule).
std::string UpstreamRepository(std::string_view local_repo, std::string_view registry_type);

// One of a project's max_upstream_conn slots, held while an upstream request
// runs and given back when this goes (empty when the project sets no limit).
class UpstreamSlot {
 public:
  UpstreamSlot() = default;
  UpstreamSlot(UpstreamSlotStore* store, int64_t id, Logger* log) : store_(store), id_(id), log_(log) {}
  UpstreamSlot(UpstreamSlot&& o) noexcept { *this = std::move(o); }
  UpstreamSlot& operator=(UpstreamSlot&& o) noexcept;
  UpstreamSlot(const UpstreamSlot&) = delete;
  UpstreamSlot& operator=(const UpstreamSlot&) = delete;
  ~UpstreamSlot();

 private:
  UpstreamSlotStore* store_ = nullptr;
  int64_t id_ = 0;
  Logger* log_ = nullptr;
};

class ProxyCacheController {
 public:
  ProxyCacheController(ProjectStore& projects, RegistryStore& store, BlobStore& blobs,
                       RemoteRegistryController& registries, ManifestController& manifests,
                       UploadController& uploads, UpstreamSlotStore& slots, Logger& log,
                       ProxyCacheOptions opts)
      : projects_(projects),
        slots_(slots),
        store_(store),
        blobs_(blobs),
        registries_(registries),
        manifests_(manifests),
        uploads_(uploads),
        log_(log),
        opts_(opts) {}

  // Where PROXY_CACHE_FILL jobs are enqueued; none (tests) stores only what
  // clients pulled.
  void set_jobs(JobService* jobs) { jobs_ = jobs; }

  // The PROXY_CACHE_FILL job: fetches the manifest's missing blobs (for an
  // index, every child and its blobs) through the adapter and stores it as a
  // push would. Gives up (Error with the reason) when the upstream cannot
  // send it.
  Status RunFill(JobContext& ctx);

  // The registry the repository's project caches; 0 when it is no proxy project.
  StatusOr<int64_t> RegistryOf(std::string_view repo);

  // A manifest GET or HEAD in a proxy project. The artifact's id is 0 when the
  // manifest was served from the upstream and is not stored yet.
  StatusOr<ManifestContent> GetManifest(int64_t registry_id, std::string_view repo,
                                        const ManifestReference& ref,
                                        const std::vector<std::string>& accept, const Actor& actor);

  // The size of a blob the repository does not hold yet that a manifest
  // proxied for it references.
  std::optional<int64_t> PendingBlobSize(std::string_view repo, const Digest& d);

  // Streams a blob the repository does not hold from the upstream to `sink`
  // while storing it. `start(size)` is called once before the first byte (size
  // -1 when unknown). False (nothing sent) when the blob turned out to be
  // local already (another pull stored it meanwhile): serve it from storage.
  // Two pulls of one digest do not fetch it twice: the second waits.
  StatusOr<bool> FetchBlob(int64_t registry_id, std::string_view repo, const Digest& d,
                           const std::function<Status(int64_t size)>& start,
                           const UploadController::ChunkSink& sink);
  // Streams bytes [offset, offset+length) of a blob the repository does not
  // hold straight from the upstream, without storing them (the blob is stored
  // when pulled whole, or by the fill job). `start` runs before the first byte.
  Status FetchBlobRange(int64_t registry_id, std::string_view repo, const Digest& d,
                        int64_t offset, int64_t length, const std::function<Status()>& start,
                        const UploadController::ChunkSink& sink);

 private:
  // A manifest served from the upstream but not stored yet.
  struct Pending {
    std::string reference;  // tag, or digest when pulled by digest
    std::string digest;
    std::string media_type;
    std::shared_ptr<const std::string> body;
    std::vector<std::pair<std::string, int64_t>> blobs;  // digest, size
    std::vector<std::string> children;
    Actor actor;
  };

  void EnqueueFill(int64_t registry_id, const std::string& repo, const std::string& reference,
                   const std::string& digest, const Actor& actor);
  // Stores the manifest `digest` (children first for an index), fetching
  // what the repository lacks; tagged `ref` when it is a tag.
  Status FillManifest(JobContext& ctx, ReplicationSession& session, const std::string& repo,
                      const std::string& upstream, const std::string& digest,
                      const ManifestReference& ref, const Actor& actor,
                      BandwidthLimiter& limiter, int depth);
  // One blob into the repository: linked when stored already, else fetched
  // under the per-digest gate that client pulls on this node take too.
  Status FillBlob(JobContext& ctx, ReplicationSession& session, const std::string& repo,
                  const std::string& upstream, const std::string& digest, int64_t size,
                  BandwidthLimiter& limiter);
  // The project's proxy_speed_kb (KB/s) and max_upstream_conn; 0 when unlimited.
  struct Limits {
    int64_t project_id = 0;
    int64_t speed_kb = 0;
    int64_t max_upstream_conn = 0;
  };
  Limits LimitsOf(const std::string& repo);
  // A slot of the repository's project for one upstream request: 429
  // TOOMANYREQUESTS when its max_upstream_conn are all in use (on any node).
  StatusOr<UpstreamSlot> TakeSlot(const Limits& limits);
  StatusOr<ManifestContent> ServeLocal(std::string_view repo, const ManifestReference& ref,
                                       const std::vector<std::string>& accept);
  std::optional<Pending> FindPending(const std::string& repo, const std::string& reference);
  // A pending manifest as served (its artifact id 0: not stored yet).
  static ManifestContent ContentOf(const Pending& p);
  void AddPending(const std::string& repo, Pending p);
  void ForgetPending(const std::string& repo, const std::string& reference);
  // Stores the repository's pending manifests whose content is now complete.
  void StoreCompleted(const std::string& repo);
  // True once stored; false when something is still missing.
  StatusOr<bool> TryStore(const std::string& repo, const Pending& p);
  // After the upstream failed to answer, cached content is served without
  // asking it again for a short while, so that an upstream that hangs (rather
  // than refusing connections) does not slow every pull down by its timeout.
  bool UpstreamResting(int64_t registry_id);
  void UpstreamFailed(int64_t registry_id);
  void UpstreamAnswered(int64_t registry_id);
  bool CheckedRecently(const std::string& key);
  void MarkChecked(const std::string& key);
  std::shared_ptr<std::mutex> FetchLock(const std::string& digest);
  // Upstream sessions are reused across requests (their connections and the
  // tokens the adapter keeps, which it renews on a 401): a session is taken
  // from the registry's idle ones, used by one request at a time, and goes
  // back when the shared_ptr is released. Idle or old sessions, those of a
  // registry whose settings changed, and all of an upstream that just failed
  // are not reused.
  StatusOr<std::shared_ptr<ReplicationSession>> AcquireSession(const RemoteRegistryRecord& reg);
  // After an upstream error: the idle sessions, and those in use, are not reused.
  void DropSessions(int64_t registry_id);
  void ReturnSession(int64_t registry_id, const std::string& key, uint64_t generation,
                     int64_t opened_ms, std::unique_ptr<ReplicationSession> s);

  ProjectStore& projects_;
  UpstreamSlotStore& slots_;
  RegistryStore& store_;
  BlobStore& blobs_;
  RemoteRegistryController& registries_;
  ManifestController& manifests_;
  UploadController& uploads_;
  Logger& log_;
  ProxyCacheOptions opts_;
  JobService* jobs_ = nullptr;

  std::mutex mu_;
  std::map<std::string, std::vector<Pending>> pending_;                  // by repository
  std::unordered_map<std::string, int64_t> checked_;                     // "repo:tag" -> steady ms
  std::unordered_map<int64_t, int64_t> resting_until_;                   // registry id -> steady ms
  std::unordered_map<std::string, std::weak_ptr<std::mutex>> fetching_;  // by digest
  struct IdleSession {
    std::string key;  // the registry's settings it was opened with
    int64_t opened_ms = 0;
    int64_t idle_since_ms = 0;
    std::unique_ptr<ReplicationSession> session;
  };
  std::unordered_map<int64_t, std::vector<IdleSession>> idle_sessions_;  // by registry id
  std::unordered_map<int64_t, uint64_t> session_generation_;  // bumped when the upstream fails
};

}  // namespace berth

#endif  // BERTH_PROXY_PROXY_CACHE_CONTROLLER_H_
