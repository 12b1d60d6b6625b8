#include "store/project_store.h"

#include "common/clock.h"
#include "store/row_query.h"
#include "store/storage_accounting.h"

namespace berth {

namespace {

constexpr char kProjectSelect[] =
    "p.project_id, p.name, p.owner_id, COALESCE(u.username, ''), p.registry_id, "
    "p.creation_time, p.update_time, "
    "(SELECT COUNT(*) FROM repository r WHERE r.project_id = p.project_id)";
constexpr char kProjectFrom[] = "project p LEFT JOIN harbor_user u ON u.user_id = p.owner_id";

ProjectRecord ReadProject(const SqlRow& r) {
  ProjectRecord p;
  p.project_id = r.Int(0);
  p.name = r.Text(1);
  p.owner_id = r.Int(2);
  p.owner_name = r.Text(3);
  p.registry_id = r.Int(4);
  p.creation_time = r.Int(5);
  p.update_time = r.Int(6);
  p.repo_count = r.Int(7);
  return p;
}

constexpr char kMemberSelect[] =
    "pm.id, pm.project_id, pm.entity_id, pm.entity_type, "
    "COALESCE(CASE WHEN pm.entity_type = 'u' THEN (SELECT username FROM harbor_user WHERE "
    "user_id = pm.entity_id) ELSE (SELECT group_name FROM user_group WHERE id = pm.entity_id) "
    "END, ''), pm.role, pm.creation_time, pm.update_time";

MemberRecord ReadMember(const SqlRow& r) {
  return {r.Int(0), r.Int(1), r.Int(2), r.Text(3), r.Text(4), static_cast<int>(r.Int(5)),
          r.Int(6), r.Int(7)};
}

// "(pm.entity_type = 'u' AND pm.entity_id = $n) OR (... 'g' ... IN (...))"
std::string MembershipClause(int64_t user_id, const std::vector<int64_t>& groups,
                             std::vector<SqlValue>* params) {
  params->push_back(SqlInt(user_id));
  std::string c = "(pm.entity_type = 'u' AND pm.entity_id = $" + std::to_string(params->size()) + ")";
  if (!groups.empty()) {
    std::string in;
    for (int64_t g : groups) {
      params->push_back(SqlInt(g));
      in += (in.empty() ? "$" : ", $") + std::to_string(params->size());
    }
    c += " OR (pm.entity_type = 'g' AND pm.entity_id IN (" + in + "))";
  }
  return c;
}

// The project matching `where` (one parameter, $1), completed by `load`
// (its metadata) in the same read transaction.
template <class Load>
StatusOr<std::optional<ProjectRecord>> OneProject(SqlDatabase& db, const char* where,
                                                  SqlValue param, Load load) {
  std::optional<ProjectRecord> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db, false, [&](SqlTransaction& tx) -> Status {
    BERTH_ASSIGN_OR_RETURN(
        out,
        QueryOptionalRow(
            tx, SelectSql(kProjectSelect, std::string("FROM ") + kProjectFrom + " WHERE " + where),
            {param}, ReadProject));
    return out ? load(tx, &*out) : Status();
  }));
  return out;
}

}  // namespace

const char kProjectPublicExpr[] =
    "(CASE WHEN EXISTS (SELECT 1 FROM project_metadata m WHERE m.project_id = p.project_id "
    "AND m.name = 'public' AND m.value = 'true') THEN 'true' ELSE 'false' END)";

std::string VisibleProjectCondition(const ProjectVisibility& who, std::vector<SqlValue>* params) {
  if (who.all) return "1 = 1";
  std::string where = std::string(kProjectPublicExpr) + " = 'true'";
  if (who.user_id > 0) {
    where = "(" + where +
            " OR EXISTS (SELECT 1 FROM project_member pm WHERE pm.project_id = p.project_id "
            "AND (" + MembershipClause(who.user_id, who.group_ids, params) + ")))";
  }
  if (who.project_id > 0) {
    params->push_back(SqlInt(who.project_id));
    where = "(" + where + " OR p.project_id = $" + std::to_string(params->size()) + ")";
  }
  return where;
}

Status ProjectStore::LoadMetadata(SqlTransaction& tx, ProjectRecord* p) {
  auto r = tx.Exec("SELECT name, value FROM project_metadata WHERE project_id = $1",
                   {SqlInt(p->project_id)});
  if (!r.ok()) return r.status();
  for (const auto& row : r->rows) p->metadata[row.Text(0)] = row.Text(1);
  return {};
}

