// CveAllowlistStore: Harbor's CVE allowlists, one row per owner: the system
// list (project_id 0) and each project's own. A list is replaced whole.
#ifndef BERTH_STORE_CVE_ALLOWLIST_STORE_H_
#define BERTH_STORE_CVE_ALLOWLIST_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/sql.h"

namespace berth {

struct CveAllowlistRecord {
  int64_t id = 0;  // 0: never written (the empty list every owner starts with)
  int64_t project_id = 0;  // 0: the system list
  std::optional<int64_t> expires_at;  // unix seconds; none: never expires
  std::vector<std::string> items;     // CVE ids, in the order given
  int64_t creation_time = 0;  // unix millis
  int64_t update_time = 0;
};

// Harbor's CVEAllowlist.IsExpired: an expired list exempts nothing.
inline bool CveAllowlistExpired(const CveAllowlistRecord& r, int64_t now_unix_s) {
  return r.expires_at.has_value() && now_unix_s >= *r.expires_at;
}

class CveAllowlistStore {
 public:
  explicit CveAllowlistStore(SqlDatabase& db) : db_(db) {}

  // The owner's list; nullopt when it was never written.
  StatusOr<std::optional<CveAllowlistRecord>> Get(int64_t project_id);
  // Creates or replaces the owner's list (keeps id and creation_time).
  StatusOr<CveAllowlistRecord> Set(int64_t project_id, std::optional<int64_t> expires_at,
                                   const std::vector<std::string>& items);

 private:
  SqlDatabase& db_;
};

}  // namespace berth

#endif  // BERTH_STORE_CVE_ALLOWLIST_STORE_H_
