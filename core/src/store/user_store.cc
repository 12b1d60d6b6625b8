#include "store/user_store.h"

#include "common/clock.h"
#include "common/strings.h"
#include "store/row_query.h"

namespace berth {

namespace {

constexpr char kUserColumns[] =
    "user_id, username, email, realname, comment, password_hash, sysadmin_flag, auth_source, "
    "subject, cli_secret_hash, creation_time, update_time, admin_in_auth";

UserRecord ReadUser(const SqlRow& r) {
  UserRecord u;
  u.user_id = r.Int(0);
  u.username = r.Text(1);
  u.email = r.Text(2);
  u.realname = r.Text(3);
  u.comment = r.Text(4);
  u.password_hash = r.Text(5);
  u.sysadmin = r.Int(6) != 0;
  u.auth_source = r.Text(7);
  u.subject = r.Text(8);
  u.cli_secret_hash = r.Text(9);
  u.creation_time = r.Int(10);
  u.update_time = r.Int(11);
  u.admin_in_auth = r.Int(12) != 0;
  return u;
}

constexpr char kGroupColumns[] =
    "id, group_name, group_type, ldap_group_dn, creation_time, update_time";

UserGroupRecord ReadGroup(const SqlRow& r) {
  return {r.Int(0), r.Text(1), static_cast<int>(r.Int(2)), r.Text(3), r.Int(4), r.Int(5)};
}

// LDAP group DNs compare case-insensitively (cn, ou, dc: caseIgnoreMatch)
// and directories return them in their own spelling (AD: "CN=...,OU=..."):
// stored trimmed and lower-cased, as Harbor does (utils.TrimLower).
std::string NormalizeGroupDn(std::string_view dn) { return ToLower(Trim(dn)); }

StatusOr<std::optional<UserRecord>> GetOne(SqlDatabase& db, const std::string& where,
                                           SqlValue v) {
  return QueryOptionalRow(
      db, SelectSql(kUserColumns, std::string("FROM harbor_user WHERE ") + where), {v}, ReadUser);
}

Status ExecOne(SqlDatabase& db, const std::string& sql, std::vector<SqlValue> params,
               const char* what) {
  return RunInTransaction(db, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(sql, params);
    if (!r.ok()) return r.status();
    if (r->affected == 0) return Status::NotFound(std::string(what) + " not found", "NOT_FOUND");
    return {};
  });
}

}  // namespace

StatusOr<UserRecord> UserStore::Create(UserRecord u) {
  int64_t now = NowUnixMillis();
  u.creation_time = u.update_time = now;
  Status s = RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(
        "INSERT INTO harbor_user (username, email, realname, comment, password_hash, "
        "sysadmin_flag, auth_source, subject, cli_secret_hash, creation_time, update_time, "
        "admin_in_auth) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11) "
        "RETURNING user_id",
        {SqlText(u.username), SqlText(u.email), SqlText(u.realname), SqlText(u.comment),
         SqlText(u.password_hash), SqlInt(u.sysadmin ? 1 : 0), SqlText(u.auth_source),
         SqlText(u.subject), SqlText(u.cli_secret_hash), SqlInt(now),
         SqlInt(u.admin_in_auth ? 1 : 0)});
    if (!r.ok()) return r.status();
    u.user_id = r->rows.at(0).Int(0);
    return {};
  });
  if (s.code() == Code::kConflict) {
    return Status::Conflict("username " + u.username + " is already taken", "CONFLICT");
  }
  BERTH_RETURN_IF_ERROR(s);
  return u;
}

StatusOr<std::optional<UserRecord>> UserStore::GetById(int64_t id) {
  return GetOne(db_, "user_id = $1", SqlInt(id));
}

StatusOr<std::optional<UserRecord>> UserStore::GetByName(std::string_view username) {
  return GetOne(db_, "username = $1", SqlText(username));
}

StatusOr<std::optional<UserRecord>> UserStore::GetBySubject(std::string_view subject) {
  if (subject.empty()) return std::optional<UserRecord>();
  return GetOne(db_, "subject = $1", SqlText(subject));
}

