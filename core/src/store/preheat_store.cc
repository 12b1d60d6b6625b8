#include "store/preheat_store.h"

#include "common/clock.h"
#include "store/row_query.h"

namespace berth {

namespace {

constexpr char kInstanceColumns[] =
    "i.id, i.name, i.description, i.vendor, i.endpoint, i.auth_mode, i.auth_data, i.enabled, "
    "i.is_default, i.insecure, i.setup_timestamp";

constexpr char kPolicyColumns[] =
    "p.id, p.name, p.description, p.project_id, p.provider_id, p.filters, p.trigger_json, "
    "p.scope, p.extra_attrs, p.enabled, p.creation_time, p.update_time";

constexpr char kTaskColumns[] =
    "t.id, t.execution_id, t.policy_id, t.repository, t.tag, t.digest, t.status, "
    "t.status_message, t.provider_task_id, t.run_count, t.creation_time, t.start_time, "
    "t.end_time, t.update_time";

PreheatInstanceRecord ReadInstance(const SqlRow& r) {
  PreheatInstanceRecord i;
  i.id = r.Int(0);
  i.name = r.Text(1);
  i.description = r.Text(2);
  i.vendor = r.Text(3);
  i.endpoint = r.Text(4);
  i.auth_mode = r.Text(5);
  i.auth_data = r.Text(6);
  i.enabled = r.Int(7) != 0;
  i.is_default = r.Int(8) != 0;
  i.insecure = r.Int(9) != 0;
  i.setup_timestamp = r.Int(10);
  return i;
}

PreheatPolicyRecord ReadPolicy(const SqlRow& r) {
  PreheatPolicyRecord p;
  p.id = r.Int(0);
  p.name = r.Text(1);
  p.description = r.Text(2);
  p.project_id = r.Int(3);
  p.provider_id = r.Int(4);
  p.filters = r.Text(5);
  p.trigger = r.Text(6);
  p.scope = r.Text(7);
  p.extra_attrs = r.Text(8);
  p.enabled = r.Int(9) != 0;
  p.creation_time = r.Int(10);
  p.update_time = r.Int(11);
  return p;
}

PreheatTaskRecord ReadTask(const SqlRow& r) {
  PreheatTaskRecord t;
  t.id = r.Int(0);
  t.execution_id = r.Int(1);
  t.policy_id = r.Int(2);
  t.repository = r.Text(3);
  t.tag = r.Text(4);
  t.digest = r.Text(5);
  t.status = r.Text(6);
  t.status_message = r.Text(7);
  t.provider_task_id = r.Text(8);
  t.run_count = static_cast<int>(r.Int(9));
  t.creation_time = r.Int(10);
  t.start_time = r.Int(11);
  t.end_time = r.Int(12);
  t.update_time = r.Int(13);
  return t;
}

Status InstanceNameTaken(const std::string& name) {
  return Status::Conflict("instance " + name + " already exists", "CONFLICT");
}

Status InstanceNotFound(int64_t id) {
  return Status::NotFound("instance " + std::to_string(id) + " not found", "NOT_FOUND");
}

Status PolicyNameTaken(const std::string& name) {
  return Status::Conflict("policy " + name + " already exists in the project", "CONFLICT");
}

Status PolicyNotFound(int64_t id) {
  return Status::NotFound("preheat policy " + std::to_string(id) + " not found", "NOT_FOUND");
}

// Harbor keeps at most one default instance.
Status ClearOtherDefaults(SqlTransaction& tx, int64_t keep_id) {
  return tx.Exec("UPDATE p2p_preheat_instance SET is_default = 0 WHERE id <> $1",
                 {SqlInt(keep_id)})
      .status();
}

StatusOr<std::optional<PreheatInstanceRecord>> OneInstance(SqlDatabase& db,
                                                           const std::string& where,
                                                           SqlValue param) {
  return QueryOptionalRow(
      db, SelectSql(kInstanceColumns, std::string("FROM p2p_preheat_instance i ") + where), {param},
      ReadInstance);
}

}  // namespace

std::string PreheatStore::SealAuth(const std::string& auth_data) const {
  if (box_ == nullptr) return auth_data;
  auto sealed = box_->Seal(auth_data);
  return sealed.ok() ? *sealed : std::string("{}");
}

void PreheatStore::OpenAuth(PreheatInstanceRecord& r) const {
  if (box_ == nullptr) return;
  auto opened = box_->Unseal(r.auth_data);
  r.auth_data = opened.ok() ? *opened : std::string("{}");
}

StatusOr<PreheatInstanceRecord> PreheatStore::CreateInstance(PreheatInstanceRecord i) {
  const std::string sealed = SealAuth(i.auth_data);
  Status s = RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(
        "INSERT INTO p2p_preheat_instance (name, description, vendor, endpoint, auth_mode, "
        "auth_data, enabled, is_default, insecure, setup_timestamp) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        {SqlText(i.name), SqlText(i.description), SqlText(i.vendor), SqlText(i.endpoint),
         SqlText(i.auth_mode), SqlText(sealed), SqlInt(i.enabled ? 1 : 0),
         SqlInt(i.is_default ? 1 : 0), SqlInt(i.insecure ? 1 : 0), SqlInt(i.setup_timestamp)});
    if (!r.ok()) return r.status();
    i.id = r->rows.at(0).Int(0);
    if (i.is_default) return ClearOtherDefaults(tx, i.id);
    return {};
  });
  if (s.code() == Code::kConflict) return InstanceNameTaken(i.name);
  BERTH_RETURN_IF_ERROR(s);
  return i;
}

