// Artifact additions: Harbor's GET .../artifacts/{reference}/additions/{addition}
// for the built-in processors (src/controller/artifact/processor in Harbor):
//
//   IMAGE  build_history  the config blob's "history", as JSON
//                         ("application/json; charset=utf-8")
//   CHART  values.yaml    the chart's values.yaml ("text/plain; charset=utf-8")
//          readme.md      its README.md ("text/markdown; charset=utf-8")
//          dependencies   Chart.yaml "dependencies" (apiVersion v2), or
//                         requirements.yaml's (v1), as Helm's Dependency JSON
//                         ("application/json; charset=utf-8")
//
// A chart without values.yaml or README.md answers an empty body, as Harbor.
// Where Harbor marshals a Go nil slice ("null": an image config without
// history, a v2 chart without dependencies) Berth answers "[]".
// Any other (type, addition) pair is kNotFound / NOT_FOUND; Harbor answers
// 400 BAD_REQUEST there (its processors' "addition ... isn't supported").
#ifndef BERTH_REGISTRY_ARTIFACT_ADDITIONS_H_
#define BERTH_REGISTRY_ARTIFACT_ADDITIONS_H_

#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "registry/manifest.h"

namespace berth {

enum class AdditionKind { kBuildHistory, kValuesYaml, kReadme, kDependencies };

// "build_history", "values.yaml", "readme.md", "dependencies" (exact, as the
// swagger's enum); anything else is kNotFound / NOT_FOUND.
StatusOr<AdditionKind> ParseAdditionKind(std::string_view name);
std::string_view AdditionName(AdditionKind kind);

struct Addition {
  std::string content_type;
  std::string body;
};

// Reads a blob fully (the caller caps sizes).
using BlobFetch = std::function<StatusOr<std::string>(const Descriptor&)>;

// artifact_type is Harbor's type: "IMAGE", "CHART", "CNAB", "SIGNATURE",
// "SBOM", "UNKNOWN". Errors: kNotFound (no such addition for this artifact,
// or the chart manifest has no chart layer); kInvalidArgument / BAD_REQUEST
// for a config blob or chart archive that cannot be parsed (Harbor: 500);
// whatever `fetch` returns.
StatusOr<Addition> BuildAddition(AdditionKind kind, std::string_view artifact_type,
                                 const ParsedManifest& manifest, const BlobFetch& fetch);

// The media types of Helm's OCI chart artifacts.
inline constexpr char kHelmConfigMediaType[] = "application/vnd.cncf.helm.config.v1+json";
inline constexpr char kHelmChartLayerMediaType[] =
    "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

}  // namespace berth

#endif  // BERTH_REGISTRY_ARTIFACT_ADDITIONS_H_
