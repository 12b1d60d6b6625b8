// /v2 tag list, catalog and referrers.
#include "common/strings.h"
#include "http/response.h"
#include "oci/v2_router.h"
#include "oci/v2_util.h"

namespace berth {

namespace {

constexpr int64_t kDefaultPageSize = 100000;

// n: absent -> default; must be a non-negative integer.
StatusOr<int64_t> PageSize(const RequestContext& ctx) {
  if (!ctx.query.Has("n")) return kDefaultPageSize;
  auto n = ParseInt64(ctx.query.Get("n"));
  if (!n || *n < 0) {
    return Status::InvalidArgument("n must be a non-negative integer",
                                   "PAGINATION_NUMBER_INVALID");
  }
  return std::min(*n, kDefaultPageSize);
}

std::string JsonArray(const std::vector<std::string>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ',';
    out += JsonQuote(names[i]);
  }
  return out + "]";
}

void SetNextLink(RequestContext& ctx, const std::string& base, int64_t n, const NamePage& page) {
  if (!page.more || page.names.empty()) return;
  ctx.response.set("Link", "<" + base + "?n=" + std::to_string(n) +
                               "&last=" + UrlEncode(page.names.back()) + ">; rel=\"next\"");
}

}  // namespace

void V2Router::Catalog(RequestContext& ctx) {
  auto n = PageSize(ctx);
  if (!n.ok()) return Fail(ctx, n.status());
  NamePage page;
  if (*n > 0) {
    auto p = manifests_.Catalog(ctx.query.Get("last"), *n);
    if (!p.ok()) return Fail(ctx, p.status());
    page = std::move(*p);
  }
  SetNextLink(ctx, "/v2/_catalog", *n, page);
  SendJson(ctx, 200, "{\"repositories\":" + JsonArray(page.names) + "}");
}

void V2Router::Tags(RequestContext& ctx, const std::string& repo) {
  auto n = PageSize(ctx);
  if (!n.ok()) return Fail(ctx, n.status());
  // n=0 still tells whether the repository exists.
  auto p = manifests_.Tags(repo, ctx.query.Get("last"), std::max<int64_t>(*n, 1));
  if (!p.ok()) return Fail(ctx, p.status());
  NamePage page = *n > 0 ? std::move(*p) : NamePage{};
  SetNextLink(ctx, "/v2/" + repo + "/tags/list", *n, page);
  SendJson(ctx, 200, "{\"name\":" + JsonQuote(repo) + ",\"tags\":" + JsonArray(page.names) + "}");
}

void V2Router::Referrers(RequestContext& ctx, const std::string& repo, const std::string& ref) {
  auto d = Digest::Parse(ref);
  if (!d.ok()) return Fail(ctx, d.status());
  std::string type = ctx.query.Get("artifactType");
  auto index = manifests_.Referrers(repo, *d, type);
  if (!index.ok()) return Fail(ctx, index.status());
  if (!type.empty()) ctx.response.set("OCI-Filters-Applied", "artifactType");
  SendBody(ctx, 200, "application/vnd.oci.image.index.v1+json", *index);
}

}  // namespace berth
