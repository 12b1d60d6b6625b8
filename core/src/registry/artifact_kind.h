// ArtifactKind: what Harbor's API says an artifact is. Harbor's type (IMAGE,
// CHART, CNAB, SIGNATURE, SBOM, UNKNOWN), whether it is an accessory of
// another artifact (a cosign signature by tag scheme, any OCI 1.1 referrer),
// and the extra attributes read from its config, all decided once at push.
#ifndef BERTH_REGISTRY_ARTIFACT_KIND_H_
#define BERTH_REGISTRY_ARTIFACT_KIND_H_

#include <string>
#include <string_view>

#include "registry/manifest.h"

namespace berth {

namespace artifact_types {
inline constexpr char kImage[] = "IMAGE";
inline constexpr char kChart[] = "CHART";
inline constexpr char kCnab[] = "CNAB";
inline constexpr char kSignature[] = "SIGNATURE";
inline constexpr char kSbom[] = "SBOM";
inline constexpr char kUnknown[] = "UNKNOWN";
}  // namespace artifact_types

// Harbor's accessory types.
namespace accessory_types {
inline constexpr char kCosign[] = "signature.cosign";
inline constexpr char kNotation[] = "signature.notation";
inline constexpr char kSbom[] = "harbor.sbom";
inline constexpr char kSubject[] = "subject.accessory";
}  // namespace accessory_types

struct ArtifactKind {
  std::string type;            // artifact_types::*
  std::string accessory_of;    // the subject's digest; "" when not an accessory
  std::string accessory_type;  // accessory_types::*; "" when not an accessory
};

// `tag` is the tag the manifest is pushed with ("" by digest): cosign's
// "sha256-<hex>.sig" (".att", ".sbom") names the subject.
ArtifactKind ClassifyArtifact(const ParsedManifest& m, std::string_view tag);

// Whether ExtraAttrs needs the config blob of an artifact of this type.
bool HasExtraAttrs(std::string_view type, const ParsedManifest& m);
// Harbor's extra_attrs as a JSON object: for images architecture, os,
// config, author and created; for charts the chart's metadata. "{}" when the
// config is not a JSON object.
std::string ExtraAttrs(std::string_view type, std::string_view config_json);

// The config blob's largest size worth reading at push.
inline constexpr int64_t kMaxConfigBytes = 1 << 20;

}  // namespace berth

#endif  // BERTH_REGISTRY_ARTIFACT_KIND_H_
