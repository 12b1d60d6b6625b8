// QuotaStore: Harbor's quota records (one per project: a hard storage limit
// and the usage), the from-scratch recount, and the release of stale pending
// blobs. Usage itself is maintained by the stores whose transactions change
// references (RegistryStore, ProjectStore); see store/storage_accounting.h.
#ifndef BERTH_STORE_QUOTA_STORE_H_
#define BERTH_STORE_QUOTA_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/list_query.h"
#include "store/sql.h"
#include "store/storage_accounting.h"

namespace berth {

struct QuotaRecord {
  int64_t id = 0;
  std::string reference;       // "project"
  int64_t reference_id = 0;    // the project's id
  std::string ref_name;        // the project's name
  std::string ref_owner_name;  // its owner's username ("" when none)
  int64_t hard_storage = -1;   // bytes; -1 = unlimited
  int64_t used_storage = 0;    // bytes
  int64_t creation_time = 0;   // unix millis
  int64_t update_time = 0;
};

using QuotaRecount = accounting::RecountResult;

class QuotaStore {
 public:
  explicit QuotaStore(SqlDatabase& db) : db_(db) {}

  // Keys: reference, reference_id, id, hard.storage, used.storage,
  // creation_time, update_time (unlimited sorts above every number).
  StatusOr<Page<QuotaRecord>> List(const ListQuery& q);
  StatusOr<std::optional<QuotaRecord>> Get(int64_t id);
  StatusOr<std::optional<QuotaRecord>> GetByProject(int64_t project_id);
  // kNotFound when there is no such quota.
  Status SetHardStorage(int64_t id, int64_t hard);

  // Recounts what the project references from the registry tables and repairs
  // its charged blobs and usage (under the quota lock, so pushes wait for it).
  // kNotFound when the project does not exist.
  StatusOr<QuotaRecount> Recount(int64_t project_id);
  // The ids of the projects that have a quota, ascending.
  StatusOr<std::vector<int64_t>> ProjectIds();
  // Forgets pending blobs linked before `before_unix_millis` that no manifest
  // has claimed (failed or abandoned pushes), giving their quota back; the
  // links stay, so a late manifest still finds them (and is charged then).
  // Returns how many were released.
  StatusOr<int64_t> ReleaseStalePending(int64_t before_unix_millis);

 private:
  SqlDatabase& db_;
};

}  // namespace berth

#endif  // BERTH_STORE_QUOTA_STORE_H_
