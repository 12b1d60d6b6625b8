// V2Router: the OCI Distribution API under /v2. Parses the path, validates
// the repository name before anything else sees it, checks access, and
// dispatches to the blob, upload, manifest and listing handlers.
#ifndef BERTH_OCI_V2_ROUTER_H_
#define BERTH_OCI_V2_ROUTER_H_

#include <string>
#include <vector>

#include "http/http_server.h"
#include "oci/v2_path.h"
#include "proxy/proxy_cache_controller.h"
#include "registry/blob_controller.h"
#include "registry/manifest_controller.h"
#include "registry/upload_controller.h"

namespace berth {

// What a /v2 request needs, for the access-control middleware.
struct V2Access {
  V2Route route = V2Route::kUnknown;
  std::string repository;          // "" for the base and catalog routes
  std::vector<std::string> actions;  // "pull", "push", "delete"
  std::string mount_from;          // source repository of a cross-repository mount
};

// Authenticates and authorises /v2 requests. On refusal it returns the error
// to send (and may set headers such as WWW-Authenticate on ctx.response).
class V2AccessControl {
 public:
  virtual ~V2AccessControl() = default;
  virtual Status Authorize(RequestContext& ctx, const V2Access& access) = 0;
  // Whether the caller may read `repo` (used for the source of a mount).
  virtual bool CanPull(const RequestContext& ctx, const std::string& repo) = 0;
};

// Project policies on manifest pulls (GET and HEAD, by tag or digest), such
// as required signatures. Runs after the manifest is resolved and before it
// is served or counted as a pull.
class V2PullPolicy {
 public:
  virtual ~V2PullPolicy() = default;
  // OK to serve `artifact` (of `repo`) to the caller; else the refusal.
  virtual Status CheckPull(const RequestContext& ctx, const std::string& repo,
                           const ArtifactRecord& artifact) = 0;
};

class V2Router : public HttpHandler {
 public:
  V2Router(BlobController& blobs, UploadController& uploads, ManifestController& manifests)
      : blobs_(blobs), uploads_(uploads), manifests_(manifests) {}
  void set_access_control(V2AccessControl* ac) { access_ = ac; }
  // Policies run in the order added; the first refusal is the answer.
  void add_pull_policy(V2PullPolicy* p) { pull_policies_.push_back(p); }
  // Proxy-cache projects: pulls fall through to the upstream, writes are refused.
  void set_proxy_cache(ProxyCacheController* p) { proxy_ = p; }
  void Handle(RequestContext& ctx) override;

 private:
  void Base(RequestContext& ctx);
  void Catalog(RequestContext& ctx);
  void Tags(RequestContext& ctx, const std::string& repo);
  void Referrers(RequestContext& ctx, const std::string& repo, const std::string& digest);
  void GetBlob(RequestContext& ctx, const std::string& repo, const std::string& digest);
  void DeleteBlob(RequestContext& ctx, const std::string& repo, const std::string& digest);
  void StartUpload(RequestContext& ctx, const std::string& repo);
  void UploadStatusOf(RequestContext& ctx, const std::string& repo, const std::string& uuid);
  void PatchUpload(RequestContext& ctx, const std::string& repo, const std::string& uuid);
  void PutUpload(RequestContext& ctx, const std::string& repo, const std::string& uuid);
  void CancelUpload(RequestContext& ctx, const std::string& repo, const std::string& uuid);
  void GetManifest(RequestContext& ctx, const std::string& repo, const std::string& ref);
  void PutManifest(RequestContext& ctx, const std::string& repo, const std::string& ref);
  void DeleteManifest(RequestContext& ctx, const std::string& repo, const std::string& ref);

  // Serves a blob the repository does not hold from its proxy project's
  // upstream; false when it is not a proxy project's (or turned local).
  bool ProxyBlob(RequestContext& ctx, const std::string& repo, const Digest& d);
  // The upstream registry of the repository's proxy project, 0 otherwise.
  StatusOr<int64_t> ProxyRegistryOf(const std::string& repo);

  void SendUploadAccepted(RequestContext& ctx, const UploadStatus& st, int status);
  void SendBlobCreated(RequestContext& ctx, const std::string& repo, const BlobRef& blob);

  BlobController& blobs_;
  UploadController& uploads_;
  ManifestController& manifests_;
  V2AccessControl* access_ = nullptr;
  std::vector<V2PullPolicy*> pull_policies_;
  ProxyCacheController* proxy_ = nullptr;
};

}  // namespace berth

#endif  // BERTH_OCI_V2_ROUTER_H_
