#include "registry/artifact_additions.h"

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include "registry/chart_archive.h"

namespace berth {
namespace {

// Harbor's JSON comes from Go structs: keep their member order.
using ojson = nlohmann::ordered_json;

constexpr char kJson[] = "application/json; charset=utf-8";
constexpr char kText[] = "text/plain; charset=utf-8";
constexpr char kMarkdown[] = "text/markdown; charset=utf-8";

Status NoSuchAddition(AdditionKind kind, std::string_view type) {
  return Status::NotFound("addition " + std::string(AdditionName(kind)) +
                              " isn't supported for artifact type " + std::string(type),
                          "NOT_FOUND");
}

Status BadContent(const std::string& why) { return Status::InvalidArgument(why, "BAD_REQUEST"); }

// v1.History of the OCI image spec, marshalled as Harbor does: the five
// members, each omitted when empty.
StatusOr<Addition> BuildHistory(const ParsedManifest& m, const BlobFetch& fetch) {
  BERTH_ASSIGN_OR_RETURN(std::string blob, fetch(*m.config));
  auto config = nlohmann::json::parse(blob, nullptr, false);
  if (config.is_discarded() || !config.is_object()) {
    return BadContent("the image config is not a JSON object");
  }
  ojson out = ojson::array();
  auto it = config.find("history");
  if (it != config.end() && !it->is_null()) {
    if (!it->is_array()) return BadContent("the image config's history is not an array");
    for (const auto& h : *it) {
      if (!h.is_object()) return BadContent("an image history entry is not an object");
      ojson e = ojson::object();
      for (const char* key : {"created", "created_by", "author", "comment"}) {
        auto v = h.find(key);
        if (v != h.end() && v->is_string() && !v->get<std::string>().empty()) e[key] = *v;
      }
      auto empty = h.find("empty_layer");
      if (empty != h.end() && empty->is_boolean() && empty->get<bool>()) e["empty_layer"] = true;
      out.push_back(std::move(e));
    }
  }
  return Addition{kJson, out.dump()};
}

// The chart content layer; Harbor takes the first layer that is not the
// config, which the media type pins down when a provenance layer is present.
const Descriptor* ChartLayer(const ParsedManifest& m) {
  for (const auto& l : m.layers) {
    if (l.media_type == kHelmChartLayerMediaType) return &l;
  }
  for (const auto& l : m.layers) {
    if (!m.config || !(l.digest == m.config->digest)) return &l;
  }
  return nullptr;
}

std::string ScalarOr(const YAML::Node& n, const char* key) {
  YAML::Node v = n[key];
  return v && v.IsScalar() ? v.Scalar() : std::string();
}

// YAML aliases share nodes, so a small file can describe an exponentially
// large tree ("billion laughs"): every node converted spends one unit.
constexpr int64_t kMaxDependencyNodes = 100000;

Status Spend(int64_t* budget) {
  if (--*budget < 0) return BadContent("the chart's dependencies are too large");
  return {};
}

StatusOr<ojson> YamlToJson(const YAML::Node& n, int64_t* budget, int depth = 0) {
  BERTH_RETURN_IF_ERROR(Spend(budget));
  // An anchor aliased inside itself ("&a [*a]") is a cycle: bound the depth.
  if (depth > 64) return BadContent("the chart's dependencies nest too deeply");
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      ojson j = ojson::object();
      for (const auto& kv : n) {
        if (!kv.first.IsScalar()) continue;
        BERTH_ASSIGN_OR_RETURN(j[kv.first.Scalar()], YamlToJson(kv.second, budget, depth + 1));
      }
      return j;
    }
    case YAML::NodeType::Sequence: {
      ojson j = ojson::array();
      for (const auto& v : n) {
        BERTH_ASSIGN_OR_RETURN(ojson e, YamlToJson(v, budget, depth + 1));
        j.push_back(std::move(e));
      }
      return j;
    }
    case YAML::NodeType::Scalar:
      return ojson(n.Scalar());
    default:
      return ojson(nullptr);
  }
}

// Helm's chart.Dependency, member order and omitempty as its JSON tags.
StatusOr<ojson> DependencyJson(const YAML::Node& d, int64_t* budget) {
  if (!d.IsMap()) return BadContent("a chart dependency is not a mapping");
  BERTH_RETURN_IF_ERROR(Spend(budget));
  ojson o = ojson::object();
  o["name"] = ScalarOr(d, "name");
  if (std::string v = ScalarOr(d, "version"); !v.empty()) o["version"] = v;
  o["repository"] = ScalarOr(d, "repository");
  if (std::string v = ScalarOr(d, "condition"); !v.empty()) o["condition"] = v;
  if (YAML::Node tags = d["tags"]; tags && tags.IsSequence() && tags.size() > 0) {
    ojson t = ojson::array();
    for (const auto& tag : tags) {
      BERTH_RETURN_IF_ERROR(Spend(budget));
      if (tag.IsScalar()) t.push_back(tag.Scalar());
    }
    o["tags"] = t;
  }
  if (ScalarOr(d, "enabled") == "true") o["enabled"] = true;
  if (YAML::Node iv = d["import-values"]; iv && iv.IsSequence() && iv.size() > 0) {
    BERTH_ASSIGN_OR_RETURN(o["import-values"], YamlToJson(iv, budget));
  }
  if (std::string v = ScalarOr(d, "alias"); !v.empty()) o["alias"] = v;
  return o;
}

