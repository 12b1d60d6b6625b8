// RemoteRegistryStore: the remote registries replication talks to (Harbor's
// registry table). access_secret is stored sealed; the store never sees the
// plain secret.
#ifndef BERTH_STORE_REMOTE_REGISTRY_STORE_H_
#define BERTH_STORE_REMOTE_REGISTRY_STORE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "store/list_query.h"
#include "store/sql.h"

namespace berth {

struct RemoteRegistryRecord {
  int64_t id = 0;
  std::string name;
  std::string description;
  std::string type;  // the replication adapter: "docker-registry", "harbor"
  std::string url;
  std::string credential_type;
  std::string access_key;
  std::string sealed_secret;
  bool insecure = false;
  std::string ca_certificate;
  std::string status;  // "healthy", "unhealthy", "" (never checked)
  int64_t creation_time = 0;
  int64_t update_time = 0;
};

class RemoteRegistryStore {
 public:
  explicit RemoteRegistryStore(SqlDatabase& db) : db_(db) {}

  // kConflict when the name is taken.
  StatusOr<int64_t> Create(const RemoteRegistryRecord& r);
  StatusOr<std::optional<RemoteRegistryRecord>> Get(int64_t id);
  // q keys: name, url, type; sort by id, name, creation_time.
  StatusOr<Page<RemoteRegistryRecord>> List(const ListQuery& q);
  // kNotFound, kConflict (name).
  Status Update(const RemoteRegistryRecord& r);
  Status SetStatus(int64_t id, const std::string& status);
  // Refused (kPreconditionFailed) while a replication policy names it, in
  // the same transaction. kNotFound.
  Status Delete(int64_t id);

 private:
  SqlDatabase& db_;
};

}  // namespace berth

#endif  // BERTH_STORE_REMOTE_REGISTRY_STORE_H_
