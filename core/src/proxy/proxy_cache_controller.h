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
// ("pending") and served from the upstream. A cached tag is checked upstream
// with a HEAD at most once per interval; when the upstream cannot answer, the
// cached manifest is served.
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
#include "registry/manifest_controller.h"
#include "registry/upload_controller.h"
#include "replication/remote_registry_controller.h"
#include "store/project_store.h"
#include "store/registry_store.h"

namespace berth {

struct ProxyCacheOptions {
  int64_t manifest_check_interval_s = 0;  // 0: every pull by tag (Harbor)
};

// The upstream repository of a proxy project's repository: the project is
// dropped, and a single remaining component gets Docker Hub's "library/"
// when the registry is of type "docker-hub" (Harbor's rule).
std::string UpstreamRepository(std::string_view local_repo, std::string_view registry_type);

class ProxyCacheController {
 public:
  ProxyCacheController(ProjectStore& projects, RegistryStore& store, BlobStore& blobs,
                       RemoteRegistryController& registries, ManifestController& manifests,
                       UploadController& uploads, Logger& log, ProxyCacheOptions opts)
      : projects_(projects),
        store_(store),
        blobs_(blobs),
        registries_(registries),
        manifests_(manifests),
        uploads_(uploads),
        log_(log),
        opts_(opts) {}

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

  StatusOr<ManifestContent> ServeLocal(std::string_view repo, const ManifestReference& ref,
                                       const std::vector<std::string>& accept);
  std::optional<Pending> FindPending(const std::string& repo, const std::string& reference);
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

  ProjectStore& projects_;
  RegistryStore& store_;
  BlobStore& blobs_;
  RemoteRegistryController& registries_;
  ManifestController& manifests_;
  UploadController& uploads_;
  Logger& log_;
  ProxyCacheOptions opts_;

  std::mutex mu_;
  std::map<std::string, std::vector<Pending>> pending_;                  // by repository
  std::unordered_map<std::string, int64_t> checked_;                     // "repo:tag" -> steady ms
  std::unordered_map<int64_t, int64_t> resting_until_;                   // registry id -> steady ms
  std::unordered_map<std::string, std::weak_ptr<std::mutex>> fetching_;  // by digest
};

}  // namespace berth

#endif  // BERTH_PROXY_PROXY_CACHE_CONTROLLER_H_
