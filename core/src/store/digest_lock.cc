#include "store/digest_lock.h"

#include <algorithm>

namespace berth {

Status LockDigests(SqlTransaction& tx, SqlDialect dialect, std::vector<std::string> digests) {
  if (dialect != SqlDialect::kPostgres) return {};
  std::sort(digests.begin(), digests.end());
  digests.erase(std::unique(digests.begin(), digests.end()), digests.end());
  for (const auto& d : digests) {
    auto r = tx.Exec("SELECT pg_advisory_xact_lock(7324200, hashtext($1))", {SqlText(d)});
    if (!r.ok()) return r.status();
  }
  return {};
}

}  // namespace berth
