#include "store/remote_registry_store.h"

#include "common/clock.h"
#include "store/row_query.h"

namespace berth {

namespace {

constexpr char kSelect[] =
    "r.id, r.name, r.description, r.type, r.url, r.credential_type, r.access_key, "
    "r.access_secret, r.insecure, r.ca_certificate, r.status, r.creation_time, r.update_time";

RemoteRegistryRecord Read(const SqlRow& row) {
  RemoteRegistryRecord r;
  r.id = row.Int(0);
  r.name = row.Text(1);
  r.description = row.Text(2);
  r.type = row.Text(3);
  r.url = row.Text(4);
  r.credential_type = row.Text(5);
  r.access_key = row.Text(6);
  r.sealed_secret = row.Text(7);
  r.insecure = row.Int(8) != 0;
  r.ca_certificate = row.Text(9);
  r.status = row.Text(10);
  r.creation_time = row.Int(11);
  r.update_time = row.Int(12);
  return r;
}

Status NotFound(int64_t id) {
  return Status::NotFound("registry " + std::to_string(id) + " not found", "NOT_FOUND");
}

Status NameTaken(const std::string& name) {
  return Status::Conflict("registry " + name + " already exists", "CONFLICT");
}

}  // namespace

StatusOr<int64_t> RemoteRegistryStore::Create(const RemoteRegistryRecord& r) {
  int64_t id = 0;
  int64_t now = NowUnixMillis();
  Status s = RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto res = tx.Exec(
        "INSERT INTO remote_registry (name, description, type, url, credential_type, access_key, "
        "access_secret, insecure, ca_certificate, status, creation_time, update_time) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
        {SqlText(r.name), SqlText(r.description), SqlText(r.type), SqlText(r.url),
         SqlText(r.credential_type), SqlText(r.access_key), SqlText(r.sealed_secret),
         SqlInt(r.insecure ? 1 : 0), SqlText(r.ca_certificate), SqlText(r.status), SqlInt(now)});
    if (!res.ok()) return res.status();
    id = res->rows.at(0).Int(0);
    return {};
  });
  if (s.code() == Code::kConflict) return NameTaken(r.name);
  BERTH_RETURN_IF_ERROR(s);
  return id;
}

StatusOr<std::optional<RemoteRegistryRecord>> RemoteRegistryStore::Get(int64_t id) {
  return QueryOptionalRow(db_, SelectSql(kSelect, "FROM remote_registry r WHERE r.id = $1"),
                          {SqlInt(id)}, Read);
}

StatusOr<Page<RemoteRegistryRecord>> RemoteRegistryStore::List(const ListQuery& q) {
  static const std::map<std::string, QueryColumn> kColumns = {
      {"id", {"r.id", true}},
      {"name", {"r.name"}},
      {"url", {"r.url"}},
      {"type", {"r.type"}},
      {"creation_time", {"r.creation_time", true}},
      {"update_time", {"r.update_time", true}}};
  BERTH_ASSIGN_OR_RETURN(RowPage rows,
                         RunListQuery(db_, kSelect, "remote_registry r", "1 = 1", {}, q, kColumns,
                                      "r.id"));
  Page<RemoteRegistryRecord> page{{}, rows.total};
  for (const auto& row : rows.rows) page.items.push_back(Read(row));
  return page;
}

Status RemoteRegistryStore::Update(const RemoteRegistryRecord& r) {
  Status s = RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto res = tx.Exec(
        "UPDATE remote_registry SET name = $2, description = $3, url = $4, credential_type = $5, "
        "access_key = $6, access_secret = $7, insecure = $8, ca_certificate = $9, "
        "update_time = $10 WHERE id = $1",
        {SqlInt(r.id), SqlText(r.name), SqlText(r.description), SqlText(r.url),
         SqlText(r.credential_type), SqlText(r.access_key), SqlText(r.sealed_secret),
         SqlInt(r.insecure ? 1 : 0), SqlText(r.ca_certificate), SqlInt(NowUnixMillis())});
    if (!res.ok()) return res.status();
    if (res->affected == 0) return NotFound(r.id);
    return {};
  });
  if (s.code() == Code::kConflict) return NameTaken(r.name);
  return s;
}

Status RemoteRegistryStore::SetStatus(int64_t id, const std::string& status) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    return tx.Exec("UPDATE remote_registry SET status = $2 WHERE id = $1",
                   {SqlInt(id), SqlText(status)})
        .status();
  });
}

Status RemoteRegistryStore::Delete(int64_t id) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    // Harbor's registry controller: in use by a replication policy or a
    // proxy-cache project, it stays (412 with Harbor's messages).
    auto used = tx.Exec(
        "SELECT id FROM replication_policy WHERE src_registry_id = $1 OR dest_registry_id = $1 "
        "LIMIT 1",
        {SqlInt(id)});
    if (!used.ok()) return used.status();
    if (!used->rows.empty()) {
      return Status(Code::kPreconditionFailed,
                    "the registry " + std::to_string(id) +
                        " is referenced by replication policies, cannot delete it",
                    "PRECONDITION");
    }
    auto proxied = tx.Exec("SELECT project_id FROM project WHERE registry_id = $1 LIMIT 1", {SqlInt(id)});
    if (!proxied.ok()) return proxied.status();
    if (!proxied->rows.empty()) {
      return Status(Code::kPreconditionFailed,
                    "the registry " + std::to_string(id) +
                        " is referenced by proxy cache project, cannot delete it",
                    "PRECONDITION");
    }
    auto r = tx.Exec("DELETE FROM remote_registry WHERE id = $1", {SqlInt(id)});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return NotFound(id);
    return {};
  });
}

}  // namespace berth
