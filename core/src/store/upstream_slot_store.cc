#include "store/upstream_slot_store.h"

namespace berth {

StatusOr<int64_t> UpstreamSlotStore::Take(int64_t project_id, int64_t limit, int64_t now_ms,
                                          int64_t ttl_ms) {
  int64_t id = 0;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    id = 0;
    // The count and the insert must not interleave with another node's:
    // SQLite's write transaction is exclusive already; PostgreSQL takes a
    // lock per project.
    if (db_.dialect() == SqlDialect::kPostgres) {
      auto l = tx.Exec("SELECT pg_advisory_xact_lock(7324300, hashtext($1))",
                       {SqlText(std::to_string(project_id))});
      if (!l.ok()) return l.status();
    }
    auto expired = tx.Exec("DELETE FROM upstream_slot WHERE project_id = $1 AND taken_at < $2",
                           {SqlInt(project_id), SqlInt(now_ms - ttl_ms)});
    if (!expired.ok()) return expired.status();
    auto held = tx.Exec("SELECT COUNT(*) FROM upstream_slot WHERE project_id = $1",
                        {SqlInt(project_id)});
    if (!held.ok()) return held.status();
    if (held->rows.at(0).Int(0) >= limit) return {};
    auto r = tx.Exec("INSERT INTO upstream_slot (project_id, taken_at) VALUES ($1, $2) RETURNING id",
                     {SqlInt(project_id), SqlInt(now_ms)});
    if (!r.ok()) return r.status();
    id = r->rows.at(0).Int(0);
    return {};
  }));
  return id;
}

Status UpstreamSlotStore::Give(int64_t slot_id) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    return tx.Exec("DELETE FROM upstream_slot WHERE id = $1", {SqlInt(slot_id)}).status();
  });
}

}  // namespace berth