StatusOr<ProjectRecord> ProjectStore::Create(const std::string& name, int64_t owner_id,
                                             const std::map<std::string, std::string>& metadata,
                                             int64_t registry_id, int64_t storage_limit) {
  int64_t now = NowUnixMillis();
  int64_t id = 0;
  Status s = RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(
        "INSERT INTO project (name, owner_id, registry_id, creation_time, update_time) "
        "VALUES ($1, $2, $3, $4, $4) RETURNING project_id",
        {SqlText(name), SqlInt(owner_id), SqlInt(registry_id), SqlInt(now)});
    if (!r.ok()) return r.status();
    id = r->rows.at(0).Int(0);
    for (const auto& [k, v] : metadata) {
      auto m = tx.Exec("INSERT INTO project_metadata (project_id, name, value) VALUES ($1, $2, $3)",
                       {SqlInt(id), SqlText(k), SqlText(v)});
      if (!m.ok()) return m.status();
    }
    if (owner_id > 0) {
      auto m = tx.Exec(
          "INSERT INTO project_member (project_id, entity_id, entity_type, role, creation_time, "
          "update_time) VALUES ($1, $2, 'u', 1, $3, $3)",
          {SqlInt(id), SqlInt(owner_id), SqlInt(now)});
      if (!m.ok()) return m.status();
    }
    // Repositories pushed before the project existed (or re-created) join it.
    // (A bare repository name is its own project's, as at push time.)
    std::string prefix = name + "/";
    auto adopt = tx.Exec(
        "UPDATE repository SET project_id = $1 WHERE substr(name, 1, $3) = $2 OR name = $4",
        {SqlInt(id), SqlText(prefix), SqlInt(static_cast<int64_t>(prefix.size())),
         SqlText(name)});
    if (!adopt.ok()) return adopt.status();
    // Its quota, charged with what adopted repositories already hold.
    return accounting::CreateProjectQuota(tx, db_.dialect(), id, storage_limit).status();
  });
  if (s.code() == Code::kConflict) {
    return Status::Conflict("the project named " + name + " already exists", "CONFLICT");
  }
  BERTH_RETURN_IF_ERROR(s);
  BERTH_ASSIGN_OR_RETURN(auto p, GetById(id));
  if (!p) return Status::Internal("project vanished after creation");
  return *p;
}

StatusOr<std::optional<ProjectRecord>> ProjectStore::GetByName(std::string_view name) {
  return OneProject(db_, "p.name = $1", SqlText(name),
                    [this](SqlTransaction& tx, ProjectRecord* p) { return LoadMetadata(tx, p); });
}

StatusOr<std::optional<ProjectRecord>> ProjectStore::GetById(int64_t id) {
  return OneProject(db_, "p.project_id = $1", SqlInt(id),
                    [this](SqlTransaction& tx, ProjectRecord* p) { return LoadMetadata(tx, p); });
}

StatusOr<Page<ProjectRecord>> ProjectStore::List(const ListQuery& q, const ProjectVisibility& who) {
  static const std::map<std::string, QueryColumn> kColumns = {
      {"name", {"p.name"}},
      {"project_id", {"p.project_id", true}},
      {"public", {kProjectPublicExpr}},
      {"owner", {"u.username"}},
      {"creation_time", {"p.creation_time", true}},
      {"update_time", {"p.update_time", true}}};
  std::vector<SqlValue> params;
  std::string where = VisibleProjectCondition(who, &params);
  BERTH_ASSIGN_OR_RETURN(RowPage rows, RunListQuery(db_, kProjectSelect, kProjectFrom, where,
                                                    params, q, kColumns, "p.project_id"));
  Page<ProjectRecord> page{{}, rows.total};
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    for (const auto& row : rows.rows) {
      ProjectRecord p = ReadProject(row);
      BERTH_RETURN_IF_ERROR(LoadMetadata(tx, &p));
      page.items.push_back(std::move(p));
    }
    return {};
  }));
  return page;
}

Status ProjectStore::SetMetadata(int64_t project_id,
                                 const std::map<std::string, std::string>& metadata) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    for (const auto& [k, v] : metadata) {
      auto r = tx.Exec(
          "INSERT INTO project_metadata (project_id, name, value) VALUES ($1, $2, $3) "
          "ON CONFLICT (project_id, name) DO UPDATE SET value = excluded.value",
          {SqlInt(project_id), SqlText(k), SqlText(v)});
      if (!r.ok()) return r.status();
    }
    return tx.Exec("UPDATE project SET update_time = $2 WHERE project_id = $1",
                   {SqlInt(project_id), SqlInt(NowUnixMillis())})
        .status();
  });
}

Status ProjectStore::DeleteMetadata(int64_t project_id, std::string_view key) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("DELETE FROM project_metadata WHERE project_id = $1 AND name = $2",
                     {SqlInt(project_id), SqlText(key)});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return Status::NotFound("metadata " + std::string(key) + " not found", "NOT_FOUND");
    return {};
  });
}

