#include "oci/v2_router.h"

#include "http/response.h"
#include "oci/v2_util.h"
#include "registry/reference.h"

namespace berth {

namespace {

Status Unsupported(const std::string& what) {
  return Status(Code::kMethodNotAllowed, what + " is not supported", "UNSUPPORTED");
}

// The actions a request needs on its repository (Harbor's mapping:
// GET/HEAD pull, POST/PATCH/PUT push, DELETE delete).
std::vector<std::string> ActionsFor(const std::string& method) {
  if (method == "GET" || method == "HEAD") return {"pull"};
  if (method == "DELETE") return {"delete"};
  return {"pull", "push"};
}

}  // namespace

void V2Router::Handle(RequestContext& ctx) {
  ctx.response.set("Docker-Distribution-API-Version", "registry/2.0");
  V2Path p = ParseV2Path(ctx.path);
  ctx.route = V2RouteLabel(p.route);
  if (p.route == V2Route::kUnknown) {
    return Fail(ctx, Status::NotFound("unknown /v2 endpoint: " + ctx.raw_path, "NAME_UNKNOWN"));
  }
  if (p.route != V2Route::kBase && p.route != V2Route::kCatalog) {
    Status valid = ValidateRepositoryName(p.name);
    if (!valid.ok()) return Fail(ctx, valid);
  }
  const std::string& m = ctx.method;
  V2Access access;
  access.route = p.route;
  access.repository = p.name;
  if (p.route != V2Route::kBase && p.route != V2Route::kCatalog) access.actions = ActionsFor(m);
  if (p.route == V2Route::kUploads && m == "POST" && ctx.query.Has("mount")) {
    access.mount_from = ctx.query.Get("from");
  }
  if (access_ != nullptr) {
    Status allowed = access_->Authorize(ctx, access);
    if (!allowed.ok()) return Fail(ctx, allowed);
  }
  // A proxy project holds what its upstream has: nothing is pushed into it
  // or deleted from it through /v2 (the artifact API still deletes).
  if (proxy_ != nullptr && !access.repository.empty() && m != "GET" && m != "HEAD") {
    auto reg = ProxyRegistryOf(p.name);
    if (!reg.ok()) return Fail(ctx, reg.status());
    if (*reg > 0) {
      std::string project = p.name.substr(0, p.name.find('/'));
      return Fail(ctx, Status::PermissionDenied(
                           m == "DELETE"
                               ? "can not delete artifact of a proxy project through the registry API: " + project
                               : "can not push artifact to a proxy project: " + project,
                           "DENIED"));
    }
  }

  switch (p.route) {
    case V2Route::kBase:
      if (m == "GET" || m == "HEAD") return Base(ctx);
      break;
    case V2Route::kCatalog:
      if (m == "GET") return Catalog(ctx);
      break;
    case V2Route::kTags:
      if (m == "GET") return Tags(ctx, p.name);
      break;
    case V2Route::kReferrers:
      if (m == "GET") return Referrers(ctx, p.name, p.reference);
      break;
    case V2Route::kBlob:
      if (m == "GET" || m == "HEAD") return GetBlob(ctx, p.name, p.reference);
      if (m == "DELETE") return DeleteBlob(ctx, p.name, p.reference);
      break;
    case V2Route::kUploads:
      if (m == "POST") return StartUpload(ctx, p.name);
      break;
    case V2Route::kUpload:
      if (m == "GET") return UploadStatusOf(ctx, p.name, p.reference);
      if (m == "PATCH") return PatchUpload(ctx, p.name, p.reference);
      if (m == "PUT") return PutUpload(ctx, p.name, p.reference);
      if (m == "DELETE") return CancelUpload(ctx, p.name, p.reference);
      break;
    case V2Route::kManifest:
      if (m == "GET" || m == "HEAD") return GetManifest(ctx, p.name, p.reference);
      if (m == "PUT") return PutManifest(ctx, p.name, p.reference);
      if (m == "DELETE") return DeleteManifest(ctx, p.name, p.reference);
      break;
    case V2Route::kUnknown:
      break;
  }
  Fail(ctx, Unsupported(m + " on " + ctx.route));
}

void V2Router::Base(RequestContext& ctx) { SendJson(ctx, 200, "{}"); }

StatusOr<int64_t> V2Router::ProxyRegistryOf(const std::string& repo) {
  if (proxy_ == nullptr) return 0;
  return proxy_->RegistryOf(repo);
}

}  // namespace berth
