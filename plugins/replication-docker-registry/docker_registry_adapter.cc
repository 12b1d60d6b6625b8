// replication-docker-registry: Harbor's "docker-registry" adapter. Any
// registry speaking the distribution API: catalog and tags list for
// fetch_artifacts (name and tag filters), every OCI and Docker manifest type
// (indexes with their children, copied by berthd), blob HEAD/mount/upload
// (chunked when the policy says copy_by_chunk), Basic and Bearer token auth.
#include <berth/plugin_sdk.hpp>

#include "distribution_session.h"

namespace {

using berth::replication::DistributionSession;
using berth::replication::OptionsFromEndpoint;
using berth::sdk::CallCtx;
using berth::sdk::Host;
using berth::sdk::RegistryEndpoint;
using berth::sdk::ReplicationSession;
using berth::sdk::Status;

constexpr char kSchema[] = R"json({"type": "object", "additionalProperties": false})json";

class DockerRegistryAdapter : public berth::sdk::ReplicationAdapter {
 public:
  static Status Create(const Host&, std::string_view, std::unique_ptr<DockerRegistryAdapter>* out) {
    out->reset(new DockerRegistryAdapter());
    return {};
  }
  Status Info(const CallCtx&, std::string* json) override {
    *json = R"json({"type": "docker-registry",
      "description": "Any registry speaking the distribution (OCI) API",
      "supported_resource_filters": [{"type": "name", "style": "input"},
                                     {"type": "tag", "style": "input"}],
      "supported_triggers": ["manual", "scheduled"],
      "supported_copy_by_chunk": true})json";
    return {};
  }
  Status Open(const CallCtx&, const RegistryEndpoint& ep,
              std::unique_ptr<ReplicationSession>* out) override {
    if (ep.url.empty()) return Status::InvalidArgument("the registry URL is empty");
    out->reset(new DistributionSession(OptionsFromEndpoint(ep)));
    return {};
  }
};

const berth_provider kDockerRegistry = berth::sdk::MakeReplicationProvider<DockerRegistryAdapter>(
    {"docker-registry", "Replication to and from any distribution-API registry", kSchema, 0,
     BERTH_THREADING_REENTRANT});

}  // namespace

BERTH_PLUGIN("replication-docker-registry", "1.0.0", "Docker registry replication adapter",
             &kDockerRegistry)
