// Harbor's replication policy (src/pkg/replication/model): what to copy
// (filters), from where to where (one side is this Berth, registry id 0),
// when (trigger), and how (destination namespace, override, speed, chunks,
// deletions). Parsing validates as Harbor's policy.Validate does.
#ifndef BERTH_REPLICATION_REPLICATION_POLICY_H_
#define BERTH_REPLICATION_REPLICATION_POLICY_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"

namespace berth {

struct ReplicationFilter {
  std::string type;        // name, tag, label, resource
  std::string value;       // name, tag, resource
  std::vector<std::string> labels;  // label
  std::string decoration;  // matches, excludes ("" = matches)
};

struct ReplicationPolicy {
  int64_t id = 0;
  std::string name;
  std::string description;
  int64_t src_registry_id = 0;   // 0: this Berth (push-based)
  int64_t dest_registry_id = 0;  // 0: this Berth (pull-based)
  std::string dest_namespace;
  int dest_namespace_replace_count = -1;
  std::string trigger = "manual";  // manual, scheduled, event_based
  std::string cron;
  std::vector<ReplicationFilter> filters;
  bool replicate_deletion = false;
  bool override_ = true;
  bool enabled = true;
  int64_t speed_kb = -1;  // per task, KB/s; <= 0: unlimited
  bool copy_by_chunk = false;
  bool single_active_replication = false;
  int64_t creation_time = 0;
  int64_t update_time = 0;

  bool push_based() const { return src_registry_id == 0; }
};

// From a ReplicationPolicy body; 400 naming the field. Registry ids are read
// from src_registry.id / dest_registry.id (absent or 0: this Berth).
StatusOr<ReplicationPolicy> ParseReplicationPolicy(const nlohmann::json& body);
// What the store keeps besides name, registries and enabled.
std::string StoredPolicyJson(const ReplicationPolicy& p);
StatusOr<ReplicationPolicy> PolicyFromStored(int64_t id, const std::string& name,
                                             int64_t src, int64_t dest, bool enabled,
                                             const std::string& json, int64_t created,
                                             int64_t updated);

// The destination repository for `repository` (Harbor's replaceNamespace):
// with no namespace the same; count -1 (legacy) namespace + last component;
// otherwise the first `count` components replaced by the namespace.
StatusOr<std::string> DestinationRepository(const ReplicationPolicy& p,
                                            const std::string& repository);

// The filters of a kind.
const ReplicationFilter* FindFilter(const ReplicationPolicy& p, const std::string& type);

}  // namespace berth

#endif  // BERTH_REPLICATION_REPLICATION_POLICY_H_
