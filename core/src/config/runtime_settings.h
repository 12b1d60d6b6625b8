// RuntimeSettings: the configuration values an administrator may change
// while berthd runs (Harbor's /configurations), and SettingsSource, the
// thread-safe holder every consumer reads at the moment it needs a value,
// so a change takes effect on the next request without a restart.
#ifndef BERTH_CONFIG_RUNTIME_SETTINGS_H_
#define BERTH_CONFIG_RUNTIME_SETTINGS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "config/config.h"

namespace berth {

struct RuntimeSettings {
  std::string auth_mode = "db";  // db | ldap | oidc
  std::string auth_config_json = "{}";  // the mode's provider config (ldap, oidc)
  bool self_registration = false;
  int64_t token_expiration_minutes = 30;
  int64_t robot_token_duration_days = 30;
  std::string robot_name_prefix = "robot$";
  std::string project_creation_restriction = "everyone";  // everyone | adminonly
  int64_t storage_per_project = -1;  // bytes for new projects; -1 unlimited
  bool read_only = false;
  std::string audit_log_forward_endpoint;  // host:port; "" = off
  bool skip_audit_log_database = false;

  // The values berth.yml and the environment give (before the database's).
  static RuntimeSettings FromConfig(const Config& c);
};

class SettingsSource {
 public:
  explicit SettingsSource(RuntimeSettings initial);
  std::shared_ptr<const RuntimeSettings> Get() const;
  void Set(RuntimeSettings s);
  // Checked on every write request: no lock.
  bool read_only() const { return read_only_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const RuntimeSettings> current_;
  std::atomic<bool> read_only_;
};

}  // namespace berth

#endif  // BERTH_CONFIG_RUNTIME_SETTINGS_H_
