// AuditStore: who did what to which resource, when, and with what result.
#ifndef BERTH_STORE_AUDIT_STORE_H_
#define BERTH_STORE_AUDIT_STORE_H_

#include <cstdint>
#include <string>

#include "store/list_query.h"
#include "store/sql.h"

namespace berth {

struct AuditRecord {
  int64_t id = 0;
  int64_t project_id = 0;
  std::string username;
  std::string resource;       // e.g. "library/nginx:1.25", "alice"
  std::string resource_type;  // artifact, repository, project, user, robot, member, login
  std::string operation;      // create, delete, push, pull, login, update
  std::string operation_result;  // "success" | "failure"
  int64_t op_time = 0;        // unix millis
  std::string project_name;   // resolves project_id when that is 0 (not stored)
};

class AuditStore {
 public:
  explicit AuditStore(SqlDatabase& db) : db_(db) {}
  Status Add(const AuditRecord& r);
  // Many records in one transaction.
  Status AddBatch(const std::vector<AuditRecord>& records);
  // Keys: username, resource, resource_type, operation, operation_result,
  // op_time (unix millis), project_id.
  StatusOr<Page<AuditRecord>> List(const ListQuery& q, const std::vector<int64_t>* project_ids);
  // Deletes (or with dry_run counts) entries older than the cutoff whose
  // operation is one of `operations` (every operation when empty).
  StatusOr<int64_t> Purge(int64_t before_unix_millis, const std::vector<std::string>& operations,
                          bool dry_run);

 private:
  SqlDatabase& db_;
};

}  // namespace berth

#endif  // BERTH_STORE_AUDIT_STORE_H_
