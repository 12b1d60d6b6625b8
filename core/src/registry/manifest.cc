#include "registry/manifest.h"

#include <nlohmann/json.hpp>

#include "common/json_depth.h"
#include "common/strings.h"
#include "registry/media_types.h"

namespace berth {

namespace {

using nlohmann::json;

Status Invalid(const std::string& msg) {
  return Status::InvalidArgument("manifest invalid: " + msg, "MANIFEST_INVALID");
}

StatusOr<Descriptor> ParseDescriptor(const json& j, const std::string& where) {
  if (!j.is_object()) return Invalid(where + " must be an object");
  Descriptor d;
  auto mt = j.find("mediaType");
  if (mt == j.end() || !mt->is_string() || mt->get<std::string>().empty()) {
    return Invalid(where + ".mediaType must be a non-empty string");
  }
  d.media_type = mt->get<std::string>();
  auto dg = j.find("digest");
  if (dg == j.end() || !dg->is_string()) return Invalid(where + ".digest must be a string");
  auto parsed = Digest::Parse(dg->get<std::string>());
  if (!parsed.ok()) return Invalid(where + ".digest: " + parsed.status().message());
  d.digest = *parsed;
  auto sz = j.find("size");
  if (sz == j.end() || !sz->is_number_integer() || sz->get<int64_t>() < 0) {
    return Invalid(where + ".size must be a non-negative integer");
  }
  d.size = sz->get<int64_t>();
  if (auto u = j.find("urls"); u != j.end()) {
    if (!u->is_array()) return Invalid(where + ".urls must be an array");
    for (const auto& e : *u) {
      if (!e.is_string()) return Invalid(where + ".urls must hold strings");
      d.urls.push_back(e.get<std::string>());
    }
  }
  if (auto p = j.find("platform"); p != j.end()) {
    if (!p->is_object()) return Invalid(where + ".platform must be an object");
    d.platform_json = p->dump();
  }
  if (auto a = j.find("annotations"); a != j.end() && !a->is_object()) {
    return Invalid(where + ".annotations must be an object");
  }
  return d;
}

bool IsForeign(const Descriptor& d) {
  return d.media_type == media_types::kDockerForeignLayer ||
         d.media_type.rfind(media_types::kOciNondistributablePrefix, 0) == 0;
}

}  // namespace

std::string BareMediaType(std::string_view content_type) {
  size_t semi = content_type.find(';');
  return ToLower(Trim(content_type.substr(0, semi)));
}

std::vector<std::string> ParsedManifest::RequiredBlobs() const {
  std::vector<std::string> out;
  if (config) out.push_back(config->digest.ToString());
  for (const auto& l : layers) {
    if (IsForeign(l) && !l.urls.empty()) continue;
    out.push_back(l.digest.ToString());
  }
  return out;
}

StatusOr<ParsedManifest> ParseManifest(std::string_view body, std::string_view content_type) {
  std::string ct = BareMediaType(content_type);
  if (ct == media_types::kDockerSchema1 || ct == media_types::kDockerSchema1Signed) {
    return Invalid("Docker schema 1 manifests are not supported; push schema 2 or OCI");
  }
  if (JsonNestingExceeds(body)) {
    return Invalid("JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  json j = json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded()) return Invalid("body is not valid JSON");
  if (!j.is_object()) return Invalid("body must be a JSON object");

  auto sv = j.find("schemaVersion");
  if (sv != j.end() && sv->is_number_integer() && sv->get<int64_t>() == 1) {
    return Invalid("Docker schema 1 manifests are not supported; push schema 2 or OCI");
  }
  if (sv == j.end() || !sv->is_number_integer() || sv->get<int64_t>() != 2) {
    return Invalid("schemaVersion must be 2");
  }

  ParsedManifest m;
  std::string field_type;
  if (auto mt = j.find("mediaType"); mt != j.end()) {
    if (!mt->is_string()) return Invalid("mediaType must be a string");
    field_type = mt->get<std::string>();
  }
  static const char* kKnown[] = {media_types::kOciManifest, media_types::kOciIndex,
                                 media_types::kDockerManifest, media_types::kDockerManifestList};
  auto known = [&](const std::string& t) {
    for (const char* k : kKnown) {
      if (t == k) return true;
    }
    return false;
  };
  if (!field_type.empty() && known(ct) && ct != field_type) {
    return Invalid("Content-Type " + ct + " does not match the manifest's mediaType " +
                   field_type);
  }
  if (!field_type.empty()) {
    m.media_type = field_type;
  } else if (known(ct)) {
    m.media_type = ct;
  } else if (j.contains("manifests")) {
    m.media_type = media_types::kOciIndex;
  } else {
    m.media_type = media_types::kOciManifest;
  }
  if (!known(m.media_type)) {
    return Status::InvalidArgument("manifest invalid: unsupported manifest media type " +
                                       m.media_type,
                                   "MANIFEST_INVALID");
  }
  m.is_index = m.media_type == media_types::kOciIndex ||
               m.media_type == media_types::kDockerManifestList;

  if (m.is_index) {
    auto ms = j.find("manifests");
    if (ms == j.end() || !ms->is_array()) return Invalid("manifests must be an array");
    size_t i = 0;
    for (const auto& e : *ms) {
      auto d = ParseDescriptor(e, "manifests[" + std::to_string(i++) + "]");
      if (!d.ok()) return d.status();
      m.manifests.push_back(std::move(*d));
    }
    if (j.contains("config") || j.contains("layers")) {
      return Invalid("an index must not have config or layers");
    }
  } else {
    auto cfg = j.find("config");
    if (cfg == j.end()) return Invalid("config is required");
    auto d = ParseDescriptor(*cfg, "config");
    if (!d.ok()) return d.status();
    m.config = std::move(*d);
    if (auto ls = j.find("layers"); ls != j.end()) {
      if (!ls->is_array()) return Invalid("layers must be an array");
      size_t i = 0;
      for (const auto& e : *ls) {
        auto l = ParseDescriptor(e, "layers[" + std::to_string(i++) + "]");
        if (!l.ok()) return l.status();
        m.layers.push_back(std::move(*l));
      }
    } else if (m.media_type == media_types::kDockerManifest) {
      return Invalid("layers is required");
    }
    if (j.contains("manifests")) return Invalid("an image manifest must not have manifests");
  }

  if (auto s = j.find("subject"); s != j.end() && !s->is_null()) {
    auto d = ParseDescriptor(*s, "subject");
    if (!d.ok()) return d.status();
    m.subject = d->digest;
  }
  if (auto at = j.find("artifactType"); at != j.end() && !at->is_null()) {
    if (!at->is_string()) return Invalid("artifactType must be a string");
    m.artifact_type = at->get<std::string>();
  }
  if (m.artifact_type.empty() && m.config) m.artifact_type = m.config->media_type;
  if (auto a = j.find("annotations"); a != j.end() && !a->is_null()) {
    if (!a->is_object()) return Invalid("annotations must be an object");
    for (const auto& [k, v] : a->items()) {
      if (!v.is_string()) return Invalid("annotation " + k + " must be a string");
    }
    m.annotations_json = a->dump();
  }
  return m;
}

}  // namespace berth
