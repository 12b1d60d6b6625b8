#include "store/cve_allowlist_store.h"

#include <nlohmann/json.hpp>

#include "common/clock.h"

namespace berth {

namespace {

constexpr char kSelect[] =
    "SELECT id, project_id, expires_at, items, creation_time, update_time FROM cve_allowlist "
    "WHERE project_id = $1";

StatusOr<CveAllowlistRecord> ReadRecord(const SqlRow& r) {
  CveAllowlistRecord a;
  a.id = r.Int(0);
  a.project_id = r.Int(1);
  if (!r.IsNull(2)) a.expires_at = r.Int(2);
  auto items = nlohmann::json::parse(r.Text(3), nullptr, false);
  if (!items.is_array()) {
    return Status::Internal("cve_allowlist " + std::to_string(a.id) + ": items are not a JSON array");
  }
  for (const auto& i : items) {
    if (i.is_string()) a.items.push_back(i.get<std::string>());
  }
  a.creation_time = r.Int(4);
  a.update_time = r.Int(5);
  return a;
}

}  // namespace

StatusOr<std::optional<CveAllowlistRecord>> CveAllowlistStore::Get(int64_t project_id) {
  std::optional<CveAllowlistRecord> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    out.reset();
    auto r = tx.Exec(kSelect, {SqlInt(project_id)});
    if (!r.ok()) return r.status();
    if (r->rows.empty()) return {};
    BERTH_ASSIGN_OR_RETURN(auto rec, ReadRecord(r->rows[0]));
    out = std::move(rec);
    return {};
  }));
  return out;
}

StatusOr<CveAllowlistRecord> CveAllowlistStore::Set(int64_t project_id,
                                                    std::optional<int64_t> expires_at,
                                                    const std::vector<std::string>& items) {
  nlohmann::json ids = items;
  int64_t now = NowUnixMillis();
  CveAllowlistRecord out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto w = tx.Exec(
        "INSERT INTO cve_allowlist (project_id, expires_at, items, creation_time, update_time) "
        "VALUES ($1, $2, $3, $4, $4) ON CONFLICT (project_id) DO UPDATE SET "
        "expires_at = excluded.expires_at, items = excluded.items, "
        "update_time = excluded.update_time",
        {SqlInt(project_id), expires_at ? SqlInt(*expires_at) : SqlNull(), SqlText(ids.dump()),
         SqlInt(now)});
    if (!w.ok()) return w.status();
    auto r = tx.Exec(kSelect, {SqlInt(project_id)});
    if (!r.ok()) return r.status();
    if (r->rows.empty()) return Status::Internal("cve_allowlist row vanished after its write");
    BERTH_ASSIGN_OR_RETURN(out, ReadRecord(r->rows[0]));
    return {};
  }));
  return out;
}

}  // namespace berth
