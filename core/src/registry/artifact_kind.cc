#include "registry/artifact_kind.h"

#include <nlohmann/json.hpp>

#include "registry/media_types.h"

namespace berth {

namespace {

constexpr char kImageConfigOci[] = "application/vnd.oci.image.config.v1+json";
constexpr char kImageConfigDocker[] = "application/vnd.docker.container.image.v1+json";
constexpr char kHelmConfig[] = "application/vnd.cncf.helm.config.v1+json";
constexpr char kCnabConfig[] = "application/vnd.cnab.config.v1+json";
constexpr char kCnabManifest[] = "application/vnd.cnab.manifest.v1";
constexpr char kCosignSigArtifact[] = "application/vnd.dev.cosign.artifact.sig.v1+json";
constexpr char kCosignSimpleSigning[] = "application/vnd.dev.cosign.simplesigning.v1+json";
constexpr char kNotationSignature[] = "application/vnd.cncf.notary.signature";

bool IsSbomType(std::string_view mt) {
  return mt == "application/spdx+json" || mt == "text/spdx" || mt == "text/spdx+json" ||
         mt == "application/vnd.cyclonedx+json" || mt == "application/vnd.cyclonedx+xml" ||
         mt == "application/vnd.goharbor.harbor.sbom.v1" || mt == "application/vnd.syft+json" ||
         mt.rfind("application/vnd.dev.cosign.artifact.sbom", 0) == 0;
}

bool HasLayerOfType(const ParsedManifest& m, std::string_view mt) {
  for (const auto& l : m.layers) {
    if (l.media_type == mt) return true;
  }
  return false;
}

bool IsHexDigest64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string ConfigType(const ParsedManifest& m) {
  return m.config ? m.config->media_type : std::string();
}

}  // namespace

ArtifactKind ClassifyArtifact(const ParsedManifest& m, std::string_view tag) {
  ArtifactKind k;
  std::string config = ConfigType(m);
  const std::string& at = m.artifact_type;  // artifactType, else the config's type
  bool cosign_sig = at == kCosignSigArtifact || HasLayerOfType(m, kCosignSimpleSigning);
  bool notation = at == kNotationSignature || config == kNotationSignature;
  bool sbom = IsSbomType(at) || IsSbomType(config);
  for (const auto& l : m.layers) sbom = sbom || IsSbomType(l.media_type);

  if (cosign_sig || notation) {
    k.type = artifact_types::kSignature;
  } else if (sbom) {
    k.type = artifact_types::kSbom;
  } else if (m.is_index || config == kImageConfigOci || config == kImageConfigDocker) {
    k.type = artifact_types::kImage;
  } else if (config == kHelmConfig) {
    k.type = artifact_types::kChart;
  } else if (config == kCnabConfig || at == kCnabManifest) {
    k.type = artifact_types::kCnab;
  } else {
    k.type = artifact_types::kUnknown;
  }

  auto accessory_type = [&] {
    if (cosign_sig) return accessory_types::kCosign;
    if (notation) return accessory_types::kNotation;
    if (sbom) return accessory_types::kSbom;
    return accessory_types::kSubject;
  };
  if (m.subject) {
    // An OCI 1.1 referrer: whatever it is, it belongs to its subject.
    k.accessory_of = m.subject->ToString();
    k.accessory_type = accessory_type();
    return k;
  }
  // cosign's tag scheme: sha256-<hex>.sig / .att / .sbom.
  constexpr std::string_view kPrefix = "sha256-";
  if (tag.size() > kPrefix.size() + 64 && tag.substr(0, kPrefix.size()) == kPrefix &&
      IsHexDigest64(tag.substr(kPrefix.size(), 64)) && tag[kPrefix.size() + 64] == '.') {
    std::string_view suffix = tag.substr(kPrefix.size() + 65);
    if (suffix == "sig" || suffix == "att" || suffix == "sbom") {
      k.accessory_of = "sha256:" + std::string(tag.substr(kPrefix.size(), 64));
      if (suffix == "sig") {
        k.type = artifact_types::kSignature;
        k.accessory_type = accessory_types::kCosign;
      } else if (suffix == "sbom") {
        k.type = artifact_types::kSbom;
        k.accessory_type = accessory_types::kSbom;
      } else {
        k.accessory_type = accessory_types::kSubject;
      }
    }
  }
  return k;
}

bool HasExtraAttrs(std::string_view type, const ParsedManifest& m) {
  return m.config && m.config->size <= kMaxConfigBytes &&
         (type == artifact_types::kImage || type == artifact_types::kChart);
}

std::string ExtraAttrs(std::string_view type, std::string_view config_json) {
  auto j = nlohmann::json::parse(config_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return "{}";
  if (type == artifact_types::kChart) return j.dump();  // Chart.yaml's metadata, as Harbor
  nlohmann::json out = nlohmann::json::object();
  for (const char* key : {"architecture", "os", "config", "author", "created", "variant"}) {
    if (auto it = j.find(key); it != j.end() && !it->is_null()) out[key] = *it;
  }
  return out.dump();
}

}  // namespace berth
