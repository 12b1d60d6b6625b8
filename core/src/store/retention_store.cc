#include "store/retention_store.h"

#include "common/clock.h"
#include "store/row_query.h"

namespace berth {

namespace {

constexpr char kTaskColumns[] =
    "t.id, t.execution_id, t.policy_id, t.repository, t.status, t.start_time, t.end_time, "
    "t.total, t.retained, t.update_time";

RetentionTaskRecord ReadTask(const SqlRow& r) {
  RetentionTaskRecord t;
  t.id = r.Int(0);
  t.execution_id = r.Int(1);
  t.policy_id = r.Int(2);
  t.repository = r.Text(3);
  t.status = r.Text(4);
  t.start_time = r.Int(5);
  t.end_time = r.Int(6);
  t.total = r.Int(7);
  t.retained = r.Int(8);
  t.update_time = r.Int(9);
  return t;
}

Status PolicyNotFound(int64_t id) {
  return Status::NotFound("retention policy " + std::to_string(id) + " not found", "NOT_FOUND");
}

}  // namespace

StatusOr<int64_t> RetentionStore::CreatePolicy(int64_t project_id, const std::string& policy_json) {
  int64_t id = 0;
  int64_t now = NowUnixMillis();
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto p = tx.Exec("SELECT 1 FROM project WHERE project_id = $1", {SqlInt(project_id)});
    if (!p.ok()) return p.status();
    if (p->rows.empty()) {
      return Status::NotFound("project " + std::to_string(project_id) + " not found", "NOT_FOUND");
    }
    auto have = tx.Exec("SELECT id FROM retention_policy WHERE project_id = $1", {SqlInt(project_id)});
    if (!have.ok()) return have.status();
    if (!have->rows.empty()) {
      return Status::Conflict("project " + std::to_string(project_id) +
                                  " already has retention policy " + have->rows[0].Text(0),
                              "CONFLICT");
    }
    auto r = tx.Exec(
        "INSERT INTO retention_policy (project_id, policy, creation_time, update_time) "
        "VALUES ($1, $2, $3, $3) RETURNING id",
        {SqlInt(project_id), SqlText(policy_json), SqlInt(now)});
    if (!r.ok()) return r.status();
    id = r->rows.at(0).Int(0);
    // Harbor links the project to its policy through this metadata key.
    auto m = tx.Exec(
        "INSERT INTO project_metadata (project_id, name, value) VALUES ($1, 'retention_id', $2) "
        "ON CONFLICT (project_id, name) DO UPDATE SET value = excluded.value",
        {SqlInt(project_id), SqlText(std::to_string(id))});
    return m.status();
  }));
  return id;
}

StatusOr<std::optional<RetentionPolicyRecord>> RetentionStore::GetPolicy(int64_t id) {
  std::optional<RetentionPolicyRecord> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(
        "SELECT id, project_id, policy, creation_time, update_time FROM retention_policy "
        "WHERE id = $1",
        {SqlInt(id)});
    if (!r.ok()) return r.status();
    if (r->rows.empty()) return {};
    const SqlRow& row = r->rows[0];
    out = RetentionPolicyRecord{row.Int(0), row.Int(1), row.Text(2), row.Int(3), row.Int(4)};
    return {};
  }));
  return out;
}

Status RetentionStore::UpdatePolicy(int64_t id, const std::string& policy_json) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("UPDATE retention_policy SET policy = $2, update_time = $3 WHERE id = $1",
                     {SqlInt(id), SqlText(policy_json), SqlInt(NowUnixMillis())});
    if (!r.ok()) return r.status();
    return r->affected == 0 ? PolicyNotFound(id) : Status();
  });
}

Status RetentionStore::DeletePolicy(int64_t id) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto p = tx.Exec("SELECT project_id FROM retention_policy WHERE id = $1", {SqlInt(id)});
    if (!p.ok()) return p.status();
    if (p->rows.empty()) return PolicyNotFound(id);
    int64_t project_id = p->rows[0].Int(0);
    for (const char* sql : {"DELETE FROM retention_task WHERE policy_id = $1",
                            "DELETE FROM retention_policy WHERE id = $1"}) {
      auto r = tx.Exec(sql, {SqlInt(id)});
      if (!r.ok()) return r.status();
    }
    auto m = tx.Exec(
        "DELETE FROM project_metadata WHERE project_id = $1 AND name = 'retention_id' "
        "AND value = $2",
        {SqlInt(project_id), SqlText(std::to_string(id))});
    return m.status();
  });
}

