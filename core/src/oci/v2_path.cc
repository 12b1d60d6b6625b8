#include "oci/v2_path.h"

namespace berth {

namespace {
bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Matches "<name>/<marker>/<last>" where <last> has no '/'.
bool SplitLast(std::string_view rest, std::string_view marker, std::string* name,
               std::string* last) {
  size_t slash = rest.rfind('/');
  if (slash == std::string_view::npos) return false;
  std::string_view tail = rest.substr(slash + 1);
  std::string_view head = rest.substr(0, slash);
  if (tail.empty() || !EndsWith(head, marker)) return false;
  std::string_view n = head.substr(0, head.size() - marker.size());
  if (n.size() < 2 || n.back() != '/') return false;
  *name = std::string(n.substr(0, n.size() - 1));
  *last = std::string(tail);
  return true;
}
}  // namespace

V2Path ParseV2Path(std::string_view path) {
  V2Path p;
  if (path == "/v2" || path == "/v2/") {
    p.route = V2Route::kBase;
    return p;
  }
  if (path.substr(0, 4) != "/v2/") return p;
  std::string_view rest = path.substr(4);
  if (rest == "_catalog") {
    p.route = V2Route::kCatalog;
    return p;
  }
  if (EndsWith(rest, "/tags/list")) {
    p.route = V2Route::kTags;
    p.name = std::string(rest.substr(0, rest.size() - 10));
    return p;
  }
  if (EndsWith(rest, "/blobs/uploads/") || EndsWith(rest, "/blobs/uploads")) {
    size_t cut = rest.rfind("/blobs/uploads");
    p.route = V2Route::kUploads;
    p.name = std::string(rest.substr(0, cut));
    return p;
  }
  if (SplitLast(rest, "blobs/uploads", &p.name, &p.reference)) {
    p.route = V2Route::kUpload;
    return p;
  }
  if (SplitLast(rest, "manifests", &p.name, &p.reference)) {
    p.route = V2Route::kManifest;
    return p;
  }
  if (SplitLast(rest, "blobs", &p.name, &p.reference)) {
    p.route = V2Route::kBlob;
    return p;
  }
  if (SplitLast(rest, "referrers", &p.name, &p.reference)) {
    p.route = V2Route::kReferrers;
    return p;
  }
  return p;
}

const char* V2RouteLabel(V2Route r) {
  switch (r) {
    case V2Route::kBase: return "v2_base";
    case V2Route::kCatalog: return "v2_catalog";
    case V2Route::kTags: return "v2_tags";
    case V2Route::kManifest: return "v2_manifest";
    case V2Route::kBlob: return "v2_blob";
    case V2Route::kUploads: return "v2_upload";
    case V2Route::kUpload: return "v2_upload";
    case V2Route::kReferrers: return "v2_referrers";
    case V2Route::kUnknown: return "v2_unknown";
  }
  return "v2_unknown";
}

}  // namespace berth