StatusOr<std::optional<PreheatInstanceRecord>> PreheatStore::GetInstance(int64_t id) {
  BERTH_ASSIGN_OR_RETURN(auto r, OneInstance(db_, "WHERE i.id = $1", SqlInt(id)));
  if (r) OpenAuth(*r);
  return r;
}

StatusOr<std::optional<PreheatInstanceRecord>> PreheatStore::GetInstanceByName(
    const std::string& name) {
  BERTH_ASSIGN_OR_RETURN(auto r, OneInstance(db_, "WHERE i.name = $1", SqlText(name)));
  if (r) OpenAuth(*r);
  return r;
}

StatusOr<Page<PreheatInstanceRecord>> PreheatStore::ListInstances(const ListQuery& q) {
  static const std::map<std::string, QueryColumn> kColumns = {
      {"id", {"i.id", true}},
      {"name", {"i.name"}},
      {"vendor", {"i.vendor"}},
      {"endpoint", {"i.endpoint"}},
      {"auth_mode", {"i.auth_mode"}},
      {"enabled", {"i.enabled", true}},
      {"default", {"i.is_default", true}},
      {"setup_timestamp", {"i.setup_timestamp", true}}};
  BERTH_ASSIGN_OR_RETURN(RowPage rows, RunListQuery(db_, kInstanceColumns,
                                                    "p2p_preheat_instance i", "1 = 1", {}, q,
                                                    kColumns, "i.id"));
  Page<PreheatInstanceRecord> page{{}, rows.total};
  for (const auto& row : rows.rows) {
    page.items.push_back(ReadInstance(row));
    OpenAuth(page.items.back());
  }
  return page;
}

StatusOr<std::vector<PreheatInstanceRecord>> PreheatStore::AllInstances() {
  std::vector<PreheatInstanceRecord> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    out.clear();
    auto r = tx.Exec(SelectSql(kInstanceColumns, "FROM p2p_preheat_instance i ORDER BY i.id"));
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) out.push_back(ReadInstance(row));
    return {};
  }));
  for (auto& i : out) OpenAuth(i);
  return out;
}

