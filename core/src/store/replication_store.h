// ReplicationStore: replication policies and the tasks of their executions.
// An execution is the REPLICATION job of the job service (id, status,
// trigger, times); each task is one artifact copied or one deletion
// propagated, with its status, bytes moved and log.
#ifndef BERTH_STORE_REPLICATION_STORE_H_
#define BERTH_STORE_REPLICATION_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/list_query.h"
#include "store/sql.h"

namespace berth {

struct ReplicationPolicyRecord {
  int64_t id = 0;
  std::string name;
  int64_t src_registry_id = 0;   // 0: this Berth
  int64_t dest_registry_id = 0;  // 0: this Berth
  bool enabled = true;
  std::string policy_json;  // the rest of Harbor's ReplicationPolicy
  int64_t creation_time = 0;
  int64_t update_time = 0;
};

struct ReplicationTaskRecord {
  int64_t id = 0;
  int64_t execution_id = 0;
  int64_t policy_id = 0;
  std::string resource_type;  // "image", "artifact"
  std::string operation;      // "copy", "deletion"
  std::string src_resource;   // repo:tag or repo@digest
  std::string dst_resource;
  std::string status;         // Pending, Running, Success, Error, Stopped
  int64_t start_time = 0;
  int64_t end_time = 0;
  int64_t bytes = 0;
  int64_t update_time = 0;
};

struct NewReplicationTask {
  std::string resource_type;
  std::string operation;
  std::string src_resource;
  std::string dst_resource;
};

struct TaskCounts {
  int64_t total = 0, failed = 0, succeed = 0, in_progress = 0, stopped = 0;
};

class ReplicationStore {
 public:
  explicit ReplicationStore(SqlDatabase& db) : db_(db) {}

  // kConflict when the name is taken.
  StatusOr<int64_t> CreatePolicy(const ReplicationPolicyRecord& p);
  StatusOr<std::optional<ReplicationPolicyRecord>> GetPolicy(int64_t id);
  // q keys: name; sort by id, name, creation_time.
  StatusOr<Page<ReplicationPolicyRecord>> ListPolicies(const ListQuery& q);
  StatusOr<std::vector<ReplicationPolicyRecord>> EnabledPolicies();
  Status UpdatePolicy(const ReplicationPolicyRecord& p);
  // Deletes the policy and its tasks. kNotFound.
  Status DeletePolicy(int64_t id);

  // Adds the tasks not yet in the execution (a run taken over after a crash
  // keeps the tasks it has). Returns every task of the execution, by id.
  StatusOr<std::vector<ReplicationTaskRecord>> EnsureTasks(
      int64_t execution_id, int64_t policy_id, const std::vector<NewReplicationTask>& tasks);
  // Filters: status, resource_type ("" = any).
  StatusOr<Page<ReplicationTaskRecord>> ListTasks(int64_t execution_id, const std::string& status,
                                                  const std::string& resource_type,
                                                  const ListQuery& q);
  StatusOr<std::optional<ReplicationTaskRecord>> GetTask(int64_t id);
  StatusOr<std::string> TaskLog(int64_t id);
  // Writes status, times, bytes and (unless nullptr) the log.
  Status UpdateTask(const ReplicationTaskRecord& t, const std::string* log);
  // Counts per execution, for the executions listed.
  StatusOr<std::map<int64_t, TaskCounts>> Counts(const std::vector<int64_t>& execution_ids);
  // Pending and Running tasks of the execution become Stopped.
  Status StopUnfinished(int64_t execution_id, int64_t now);
  // Drops the tasks of executions the job service pruned.
  StatusOr<int64_t> PruneOrphanTasks();

 private:
  SqlDatabase& db_;
};

}  // namespace berth

#endif  // BERTH_STORE_REPLICATION_STORE_H_
