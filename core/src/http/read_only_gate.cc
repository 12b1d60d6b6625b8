#include "http/read_only_gate.h"

#include "http/response.h"

namespace berth {

bool ReadOnlyGate::Exempt(const std::string& method, const std::string& path) {
  if (method == "GET" || method == "HEAD" || method == "OPTIONS") return true;
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  if (method == "PUT") return p == "/api/v2.0/configurations";
  if (method == "POST") return p == "/c/login" || p == "/c/userExists" || p == "/c/oidc/onboard";
  return false;
}

void ReadOnlyGate::Handle(RequestContext& ctx) {
  if (Exempt(ctx.method, ctx.path) || !read_only_()) return inner_.Handle(ctx);
  ctx.route = "read_only";
  Status denied = Status::PermissionDenied(
      "The system is in read only mode. Any modification is prohibited.", "DENIED");
  if (oci_) {
    ctx.response.set("Docker-Distribution-API-Version", "registry/2.0");
    return SendOciError(ctx, denied);
  }
  SendApiError(ctx, denied);
}

}  // namespace berth
