#include "oci/v2_path.h"

#include <gtest/gtest.h>

#include <string>

namespace berth {
namespace {

const std::string kDigest =
    "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

struct Want {
  V2Route route;
  std::string name;
  std::string reference;
};

void ExpectRoute(const std::string& path, const Want& want) {
  V2Path p = ParseV2Path(path);
  EXPECT_EQ(p.route, want.route) << path << " -> " << V2RouteLabel(p.route);
  EXPECT_EQ(p.name, want.name) << path;
  EXPECT_EQ(p.reference, want.reference) << path;
}

TEST(ParseV2Path, Base) {
  ExpectRoute("/v2", {V2Route::kBase, "", ""});
  ExpectRoute("/v2/", {V2Route::kBase, "", ""});
}

TEST(ParseV2Path, Catalog) { ExpectRoute("/v2/_catalog", {V2Route::kCatalog, "", ""}); }

TEST(ParseV2Path, Tags) {
  ExpectRoute("/v2/foo/tags/list", {V2Route::kTags, "foo", ""});
  ExpectRoute("/v2/a/b/c/tags/list", {V2Route::kTags, "a/b/c", ""});
  ExpectRoute("/v2/tags/tags/list", {V2Route::kTags, "tags", ""});
  ExpectRoute("/v2/a/tags/list/tags/list", {V2Route::kTags, "a/tags/list", ""});
}

TEST(ParseV2Path, Manifests) {
  ExpectRoute("/v2/foo/manifests/latest", {V2Route::kManifest, "foo", "latest"});
  ExpectRoute("/v2/library/ubuntu/manifests/" + kDigest,
              {V2Route::kManifest, "library/ubuntu", kDigest});
}

TEST(ParseV2Path, Blobs) {
  ExpectRoute("/v2/foo/blobs/" + kDigest, {V2Route::kBlob, "foo", kDigest});
  ExpectRoute("/v2/a/b/blobs/" + kDigest, {V2Route::kBlob, "a/b", kDigest});
}

TEST(ParseV2Path, Uploads) {
  ExpectRoute("/v2/foo/blobs/uploads/", {V2Route::kUploads, "foo", ""});
  ExpectRoute("/v2/foo/blobs/uploads", {V2Route::kUploads, "foo", ""});
  ExpectRoute("/v2/a/b/blobs/uploads/", {V2Route::kUploads, "a/b", ""});
  ExpectRoute("/v2/foo/blobs/uploads/3f2c-11aa", {V2Route::kUpload, "foo", "3f2c-11aa"});
}

TEST(ParseV2Path, Referrers) {
  ExpectRoute("/v2/foo/referrers/" + kDigest, {V2Route::kReferrers, "foo", kDigest});
}

// Names are matched from the end, so components that look like route markers
// belong to the name.
TEST(ParseV2Path, NamesWithRouteLikeComponents) {
  ExpectRoute("/v2/blobs/manifests/latest", {V2Route::kManifest, "blobs", "latest"});
  ExpectRoute("/v2/manifests/manifests/latest", {V2Route::kManifest, "manifests", "latest"});
  ExpectRoute("/v2/manifests/blobs/" + kDigest, {V2Route::kBlob, "manifests", kDigest});
  ExpectRoute("/v2/blobs/blobs/" + kDigest, {V2Route::kBlob, "blobs", kDigest});
  ExpectRoute("/v2/a/blobs/b/manifests/v1", {V2Route::kManifest, "a/blobs/b", "v1"});
  ExpectRoute("/v2/a/manifests/b/blobs/" + kDigest, {V2Route::kBlob, "a/manifests/b", kDigest});
  ExpectRoute("/v2/a/manifests/blobs/uploads/", {V2Route::kUploads, "a/manifests", ""});
  ExpectRoute("/v2/blobs/uploads/blobs/uploads/", {V2Route::kUploads, "blobs/uploads", ""});
  ExpectRoute("/v2/blobs/uploads/blobs/uploads/u1", {V2Route::kUpload, "blobs/uploads", "u1"});
  ExpectRoute("/v2/blobs/uploads/manifests/latest", {V2Route::kManifest, "blobs/uploads", "latest"});
  ExpectRoute("/v2/tags/list/manifests/x", {V2Route::kManifest, "tags/list", "x"});
  ExpectRoute("/v2/referrers/referrers/" + kDigest, {V2Route::kReferrers, "referrers", kDigest});
  ExpectRoute("/v2/_catalog/manifests/latest", {V2Route::kManifest, "_catalog", "latest"});
}

TEST(ParseV2Path, MarkersMustBeWholeComponents) {
  // "myblobs" is not "blobs", "xmanifests" is not "manifests".
  ExpectRoute("/v2/myblobs/" + kDigest, {V2Route::kUnknown, "", ""});
  ExpectRoute("/v2/a/xmanifests/latest", {V2Route::kUnknown, "", ""});
  ExpectRoute("/v2/a/myreferrers/" + kDigest, {V2Route::kUnknown, "", ""});
}

TEST(ParseV2Path, Unknown) {
  for (const char* p : {"", "/", "/v1/foo/manifests/x", "/v2foo", "/v3/", "/v2/foo",
                        "/v2/foo/manifests/", "/v2/foo/manifests", "/v2/manifests/latest",
                        "/v2//manifests/latest", "/v2/foo/blobs/", "/v2/foo/manifests/latest/",
                        "/v2/foo/blobs/uploads/a/b", "/v2/foo/unknown/x", "/v2/tags/list",
                        "/v2/_catalog/"}) {
    V2Path v = ParseV2Path(p);
    EXPECT_EQ(v.route, V2Route::kUnknown) << "'" << p << "' -> " << V2RouteLabel(v.route)
                                         << " name='" << v.name << "' ref='" << v.reference << "'";
  }
}

TEST(V2RouteLabel, EveryRouteHasALabel) {
  EXPECT_STREQ(V2RouteLabel(V2Route::kBase), "v2_base");
  EXPECT_STREQ(V2RouteLabel(V2Route::kCatalog), "v2_catalog");
  EXPECT_STREQ(V2RouteLabel(V2Route::kTags), "v2_tags");
  EXPECT_STREQ(V2RouteLabel(V2Route::kManifest), "v2_manifest");
  EXPECT_STREQ(V2RouteLabel(V2Route::kBlob), "v2_blob");
  EXPECT_STREQ(V2RouteLabel(V2Route::kUploads), "v2_upload");
  EXPECT_STREQ(V2RouteLabel(V2Route::kUpload), "v2_upload");
  EXPECT_STREQ(V2RouteLabel(V2Route::kReferrers), "v2_referrers");
  EXPECT_STREQ(V2RouteLabel(V2Route::kUnknown), "v2_unknown");
}

}  // namespace
}  // namespace berth