StatusOr<ojson> DependencyList(const YAML::Node& list) {
  ojson out = ojson::array();
  if (!list || list.IsNull()) return out;
  if (!list.IsSequence()) return BadContent("the chart's dependencies are not a list");
  int64_t budget = kMaxDependencyNodes;
  for (const auto& d : list) {
    BERTH_ASSIGN_OR_RETURN(ojson j, DependencyJson(d, &budget));
    out.push_back(std::move(j));
  }
  return out;
}

StatusOr<YAML::Node> LoadYaml(const std::string& text, const char* what) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return BadContent(std::string("the chart's ") + what + " is not valid YAML: " + e.what());
  }
}

// Harbor's chart operator: Chart.yaml's dependencies for apiVersion v2,
// requirements.yaml's for v1 (the default when apiVersion is absent).
StatusOr<std::string> Dependencies(const ChartFiles& files, const YAML::Node& chart) {
  std::string api = ScalarOr(chart, "apiVersion");
  ojson deps = ojson::array();
  if (api == "v2") {
    BERTH_ASSIGN_OR_RETURN(deps, DependencyList(chart["dependencies"]));
  } else if (api.empty() || api == "v1") {
    if (files.requirements_yaml) {
      BERTH_ASSIGN_OR_RETURN(YAML::Node req, LoadYaml(*files.requirements_yaml, "requirements.yaml"));
      if (!req.IsMap() || !req["dependencies"]) {
        return BadContent("invalid requirements.yaml, no dependencies found");
      }
      BERTH_ASSIGN_OR_RETURN(deps, DependencyList(req["dependencies"]));
    }
  } else {
    return BadContent("unsupported chart apiVersion '" + api + "'");
  }
  return deps.dump();
}

StatusOr<Addition> ChartFileAddition(AdditionKind kind, const ChartFiles& files);

StatusOr<Addition> ChartAddition(AdditionKind kind, const ParsedManifest& m,
                                 const BlobFetch& fetch) {
  const Descriptor* layer = ChartLayer(m);
  if (layer == nullptr) return Status::NotFound("the chart has no content layer", "NOT_FOUND");
  BERTH_ASSIGN_OR_RETURN(std::string tgz, fetch(*layer));
  BERTH_ASSIGN_OR_RETURN(ChartFiles files, ReadChartArchive(tgz));
  try {
    return ChartFileAddition(kind, files);
  } catch (const YAML::Exception& e) {  // yaml-cpp throws on odd node access
    return BadContent(std::string("the chart's YAML cannot be read: ") + e.what());
  }
}

StatusOr<Addition> ChartFileAddition(AdditionKind kind, const ChartFiles& files) {
  // Harbor loads (and so validates) the chart whatever the addition.
  BERTH_ASSIGN_OR_RETURN(YAML::Node chart, LoadYaml(files.chart_yaml, "Chart.yaml"));
  if (!chart.IsMap()) return BadContent("the chart's Chart.yaml is not a mapping");
  switch (kind) {
    case AdditionKind::kValuesYaml:
      return Addition{kText, files.values_yaml.value_or("")};
    case AdditionKind::kReadme:
      return Addition{kMarkdown, files.readme.value_or("")};
    case AdditionKind::kDependencies: {
      BERTH_ASSIGN_OR_RETURN(std::string body, Dependencies(files, chart));
      return Addition{kJson, std::move(body)};
    }
    default:
      return NoSuchAddition(kind, "CHART");
  }
}

}  // namespace

StatusOr<AdditionKind> ParseAdditionKind(std::string_view name) {
  if (name == "build_history") return AdditionKind::kBuildHistory;
  if (name == "values.yaml") return AdditionKind::kValuesYaml;
  if (name == "readme.md") return AdditionKind::kReadme;
  if (name == "dependencies") return AdditionKind::kDependencies;
  return Status::NotFound("unknown artifact addition '" + std::string(name) + "'", "NOT_FOUND");
}

std::string_view AdditionName(AdditionKind kind) {
  switch (kind) {
    case AdditionKind::kBuildHistory: return "build_history";
    case AdditionKind::kValuesYaml: return "values.yaml";
    case AdditionKind::kReadme: return "readme.md";
    case AdditionKind::kDependencies: return "dependencies";
  }
  return "";
}

StatusOr<Addition> BuildAddition(AdditionKind kind, std::string_view artifact_type,
                                 const ParsedManifest& manifest, const BlobFetch& fetch) {
  if (manifest.is_index) return NoSuchAddition(kind, artifact_type);
  if (artifact_type == "IMAGE" && kind == AdditionKind::kBuildHistory && manifest.config) {
    return BuildHistory(manifest, fetch);
  }
  if (artifact_type == "CHART" && kind != AdditionKind::kBuildHistory) {
    return ChartAddition(kind, manifest, fetch);
  }
  return NoSuchAddition(kind, artifact_type);
}

}  // namespace berth
