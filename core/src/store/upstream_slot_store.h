// UpstreamSlotStore: the upstream connections proxy-cache projects hold,
// counted across every node that shares the database, so a project's
// max_upstream_conn limits the cluster and not each node (Harbor counts them
// in Redis). A slot is one row; a node that dies holding slots leaves rows
// that stop counting once they are older than the time-to-live.
#ifndef BERTH_STORE_UPSTREAM_SLOT_STORE_H_
#define BERTH_STORE_UPSTREAM_SLOT_STORE_H_

#include <cstdint>

#include "store/sql.h"

namespace berth {

class UpstreamSlotStore {
 public:
  explicit UpstreamSlotStore(SqlDatabase& db) : db_(db) {}

  // Takes a slot of the project when fewer than `limit` taken since
  // `now_ms - ttl_ms` are held; returns its id, or 0 when all are taken.
  // Expired slots of the project are deleted on the way.
  StatusOr<int64_t> Take(int64_t project_id, int64_t limit, int64_t now_ms, int64_t ttl_ms);
  // Gives a slot back (an unknown id is no error: it expired and went).
  Status Give(int64_t slot_id);

 private:
  SqlDatabase& db_;
};

}  // namespace berth

#endif  // BERTH_STORE_UPSTREAM_SLOT_STORE_H_
