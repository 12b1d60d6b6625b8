// RobotStore: robot accounts (system and project level).
#ifndef BERTH_STORE_ROBOT_STORE_H_
#define BERTH_STORE_ROBOT_STORE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "store/list_query.h"
#include "store/sql.h"

namespace berth {

struct RobotRecord {
  int64_t id = 0;
  std::string name;  // full name, e.g. "robot$proj+ci" or "robot$ci"
  std::string description;
  std::string secret_hash;
  std::string level;  // "system" | "project"
  int64_t project_id = 0;
  int64_t duration = -1;    // days; -1 = never expires
  int64_t expires_at = -1;  // unix seconds; -1 = never
  bool disabled = false;
  std::string permissions_json;  // Harbor's permission list
  std::string creator_type;
  std::string creator_ref;
  int64_t creation_time = 0;
  int64_t update_time = 0;
};

class RobotStore {
 public:
  explicit RobotStore(SqlDatabase& db) : db_(db) {}
  // kConflict when the name is taken.
  StatusOr<RobotRecord> Create(RobotRecord r);
  StatusOr<std::optional<RobotRecord>> GetById(int64_t id);
  StatusOr<std::optional<RobotRecord>> GetByName(std::string_view name);
  // Keys: name, level, project_id, disabled.
  StatusOr<Page<RobotRecord>> List(const ListQuery& q);
  // Updates description, disabled, duration/expires_at and permissions.
  Status Update(const RobotRecord& r);
  Status SetSecret(int64_t id, std::string_view secret_hash);
  Status Delete(int64_t id);

 private:
  SqlDatabase& db_;
};

}  // namespace berth

#endif  // BERTH_STORE_ROBOT_STORE_H_
