#include "distribution_session.h"

#include <fnmatch.h>

#include <map>
#include <set>

namespace berth::replication {

bool MayMatch(const std::string& pattern, const std::string& value) {
  if (pattern.empty() || pattern.find('{') != std::string::npos) return true;
  return fnmatch(pattern.c_str(), value.c_str(), 0) == 0;
}

Filters ParseFilters(std::string_view json) {
  Filters f;
  auto a = nlohmann::json::parse(json.empty() ? std::string_view("[]") : json, nullptr, false);
  if (!a.is_array()) return f;
  for (const auto& x : a) {
    if (!x.is_object() || !x.contains("value") || !x["value"].is_string()) continue;
    std::string type = x.value("type", "");
    if (type == "name") f.name = x["value"];
    if (type == "tag") {
      f.tag = x["value"];
      f.tag_excludes = x.value("decoration", "") == "excludes";
    }
  }
  return f;
}

Status DistributionSession::HealthCheck(const CallCtx& call) { return client(call).Ping(); }

Status DistributionSession::RepositoryArtifacts(const std::string& repo, const Filters& f,
                                                nlohmann::json* artifacts) {
  std::vector<std::string> tags;
  Status s = c_.Tags(repo, &tags);
  if (!s.ok()) return s;
  std::map<std::string, std::vector<std::string>> by_digest;
  std::vector<std::string> order;
  for (const auto& t : tags) {
    if (!f.tag.empty() && !f.tag_excludes && !MayMatch(f.tag, t)) continue;
    bool exists = false;
    std::string digest, mt;
    s = c_.HeadManifest(repo, t, &exists, &digest, &mt);
    if (!s.ok()) return s;
    if (!exists || digest.empty()) continue;
    if (!by_digest.count(digest)) order.push_back(digest);
    by_digest[digest].push_back(t);
  }
  for (const auto& d : order) {
    artifacts->push_back({{"digest", d}, {"tags", by_digest[d]}, {"labels", nlohmann::json::array()}});
  }
  // cosign's tag scheme (sha256-<hex>.sig/.att/.sbom) names the accessories
  // of a listed digest: they follow it whatever the tag filter says, and
  // theirs in turn. (distribution 2.8 has no referrers API to ask.)
  std::set<std::string> all(tags.begin(), tags.end());
  for (size_t i = 0; i < order.size(); ++i) {
    const std::string subject = order[i];
    if (subject.rfind("sha256:", 0) != 0) continue;
    for (const char* suffix : {".sig", ".att", ".sbom"}) {
      std::string t = "sha256-" + subject.substr(7) + suffix;
      if (!all.count(t)) continue;
      bool exists = false;
      std::string digest, mt;
      s = c_.HeadManifest(repo, t, &exists, &digest, &mt);
      if (!s.ok()) return s;
      if (!exists || digest.empty() || by_digest.count(digest)) continue;
      by_digest[digest] = {t};
      order.push_back(digest);
      artifacts->push_back({{"digest", digest},
                            {"tags", {t}},
                            {"labels", nlohmann::json::array()},
                            {"accessory_of", subject}});
    }
  }
  return {};
}

Status DistributionSession::FetchArtifacts(const CallCtx& call, std::string_view filters_json,
                                           std::string* json) {
  Filters f = ParseFilters(filters_json);
  DistributionClient& c = client(call);
  std::vector<std::string> repos;
  bool literal = !f.name.empty() && f.name.find_first_of("*?[{") == std::string::npos;
  if (literal) {
    repos.push_back(f.name);  // no catalog needed (registries may not offer one)
  } else {
    Status s = c.Catalog(&repos);
    if (!s.ok()) return s;
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : repos) {
    if (!MayMatch(f.name, r)) continue;
    nlohmann::json arts = nlohmann::json::array();
    Status s = RepositoryArtifacts(r, f, &arts);
    if (!s.ok()) return s;
    if (arts.empty()) continue;
    out.push_back({{"type", "image"},
                   {"metadata", {{"repository", {{"name", r}}}, {"artifacts", arts}}}});
  }
  *json = out.dump();
  return {};
}

Status DistributionSession::ListTags(const CallCtx& call, std::string_view repo,
                                     std::vector<std::string>* tags) {
  return client(call).Tags(std::string(repo), tags);
}

Status DistributionSession::ManifestExists(const CallCtx& call, std::string_view repo,
                                           std::string_view ref, bool* exists, std::string* digest,
                                           std::string* media_type) {
  return client(call).HeadManifest(std::string(repo), std::string(ref), exists, digest, media_type);
}

Status DistributionSession::PullManifest(const CallCtx& call, std::string_view repo,
                                         std::string_view ref, std::string_view accept,
                                         std::string* media_type, std::string* body) {
  return client(call).GetManifest(std::string(repo), std::string(ref), std::string(accept),
                                  media_type, body);
}

Status DistributionSession::PushManifest(const CallCtx& call, std::string_view repo,
                                         std::string_view ref, std::string_view media_type,
                                         std::string_view body, std::string* digest) {
  return client(call).PutManifest(std::string(repo), std::string(ref), std::string(media_type),
                                  std::string(body), digest);
}

Status DistributionSession::DeleteManifest(const CallCtx& call, std::string_view repo,
                                           std::string_view ref) {
  return client(call).DeleteManifest(std::string(repo), std::string(ref));
}

Status DistributionSession::BlobExists(const CallCtx& call, std::string_view repo,
                                       std::string_view digest, bool* exists) {
  return client(call).BlobExists(std::string(repo), std::string(digest), exists);
}

Status DistributionSession::PullBlob(const CallCtx& call, std::string_view repo,
                                     std::string_view digest, int64_t offset, int64_t length,
                                     Sink& out, int64_t* total_size) {
  Status sink_error;
  Status s = client(call).GetBlob(std::string(repo), std::string(digest), offset, length,
                                  [&](const char* d, size_t n) {
                                    sink_error = out.Append(d, n);
                                    return sink_error.ok();
                                  },
                                  total_size);
  return sink_error.ok() ? s : sink_error;
}

Status DistributionSession::PushBlob(const CallCtx& call, std::string_view repo,
                                     std::string_view digest, int64_t size,
                                     berth::sdk::BlobSource& source) {
  return client(call).PushBlob(std::string(repo), std::string(digest), size,
                               [&](char* buf, size_t cap, size_t* n) { return source.Read(buf, cap, n); });
}

Status DistributionSession::MountBlob(const CallCtx& call, std::string_view from,
                                      std::string_view digest, std::string_view to) {
  return client(call).MountBlob(std::string(from), std::string(digest), std::string(to));
}

Status DistributionSession::DeleteTag(const CallCtx& call, std::string_view repo, std::string_view tag) {
  return client(call).DeleteManifest(std::string(repo), std::string(tag));
}

}  // namespace berth::replication
