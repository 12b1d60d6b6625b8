// V2Router: the OCI Distribution API under /v2. Parses the path, validates
// the repository name before anything else sees it, checks access, and
// dispatches to the blob, upload, manifest and listing handlers.
#ifndef BERTH_OCI_V2_ROUTER_H_
#define BERTH_OCI_V2_ROUTER_H_

#include <string>
#include <vector>

#include "http/http_server.h"
#include "oci/v2_access.h"
#include "oci/v2_path.h"
#include "proxy/proxy_cache_controller.h"
#include "registry/blob_controller.h"
#include "registry/manifest_controller.h"
#include "registry/upload_controller.h"

namespace berth {

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
