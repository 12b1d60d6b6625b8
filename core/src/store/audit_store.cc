#include "store/audit_store.h"

namespace berth {

Status AuditStore::Add(const AuditRecord& a) { return AddBatch({a}); }

Status AuditStore::AddBatch(const std::vector<AuditRecord>& records) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    for (const auto& a : records) {
      auto r = tx.Exec(
          "INSERT INTO audit_log (project_id, username, resource, resource_type, operation, "
          "operation_result, op_time) VALUES (CASE WHEN $1 > 0 THEN $1 ELSE COALESCE((SELECT "
          "project_id FROM project WHERE name = $8), 0) END, $2, $3, $4, $5, $6, $7)",
          {SqlInt(a.project_id), SqlText(a.username), SqlText(a.resource),
           SqlText(a.resource_type), SqlText(a.operation), SqlText(a.operation_result),
           SqlInt(a.op_time), SqlText(a.project_name)});
      if (!r.ok()) return r.status();
    }
    return {};
  });
}

StatusOr<Page<AuditRecord>> AuditStore::List(const ListQuery& q,
                                             const std::vector<int64_t>* project_ids) {
  static const std::map<std::string, QueryColumn> kKeys = {
      {"username", {"username"}},
      {"resource", {"resource"}},
      {"resource_type", {"resource_type"}},
      {"operation", {"operation"}},
      {"operation_result", {"operation_result"}},
      {"op_time", {"op_time", true}},
      {"project_id", {"project_id", true}}};
  std::string where;
  std::vector<SqlValue> params;
  if (project_ids != nullptr) {
    // Non-administrators see only the projects they belong to.
    if (project_ids->empty()) return Page<AuditRecord>{};
    for (int64_t id : *project_ids) {
      params.push_back(SqlInt(id));
      where += (where.empty() ? "project_id IN ($" : ", $") + std::to_string(params.size());
    }
    where += ")";
  }
  BERTH_ASSIGN_OR_RETURN(
      RowPage rows,
      RunListQuery(db_,
                   "id, project_id, username, resource, resource_type, operation, "
                   "operation_result, op_time",
                   "audit_log", where, params, q, kKeys, "id DESC"));
  Page<AuditRecord> page{{}, rows.total};
  for (const auto& r : rows.rows) {
    page.items.push_back({r.Int(0), r.Int(1), r.Text(2), r.Text(3), r.Text(4), r.Text(5),
                          r.Text(6), r.Int(7), {}});
  }
  return page;
}

StatusOr<int64_t> AuditStore::Purge(int64_t before, const std::vector<std::string>& operations,
                                    bool dry_run) {
  int64_t n = 0;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, !dry_run, [&](SqlTransaction& tx) -> Status {
    std::string where = "op_time < $1";
    std::vector<SqlValue> params = {SqlInt(before)};
    if (!operations.empty()) {
      where += " AND operation IN (";
      for (size_t i = 0; i < operations.size(); ++i) {
        where += (i ? ", $" : "$") + std::to_string(i + 2);
        params.push_back(SqlText(operations[i]));
      }
      where += ")";
    }
    if (dry_run) {
      auto r = tx.Exec("SELECT COUNT(*) FROM audit_log WHERE " + where, params);
      if (!r.ok()) return r.status();
      n = r->rows.at(0).Int(0);
      return {};
    }
    auto r = tx.Exec("DELETE FROM audit_log WHERE " + where, params);
    if (!r.ok()) return r.status();
    n = r->affected;
    return {};
  }));
  return n;
}

}  // namespace berth
