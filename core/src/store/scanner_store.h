// ScannerStore: Harbor's scanner registrations (which scanner plugin
// provider, with which config), the system default, and the scanner each
// project chose.
#ifndef BERTH_STORE_SCANNER_STORE_H_
#define BERTH_STORE_SCANNER_STORE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "store/list_query.h"
#include "store/sql.h"

namespace berth {

struct ScannerRegistrationRecord {
  int64_t id = 0;
  std::string uuid;
  std::string name;
  std::string description;
  std::string url;          // "plugin:<provider>" or an adapter's URL
  std::string provider;     // the scanner plugin provider
  std::string config_json = "{}";
  std::string auth;         // "", Basic, Bearer, X-ScannerAdapter-API-Key
  std::string access_credential;
  bool disabled = false;
  bool is_default = false;
  bool skip_cert_verify = false;
  bool use_internal_addr = false;
  bool from_config = false;  // managed by berth.yml's scanning.default
  int64_t creation_time = 0;
  int64_t update_time = 0;
};

class ScannerStore {
 public:
  explicit ScannerStore(SqlDatabase& db) : db_(db) {}

  // kConflict (CONFLICT) for a name in use.
  Status Create(ScannerRegistrationRecord& r);
  StatusOr<std::optional<ScannerRegistrationRecord>> Get(const std::string& uuid);
  StatusOr<std::optional<ScannerRegistrationRecord>> GetByName(const std::string& name);
  StatusOr<std::optional<ScannerRegistrationRecord>> GetDefault();
  // q keys: name, description, url (Harbor's ListScanners).
  StatusOr<Page<ScannerRegistrationRecord>> List(const ListQuery& q);
  Status Update(ScannerRegistrationRecord& r);
  // kNotFound when missing.
  Status Delete(const std::string& uuid);
  // Makes `uuid` the only default.
  Status SetDefault(const std::string& uuid);

  // The registration a project chose ("" when it uses the default).
  StatusOr<std::string> ProjectScanner(int64_t project_id);
  Status SetProjectScanner(int64_t project_id, const std::string& uuid);

 private:
  SqlDatabase& db_;
};

}  // namespace berth

#endif  // BERTH_STORE_SCANNER_STORE_H_
