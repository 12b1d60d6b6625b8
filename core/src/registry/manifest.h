// Parsing and validation of pushed manifests: OCI image manifest and index,
// Docker schema 2 manifest and manifest list. Schema 1 is refused.
#ifndef BERTH_REGISTRY_MANIFEST_H_
#define BERTH_REGISTRY_MANIFEST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest.h"
#include "common/status.h"

namespace berth {

inline constexpr size_t kMaxManifestBytes = 4 * 1024 * 1024;

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::vector<std::string> urls;
  std::string platform_json;  // index children; "" when absent
};

struct ParsedManifest {
  std::string media_type;
  bool is_index = false;
  std::optional<Descriptor> config;  // image manifests
  std::vector<Descriptor> layers;    // image manifests
  std::vector<Descriptor> manifests; // indexes
  std::optional<Digest> subject;
  // What the referrers API reports: artifactType, else (for image manifests)
  // the config's media type.
  std::string artifact_type;
  std::string annotations_json;  // "" when absent

  // Blobs the repository must hold: config and layers, foreign layers excepted.
  std::vector<std::string> RequiredBlobs() const;
};

// Errors carry MANIFEST_INVALID (unknown media types included).
StatusOr<ParsedManifest> ParseManifest(std::string_view body, std::string_view content_type);

// The media type from a Content-Type header, parameters removed, lowercased.
std::string BareMediaType(std::string_view content_type);

}  // namespace berth

#endif  // BERTH_REGISTRY_MANIFEST_H_
