#include "store/config_store.h"

#include "common/clock.h"

namespace berth {

StatusOr<std::map<std::string, std::string>> ConfigStore::LoadAll() {
  std::map<std::string, std::string> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    out.clear();
    auto r = tx.Exec("SELECT name, value FROM config_item");
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) out[row.Text(0)] = row.Text(1);
    return {};
  }));
  return out;
}

Status ConfigStore::Save(const std::map<std::string, std::string>& values) {
  int64_t now = NowUnixMillis();
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    for (const auto& [name, value] : values) {
      auto r = tx.Exec(
          "INSERT INTO config_item (name, value, update_time) VALUES ($1, $2, $3) "
          "ON CONFLICT (name) DO UPDATE SET value = excluded.value, "
          "update_time = excluded.update_time",
          {SqlText(name), SqlText(value), SqlInt(now)});
      if (!r.ok()) return r.status();
    }
    return {};
  });
}

}  // namespace berth