StatusOr<Page<UserRecord>> UserStore::List(const ListQuery& q) {
  static const std::map<std::string, QueryColumn> kColumns = {
      {"username", {"username"}},     {"email", {"email"}},
      {"realname", {"realname"}},     {"user_id", {"user_id", true}},
      {"sysadmin_flag", {"sysadmin_flag", true}}, {"creation_time", {"creation_time", true}}};
  BERTH_ASSIGN_OR_RETURN(RowPage rows,
                         RunListQuery(db_, kUserColumns, "harbor_user", "", {}, q, kColumns, "user_id"));
  Page<UserRecord> page{{}, rows.total};
  for (const auto& row : rows.rows) page.items.push_back(ReadUser(row));
  return page;
}

Status UserStore::UpdateProfile(const UserRecord& u) {
  return ExecOne(db_,
                 "UPDATE harbor_user SET email = $2, realname = $3, comment = $4, "
                 "update_time = $5 WHERE user_id = $1",
                 {SqlInt(u.user_id), SqlText(u.email), SqlText(u.realname), SqlText(u.comment),
                  SqlInt(NowUnixMillis())},
                 "user");
}

Status UserStore::SetPassword(int64_t id, std::string_view hash) {
  return ExecOne(db_,
                 "UPDATE harbor_user SET password_hash = $2, update_time = $3 WHERE user_id = $1",
                 {SqlInt(id), SqlText(hash), SqlInt(NowUnixMillis())}, "user");
}

Status UserStore::SetSysadmin(int64_t id, bool sysadmin) {
  return ExecOne(db_,
                 "UPDATE harbor_user SET sysadmin_flag = $2, update_time = $3 WHERE user_id = $1",
                 {SqlInt(id), SqlInt(sysadmin ? 1 : 0), SqlInt(NowUnixMillis())}, "user");
}

Status UserStore::SetAdminInAuth(int64_t id, bool admin) {
  return ExecOne(db_,
                 "UPDATE harbor_user SET admin_in_auth = $2, update_time = $3 WHERE user_id = $1",
                 {SqlInt(id), SqlInt(admin ? 1 : 0), SqlInt(NowUnixMillis())}, "user");
}

Status UserStore::SetCliSecret(int64_t id, std::string_view hash) {
  return ExecOne(db_,
                 "UPDATE harbor_user SET cli_secret_hash = $2, update_time = $3 WHERE user_id = $1",
                 {SqlInt(id), SqlText(hash), SqlInt(NowUnixMillis())}, "user");
}

Status UserStore::Delete(int64_t id) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto m = tx.Exec("DELETE FROM project_member WHERE entity_type = 'u' AND entity_id = $1",
                     {SqlInt(id)});
    if (!m.ok()) return m.status();
    auto r = tx.Exec("DELETE FROM harbor_user WHERE user_id = $1", {SqlInt(id)});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return Status::NotFound("user not found", "NOT_FOUND");
    return {};
  });
}

StatusOr<int64_t> UserStore::Count() {
  int64_t n = 0;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("SELECT COUNT(*) FROM harbor_user");
    if (!r.ok()) return r.status();
    n = r->rows[0].Int(0);
    return {};
  }));
  return n;
}

StatusOr<UserGroupRecord> UserStore::CreateGroup(UserGroupRecord g) {
  int64_t now = NowUnixMillis();
  if (g.group_type == kGroupTypeLdap) g.ldap_group_dn = NormalizeGroupDn(g.ldap_group_dn);
  g.creation_time = g.update_time = now;
  Status s = RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(
        "INSERT INTO user_group (group_name, group_type, ldap_group_dn, creation_time, "
        "update_time) VALUES ($1, $2, $3, $4, $4) RETURNING id",
        {SqlText(g.group_name), SqlInt(g.group_type), SqlText(g.ldap_group_dn), SqlInt(now)});
    if (!r.ok()) return r.status();
    g.id = r->rows.at(0).Int(0);
    return {};
  });
  if (s.code() == Code::kConflict) {
    return Status::Conflict("user group " + g.group_name + " already exists", "CONFLICT");
  }
  BERTH_RETURN_IF_ERROR(s);
  return g;
}

