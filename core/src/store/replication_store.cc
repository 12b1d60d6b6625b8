#include "store/replication_store.h"

#include "common/clock.h"
#include "store/row_query.h"

namespace berth {

namespace {

constexpr char kPolicySelect[] =
    "p.id, p.name, p.src_registry_id, p.dest_registry_id, p.enabled, p.policy, p.creation_time, "
    "p.update_time";

constexpr char kTaskSelect[] =
    "t.id, t.execution_id, t.policy_id, t.resource_type, t.operation, t.src_resource, "
    "t.dst_resource, t.status, t.start_time, t.end_time, t.bytes, t.update_time";

ReplicationPolicyRecord ReadPolicy(const SqlRow& r) {
  return {r.Int(0), r.Text(1), r.Int(2), r.Int(3), r.Int(4) != 0, r.Text(5), r.Int(6), r.Int(7)};
}

ReplicationTaskRecord ReadTask(const SqlRow& r) {
  ReplicationTaskRecord t;
  t.id = r.Int(0);
  t.execution_id = r.Int(1);
  t.policy_id = r.Int(2);
  t.resource_type = r.Text(3);
  t.operation = r.Text(4);
  t.src_resource = r.Text(5);
  t.dst_resource = r.Text(6);
  t.status = r.Text(7);
  t.start_time = r.Int(8);
  t.end_time = r.Int(9);
  t.bytes = r.Int(10);
  t.update_time = r.Int(11);
  return t;
}

Status PolicyNotFound(int64_t id) {
  return Status::NotFound("replication policy " + std::to_string(id) + " not found", "NOT_FOUND");
}

Status NameTaken(const std::string& name) {
  return Status::Conflict("policy " + name + " already exists", "CONFLICT");
}

}  // namespace

StatusOr<int64_t> ReplicationStore::CreatePolicy(const ReplicationPolicyRecord& p) {
  int64_t id = 0;
  int64_t now = NowUnixMillis();
  Status s = RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(
        "INSERT INTO replication_policy (name, src_registry_id, dest_registry_id, enabled, policy, "
        "creation_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        {SqlText(p.name), SqlInt(p.src_registry_id), SqlInt(p.dest_registry_id),
         SqlInt(p.enabled ? 1 : 0), SqlText(p.policy_json), SqlInt(now)});
    if (!r.ok()) return r.status();
    id = r->rows.at(0).Int(0);
    return {};
  });
  if (s.code() == Code::kConflict) return NameTaken(p.name);
  BERTH_RETURN_IF_ERROR(s);
  return id;
}

StatusOr<std::optional<ReplicationPolicyRecord>> ReplicationStore::GetPolicy(int64_t id) {
  return QueryOptionalRow(db_,
                          SelectSql(kPolicySelect, "FROM replication_policy p WHERE p.id = $1"),
                          {SqlInt(id)}, ReadPolicy);
}

StatusOr<Page<ReplicationPolicyRecord>> ReplicationStore::ListPolicies(const ListQuery& q) {
  static const std::map<std::string, QueryColumn> kColumns = {
      {"id", {"p.id", true}},
      {"name", {"p.name"}},
      {"enabled", {"p.enabled", true}},
      {"creation_time", {"p.creation_time", true}},
      {"update_time", {"p.update_time", true}}};
  BERTH_ASSIGN_OR_RETURN(RowPage rows, RunListQuery(db_, kPolicySelect, "replication_policy p",
                                                    "1 = 1", {}, q, kColumns, "p.id"));
  Page<ReplicationPolicyRecord> page{{}, rows.total};
  for (const auto& row : rows.rows) page.items.push_back(ReadPolicy(row));
  return page;
}

StatusOr<std::vector<ReplicationPolicyRecord>> ReplicationStore::EnabledPolicies() {
  std::vector<ReplicationPolicyRecord> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    out.clear();
    auto r = tx.Exec(
        SelectSql(kPolicySelect, "FROM replication_policy p WHERE p.enabled = 1 ORDER BY p.id"));
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) out.push_back(ReadPolicy(row));
    return {};
  }));
  return out;
}

Status ReplicationStore::UpdatePolicy(const ReplicationPolicyRecord& p) {
  Status s = RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(
        "UPDATE replication_policy SET name = $2, src_registry_id = $3, dest_registry_id = $4, "
        "enabled = $5, policy = $6, update_time = $7 WHERE id = $1",
        {SqlInt(p.id), SqlText(p.name), SqlInt(p.src_registry_id), SqlInt(p.dest_registry_id),
         SqlInt(p.enabled ? 1 : 0), SqlText(p.policy_json), SqlInt(NowUnixMillis())});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return PolicyNotFound(p.id);
    return {};
  });
  if (s.code() == Code::kConflict) return NameTaken(p.name);
  return s;
}

Status ReplicationStore::DeletePolicy(int64_t id) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto t = tx.Exec("DELETE FROM replication_task WHERE policy_id = $1", {SqlInt(id)});
    if (!t.ok()) return t.status();
    auto r = tx.Exec("DELETE FROM replication_policy WHERE id = $1", {SqlInt(id)});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return PolicyNotFound(id);
    return {};
  });
}