Status PreheatStore::UpdateInstance(const PreheatInstanceRecord& i) {
  const std::string sealed = SealAuth(i.auth_data);
  Status s = RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(
        "UPDATE p2p_preheat_instance SET name = $2, description = $3, vendor = $4, endpoint = $5, "
        "auth_mode = $6, auth_data = $7, enabled = $8, is_default = $9, insecure = $10 "
        "WHERE id = $1",
        {SqlInt(i.id), SqlText(i.name), SqlText(i.description), SqlText(i.vendor),
         SqlText(i.endpoint), SqlText(i.auth_mode), SqlText(sealed),
         SqlInt(i.enabled ? 1 : 0), SqlInt(i.is_default ? 1 : 0), SqlInt(i.insecure ? 1 : 0)});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return InstanceNotFound(i.id);
    if (i.is_default) return ClearOtherDefaults(tx, i.id);
    return {};
  });
  if (s.code() == Code::kConflict) return InstanceNameTaken(i.name);
  return s;
}

Status PreheatStore::DeleteInstance(int64_t id) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto used = tx.Exec("SELECT COUNT(*) FROM p2p_preheat_policy WHERE provider_id = $1",
                        {SqlInt(id)});
    if (!used.ok()) return used.status();
    if (int64_t n = used->rows.at(0).Int(0); n > 0) {
      return Status(Code::kPreconditionFailed,
                    "provider instance " + std::to_string(id) + " is used by " +
                        std::to_string(n) + " preheat policies; delete them first",
                    "PRECONDITION");
    }
    auto r = tx.Exec("DELETE FROM p2p_preheat_instance WHERE id = $1", {SqlInt(id)});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return InstanceNotFound(id);
    return {};
  });
}

StatusOr<PreheatPolicyRecord> PreheatStore::CreatePolicy(PreheatPolicyRecord p) {
  int64_t now = NowUnixMillis();
  p.creation_time = p.update_time = now;
  Status s = RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    // Checked first so that a constraint failure below can only be the name.
    auto pr = tx.Exec("SELECT 1 FROM project WHERE project_id = $1", {SqlInt(p.project_id)});
    if (!pr.ok()) return pr.status();
    if (pr->rows.empty()) {
      return Status::NotFound("project " + std::to_string(p.project_id) + " not found", "NOT_FOUND");
    }
    auto in = tx.Exec("SELECT 1 FROM p2p_preheat_instance WHERE id = $1", {SqlInt(p.provider_id)});
    if (!in.ok()) return in.status();
    if (in->rows.empty()) return InstanceNotFound(p.provider_id);
    auto r = tx.Exec(
        "INSERT INTO p2p_preheat_policy (name, description, project_id, provider_id, filters, "
        "trigger_json, scope, extra_attrs, enabled, creation_time, update_time) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
        {SqlText(p.name), SqlText(p.description), SqlInt(p.project_id), SqlInt(p.provider_id),
         SqlText(p.filters), SqlText(p.trigger), SqlText(p.scope), SqlText(p.extra_attrs),
         SqlInt(p.enabled ? 1 : 0), SqlInt(now)});
    if (!r.ok()) return r.status();
    p.id = r->rows.at(0).Int(0);
    return {};
  });
  if (s.code() == Code::kConflict) return PolicyNameTaken(p.name);
  BERTH_RETURN_IF_ERROR(s);
  return p;
}

StatusOr<std::optional<PreheatPolicyRecord>> PreheatStore::GetPolicy(int64_t id) {
  return QueryOptionalRow(db_,
                          SelectSql(kPolicyColumns, "FROM p2p_preheat_policy p WHERE p.id = $1"),
                          {SqlInt(id)}, ReadPolicy);
}

StatusOr<std::optional<PreheatPolicyRecord>> PreheatStore::GetPolicyByName(
    int64_t project_id, const std::string& name) {
  return QueryOptionalRow(
      db_,
      SelectSql(kPolicyColumns,
                "FROM p2p_preheat_policy p WHERE p.project_id = $1 AND p.name = $2"),
      {SqlInt(project_id), SqlText(name)}, ReadPolicy);
}

