// SessionStore: browser sessions (cookie "sid"), stored by the hash of their id.
#ifndef BERTH_STORE_SESSION_STORE_H_
#define BERTH_STORE_SESSION_STORE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "store/sql.h"

namespace berth {

struct SessionRecord {
  std::string id_hash;
  int64_t user_id = 0;
  std::string csrf_token;
  int64_t creation_time = 0;
  int64_t expires_at = 0;  // unix millis
};

class SessionStore {
 public:
  explicit SessionStore(SqlDatabase& db) : db_(db) {}
  Status Create(const SessionRecord& s);
  // Only sessions that have not expired.
  StatusOr<std::optional<SessionRecord>> Get(std::string_view id_hash, int64_t now_millis);
  Status Delete(std::string_view id_hash);
  Status DeleteExpired(int64_t now_millis);

 private:
  SqlDatabase& db_;
};

}  // namespace berth

#endif  // BERTH_STORE_SESSION_STORE_H_
