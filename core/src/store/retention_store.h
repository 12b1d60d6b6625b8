// RetentionStore: tag-retention policies (one per project, going with it)
// and the tasks of their executions. An execution is the RETENTION job of
// the job service (its id, status, trigger and times); each task is one
// repository of it, with its counts and its log (Harbor's task log).
#ifndef BERTH_STORE_RETENTION_STORE_H_
#define BERTH_STORE_RETENTION_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/list_query.h"
#include "store/sql.h"

namespace berth {

struct RetentionPolicyRecord {
  int64_t id = 0;
  int64_t project_id = 0;
  std::string policy_json;  // RetentionPolicyJson without the id
  int64_t creation_time = 0;
  int64_t update_time = 0;
};

struct RetentionTaskRecord {
  int64_t id = 0;
  int64_t execution_id = 0;  // the RETENTION job
  int64_t policy_id = 0;
  std::string repository;    // full name (project/repo)
  std::string status;        // Pending, Running, Success, Error, Stopped
  int64_t start_time = 0;
  int64_t end_time = 0;
  int64_t total = 0;
  int64_t retained = 0;
  int64_t update_time = 0;
};

class RetentionStore {
 public:
  explicit RetentionStore(SqlDatabase& db) : db_(db) {}

  // Creates the policy and sets the project's retention_id metadata in the
  // same transaction. kNotFound when the project is gone; kConflict when it
  // has a policy already.
  StatusOr<int64_t> CreatePolicy(int64_t project_id, const std::string& policy_json);
  StatusOr<std::optional<RetentionPolicyRecord>> GetPolicy(int64_t id);
  // kNotFound.
  Status UpdatePolicy(int64_t id, const std::string& policy_json);
  // Deletes the policy, its tasks and the project's retention_id. kNotFound.
  Status DeletePolicy(int64_t id);

  // Adds a Pending task per repository not yet in the execution (a run
  // taken over after a crash keeps the tasks it has). Returns every task of
  // the execution, by id.
  StatusOr<std::vector<RetentionTaskRecord>> EnsureTasks(int64_t execution_id, int64_t policy_id,
                                                         const std::vector<std::string>& repos);
  StatusOr<Page<RetentionTaskRecord>> ListTasks(int64_t execution_id, const ListQuery& q);
  StatusOr<std::optional<RetentionTaskRecord>> GetTask(int64_t id);
  StatusOr<std::string> TaskLog(int64_t id);
  // Writes status, times, counts and (unless nullptr) the log.
  Status UpdateTask(const RetentionTaskRecord& t, const std::string* log);
  // Pending and Running tasks of the execution become Stopped.
  Status StopUnfinished(int64_t execution_id, int64_t now);

 private:
  SqlDatabase& db_;
};

}  // namespace berth

#endif  // BERTH_STORE_RETENTION_STORE_H_