StatusOr<Page<PreheatPolicyRecord>> PreheatStore::ListPolicies(int64_t project_id,
                                                               const ListQuery& q) {
  static const std::map<std::string, QueryColumn> kColumns = {
      {"id", {"p.id", true}},
      {"name", {"p.name"}},
      {"enabled", {"p.enabled", true}},
      {"provider_id", {"p.provider_id", true}},
      {"creation_time", {"p.creation_time", true}},
      {"update_time", {"p.update_time", true}}};
  BERTH_ASSIGN_OR_RETURN(RowPage rows,
                         RunListQuery(db_, kPolicyColumns, "p2p_preheat_policy p",
                                      "p.project_id = $1", {SqlInt(project_id)}, q, kColumns,
                                      "p.id"));
  Page<PreheatPolicyRecord> page{{}, rows.total};
  for (const auto& row : rows.rows) page.items.push_back(ReadPolicy(row));
  return page;
}

StatusOr<std::vector<PreheatPolicyRecord>> PreheatStore::EnabledForProject(
    const std::string& project_name) {
  std::vector<PreheatPolicyRecord> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    out.clear();
    auto r = tx.Exec(std::string("SELECT ") + kPolicyColumns +
                         " FROM p2p_preheat_policy p JOIN project pr ON pr.project_id = "
                         "p.project_id WHERE pr.name = $1 AND p.enabled = 1 ORDER BY p.id",
                     {SqlText(project_name)});
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) out.push_back(ReadPolicy(row));
    return {};
  }));
  return out;
}

Status PreheatStore::UpdatePolicy(const PreheatPolicyRecord& p) {
  Status s = RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto in = tx.Exec("SELECT 1 FROM p2p_preheat_instance WHERE id = $1", {SqlInt(p.provider_id)});
    if (!in.ok()) return in.status();
    if (in->rows.empty()) return InstanceNotFound(p.provider_id);
    auto r = tx.Exec(
        "UPDATE p2p_preheat_policy SET name = $2, description = $3, provider_id = $4, "
        "filters = $5, trigger_json = $6, scope = $7, extra_attrs = $8, enabled = $9, "
        "update_time = $10 WHERE id = $1",
        {SqlInt(p.id), SqlText(p.name), SqlText(p.description), SqlInt(p.provider_id),
         SqlText(p.filters), SqlText(p.trigger), SqlText(p.scope), SqlText(p.extra_attrs),
         SqlInt(p.enabled ? 1 : 0), SqlInt(NowUnixMillis())});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return PolicyNotFound(p.id);
    return {};
  });
  if (s.code() == Code::kConflict) return PolicyNameTaken(p.name);
  return s;
}

Status PreheatStore::DeletePolicy(int64_t id) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("DELETE FROM p2p_preheat_policy WHERE id = $1", {SqlInt(id)});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return PolicyNotFound(id);
    return {};
  });
}

StatusOr<std::vector<PreheatTaskRecord>> PreheatStore::EnsureTasks(
    int64_t execution_id, int64_t policy_id, const std::vector<PreheatTaskSpec>& specs) {
  std::vector<PreheatTaskRecord> out;
  int64_t now = NowUnixMillis();
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    out.clear();
    auto have = tx.Exec("SELECT COUNT(*) FROM p2p_preheat_task WHERE execution_id = $1",
                        {SqlInt(execution_id)});
    if (!have.ok()) return have.status();
    if (have->rows.at(0).Int(0) == 0) {
      for (const auto& s : specs) {
        auto r = tx.Exec(
            "INSERT INTO p2p_preheat_task (execution_id, policy_id, repository, tag, digest, "
            "status, creation_time, update_time) VALUES ($1, $2, $3, $4, $5, 'Pending', $6, $6) "
            "ON CONFLICT (execution_id, repository, tag) DO NOTHING",
            {SqlInt(execution_id), SqlInt(policy_id), SqlText(s.repository), SqlText(s.tag),
             SqlText(s.digest), SqlInt(now)});
        if (!r.ok()) return r.status();
      }
    }
    auto r = tx.Exec(
        SelectSql(kTaskColumns, "FROM p2p_preheat_task t WHERE t.execution_id = $1 ORDER BY t.id"),
        {SqlInt(execution_id)});
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) out.push_back(ReadTask(row));
    return {};
  }));
  return out;
}

