#include "store/trusted_key_store.h"

#include "common/clock.h"

namespace berth {

namespace {

constexpr char kSelect[] =
    "SELECT id, project_id, description, algorithm, fingerprint, public_key, creator, "
    "creation_time FROM trusted_key ";

TrustedKeyRecord ReadKey(const SqlRow& r) {
  TrustedKeyRecord k;
  k.id = r.Int(0);
  k.project_id = r.Int(1);
  k.description = r.Text(2);
  k.algorithm = r.Text(3);
  k.fingerprint = r.Text(4);
  k.public_key = r.Text(5);
  k.creator = r.Text(6);
  k.creation_time = r.Int(7);
  return k;
}

Status KeyNotFound(int64_t id) {
  return Status::NotFound("trusted key " + std::to_string(id) + " not found", "NOT_FOUND");
}

}  // namespace

StatusOr<TrustedKeyRecord> TrustedKeyStore::Create(TrustedKeyRecord key) {
  key.creation_time = NowUnixMillis();
  Status s = RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    // Checked here so that a conflict below can only be the fingerprint.
    auto p = tx.Exec("SELECT 1 FROM project WHERE project_id = $1", {SqlInt(key.project_id)});
    if (!p.ok()) return p.status();
    if (p->rows.empty()) {
      return Status::NotFound("project " + std::to_string(key.project_id) + " not found",
                              "NOT_FOUND");
    }
    auto r = tx.Exec(
        "INSERT INTO trusted_key (project_id, description, algorithm, fingerprint, public_key, "
        "creator, creation_time) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        {SqlInt(key.project_id), SqlText(key.description), SqlText(key.algorithm),
         SqlText(key.fingerprint), SqlText(key.public_key), SqlText(key.creator),
         SqlInt(key.creation_time)});
    if (!r.ok()) return r.status();
    key.id = r->rows.at(0).Int(0);
    return {};
  });
  if (s.code() == Code::kConflict) {
    return Status::Conflict("the project trusts the key " + key.fingerprint + " already",
                            "CONFLICT");
  }
  BERTH_RETURN_IF_ERROR(s);
  return key;
}

StatusOr<std::vector<TrustedKeyRecord>> TrustedKeyStore::List(int64_t project_id) {
  std::vector<TrustedKeyRecord> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    out.clear();
    auto r = tx.Exec(std::string(kSelect) + "WHERE project_id = $1 ORDER BY id",
                     {SqlInt(project_id)});
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) out.push_back(ReadKey(row));
    return {};
  }));
  return out;
}

StatusOr<std::optional<TrustedKeyRecord>> TrustedKeyStore::Get(int64_t project_id, int64_t id) {
  std::optional<TrustedKeyRecord> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(std::string(kSelect) + "WHERE project_id = $1 AND id = $2",
                     {SqlInt(project_id), SqlInt(id)});
    if (!r.ok()) return r.status();
    if (!r->rows.empty()) out = ReadKey(r->rows[0]);
    return {};
  }));
  return out;
}

Status TrustedKeyStore::Delete(int64_t project_id, int64_t id) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("DELETE FROM trusted_key WHERE project_id = $1 AND id = $2",
                     {SqlInt(project_id), SqlInt(id)});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return KeyNotFound(id);
    return {};
  });
}

}  // namespace berth
