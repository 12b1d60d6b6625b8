#include "store/quota_store.h"

#include <map>
#include <set>

#include "common/clock.h"
#include "store/row_query.h"

namespace berth {

namespace {

constexpr char kQuotaSelect[] =
    "q.id, q.reference, q.reference_id, COALESCE(p.name, ''), COALESCE(u.username, ''), "
    "q.hard_storage, q.used_storage, q.creation_time, q.update_time";
constexpr char kQuotaFrom[] =
    "quota q LEFT JOIN project p ON q.reference = 'project' AND p.project_id = q.reference_id "
    "LEFT JOIN harbor_user u ON u.user_id = p.owner_id";

QuotaRecord ReadQuota(const SqlRow& r) {
  QuotaRecord q;
  q.id = r.Int(0);
  q.reference = r.Text(1);
  q.reference_id = r.Int(2);
  q.ref_name = r.Text(3);
  q.ref_owner_name = r.Text(4);
  q.hard_storage = r.Int(5);
  q.used_storage = r.Int(6);
  q.creation_time = r.Int(7);
  q.update_time = r.Int(8);
  return q;
}

}  // namespace

StatusOr<Page<QuotaRecord>> QuotaStore::List(const ListQuery& q) {
  // Harbor sorts an unlimited hard limit above every number.
  static const std::map<std::string, QueryColumn> kColumns = {
      {"reference", {"q.reference"}},
      {"reference_id", {"q.reference_id", true}},
      {"id", {"q.id", true}},
      {"hard.storage",
       {"(CASE WHEN q.hard_storage < 0 THEN 9223372036854775807 ELSE q.hard_storage END)", true}},
      {"used.storage", {"q.used_storage", true}},
      {"creation_time", {"q.creation_time", true}},
      {"update_time", {"q.update_time", true}}};
  BERTH_ASSIGN_OR_RETURN(RowPage rows,
                         RunListQuery(db_, kQuotaSelect, kQuotaFrom, "", {}, q, kColumns, "q.id"));
  Page<QuotaRecord> page{{}, rows.total};
  for (const auto& row : rows.rows) page.items.push_back(ReadQuota(row));
  return page;
}

StatusOr<std::optional<QuotaRecord>> QuotaStore::Get(int64_t id) {
  return QueryOptionalRow(
      db_, SelectSql(kQuotaSelect, std::string("FROM ") + kQuotaFrom + " WHERE q.id = $1"),
      {SqlInt(id)}, ReadQuota);
}

StatusOr<std::optional<QuotaRecord>> QuotaStore::GetByProject(int64_t project_id) {
  return QueryOptionalRow(
      db_,
      SelectSql(kQuotaSelect, std::string("FROM ") + kQuotaFrom +
                                  " WHERE q.reference = 'project' AND q.reference_id = $1"),
      {SqlInt(project_id)}, ReadQuota);
}

Status QuotaStore::SetHardStorage(int64_t id, int64_t hard) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("UPDATE quota SET hard_storage = $2, update_time = $3 WHERE id = $1",
                     {SqlInt(id), SqlInt(hard), SqlInt(NowUnixMillis())});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return Status::NotFound("quota " + std::to_string(id) + " not found", "NOT_FOUND");
    return {};
  });
}

StatusOr<QuotaRecount> QuotaStore::Recount(int64_t project_id) {
  QuotaRecount out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto quota, accounting::Lock(tx, db_.dialect(), project_id));
    if (!quota) {
      return Status::NotFound("project " + std::to_string(project_id) + " not found", "NOT_FOUND");
    }
    BERTH_ASSIGN_OR_RETURN(out, accounting::Recount(tx, *quota));
    return {};
  }));
  return out;
}

StatusOr<std::vector<int64_t>> QuotaStore::ProjectIds() {
  std::vector<int64_t> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(
        "SELECT reference_id FROM quota WHERE reference = 'project' ORDER BY reference_id");
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) out.push_back(row.Int(0));
    return {};
  }));
  return out;
}

StatusOr<int64_t> QuotaStore::ReleaseStalePending(int64_t before) {
  std::vector<int64_t> projects;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(
        "SELECT DISTINCT COALESCE(r.project_id, 0) FROM blob_pending bp "
        "LEFT JOIN repository r ON r.id = bp.repository_id WHERE bp.created_at < $1",
        {SqlInt(before)});
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) projects.push_back(row.Int(0));
    return {};
  }));
  int64_t released = 0;
  // One transaction per project: each holds only its own project's lock.
  for (int64_t project_id : projects) {
    int64_t n = 0;
    BERTH_RETURN_IF_ERROR(RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
      n = 0;
      BERTH_ASSIGN_OR_RETURN(auto quota, accounting::Lock(tx, db_.dialect(), project_id));
      auto stale = tx.Exec(
          "SELECT bp.repository_id, bp.digest FROM blob_pending bp "
          "LEFT JOIN repository r ON r.id = bp.repository_id "
          "WHERE bp.created_at < $1 AND COALESCE(r.project_id, 0) = $2",
          {SqlInt(before), SqlInt(project_id)});
      if (!stale.ok()) return stale.status();
      std::set<std::string> touched;
      for (const auto& row : stale->rows) {
        auto d = tx.Exec("DELETE FROM blob_pending WHERE repository_id = $1 AND digest = $2",
                         {SqlInt(row.Int(0)), SqlText(row.Text(1))});
        if (!d.ok()) return d.status();
        touched.insert(row.Text(1));
        ++n;
      }
      if (quota) return accounting::Reconcile(tx, *quota, touched, false).status();
      return {};
    }));
    released += n;
  }
  return released;
}

}  // namespace berth
