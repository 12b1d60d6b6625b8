#include "store/scanner_store.h"

#include <map>

#include "common/clock.h"
#include "store/row_query.h"

namespace berth {

namespace {

constexpr char kSelect[] =
    "s.id, s.uuid, s.name, s.description, s.url, s.provider, s.config, s.auth, "
    "s.access_credential, s.disabled, s.is_default, s.skip_cert_verify, s.use_internal_addr, "
    "s.from_config, s.creation_time, s.update_time";

ScannerRegistrationRecord Read(const SqlRow& r) {
  ScannerRegistrationRecord x;
  x.id = r.Int(0);
  x.uuid = r.Text(1);
  x.name = r.Text(2);
  x.description = r.Text(3);
  x.url = r.Text(4);
  x.provider = r.Text(5);
  x.config_json = r.Text(6);
  x.auth = r.Text(7);
  x.access_credential = r.Text(8);
  x.disabled = r.Int(9) != 0;
  x.is_default = r.Int(10) != 0;
  x.skip_cert_verify = r.Int(11) != 0;
  x.use_internal_addr = r.Int(12) != 0;
  x.from_config = r.Int(13) != 0;
  x.creation_time = r.Int(14);
  x.update_time = r.Int(15);
  return x;
}

StatusOr<std::optional<ScannerRegistrationRecord>> GetWhere(SqlDatabase& db, const std::string& where,
                                                            const std::vector<SqlValue>& params) {
  return QueryOptionalRow(db,
                          SelectSql(kSelect, std::string("FROM scanner_registration s WHERE ") +
                                                 where + " ORDER BY s.id LIMIT 1"),
                          params, Read);
}

Status NameTaken(const std::string& name) {
  return Status::Conflict("a scanner registration named '" + name + "' already exists", "CONFLICT");
}

}  // namespace

Status ScannerStore::Create(ScannerRegistrationRecord& r) {
  r.creation_time = r.update_time = NowUnixMillis();
  Status s = RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto res = tx.Exec(
        "INSERT INTO scanner_registration (uuid, name, description, url, provider, config, auth, "
        "access_credential, disabled, is_default, skip_cert_verify, use_internal_addr, "
        "from_config, creation_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
        "$10, $11, $12, $13, $14, $14) RETURNING id",
        {SqlText(r.uuid), SqlText(r.name), SqlText(r.description), SqlText(r.url),
         SqlText(r.provider), SqlText(r.config_json), SqlText(r.auth),
         SqlText(r.access_credential), SqlInt(r.disabled), SqlInt(r.is_default),
         SqlInt(r.skip_cert_verify), SqlInt(r.use_internal_addr), SqlInt(r.from_config),
         SqlInt(r.creation_time)});
    if (!res.ok()) return res.status();
    r.id = res->rows.at(0).Int(0);
    return {};
  });
  if (s.code() == Code::kConflict) return NameTaken(r.name);
  return s;
}

StatusOr<std::optional<ScannerRegistrationRecord>> ScannerStore::Get(const std::string& uuid) {
  return GetWhere(db_, "s.uuid = $1", {SqlText(uuid)});
}

StatusOr<std::optional<ScannerRegistrationRecord>> ScannerStore::GetByName(const std::string& name) {
  return GetWhere(db_, "s.name = $1", {SqlText(name)});
}

StatusOr<std::optional<ScannerRegistrationRecord>> ScannerStore::GetDefault() {
  return GetWhere(db_, "s.is_default = 1", {});
}

StatusOr<Page<ScannerRegistrationRecord>> ScannerStore::List(const ListQuery& q) {
  static const std::map<std::string, QueryColumn> kColumns = {
      {"name", {"s.name"}},
      {"description", {"s.description"}},
      {"url", {"s.url"}},
      {"id", {"s.id", true}},
  };
  BERTH_ASSIGN_OR_RETURN(RowPage rows, RunListQuery(db_, kSelect, "scanner_registration s", "1 = 1",
                                                    {}, q, kColumns, "s.id"));
  Page<ScannerRegistrationRecord> page{{}, rows.total};
  for (const auto& row : rows.rows) page.items.push_back(Read(row));
  return page;
}

Status ScannerStore::Update(ScannerRegistrationRecord& r) {
  r.update_time = NowUnixMillis();
  Status s = RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto res = tx.Exec(
        "UPDATE scanner_registration SET name = $2, description = $3, url = $4, provider = $5, "
        "config = $6, auth = $7, access_credential = $8, disabled = $9, skip_cert_verify = $10, "
        "use_internal_addr = $11, from_config = $12, update_time = $13 WHERE uuid = $1",
        {SqlText(r.uuid), SqlText(r.name), SqlText(r.description), SqlText(r.url),
         SqlText(r.provider), SqlText(r.config_json), SqlText(r.auth),
         SqlText(r.access_credential), SqlInt(r.disabled), SqlInt(r.skip_cert_verify),
         SqlInt(r.use_internal_addr), SqlInt(r.from_config), SqlInt(r.update_time)});
    if (!res.ok()) return res.status();
    if (res->affected == 0) return Status::NotFound("scanner registration " + r.uuid + " not found", "NOT_FOUND");
    return {};
  });
  if (s.code() == Code::kConflict) return NameTaken(r.name);
  return s;
}

Status ScannerStore::Delete(const std::string& uuid) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    // Reports (and their findings) go with the registration, as in Harbor.
    auto f = tx.Exec(
        "DELETE FROM vulnerability_finding WHERE report_id IN (SELECT id FROM scan_report WHERE "
        "registration_uuid = $1)",
        {SqlText(uuid)});
    if (!f.ok()) return f.status();
    for (const char* sql : {"DELETE FROM scan_report WHERE registration_uuid = $1",
                            "DELETE FROM project_scanner WHERE registration_uuid = $1"}) {
      auto r = tx.Exec(sql, {SqlText(uuid)});
      if (!r.ok()) return r.status();
    }
    auto r = tx.Exec("DELETE FROM scanner_registration WHERE uuid = $1", {SqlText(uuid)});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return Status::NotFound("scanner registration " + uuid + " not found", "NOT_FOUND");
    return {};
  });
}

Status ScannerStore::SetDefault(const std::string& uuid) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("UPDATE scanner_registration SET is_default = 1, update_time = $2 WHERE uuid = $1",
                     {SqlText(uuid), SqlInt(NowUnixMillis())});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return Status::NotFound("scanner registration " + uuid + " not found", "NOT_FOUND");
    auto c = tx.Exec("UPDATE scanner_registration SET is_default = 0 WHERE uuid <> $1 AND is_default = 1",
                     {SqlText(uuid)});
    return c.status();
  });
}

StatusOr<std::string> ScannerStore::ProjectScanner(int64_t project_id) {
  std::string out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("SELECT registration_uuid FROM project_scanner WHERE project_id = $1",
                     {SqlInt(project_id)});
    if (!r.ok()) return r.status();
    out = r->rows.empty() ? "" : r->rows[0].Text(0);
    return {};
  }));
  return out;
}

Status ScannerStore::SetProjectScanner(int64_t project_id, const std::string& uuid) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto d = tx.Exec("DELETE FROM project_scanner WHERE project_id = $1", {SqlInt(project_id)});
    if (!d.ok()) return d.status();
    auto r = tx.Exec("INSERT INTO project_scanner (project_id, registration_uuid) VALUES ($1, $2)",
                     {SqlInt(project_id), SqlText(uuid)});
    return r.status();
  });
}

}  // namespace berth
