// ParseManifest (core/src/registry/manifest.cc) on arbitrary bodies.
// Input: the Content-Type header, a newline, then the manifest body.
// Checks: no crash/UB/leak/exception, and an accepted manifest is internally
// consistent (known media type, index xor image, parseable digests).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string_view>

#include "registry/manifest.h"
#include "registry/media_types.h"

namespace {
void Check(bool cond, const char* what) {
  if (!cond) {
    std::fprintf(stderr, "fuzz_manifest: invariant violated: %s\n", what);
    std::abort();
  }
}
void CheckDescriptor(const berth::Descriptor& d) {
  Check(!d.media_type.empty(), "descriptor without media type");
  Check(d.size >= 0, "negative descriptor size");
  auto again = berth::Digest::Parse(d.digest.ToString());
  Check(again.ok() && *again == d.digest, "descriptor digest does not round-trip");
  if (!d.platform_json.empty()) {
    auto p = nlohmann::json::parse(d.platform_json, nullptr, false);
    Check(p.is_object(), "platform_json is not an object");
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string_view ct = nl == std::string_view::npos ? std::string_view() : in.substr(0, nl);
  std::string_view body = nl == std::string_view::npos ? in : in.substr(nl + 1);

  (void)berth::BareMediaType(ct);
  auto m = berth::ParseManifest(body, ct);
  if (!m.ok()) {
    Check(m.status().api_code() == "MANIFEST_INVALID", "error without MANIFEST_INVALID");
    return 0;
  }
  namespace mt = berth::media_types;
  bool index = m->media_type == mt::kOciIndex || m->media_type == mt::kDockerManifestList;
  bool image = m->media_type == mt::kOciManifest || m->media_type == mt::kDockerManifest;
  Check(index || image, "accepted an unknown media type");
  Check(m->is_index == index, "is_index disagrees with the media type");
  if (index) {
    Check(!m->config && m->layers.empty(), "index with config or layers");
    for (const auto& d : m->manifests) CheckDescriptor(d);
  } else {
    Check(m->config.has_value() && m->manifests.empty(), "image manifest without config");
    CheckDescriptor(*m->config);
    for (const auto& d : m->layers) CheckDescriptor(d);
  }
  for (const auto& b : m->RequiredBlobs()) {
    Check(berth::Digest::Parse(b).ok(), "required blob is not a digest");
  }
  if (!m->annotations_json.empty()) {
    Check(nlohmann::json::parse(m->annotations_json, nullptr, false).is_object(),
          "annotations_json is not an object");
  }
  return 0;
}
