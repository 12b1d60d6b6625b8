// RemoteRegistryController: Harbor's /registries and /replication/adapters
// use cases: remote registry endpoints (secrets sealed at rest, never
// returned), ping and info through the replication adapter plugin of their
// type, and opening sessions for the replication job. System resource
// "registry" (administrators, or robots granted it).
#ifndef BERTH_REPLICATION_REMOTE_REGISTRY_CONTROLLER_H_
#define BERTH_REPLICATION_REMOTE_REGISTRY_CONTROLLER_H_

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "auth/access_evaluator.h"
#include "common/secret_box.h"
#include "plugin/plugin_replication.h"
#include "store/remote_registry_store.h"

namespace berth {

class RemoteRegistryController {
 public:
  RemoteRegistryController(RemoteRegistryStore& store, AccessEvaluator& ev, SecretBox secrets,
                           std::map<std::string, std::unique_ptr<PluginReplicationAdapter>> adapters)
      : store_(store), ev_(ev), secrets_(std::move(secrets)), adapters_(std::move(adapters)) {}

  StatusOr<int64_t> Create(const Identity& who, const nlohmann::json& body);
  StatusOr<RemoteRegistryRecord> Get(const Identity& who, int64_t id);
  StatusOr<Page<RemoteRegistryRecord>> List(const Identity& who, const ListQuery& q);
  Status Update(const Identity& who, int64_t id, const nlohmann::json& body);
  Status Delete(const Identity& who, int64_t id);
  // RegistryPing: an id (with overrides) or a full endpoint. 400 "unhealthy".
  Status Ping(const Identity& who, const nlohmann::json& body);
  // The adapter's RegistryInfo.
  StatusOr<nlohmann::json> Info(const Identity& who, int64_t id);
  StatusOr<std::vector<std::string>> Adapters(const Identity& who);
  StatusOr<nlohmann::json> AdapterInfos(const Identity& who);

  // For the replication job and policy checks (no RBAC): the record and an
  // open session. kNotFound naming the registry.
  StatusOr<RemoteRegistryRecord> Load(int64_t id);
  StatusOr<std::unique_ptr<ReplicationSession>> OpenSession(
      const RemoteRegistryRecord& r, const std::string& url_suffix = "",
      std::shared_ptr<std::atomic<bool>> cancel = nullptr);
  PluginReplicationAdapter* AdapterFor(const std::string& type);

 private:
  Status Require(const Identity& who, const char* action);
  StatusOr<RemoteEndpoint> Endpoint(const RemoteRegistryRecord& r);
  Status ApplyBody(const nlohmann::json& body, bool creating, RemoteRegistryRecord* r,
                   std::string* new_secret, bool* secret_given);

  RemoteRegistryStore& store_;
  AccessEvaluator& ev_;
  SecretBox secrets_;
  std::map<std::string, std::unique_ptr<PluginReplicationAdapter>> adapters_;
};

// Registry JSON in Harbor's shape, credential without the secret.
nlohmann::json RemoteRegistryJson(const RemoteRegistryRecord& r);

}  // namespace berth

#endif  // BERTH_REPLICATION_REMOTE_REGISTRY_CONTROLLER_H_