StatusOr<UserGroupRecord> UserStore::EnsureGroup(std::string_view name, int type,
                                                 std::string_view dn) {
  UserGroupRecord out;
  int64_t now = NowUnixMillis();
  std::string normal_dn = type == kGroupTypeLdap ? NormalizeGroupDn(dn) : std::string(dn);
  dn = normal_dn;
  auto find_or_insert = [&](SqlTransaction& tx) -> Status {
    // LDAP groups are identified by DN (lower(): rows stored before DNs were
    // normalized), others by name.
    std::string where = type == kGroupTypeLdap ? "group_type = $1 AND lower(ldap_group_dn) = $2"
                                               : "group_type = $1 AND group_name = $2";
    SqlValue key = type == kGroupTypeLdap ? SqlText(dn) : SqlText(name);
    auto r =
        tx.Exec(SelectSql(kGroupColumns, "FROM user_group WHERE ") + where, {SqlInt(type), key});
    if (!r.ok()) return r.status();
    if (!r->rows.empty()) {
      out = ReadGroup(r->rows[0]);
      return {};
    }
    auto ins = tx.Exec(
        "INSERT INTO user_group (group_name, group_type, ldap_group_dn, creation_time, "
        "update_time) VALUES ($1, $2, $3, $4, $4) RETURNING id",
        {SqlText(name), SqlInt(type), SqlText(dn), SqlInt(now)});
    if (!ins.ok()) return ins.status();
    out = {ins->rows.at(0).Int(0), std::string(name), type, std::string(dn), now, now};
    return {};
  };
  Status s = RunInTransaction(db_, true, find_or_insert);
  // Concurrent first sign-ins of a group's members: on PostgreSQL both may
  // miss the row and insert; the loser's unique violation means the group
  // now exists, so look again.
  if (s.code() == Code::kConflict) s = RunInTransaction(db_, true, find_or_insert);
  BERTH_RETURN_IF_ERROR(s);
  return out;
}

StatusOr<std::optional<UserGroupRecord>> UserStore::GetGroup(int64_t id) {
  return QueryOptionalRow(db_, SelectSql(kGroupColumns, "FROM user_group WHERE id = $1"),
                          {SqlInt(id)}, ReadGroup);
}

StatusOr<Page<UserGroupRecord>> UserStore::ListGroups(const ListQuery& q) {
  static const std::map<std::string, QueryColumn> kColumns = {
      {"group_name", {"group_name"}},
      {"group_type", {"group_type", true}},
      {"ldap_group_dn", {"ldap_group_dn"}},
      {"id", {"id", true}}};
  BERTH_ASSIGN_OR_RETURN(
      RowPage rows, RunListQuery(db_, kGroupColumns, "user_group", "", {}, q, kColumns, "id"));
  Page<UserGroupRecord> page{{}, rows.total};
  for (const auto& row : rows.rows) page.items.push_back(ReadGroup(row));
  return page;
}

Status UserStore::RenameGroup(int64_t id, std::string_view name) {
  return ExecOne(db_, "UPDATE user_group SET group_name = $2, update_time = $3 WHERE id = $1",
                 {SqlInt(id), SqlText(name), SqlInt(NowUnixMillis())}, "user group");
}

Status UserStore::DeleteGroup(int64_t id) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto m = tx.Exec("DELETE FROM project_member WHERE entity_type = 'g' AND entity_id = $1",
                     {SqlInt(id)});
    if (!m.ok()) return m.status();
    auto r = tx.Exec("DELETE FROM user_group WHERE id = $1", {SqlInt(id)});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return Status::NotFound("user group not found", "NOT_FOUND");
    return {};
  });
}

Status UserStore::SetUserGroups(int64_t user_id, const std::vector<int64_t>& group_ids) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto d = tx.Exec("DELETE FROM user_group_membership WHERE user_id = $1", {SqlInt(user_id)});
    if (!d.ok()) return d.status();
    for (int64_t g : group_ids) {
      auto r = tx.Exec(
          "INSERT INTO user_group_membership (user_id, group_id) VALUES ($1, $2) "
          "ON CONFLICT (user_id, group_id) DO NOTHING",
          {SqlInt(user_id), SqlInt(g)});
      if (!r.ok()) return r.status();
    }
    return {};
  });
}

StatusOr<std::vector<int64_t>> UserStore::GroupIdsOf(int64_t user_id) {
  std::vector<int64_t> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("SELECT group_id FROM user_group_membership WHERE user_id = $1 ORDER BY 1",
                     {SqlInt(user_id)});
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) out.push_back(row.Int(0));
    return {};
  }));
  return out;
}

}  // namespace berth
