// DistributionSession: a replication session over the distribution API
// (any registry: docker-registry, Harbor's and Berth's /v2). The harbor
// adapter derives from it for what Harbor's API does better (projects,
// artifacts with labels, tag deletion).
#ifndef BERTH_PLUGINS_DISTRIBUTION_SESSION_H_
#define BERTH_PLUGINS_DISTRIBUTION_SESSION_H_

#include <berth/plugin_sdk.hpp>

#include <nlohmann/json.hpp>

#include "distribution_client.h"

namespace berth::replication {

using berth::sdk::CallCtx;
using berth::sdk::Sink;

// A superset prefilter for Harbor's doublestar patterns: fnmatch without
// FNM_PATHNAME ('*' crosses '/'), skipped for brace alternatives. berthd
// applies the exact filters to what the adapter returns.
bool MayMatch(const std::string& pattern, const std::string& value);

// {"name": pattern, "tag": {pattern, decoration}} from the filters JSON.
struct Filters {
  std::string name;
  std::string tag;
  bool tag_excludes = false;
};
Filters ParseFilters(std::string_view json);

class DistributionSession : public berth::sdk::ReplicationSession {
 public:
  explicit DistributionSession(ClientOptions o) : c_(std::move(o)) {}

  Status HealthCheck(const CallCtx& call) override;
  Status PrepareForPush(const CallCtx&, std::string_view) override { return {}; }
  Status FetchArtifacts(const CallCtx& call, std::string_view filters_json, std::string* json) override;
  Status ListTags(const CallCtx& call, std::string_view repo, std::vector<std::string>* tags) override;
  Status ManifestExists(const CallCtx& call, std::string_view repo, std::string_view ref,
                        bool* exists, std::string* digest, std::string* media_type) override;
  Status PullManifest(const CallCtx& call, std::string_view repo, std::string_view ref,
                      std::string_view accept, std::string* media_type, std::string* body) override;
  Status PushManifest(const CallCtx& call, std::string_view repo, std::string_view ref,
                      std::string_view media_type, std::string_view body, std::string* digest) override;
  Status DeleteManifest(const CallCtx& call, std::string_view repo, std::string_view ref) override;
  Status BlobExists(const CallCtx& call, std::string_view repo, std::string_view digest,
                    bool* exists) override;
  Status PullBlob(const CallCtx& call, std::string_view repo, std::string_view digest, int64_t offset,
                  int64_t length, Sink& out, int64_t* total_size) override;
  Status PushBlob(const CallCtx& call, std::string_view repo, std::string_view digest, int64_t size,
                  berth::sdk::BlobSource& source) override;
  Status MountBlob(const CallCtx& call, std::string_view from, std::string_view digest,
                   std::string_view to) override;
  // The distribution API cannot remove one tag: the manifest it names goes
  // (with any other tag on it), as Harbor's native adapter does.
  Status DeleteTag(const CallCtx& call, std::string_view repo, std::string_view tag) override;

 protected:
  // Artifacts of one repository as Harbor's resource artifacts, tags
  // filtered; digests from HEAD of each tag.
  Status RepositoryArtifacts(const std::string& repo, const Filters& f, nlohmann::json* artifacts);
  DistributionClient& client(const CallCtx& call) {
    c_.set_cancel(&call);
    return c_;
  }
  DistributionClient c_;
};

}  // namespace berth::replication

#endif  // BERTH_PLUGINS_DISTRIBUTION_SESSION_H_