StatusOr<std::vector<ReplicationTaskRecord>> ReplicationStore::EnsureTasks(
    int64_t execution_id, int64_t policy_id, const std::vector<NewReplicationTask>& tasks) {
  std::vector<ReplicationTaskRecord> out;
  int64_t now = NowUnixMillis();
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    out.clear();
    for (const auto& t : tasks) {
      auto r = tx.Exec(
          "INSERT INTO replication_task (execution_id, policy_id, resource_type, operation, "
          "src_resource, dst_resource, status, update_time) VALUES ($1, $2, $3, $4, $5, $6, "
          "'Pending', $7) ON CONFLICT (execution_id, operation, src_resource) DO NOTHING",
          {SqlInt(execution_id), SqlInt(policy_id), SqlText(t.resource_type), SqlText(t.operation),
           SqlText(t.src_resource), SqlText(t.dst_resource), SqlInt(now)});
      if (!r.ok()) return r.status();
    }
    auto r = tx.Exec(
        SelectSql(kTaskSelect, "FROM replication_task t WHERE t.execution_id = $1 ORDER BY t.id"),
        {SqlInt(execution_id)});
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) out.push_back(ReadTask(row));
    return {};
  }));
  return out;
}

StatusOr<Page<ReplicationTaskRecord>> ReplicationStore::ListTasks(int64_t execution_id,
                                                                  const std::string& status,
                                                                  const std::string& resource_type,
                                                                  const ListQuery& q) {
  static const std::map<std::string, QueryColumn> kColumns = {
      {"id", {"t.id", true}},
      {"status", {"t.status"}},
      {"resource_type", {"t.resource_type"}},
      {"operation", {"t.operation"}},
      {"start_time", {"t.start_time", true}},
      {"end_time", {"t.end_time", true}}};
  std::string where = "t.execution_id = $1";
  std::vector<SqlValue> params = {SqlInt(execution_id)};
  if (!status.empty()) {
    params.push_back(SqlText(status));
    where += " AND t.status = $" + std::to_string(params.size());
  }
  if (!resource_type.empty()) {
    params.push_back(SqlText(resource_type));
    where += " AND t.resource_type = $" + std::to_string(params.size());
  }
  BERTH_ASSIGN_OR_RETURN(RowPage rows, RunListQuery(db_, kTaskSelect, "replication_task t", where,
                                                    params, q, kColumns, "t.id"));
  Page<ReplicationTaskRecord> page{{}, rows.total};
  for (const auto& row : rows.rows) page.items.push_back(ReadTask(row));
  return page;
}

StatusOr<std::optional<ReplicationTaskRecord>> ReplicationStore::GetTask(int64_t id) {
  return QueryOptionalRow(db_, SelectSql(kTaskSelect, "FROM replication_task t WHERE t.id = $1"),
                          {SqlInt(id)}, ReadTask);
}

StatusOr<std::string> ReplicationStore::TaskLog(int64_t id) {
  std::string out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("SELECT log FROM replication_task WHERE id = $1", {SqlInt(id)});
    if (!r.ok()) return r.status();
    if (!r->rows.empty()) out = r->rows[0].Text(0);
    return {};
  }));
  return out;
}

Status ReplicationStore::UpdateTask(const ReplicationTaskRecord& t, const std::string* log) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    std::vector<SqlValue> params = {SqlInt(t.id),       SqlText(t.status), SqlInt(t.start_time),
                                    SqlInt(t.end_time), SqlInt(t.bytes),   SqlInt(NowUnixMillis())};
    std::string sql =
        "UPDATE replication_task SET status = $2, start_time = $3, end_time = $4, bytes = $5, "
        "update_time = $6";
    if (log != nullptr) {
      params.push_back(SqlText(*log));
      sql += ", log = $7";
    }
    return tx.Exec(sql + " WHERE id = $1", params).status();
  });
}

StatusOr<std::map<int64_t, TaskCounts>> ReplicationStore::Counts(
    const std::vector<int64_t>& execution_ids) {
  std::map<int64_t, TaskCounts> out;
  if (execution_ids.empty()) return out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    out.clear();
    std::string in;
    std::vector<SqlValue> params;
    for (int64_t id : execution_ids) {
      params.push_back(SqlInt(id));
      in += (in.empty() ? "$" : ", $") + std::to_string(params.size());
    }
    auto r = tx.Exec("SELECT execution_id, status, COUNT(*) FROM replication_task WHERE "
                     "execution_id IN (" + in + ") GROUP BY execution_id, status",
                     params);
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) {
      TaskCounts& c = out[row.Int(0)];
      std::string st = row.Text(1);
      int64_t n = row.Int(2);
      c.total += n;
      if (st == "Success") c.succeed += n;
      else if (st == "Error") c.failed += n;
      else if (st == "Stopped") c.stopped += n;
      else c.in_progress += n;
    }
    return {};
  }));
  return out;
}

Status ReplicationStore::StopUnfinished(int64_t execution_id, int64_t now) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    return tx
        .Exec("UPDATE replication_task SET status = 'Stopped', end_time = $2, update_time = $2 "
              "WHERE execution_id = $1 AND status IN ('Pending', 'Running')",
              {SqlInt(execution_id), SqlInt(now)})
        .status();
  });
}

StatusOr<int64_t> ReplicationStore::PruneOrphanTasks() {
  int64_t n = 0;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(
        "DELETE FROM replication_task WHERE NOT EXISTS "
        "(SELECT 1 FROM job j WHERE j.id = replication_task.execution_id)");
    if (!r.ok()) return r.status();
    n = r->affected;
    return {};
  }));
  return n;
}

}  // namespace berth
