// PreheatStore: Harbor's P2P preheat state — provider instances (system
// wide), preheat policies (per project, ON DELETE CASCADE with it) and the
// per-artifact tasks of their executions (an execution is a P2P_PREHEAT job).
#ifndef BERTH_STORE_PREHEAT_STORE_H_
#define BERTH_STORE_PREHEAT_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/secret_box.h"
#include "store/list_query.h"
#include "store/sql.h"

namespace berth {

// Harbor's provider Instance.
struct PreheatInstanceRecord {
  int64_t id = 0;
  std::string name;
  std::string description;
  std::string vendor;    // the preheat provider's name: "dragonfly", "kraken"
  std::string endpoint;
  std::string auth_mode = "NONE";  // NONE | BASIC | OAUTH | CUSTOM
  std::string auth_data = "{}";    // JSON object of strings; never sent back in clear
  bool enabled = true;
  bool is_default = false;
  bool insecure = false;
  int64_t setup_timestamp = 0;  // unix seconds
};

// Harbor's PreheatPolicy; filters, trigger and extra_attrs are JSON text as
// the API carries them.
struct PreheatPolicyRecord {
  int64_t id = 0;
  std::string name;
  std::string description;
  int64_t project_id = 0;
  int64_t provider_id = 0;
  std::string filters;
  std::string trigger;
  std::string scope = "single_peer";
  std::string extra_attrs;
  bool enabled = true;
  int64_t creation_time = 0;  // unix millis
  int64_t update_time = 0;
};

// One artifact (by tag) of one execution.
struct PreheatTaskRecord {
  int64_t id = 0;
  int64_t execution_id = 0;
  int64_t policy_id = 0;
  std::string repository;  // full name, "library/app"
  std::string tag;
  std::string digest;
  std::string status = "Pending";  // Pending | Running | Success | Error | Stopped
  std::string status_message;
  std::string provider_task_id;
  int run_count = 0;
  int64_t creation_time = 0;
  int64_t start_time = 0;
  int64_t end_time = 0;
  int64_t update_time = 0;
};

struct PreheatTaskSpec {
  std::string repository;
  std::string tag;
  std::string digest;
};

class PreheatStore {
 public:
  explicit PreheatStore(SqlDatabase& db) : db_(db) {}
  // Instances' auth_data is sealed with `box` when set (it must outlive the
  // store); callers always see it in clear. A row that no longer opens (the
  // key changed) reads as no credentials: set them again with PUT.
  void set_secret_box(const SecretBox* box) { box_ = box; }

  // Sets id. kConflict on a name taken. A default instance makes the others
  // non-default (Harbor keeps one default).
  StatusOr<PreheatInstanceRecord> CreateInstance(PreheatInstanceRecord r);
  StatusOr<std::optional<PreheatInstanceRecord>> GetInstance(int64_t id);
  StatusOr<std::optional<PreheatInstanceRecord>> GetInstanceByName(const std::string& name);
  // Keys: id, name, vendor, endpoint, enabled, default, auth_mode,
  // setup_timestamp. Default order: id.
  StatusOr<Page<PreheatInstanceRecord>> ListInstances(const ListQuery& q);
  StatusOr<std::vector<PreheatInstanceRecord>> AllInstances();
  // kNotFound; kConflict on a name taken.
  Status UpdateInstance(const PreheatInstanceRecord& r);
  // kNotFound; kPreconditionFailed while policies use it.
  Status DeleteInstance(int64_t id);

  // Sets id and times. kConflict on a name taken in the project.
  StatusOr<PreheatPolicyRecord> CreatePolicy(PreheatPolicyRecord p);
  StatusOr<std::optional<PreheatPolicyRecord>> GetPolicy(int64_t id);
  StatusOr<std::optional<PreheatPolicyRecord>> GetPolicyByName(int64_t project_id,
                                                               const std::string& name);
  // Keys: id, name, enabled, provider_id, creation_time, update_time.
  StatusOr<Page<PreheatPolicyRecord>> ListPolicies(int64_t project_id, const ListQuery& q);
  // The enabled policies of the project named `project_name`.
  StatusOr<std::vector<PreheatPolicyRecord>> EnabledForProject(const std::string& project_name);
  Status UpdatePolicy(const PreheatPolicyRecord& p);  // kNotFound, kConflict
  Status DeletePolicy(int64_t id);                    // kNotFound

  // Creates the execution's tasks once (a retried run finds them) and
  // returns them all, in id order.
  StatusOr<std::vector<PreheatTaskRecord>> EnsureTasks(int64_t execution_id, int64_t policy_id,
                                                       const std::vector<PreheatTaskSpec>& specs);
  StatusOr<std::vector<PreheatTaskRecord>> TasksOf(int64_t execution_id);
  // Keys: id, status, repository, tag, digest. Default order: id.
  StatusOr<Page<PreheatTaskRecord>> ListTasks(int64_t execution_id, const ListQuery& q);
  StatusOr<std::optional<PreheatTaskRecord>> GetTask(int64_t id);
  StatusOr<std::string> TaskLog(int64_t id);
  // Writes status, message, provider id, counters and times; and the log
  // when `log` is set.
  Status UpdateTask(const PreheatTaskRecord& t, const std::string* log);
  // Pending and Running tasks of the execution become Stopped.
  Status StopUnfinished(int64_t execution_id, int64_t now);
  // execution id -> status -> count.
  StatusOr<std::map<int64_t, std::map<std::string, int64_t>>> TaskCounts(
      const std::vector<int64_t>& execution_ids);

 private:
  std::string SealAuth(const std::string& auth_data) const;
  void OpenAuth(PreheatInstanceRecord& r) const;

  SqlDatabase& db_;
  const SecretBox* box_ = nullptr;
};

}  // namespace berth

#endif  // BERTH_STORE_PREHEAT_STORE_H_
