// The /v2 router's extension points: access control and pull policies. Kept
// apart from the router so the layers that implement them (auth, scan,
// signing) do not depend on the router and what it depends on.
#ifndef BERTH_OCI_V2_ACCESS_H_
#define BERTH_OCI_V2_ACCESS_H_

#include <string>
#include <vector>

#include "common/status.h"
#include "http/request_context.h"
#include "oci/v2_path.h"
#include "store/registry_store.h"  // ArtifactRecord

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

}  // namespace berth

#endif  // BERTH_OCI_V2_ACCESS_H_
