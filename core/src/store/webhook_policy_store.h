// WebhookPolicyStore: Harbor's project webhook (notification) policies and
// the time each of their event types last fired. Policies reference their
// project with ON DELETE CASCADE, so they go with it.
#ifndef BERTH_STORE_WEBHOOK_POLICY_STORE_H_
#define BERTH_STORE_WEBHOOK_POLICY_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/list_query.h"
#include "store/sql.h"

namespace berth {

// Harbor's WebhookTargetObject.
struct WebhookTarget {
  std::string type;  // "http" | "slack"
  std::string address;
  std::string auth_header;
  bool skip_cert_verify = false;
  std::string payload_format;  // "Default" | "CloudEvents" for http, "" for slack
};

struct WebhookPolicyRecord {
  int64_t id = 0;
  std::string name;
  std::string description;
  int64_t project_id = 0;
  std::vector<WebhookTarget> targets;
  std::vector<std::string> event_types;
  std::string creator;
  bool enabled = true;
  int64_t creation_time = 0;  // unix millis
  int64_t update_time = 0;
};

class WebhookPolicyStore {
 public:
  explicit WebhookPolicyStore(SqlDatabase& db) : db_(db) {}

  // Sets id and times. kConflict when the project has a policy of that
  // name; kNotFound when the project is gone.
  StatusOr<WebhookPolicyRecord> Create(WebhookPolicyRecord p);
  StatusOr<std::optional<WebhookPolicyRecord>> Get(int64_t id);
  // The project's policies. Keys: id, name, enabled, creator,
  // creation_time, update_time. Default order: id.
  StatusOr<Page<WebhookPolicyRecord>> List(int64_t project_id, const ListQuery& q);
  // The enabled policies of the project named `project_name` (the first
  // component of a repository name), for the event fan-out.
  StatusOr<std::vector<WebhookPolicyRecord>> EnabledForProject(const std::string& project_name);
  // Replaces everything but id, project, creator and creation time.
  // kNotFound, or kConflict on a name taken.
  Status Update(const WebhookPolicyRecord& p);
  Status Delete(int64_t id);  // kNotFound

  // Records that `event_type` fired for the policy at `at_ms`.
  Status Triggered(int64_t policy_id, const std::string& event_type, int64_t at_ms);
  // event type -> last trigger time (unix millis), for one policy.
  StatusOr<std::map<std::string, int64_t>> LastTriggers(int64_t policy_id);

 private:
  SqlDatabase& db_;
};

}  // namespace berth

#endif  // BERTH_STORE_WEBHOOK_POLICY_STORE_H_
