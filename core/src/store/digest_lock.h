// Per-digest locks that serialise garbage collection's removal of a blob
// with every write that makes a blob reachable (link, manifest, touch). On
// PostgreSQL they are transaction-scoped advisory locks, so they hold across
// berthd nodes; on SQLite every write transaction already holds the single
// write lock, so there is nothing to take.
#ifndef BERTH_STORE_DIGEST_LOCK_H_
#define BERTH_STORE_DIGEST_LOCK_H_

#include <string>
#include <vector>

#include "store/sql.h"

namespace berth {

// Takes the locks in sorted order (no deadlock between two lockers).
Status LockDigests(SqlTransaction& tx, SqlDialect dialect, std::vector<std::string> digests);

}  // namespace berth

#endif  // BERTH_STORE_DIGEST_LOCK_H_
