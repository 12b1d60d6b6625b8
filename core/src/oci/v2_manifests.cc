// /v2 manifest endpoints.
#include "http/response.h"
#include "oci/v2_router.h"
#include "oci/v2_util.h"
#include "registry/reference.h"

namespace berth {

namespace {

// For reads and deletes, a reference that cannot exist is simply unknown.
StatusOr<ManifestReference> ReadableReference(const std::string& ref) {
  auto r = ParseManifestReference(ref);
  if (!r.ok() && r.status().api_code() == "TAG_INVALID") {
    return Status::NotFound("manifest unknown: " + r.status().message(), "MANIFEST_UNKNOWN");
  }
  return r;
}

}  // namespace

void V2Router::GetManifest(RequestContext& ctx, const std::string& repo, const std::string& ref) {
  auto r = ReadableReference(ref);
  if (!r.ok()) return Fail(ctx, r.status());
  auto accept = ParseAcceptList(ctx.Headers("Accept"));
  auto proxied_by = ProxyRegistryOf(repo);
  if (!proxied_by.ok()) return Fail(ctx, proxied_by.status());
  auto m = *proxied_by > 0
               ? proxy_->GetManifest(*proxied_by, repo, *r, accept,
                                     Actor{ctx.identity.username, ctx.request_id})
               : manifests_.Get(repo, *r, accept);
  if (!m.ok()) return Fail(ctx, m.status());
  for (V2PullPolicy* policy : pull_policies_) {
    Status allowed = policy->CheckPull(ctx, repo, m->artifact);
    if (!allowed.ok()) return Fail(ctx, allowed);
  }
  // Counted only once served: a refused pull is no pull.
  if (ctx.method == "GET" && m->artifact.id != 0) {
    manifests_.RecordPull(repo, *r, m->artifact, Actor{ctx.identity.username, ctx.request_id});
  }
  ctx.response.set("Docker-Content-Digest", m->artifact.digest);
  ctx.response.set("ETag", "\"" + m->artifact.digest + "\"");
  SendBody(ctx, 200, m->artifact.media_type, *m->body);
}

void V2Router::PutManifest(RequestContext& ctx, const std::string& repo, const std::string& ref) {
  auto r = ParseManifestReference(ref);
  if (!r.ok()) return Fail(ctx, r.status());
  std::string body;
  Status read = ReadBodyLimited(ctx, kMaxManifestBytes, &body);
  if (!read.ok()) return Fail(ctx, read);
  auto pushed = manifests_.Put(repo, *r, std::move(body), ctx.Header("Content-Type"),
                               Actor{ctx.identity.username, ctx.request_id});
  if (!pushed.ok()) return Fail(ctx, pushed.status());
  ctx.response.set("Location", "/v2/" + repo + "/manifests/" + pushed->digest);
  ctx.response.set("Docker-Content-Digest", pushed->digest);
  if (pushed->subject) ctx.response.set("OCI-Subject", pushed->subject->ToString());
  SendEmpty(ctx, 201);
}

void V2Router::DeleteManifest(RequestContext& ctx, const std::string& repo,
                              const std::string& ref) {
  auto r = ReadableReference(ref);
  if (!r.ok()) return Fail(ctx, r.status());
  Status s = manifests_.Delete(repo, *r, Actor{ctx.identity.username, ctx.request_id});
  if (!s.ok()) return Fail(ctx, s);
  SendEmpty(ctx, 202);
}

}  // namespace berth