StatusOr<std::vector<RetentionTaskRecord>> RetentionStore::EnsureTasks(
    int64_t execution_id, int64_t policy_id, const std::vector<std::string>& repos) {
  std::vector<RetentionTaskRecord> out;
  int64_t now = NowUnixMillis();
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    out.clear();
    for (const auto& repo : repos) {
      auto r = tx.Exec(
          "INSERT INTO retention_task (execution_id, policy_id, repository, status, update_time) "
          "VALUES ($1, $2, $3, 'Pending', $4) ON CONFLICT (execution_id, repository) DO NOTHING",
          {SqlInt(execution_id), SqlInt(policy_id), SqlText(repo), SqlInt(now)});
      if (!r.ok()) return r.status();
    }
    auto r = tx.Exec(
        SelectSql(kTaskColumns, "FROM retention_task t WHERE t.execution_id = $1 ORDER BY t.id"),
        {SqlInt(execution_id)});
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) out.push_back(ReadTask(row));
    return {};
  }));
  return out;
}

StatusOr<Page<RetentionTaskRecord>> RetentionStore::ListTasks(int64_t execution_id,
                                                              const ListQuery& q) {
  static const std::map<std::string, QueryColumn> kColumns = {
      {"id", {"t.id", true}},
      {"repository", {"t.repository"}},
      {"status", {"t.status"}},
      {"start_time", {"t.start_time", true}},
      {"end_time", {"t.end_time", true}}};
  BERTH_ASSIGN_OR_RETURN(RowPage rows,
                         RunListQuery(db_, kTaskColumns, "retention_task t", "t.execution_id = $1",
                                      {SqlInt(execution_id)}, q, kColumns, "t.id"));
  Page<RetentionTaskRecord> page{{}, rows.total};
  for (const auto& row : rows.rows) page.items.push_back(ReadTask(row));
  return page;
}

StatusOr<std::optional<RetentionTaskRecord>> RetentionStore::GetTask(int64_t id) {
  return QueryOptionalRow(db_, SelectSql(kTaskColumns, "FROM retention_task t WHERE t.id = $1"),
                          {SqlInt(id)}, ReadTask);
}

StatusOr<std::string> RetentionStore::TaskLog(int64_t id) {
  std::string out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("SELECT log FROM retention_task WHERE id = $1", {SqlInt(id)});
    if (!r.ok()) return r.status();
    if (r->rows.empty()) {
      return Status::NotFound("retention task " + std::to_string(id) + " not found", "NOT_FOUND");
    }
    out = r->rows[0].Text(0);
    return {};
  }));
  return out;
}

Status RetentionStore::UpdateTask(const RetentionTaskRecord& t, const std::string* log) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    std::vector<SqlValue> params = {SqlInt(t.id),         SqlText(t.status), SqlInt(t.start_time),
                                    SqlInt(t.end_time),   SqlInt(t.total),   SqlInt(t.retained),
                                    SqlInt(NowUnixMillis())};
    std::string sql =
        "UPDATE retention_task SET status = $2, start_time = $3, end_time = $4, total = $5, "
        "retained = $6, update_time = $7";
    if (log != nullptr) {
      sql += ", log = $8";
      params.push_back(SqlText(*log));
    }
    auto r = tx.Exec(sql + " WHERE id = $1", params);
    return r.status();
  });
}

Status RetentionStore::StopUnfinished(int64_t execution_id, int64_t now) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(
        "UPDATE retention_task SET status = 'Stopped', end_time = $2, update_time = $2 "
        "WHERE execution_id = $1 AND status IN ('Pending', 'Running')",
        {SqlInt(execution_id), SqlInt(now)});
    return r.status();
  });
}

}  // namespace berth
