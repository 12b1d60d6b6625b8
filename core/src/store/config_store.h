// ConfigStore: the system configuration an administrator set through
// /api/v2.0/configurations (Harbor's `properties` table): one row per key,
// the value as JSON text so its type survives.
#ifndef BERTH_STORE_CONFIG_STORE_H_
#define BERTH_STORE_CONFIG_STORE_H_

#include <map>
#include <string>

#include "store/sql.h"

namespace berth {

class ConfigStore {
 public:
  explicit ConfigStore(SqlDatabase& db) : db_(db) {}

  // Every stored key and its JSON value.
  StatusOr<std::map<std::string, std::string>> LoadAll();
  // Sets the given keys in one transaction (all or nothing).
  Status Save(const std::map<std::string, std::string>& values);

 private:
  SqlDatabase& db_;
};

}  // namespace berth

#endif  // BERTH_STORE_CONFIG_STORE_H_