Status ProjectStore::Delete(int64_t project_id) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto n = tx.Exec("SELECT COUNT(*) FROM repository WHERE project_id = $1", {SqlInt(project_id)});
    if (!n.ok()) return n.status();
    if (n->rows[0].Int(0) > 0) {
      return Status(Code::kPreconditionFailed,
                    "the project contains repositories and cannot be deleted", "PRECONDITION");
    }
    auto r = tx.Exec("DELETE FROM project WHERE project_id = $1", {SqlInt(project_id)});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return Status::NotFound("project not found", "NOT_FOUND");
    // Its robots go with it (Harbor: robotMgr.DeleteByProjectID).
    auto robots = tx.Exec("DELETE FROM robot WHERE level = 'project' AND project_id = $1",
                          {SqlInt(project_id)});
    if (!robots.ok()) return robots.status();
    // Its CVE allowlist too (no foreign key: project_id 0 is the system's).
    auto allowlist = tx.Exec("DELETE FROM cve_allowlist WHERE project_id = $1", {SqlInt(project_id)});
    if (!allowlist.ok()) return allowlist.status();
    return accounting::DeleteProjectQuota(tx, project_id);
  });
}

StatusOr<int64_t> ProjectStore::RepoCount(int64_t project_id) {
  int64_t n = 0;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("SELECT COUNT(*) FROM repository WHERE project_id = $1", {SqlInt(project_id)});
    if (!r.ok()) return r.status();
    n = r->rows[0].Int(0);
    return {};
  }));
  return n;
}

StatusOr<MemberRecord> ProjectStore::AddMember(int64_t project_id, int64_t entity_id,
                                               const std::string& entity_type, int role) {
  int64_t now = NowUnixMillis();
  int64_t id = 0;
  Status s = RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(
        "INSERT INTO project_member (project_id, entity_id, entity_type, role, creation_time, "
        "update_time) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        {SqlInt(project_id), SqlInt(entity_id), SqlText(entity_type), SqlInt(role), SqlInt(now)});
    if (!r.ok()) return r.status();
    id = r->rows.at(0).Int(0);
    return {};
  });
  if (s.code() == Code::kConflict) {
    return Status::Conflict("the member is already in the project", "CONFLICT");
  }
  BERTH_RETURN_IF_ERROR(s);
  BERTH_ASSIGN_OR_RETURN(auto m, GetMember(project_id, id));
  if (!m) return Status::Internal("member vanished after creation");
  return *m;
}

StatusOr<Page<MemberRecord>> ProjectStore::ListMembers(int64_t project_id, const ListQuery& q) {
  static const std::map<std::string, QueryColumn> kColumns = {
      {"entityname",
       {"COALESCE(CASE WHEN pm.entity_type = 'u' THEN (SELECT username FROM harbor_user WHERE "
        "user_id = pm.entity_id) ELSE (SELECT group_name FROM user_group WHERE id = "
        "pm.entity_id) END, '')"}},
      {"entity_type", {"pm.entity_type"}},
      {"role", {"pm.role", true}},
      {"id", {"pm.id", true}}};
  BERTH_ASSIGN_OR_RETURN(
      RowPage rows, RunListQuery(db_, kMemberSelect, "project_member pm", "pm.project_id = $1",
                                 {SqlInt(project_id)}, q, kColumns, "pm.id"));
  Page<MemberRecord> page{{}, rows.total};
  for (const auto& row : rows.rows) page.items.push_back(ReadMember(row));
  return page;
}

StatusOr<std::optional<MemberRecord>> ProjectStore::GetMember(int64_t project_id,
                                                              int64_t member_id) {
  return QueryOptionalRow(
      db_,
      SelectSql(kMemberSelect, "FROM project_member pm WHERE pm.project_id = $1 AND pm.id = $2"),
      {SqlInt(project_id), SqlInt(member_id)}, ReadMember);
}

Status ProjectStore::UpdateMemberRole(int64_t project_id, int64_t member_id, int role) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(
        "UPDATE project_member SET role = $3, update_time = $4 WHERE project_id = $1 AND id = $2",
        {SqlInt(project_id), SqlInt(member_id), SqlInt(role), SqlInt(NowUnixMillis())});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return Status::NotFound("project member not found", "NOT_FOUND");
    return {};
  });
}

Status ProjectStore::DeleteMember(int64_t project_id, int64_t member_id) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("DELETE FROM project_member WHERE project_id = $1 AND id = $2",
                     {SqlInt(project_id), SqlInt(member_id)});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return Status::NotFound("project member not found", "NOT_FOUND");
    return {};
  });
}

StatusOr<std::vector<int>> ProjectStore::RolesOf(int64_t project_id, int64_t user_id,
                                                 const std::vector<int64_t>& group_ids) {
  std::vector<int> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    std::vector<SqlValue> params = {SqlInt(project_id)};
    std::string clause = MembershipClause(user_id, group_ids, &params);
    auto r = tx.Exec("SELECT DISTINCT pm.role FROM project_member pm WHERE pm.project_id = $1 AND (" +
                         clause + ") ORDER BY 1",
                     params);
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) out.push_back(static_cast<int>(row.Int(0)));
    return {};
  }));
  return out;
}

StatusOr<std::map<int, int64_t>> ProjectStore::RoleCounts(int64_t project_id) {
  std::map<int, int64_t> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("SELECT role, COUNT(*) FROM project_member WHERE project_id = $1 GROUP BY role",
                     {SqlInt(project_id)});
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) out[static_cast<int>(row.Int(0))] = row.Int(1);
    return {};
  }));
  return out;
}

}  // namespace berth
