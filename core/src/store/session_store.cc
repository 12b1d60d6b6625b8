#include "store/session_store.h"

namespace berth {

Status SessionStore::Create(const SessionRecord& s) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    return tx
        .Exec("INSERT INTO session (id_hash, user_id, csrf_token, creation_time, expires_at) "
              "VALUES ($1, $2, $3, $4, $5)",
              {SqlText(s.id_hash), SqlInt(s.user_id), SqlText(s.csrf_token),
               SqlInt(s.creation_time), SqlInt(s.expires_at)})
        .status();
  });
}

StatusOr<std::optional<SessionRecord>> SessionStore::Get(std::string_view id_hash, int64_t now) {
  std::optional<SessionRecord> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(
        "SELECT id_hash, user_id, csrf_token, creation_time, expires_at FROM session "
        "WHERE id_hash = $1 AND expires_at > $2",
        {SqlText(id_hash), SqlInt(now)});
    if (!r.ok()) return r.status();
    if (!r->rows.empty()) {
      const auto& row = r->rows[0];
      out = SessionRecord{row.Text(0), row.Int(1), row.Text(2), row.Int(3), row.Int(4)};
    }
    return {};
  }));
  return out;
}

Status SessionStore::Delete(std::string_view id_hash) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    return tx.Exec("DELETE FROM session WHERE id_hash = $1", {SqlText(id_hash)}).status();
  });
}

Status SessionStore::DeleteExpired(int64_t now) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    return tx.Exec("DELETE FROM session WHERE expires_at <= $1", {SqlInt(now)}).status();
  });
}

}  // namespace berth
