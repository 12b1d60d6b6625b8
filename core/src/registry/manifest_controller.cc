#include "registry/manifest_controller.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/strings.h"
#include "registry/artifact_kind.h"
#include "registry/media_types.h"

namespace berth {

namespace {

Status ManifestUnknown(std::string msg = "manifest unknown to registry") {
  return Status::NotFound(std::move(msg), "MANIFEST_UNKNOWN");
}

bool Accepts(const std::vector<std::string>& accept, const std::string& mt) {
  if (accept.empty()) return true;
  for (const auto& a : accept) {
    if (a == mt || a == "*/*") return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> ParseAcceptList(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    for (const auto& part : Split(v, ',')) {
      std::string mt = BareMediaType(part);
      if (!mt.empty()) out.push_back(mt);
    }
  }
  return out;
}

ManifestController::ManifestController(RegistryStore& store, BlobStore& blobs, size_t cache_bytes)
    : store_(store), blobs_(blobs), cache_(cache_bytes) {}

StatusOr<PushedManifest> ManifestController::Put(std::string_view repo,
                                                 const ManifestReference& ref, std::string body,
                                                 std::string_view content_type,
                                                 const Actor& actor) {
  if (body.size() > kMaxManifestBytes) {
    return Status(Code::kTooLarge, "manifest exceeds the 4 MiB limit", "SIZE_INVALID");
  }
  Digest digest = Digest::Of(ref.is_digest ? ref.digest.algorithm : DigestAlgorithm::kSha256, body);
  if (ref.is_digest && !(digest == ref.digest)) {
    return Status::InvalidArgument("manifest digest " + digest.ToString() +
                                       " does not match the reference " + ref.digest.ToString(),
                                   "DIGEST_INVALID");
  }
  BERTH_ASSIGN_OR_RETURN(ParsedManifest parsed, ParseManifest(body, content_type));
  NewManifest m;
  m.repository = std::string(repo);
  m.digest = digest.ToString();
  m.media_type = parsed.media_type;
  m.artifact_type = parsed.artifact_type;
  m.manifest_size = static_cast<int64_t>(body.size());
  if (parsed.subject) m.subject_digest = parsed.subject->ToString();
  m.annotations_json = parsed.annotations_json;
  m.blobs = parsed.RequiredBlobs();
  for (const auto& c : parsed.manifests) m.children.push_back({c.digest.ToString(), c.platform_json});
  if (!ref.is_digest) m.tag = ref.tag;
  ArtifactKind kind = ClassifyArtifact(parsed, m.tag);
  m.type = kind.type;
  m.accessory_of = kind.accessory_of;
  m.accessory_type = kind.accessory_type;
  if (HasExtraAttrs(kind.type, parsed)) {
    // Read once here, so artifact lists never open config blobs. A config
    // that cannot be read is the blob check's to refuse, below.
    std::string config;
    if (blobs_.GetContent(parsed.config->digest, &config, kMaxConfigBytes).ok()) {
      m.extra_attrs_json = ExtraAttrs(kind.type, config);
    }
  }
  // Content first, metadata second: a crash in between leaves an unreferenced
  // object for GC, never metadata pointing at nothing. In a project with a
  // storage limit the store writes the content only once the quota admitted
  // the manifest.
  auto stored = store_.PutManifest(m, [&] { return blobs_.PutContent(digest, body); },
                                  [&] { return blobs_.CheckPresent(digest, "MANIFEST_BLOB_UNKNOWN"); });
  if (!stored.ok()) {
    if (stored.status().code() == Code::kPermissionDenied && on_refused_) {
      on_refused_(repo, m.digest, m.tag, actor, stored.status());
    }
    return stored.status();
  }
  ArtifactRecord rec = std::move(*stored);
  cache_.Put(m.digest, std::make_shared<const std::string>(std::move(body)));
  Emit({ArtifactEventKind::kPushed, std::string(repo), m.digest, m.media_type, m.tag, actor,
        NowUnixMillis(), m.accessory_of});
  return PushedManifest{std::move(rec), m.digest, parsed.subject};
}

StatusOr<std::shared_ptr<const std::string>> ManifestController::LoadBody(
    const ArtifactRecord& a) {
  if (auto hit = cache_.Get(a.digest)) return hit;
  BERTH_ASSIGN_OR_RETURN(Digest d, Digest::Parse(a.digest));
  std::string body;
  Status s = blobs_.GetContent(d, &body, kMaxManifestBytes);
  if (s.IsNotFound()) return ManifestUnknown("manifest content is missing from storage");
  BERTH_RETURN_IF_ERROR(s);
  auto shared = std::make_shared<const std::string>(std::move(body));
  cache_.Put(a.digest, shared);
  return shared;
}

StatusOr<ManifestContent> ManifestController::Get(std::string_view repo,
                                                  const ManifestReference& ref,
                                                  const std::vector<std::string>& accept,
                                                  const Actor* pulled_by) {
  auto result = Resolve(repo, ref, accept);
  if (result.ok() && pulled_by != nullptr) RecordPull(repo, ref, result->artifact, *pulled_by);
  return result;
}

void ManifestController::RecordPull(std::string_view repo, const ManifestReference& ref,
                                    const ArtifactRecord& artifact, const Actor& actor) {
  Emit({ArtifactEventKind::kPulled, std::string(repo), artifact.digest, artifact.media_type,
        ref.is_digest ? "" : ref.tag, actor, NowUnixMillis(), {}});
}

StatusOr<ManifestContent> ManifestController::Resolve(std::string_view repo,
                                                      const ManifestReference& ref,
                                                      const std::vector<std::string>& accept) {
  std::optional<ArtifactRecord> a;
  if (ref.is_digest) {
    BERTH_ASSIGN_OR_RETURN(a, store_.GetArtifactByDigest(repo, ref.digest.ToString()));
  } else {
    BERTH_ASSIGN_OR_RETURN(a, store_.GetArtifactByTag(repo, ref.tag));
  }
  if (!a) {
    BERTH_ASSIGN_OR_RETURN(auto r, store_.GetRepository(repo));
    if (!r) return Status::NotFound("repository name not known to registry", "NAME_UNKNOWN");
    return ManifestUnknown();
  }
  BERTH_ASSIGN_OR_RETURN(auto body, LoadBody(*a));
  if (Accepts(accept, a->media_type)) return ManifestContent{std::move(*a), std::move(body)};

  // A client that cannot read indexes gets the linux/amd64 image, as
  // distribution does.
  bool is_index = a->media_type == media_types::kOciIndex ||
                  a->media_type == media_types::kDockerManifestList;
  if (is_index) {
    auto j = nlohmann::json::parse(*body, nullptr, false);
    if (!j.is_discarded() && j.contains("manifests") && j["manifests"].is_array()) {
      // Members read as strings only when they are strings: ParseManifest
      // checks that a platform is an object, not what its members hold, and
      // value(key, "") throws on a non-string.
      auto str = [](const nlohmann::json& o, const char* key) {
        auto it = o.is_object() ? o.find(key) : o.end();
        return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
      };
      for (const auto& c : j["manifests"]) {
        if (!c.is_object()) continue;
        auto p = c.find("platform");
        if (p == c.end() || str(*p, "os") != "linux" || str(*p, "architecture") != "amd64") continue;
        if (!Accepts(accept, str(c, "mediaType"))) continue;
        BERTH_ASSIGN_OR_RETURN(auto child, store_.GetArtifactByDigest(repo, str(c, "digest")));
        if (!child) break;
        BERTH_ASSIGN_OR_RETURN(auto cbody, LoadBody(*child));
        return ManifestContent{std::move(*child), std::move(cbody)};
      }
    }
  }
  return ManifestUnknown("manifest is of type " + a->media_type +
                         ", which the request's Accept header does not allow");
}

Status ManifestController::Delete(std::string_view repo, const ManifestReference& ref,
                                  const Actor& actor) {
  if (!ref.is_digest) {
    BERTH_ASSIGN_OR_RETURN(auto a, store_.GetArtifactByTag(repo, ref.tag));
    BERTH_RETURN_IF_ERROR(store_.DeleteTag(repo, ref.tag));
    if (a) {
      Emit({ArtifactEventKind::kTagDeleted, std::string(repo), a->digest, a->media_type, ref.tag,
            actor, NowUnixMillis(), {}});
    }
    return {};
  }
  BERTH_ASSIGN_OR_RETURN(auto a, store_.GetArtifactByDigest(repo, ref.digest.ToString()));
  if (!a) return ManifestUnknown();
  Status s = store_.DeleteArtifact(repo, ref.digest.ToString());
  if (s.code() == Code::kNotFound && s.api_code() == "NAME_UNKNOWN") return ManifestUnknown();
  BERTH_RETURN_IF_ERROR(s);
  Emit({ArtifactEventKind::kDeleted, std::string(repo), a->digest, a->media_type, "", actor,
        NowUnixMillis(), {}});
  return {};
}

StatusOr<NamePage> ManifestController::Tags(std::string_view repo, std::string_view last,
                                            int64_t n) {
  return store_.ListTags(repo, last, n);
}

StatusOr<NamePage> ManifestController::Catalog(std::string_view last, int64_t n) {
  return store_.ListRepositories(last, n);
}

StatusOr<std::string> ManifestController::Referrers(std::string_view repo, const Digest& subject,
                                                    std::string_view artifact_type) {
  BERTH_ASSIGN_OR_RETURN(auto list, store_.ListReferrers(repo, subject.ToString(), artifact_type));
  nlohmann::json manifests = nlohmann::json::array();
  for (const auto& a : list) {
    nlohmann::json d = {{"mediaType", a.media_type}, {"digest", a.digest}, {"size", a.manifest_size}};
    if (!a.artifact_type.empty()) d["artifactType"] = a.artifact_type;
    if (!a.annotations_json.empty()) {
      auto ann = nlohmann::json::parse(a.annotations_json, nullptr, false);
      if (!ann.is_discarded()) d["annotations"] = ann;
    }
    manifests.push_back(std::move(d));
  }
  nlohmann::json index = {{"schemaVersion", 2},
                          {"mediaType", media_types::kOciIndex},
                          {"manifests", std::move(manifests)}};
  return index.dump();
}

}  // namespace berth
