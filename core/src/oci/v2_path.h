// Parsing of /v2 paths into a route, a repository name and a reference.
// Names may contain '/', so routes are recognised from the end of the path.
#ifndef BERTH_OCI_V2_PATH_H_
#define BERTH_OCI_V2_PATH_H_

#include <string>
#include <string_view>

namespace berth {

enum class V2Route { kBase, kCatalog, kTags, kManifest, kBlob, kUploads, kUpload, kReferrers, kUnknown };

struct V2Path {
  V2Route route = V2Route::kUnknown;
  std::string name;       // repository
  std::string reference;  // tag or digest, blob digest, upload id
};

V2Path ParseV2Path(std::string_view path);
const char* V2RouteLabel(V2Route r);

}  // namespace berth

#endif  // BERTH_OCI_V2_PATH_H_
