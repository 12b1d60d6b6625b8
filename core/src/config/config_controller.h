// ConfigController: Harbor's system configurations (GET/PUT
// /api/v2.0/configurations). A value comes from berth.yml or the
// environment (then it is fixed: reported not editable, never changed
// here), else from what an administrator stored, else the default. Changes
// are validated as a whole, stored in one transaction and put into effect at
// once through SettingsSource and the hooks (auth backend, token lifetime,
// audit forwarding); nothing is written when any key is refused.
#ifndef BERTH_CONFIG_CONFIG_CONTROLLER_H_
#define BERTH_CONFIG_CONFIG_CONTROLLER_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "auth/auth_backend.h"
#include "common/identity.h"
#include "config/config.h"
#include "config/runtime_settings.h"
#include "store/config_store.h"
#include "store/user_store.h"

namespace berth {

struct ConfigHooks {
  // An auth backend for `mode` (ldap, oidc) configured with `config_json`;
  // an error when the provider refuses the settings.
  std::function<StatusOr<std::shared_ptr<AuthBackend>>(const std::string& mode,
                                                        const std::string& config_json)>
      make_backend;
  // Puts settings into effect; `backend` is set when the auth mode or its
  // provider settings changed (null inside: the db mode has none).
  std::function<void(const RuntimeSettings& settings,
                     std::optional<std::shared_ptr<AuthBackend>> backend)>
      apply;
};

class ConfigController {
 public:
  ConfigController(ConfigStore& store, UserStore& users, SettingsSource& settings,
                   const Config& config, ConfigHooks hooks);

  // The settings of the file and environment overlaid with the stored ones
  // (at startup, before anything reads SettingsSource).
  StatusOr<RuntimeSettings> Effective();

  // ConfigurationsResponse: {key: {value, editable}}, secrets left out.
  StatusOr<nlohmann::json> Get(const Identity& who);
  // Harbor's GET /internalconfig (InternalConfigurationsResponse), for
  // system administrators: what Get answers plus the deployment's fixed
  // facts (ext_endpoint, database_type, registry_storage_provider_name).
  // Secrets stay out here too.
  StatusOr<nlohmann::json> Internal(const Identity& who);
  // Configurations: a flat object of the keys to change.
  Status Update(const Identity& who, const nlohmann::json& changes);
  // Re-reads the stored settings and puts them into effect when they differ
  // from this node's: how a change made through another node (which shares
  // the database) reaches this one. Returns whether anything changed. An
  // auth backend the provider refuses keeps the current settings (error).
  StatusOr<bool> Refresh();

 private:
  struct Item;
  static const std::vector<Item>& Items();
  static const Item* Find(const std::string& key);
  bool Fixed(const Item& item) const;
  StatusOr<std::map<std::string, nlohmann::json>> Stored();
  RuntimeSettings Compute(const std::map<std::string, nlohmann::json>& stored) const;
  // The provider's plugin config: the file's (when it configures that
  // provider) overlaid with the stored values of keys it does not fix.
  nlohmann::json ProviderConfig(const std::string& provider,
                                const std::map<std::string, nlohmann::json>& stored) const;
  nlohmann::json ValueOf(const Item& item, const RuntimeSettings& s,
                         const std::map<std::string, nlohmann::json>& stored) const;
  Status Validate(const Item& item, const nlohmann::json& v) const;
  StatusOr<bool> AuthModeEditable();

  ConfigStore& store_;
  UserStore& users_;
  SettingsSource& settings_;
  const Config& config_;
  ConfigHooks hooks_;
  std::mutex update_mu_;  // one change at a time
};

}  // namespace berth

#endif  // BERTH_CONFIG_CONFIG_CONTROLLER_H_
