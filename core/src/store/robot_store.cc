#include "store/robot_store.h"

#include "common/clock.h"
#include "store/row_query.h"

namespace berth {

namespace {

constexpr char kColumns[] =
    "id, name, description, secret_hash, level, project_id, duration, expires_at, disabled, "
    "permissions, creator_type, creator_ref, creation_time, update_time";

RobotRecord Read(const SqlRow& r) {
  RobotRecord x;
  x.id = r.Int(0);
  x.name = r.Text(1);
  x.description = r.Text(2);
  x.secret_hash = r.Text(3);
  x.level = r.Text(4);
  x.project_id = r.Int(5);
  x.duration = r.Int(6);
  x.expires_at = r.Int(7);
  x.disabled = r.Int(8) != 0;
  x.permissions_json = r.Text(9);
  x.creator_type = r.Text(10);
  x.creator_ref = r.Text(11);
  x.creation_time = r.Int(12);
  x.update_time = r.Int(13);
  return x;
}

StatusOr<std::optional<RobotRecord>> GetWhere(SqlDatabase& db, const char* where, SqlValue v) {
  return QueryOptionalRow(db, SelectSql(kColumns, std::string("FROM robot WHERE ") + where), {v},
                          Read);
}

}  // namespace

StatusOr<RobotRecord> RobotStore::Create(RobotRecord x) {
  int64_t now = NowUnixMillis();
  x.creation_time = x.update_time = now;
  Status s = RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(
        "INSERT INTO robot (name, description, secret_hash, level, project_id, duration, "
        "expires_at, disabled, permissions, creator_type, creator_ref, creation_time, "
        "update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) "
        "RETURNING id",
        {SqlText(x.name), SqlText(x.description), SqlText(x.secret_hash), SqlText(x.level),
         SqlInt(x.project_id), SqlInt(x.duration), SqlInt(x.expires_at),
         SqlInt(x.disabled ? 1 : 0), SqlText(x.permissions_json), SqlText(x.creator_type),
         SqlText(x.creator_ref), SqlInt(now)});
    if (!r.ok()) return r.status();
    x.id = r->rows.at(0).Int(0);
    return {};
  });
  if (s.code() == Code::kConflict) {
    return Status::Conflict("a robot account named " + x.name + " already exists", "CONFLICT");
  }
  BERTH_RETURN_IF_ERROR(s);
  return x;
}

StatusOr<std::optional<RobotRecord>> RobotStore::GetById(int64_t id) {
  return GetWhere(db_, "id = $1", SqlInt(id));
}

StatusOr<std::optional<RobotRecord>> RobotStore::GetByName(std::string_view name) {
  return GetWhere(db_, "name = $1", SqlText(name));
}

StatusOr<Page<RobotRecord>> RobotStore::List(const ListQuery& q) {
  static const std::map<std::string, QueryColumn> kKeys = {
      {"name", {"name"}},
      {"level", {"level"}},
      {"project_id", {"project_id", true}},
      {"disabled", {"disabled", true}},
      {"id", {"id", true}}};
  BERTH_ASSIGN_OR_RETURN(RowPage rows, RunListQuery(db_, kColumns, "robot", "", {}, q, kKeys, "id"));
  Page<RobotRecord> page{{}, rows.total};
  for (const auto& row : rows.rows) page.items.push_back(Read(row));
  return page;
}

Status RobotStore::Update(const RobotRecord& x) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(
        "UPDATE robot SET description = $2, disabled = $3, duration = $4, expires_at = $5, "
        "permissions = $6, update_time = $7 WHERE id = $1",
        {SqlInt(x.id), SqlText(x.description), SqlInt(x.disabled ? 1 : 0), SqlInt(x.duration),
         SqlInt(x.expires_at), SqlText(x.permissions_json), SqlInt(NowUnixMillis())});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return Status::NotFound("robot not found", "NOT_FOUND");
    return {};
  });
}

Status RobotStore::SetSecret(int64_t id, std::string_view secret_hash) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("UPDATE robot SET secret_hash = $2, update_time = $3 WHERE id = $1",
                     {SqlInt(id), SqlText(secret_hash), SqlInt(NowUnixMillis())});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return Status::NotFound("robot not found", "NOT_FOUND");
    return {};
  });
}

Status RobotStore::Delete(int64_t id) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("DELETE FROM robot WHERE id = $1", {SqlInt(id)});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return Status::NotFound("robot not found", "NOT_FOUND");
    return {};
  });
}

}  // namespace berth