StatusOr<std::vector<PreheatTaskRecord>> PreheatStore::TasksOf(int64_t execution_id) {
  std::vector<PreheatTaskRecord> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    out.clear();
    auto r = tx.Exec(
        SelectSql(kTaskColumns, "FROM p2p_preheat_task t WHERE t.execution_id = $1 ORDER BY t.id"),
        {SqlInt(execution_id)});
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) out.push_back(ReadTask(row));
    return {};
  }));
  return out;
}

StatusOr<Page<PreheatTaskRecord>> PreheatStore::ListTasks(int64_t execution_id,
                                                          const ListQuery& q) {
  static const std::map<std::string, QueryColumn> kColumns = {
      {"id", {"t.id", true}},
      {"status", {"t.status"}},
      {"repository", {"t.repository"}},
      {"tag", {"t.tag"}},
      {"digest", {"t.digest"}},
      {"start_time", {"t.start_time", true}},
      {"end_time", {"t.end_time", true}}};
  BERTH_ASSIGN_OR_RETURN(RowPage rows,
                         RunListQuery(db_, kTaskColumns, "p2p_preheat_task t",
                                      "t.execution_id = $1", {SqlInt(execution_id)}, q, kColumns,
                                      "t.id"));
  Page<PreheatTaskRecord> page{{}, rows.total};
  for (const auto& row : rows.rows) page.items.push_back(ReadTask(row));
  return page;
}

StatusOr<std::optional<PreheatTaskRecord>> PreheatStore::GetTask(int64_t id) {
  return QueryOptionalRow(db_, SelectSql(kTaskColumns, "FROM p2p_preheat_task t WHERE t.id = $1"),
                          {SqlInt(id)}, ReadTask);
}

StatusOr<std::string> PreheatStore::TaskLog(int64_t id) {
  std::string out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("SELECT log FROM p2p_preheat_task WHERE id = $1", {SqlInt(id)});
    if (!r.ok()) return r.status();
    if (r->rows.empty()) {
      return Status::NotFound("preheat task " + std::to_string(id) + " not found", "NOT_FOUND");
    }
    out = r->rows[0].Text(0);
    return {};
  }));
  return out;
}

Status PreheatStore::UpdateTask(const PreheatTaskRecord& t, const std::string* log) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    std::vector<SqlValue> params = {SqlInt(t.id),          SqlText(t.status),
                                    SqlText(t.status_message), SqlText(t.provider_task_id),
                                    SqlInt(t.run_count),   SqlInt(t.start_time),
                                    SqlInt(t.end_time),    SqlInt(NowUnixMillis())};
    std::string sql =
        "UPDATE p2p_preheat_task SET status = $2, status_message = $3, provider_task_id = $4, "
        "run_count = $5, start_time = $6, end_time = $7, update_time = $8";
    if (log != nullptr) {
      sql += ", log = $9";
      params.push_back(SqlText(*log));
    }
    return tx.Exec(sql + " WHERE id = $1", params).status();
  });
}

Status PreheatStore::StopUnfinished(int64_t execution_id, int64_t now) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    return tx
        .Exec(
            "UPDATE p2p_preheat_task SET status = 'Stopped', end_time = $2, update_time = $2 "
            "WHERE execution_id = $1 AND status IN ('Pending', 'Running')",
            {SqlInt(execution_id), SqlInt(now)})
        .status();
  });
}

StatusOr<std::map<int64_t, std::map<std::string, int64_t>>> PreheatStore::TaskCounts(
    const std::vector<int64_t>& execution_ids) {
  std::map<int64_t, std::map<std::string, int64_t>> out;
  if (execution_ids.empty()) return out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    out.clear();
    std::string in;
    std::vector<SqlValue> params;
    for (size_t i = 0; i < execution_ids.size(); ++i) {
      in += (i ? ", $" : "$") + std::to_string(i + 1);
      params.push_back(SqlInt(execution_ids[i]));
    }
    auto r = tx.Exec("SELECT execution_id, status, COUNT(*) FROM p2p_preheat_task "
                     "WHERE execution_id IN (" + in + ") GROUP BY execution_id, status",
                     params);
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) out[row.Int(0)][row.Text(1)] = row.Int(2);
    return {};
  }));
  return out;
}

}  // namespace berth
