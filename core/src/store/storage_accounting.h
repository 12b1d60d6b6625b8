// Project storage accounting, inside the transactions that change what a
// project references. Internal to core/src/store: RegistryStore, ProjectStore
// and QuotaStore call these with their open transaction.
//
// What a project is charged for (its "references"), by digest, once per
// project however many repositories hold it:
//   * every blob an artifact of the project uses (artifact_blob),
//   * every manifest of the project (artifact.digest, manifest_size bytes),
//   * every blob uploaded or mounted into one of its repositories that no
//     manifest of that repository has claimed yet (blob_pending), while the
//     repository still links it.
// project_blob materialises that set and quota.used_storage is its sum. Each
// transaction that changes one of the three sources locks the project's quota
// row first and then reconciles the digests it touched, so usage equals a
// from-scratch Recount() at every commit, on SQLite and PostgreSQL alike.
#ifndef BERTH_STORE_STORAGE_ACCOUNTING_H_
#define BERTH_STORE_STORAGE_ACCOUNTING_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "store/sql.h"

namespace berth {
namespace accounting {

// The quota row of a project, as locked by this transaction.
struct LockedQuota {
  int64_t id = 0;
  int64_t project_id = 0;
  int64_t hard = -1;  // bytes; -1 = unlimited
  int64_t used = 0;   // kept current by Reconcile
};

struct RecountResult {
  int64_t project_id = 0;
  int64_t previous_used = 0;  // what the quota said before
  int64_t used = 0;           // what the project references
  int64_t blob_count = 0;     // distinct digests charged
};

// The project a repository belongs to: its row's project when it exists, else
// the project named by its first path component; 0 when there is none.
StatusOr<int64_t> ProjectOfRepository(SqlTransaction& tx, std::string_view repo);

// The hard storage limit of the project (-1 when unlimited or without quota).
StatusOr<int64_t> HardLimit(SqlTransaction& tx, int64_t project_id);

// Locks the project's quota row until the transaction ends, creating it
// (unlimited, usage recounted) when missing. nullopt for project 0.
StatusOr<std::optional<LockedQuota>> Lock(SqlTransaction& tx, SqlDialect dialect,
                                          int64_t project_id);

// Brings project_blob and the usage in line with the project's references for
// `digests`, which the caller's transaction has just changed. With `enforce`,
// a net increase that takes the usage past the hard limit fails with
// QuotaExceeded (the caller must then roll back). Returns the change in bytes.
StatusOr<int64_t> Reconcile(SqlTransaction& tx, LockedQuota& q,
                            const std::set<std::string>& digests, bool enforce);

// Recomputes everything the project is charged for from the sources and
// repairs project_blob and the usage. The quota row must be locked.
StatusOr<RecountResult> Recount(SqlTransaction& tx, LockedQuota& q);

// Creates the quota row of a new project and charges what its repositories
// already hold (repositories adopted at creation).
StatusOr<LockedQuota> CreateProjectQuota(SqlTransaction& tx, SqlDialect dialect,
                                         int64_t project_id, int64_t hard);
// Drops the quota row and the charged blobs of a deleted project.
Status DeleteProjectQuota(SqlTransaction& tx, int64_t project_id);

// Harbor's 403 DENIED for a push that would exceed the limit.
Status QuotaExceeded(int64_t adding, int64_t used, int64_t hard);

// 1536 -> "1.5 KiB" (as Harbor renders sizes, binary units).
std::string FormatBytes(int64_t bytes);

}  // namespace accounting
}  // namespace berth

#endif  // BERTH_STORE_STORAGE_ACCOUNTING_H_
