// Built-in artifact-type icons: what Harbor's artifact JSON names in `icon`
// and serves at GET /api/v2.0/icons/{digest}. Berth's icons are small SVGs
// of its own, compiled in; an icon's digest is the sha256 of its bytes (as
// Harbor's built-in digests are of its PNG files), so it changes when the
// picture does and clients may cache by it.
//
// Harbor re-encodes every icon as a 50x50 PNG; Berth serves the SVG as is
// ("image/svg+xml"), which a data: URL renders the same way. Icons that
// users ship inside their artifacts (Harbor's io.goharbor.artifact.v1alpha1
// .icon layer annotation) are not served here.
#ifndef BERTH_REGISTRY_ARTIFACT_ICONS_H_
#define BERTH_REGISTRY_ARTIFACT_ICONS_H_

#include <string_view>

namespace berth {

struct ArtifactIcon {
  std::string_view digest;        // "sha256:<hex>"
  std::string_view content_type;  // "image/svg+xml"
  std::string_view content;       // the raw bytes (not base64)
};

// The digest of the icon for Harbor's artifact type ("IMAGE", "CHART",
// "CNAB", "WASM", "SIGNATURE", "SBOM"; accessory types like
// "signature.cosign", "signature.notation", "harbor.sbom" too; matched
// case-insensitively); the default icon for anything else, as Harbor.
std::string_view IconDigestForType(std::string_view artifact_type);

// The built-in icon with this digest; nullptr when there is none.
const ArtifactIcon* FindIcon(std::string_view digest);

}  // namespace berth

#endif  // BERTH_REGISTRY_ARTIFACT_ICONS_H_
