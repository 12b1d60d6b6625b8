#include "config/config_controller.h"

#include "auth/denial.h"
#include "common/strings.h"

namespace berth {

namespace {

Status Bad(const std::string& m) { return Status::InvalidArgument(m, "BAD_REQUEST"); }

// Harbor's bound on the numeric settings (eight digits in its UI).
constexpr int64_t kMaxNumber = 99999999;

const char* const kScopes[] = {"base", "onelevel", "subtree"};  // Harbor's 0, 1, 2

}  // namespace

enum class ItemType { kString, kBool, kInt };
// How a provider setting is written in the plugin's config.
enum class Conv { kSame, kScope, kJsonObject };

struct ConfigController::Item {
  const char* key;        // Harbor's name
  ItemType type;
  const char* provider;   // "ldap" | "oidc" for a provider setting, else nullptr
  const char* path;       // the config path that fixes it; for provider settings the plugin key
  Conv conv = Conv::kSame;
  bool secret = false;    // never returned
  const char* fallback = "\"\"";  // JSON: what GET shows for an unset provider setting
};

const std::vector<ConfigController::Item>& ConfigController::Items() {
  using T = ItemType;
  static const std::vector<Item> kItems = {
      {"auth_mode", T::kString, nullptr, "auth.mode"},
      {"self_registration", T::kBool, nullptr, "auth.self_registration"},
      {"token_expiration", T::kInt, nullptr, "auth.token_expiration_minutes"},
      {"robot_token_duration", T::kInt, nullptr, "auth.robot_token_duration_days"},
      {"robot_name_prefix", T::kString, nullptr, "auth.robot_name_prefix"},
      {"project_creation_restriction", T::kString, nullptr, "auth.project_creation_restriction"},
      {"storage_per_project", T::kInt, nullptr, "quota.storage_per_project"},
      {"read_only", T::kBool, nullptr, "read_only"},
      {"audit_log_forward_endpoint", T::kString, nullptr, "audit.forward_endpoint"},
      {"skip_audit_log_database", T::kBool, nullptr, "audit.skip_database"},
      // LDAP (plugins/auth-ldap).
      {"ldap_url", T::kString, "ldap", "url"},
      {"ldap_base_dn", T::kString, "ldap", "base_dn"},
      {"ldap_filter", T::kString, "ldap", "filter"},
      {"ldap_scope", T::kInt, "ldap", "scope", Conv::kScope, false, "2"},
      {"ldap_search_dn", T::kString, "ldap", "search_dn"},
      {"ldap_search_password", T::kString, "ldap", "search_password", Conv::kSame, true},
      {"ldap_timeout", T::kInt, "ldap", "timeout_s", Conv::kSame, false, "5"},
      {"ldap_uid", T::kString, "ldap", "uid", Conv::kSame, false, "\"uid\""},
      {"ldap_verify_cert", T::kBool, "ldap", "verify_cert", Conv::kSame, false, "true"},
      {"ldap_group_base_dn", T::kString, "ldap", "group_base_dn"},
      {"ldap_group_admin_dn", T::kString, "ldap", "group_admin_dn"},
      {"ldap_group_attribute_name", T::kString, "ldap", "group_attribute", Conv::kSame, false,
       "\"cn\""},
      {"ldap_group_search_filter", T::kString, "ldap", "group_filter"},
      {"ldap_group_search_scope", T::kInt, "ldap", "group_search_scope", Conv::kScope, false, "2"},
      {"ldap_group_membership_attribute", T::kString, "ldap", "group_membership_attribute",
       Conv::kSame, false, "\"memberof\""},
      // OIDC (plugins/auth-oidc).
      {"oidc_endpoint", T::kString, "oidc", "endpoint"},
      {"oidc_client_id", T::kString, "oidc", "client_id"},
      {"oidc_client_secret", T::kString, "oidc", "client_secret", Conv::kSame, true},
      {"oidc_groups_claim", T::kString, "oidc", "groups_claim", Conv::kSame, false, "\"groups\""},
      {"oidc_admin_group", T::kString, "oidc", "admin_group"},
      {"oidc_group_filter", T::kString, "oidc", "group_filter"},
      {"oidc_scope", T::kString, "oidc", "scope", Conv::kSame, false,
       "\"openid,profile,email,offline_access\""},
      {"oidc_user_claim", T::kString, "oidc", "user_claim"},
      {"oidc_verify_cert", T::kBool, "oidc", "verify_cert", Conv::kSame, false, "true"},
      {"oidc_extra_redirect_parms", T::kString, "oidc", "extra_redirect_parms", Conv::kJsonObject,
       false, "\"{}\""},
  };
  return kItems;
}

const ConfigController::Item* ConfigController::Find(const std::string& key) {
  for (const auto& i : Items()) {
    if (key == i.key) return &i;
  }
  return nullptr;
}

ConfigController::ConfigController(ConfigStore& store, UserStore& users, SettingsSource& settings,
                                   const Config& config, ConfigHooks hooks)
    : store_(store), users_(users), settings_(settings), config_(config), hooks_(std::move(hooks)) {}

bool ConfigController::Fixed(const Item& item) const {
  if (item.provider == nullptr) return config_.fixed.count(item.path) > 0;
  // The file's auth.config configures the provider its auth.mode names.
  return config_.auth.mode == item.provider &&
         config_.fixed.count(std::string("auth.config.") + item.path) > 0;
}

StatusOr<std::map<std::string, nlohmann::json>> ConfigController::Stored() {
  BERTH_ASSIGN_OR_RETURN(auto raw, store_.LoadAll());
  std::map<std::string, nlohmann::json> out;
  for (const auto& [k, v] : raw) {
    auto j = nlohmann::json::parse(v, nullptr, false);
    if (!j.is_discarded()) out[k] = std::move(j);
  }
  return out;
}

nlohmann::json ConfigController::ProviderConfig(
    const std::string& provider, const std::map<std::string, nlohmann::json>& stored) const {
  nlohmann::json cfg = nlohmann::json::object();
  if (config_.auth.mode == provider) {
    auto file = nlohmann::json::parse(config_.auth.config_json, nullptr, false);
    if (file.is_object()) cfg = file;
  }
  for (const auto& item : Items()) {
    if (item.provider == nullptr || provider != item.provider || Fixed(item)) continue;
    auto it = stored.find(item.key);
    if (it == stored.end()) continue;
    const nlohmann::json& v = it->second;
    // "" is Harbor's "not set": the provider's default applies.
    if (v.is_string() && v.get<std::string>().empty()) {
      cfg.erase(item.path);
      continue;
    }
    if (item.conv == Conv::kScope && v.is_number_integer()) {
      int64_t n = v.get<int64_t>();
      if (n >= 0 && n <= 2) cfg[item.path] = kScopes[n];
    } else if (item.conv == Conv::kJsonObject && v.is_string()) {
      auto obj = nlohmann::json::parse(v.get<std::string>(), nullptr, false);
      if (obj.is_object()) cfg[item.path] = obj;
    } else {
      cfg[item.path] = v;
    }
  }
  return cfg;
}

RuntimeSettings ConfigController::Compute(const std::map<std::string, nlohmann::json>& stored) const {
  RuntimeSettings s = RuntimeSettings::FromConfig(config_);
  auto get = [&](const char* key) -> const nlohmann::json* {
    const Item* item = Find(key);
    if (item == nullptr || Fixed(*item)) return nullptr;
    auto it = stored.find(key);
    return it == stored.end() ? nullptr : &it->second;
  };
  if (auto* v = get("auth_mode"); v && v->is_string()) {
    std::string m = v->get<std::string>();
    if (m.size() > 5 && m.substr(m.size() - 5) == "_auth") s.auth_mode = m.substr(0, m.size() - 5);
  }
  if (auto* v = get("self_registration"); v && v->is_boolean()) s.self_registration = v->get<bool>();
  if (auto* v = get("token_expiration"); v && v->is_number_integer()) {
    s.token_expiration_minutes = v->get<int64_t>();
  }
  if (auto* v = get("robot_token_duration"); v && v->is_number_integer()) {
    s.robot_token_duration_days = v->get<int64_t>();
  }
  if (auto* v = get("robot_name_prefix"); v && v->is_string()) s.robot_name_prefix = v->get<std::string>();
  if (auto* v = get("project_creation_restriction"); v && v->is_string()) {
    s.project_creation_restriction = v->get<std::string>();
  }
  if (auto* v = get("storage_per_project"); v && v->is_number_integer()) {
    s.storage_per_project = v->get<int64_t>();
  }
  if (auto* v = get("read_only"); v && v->is_boolean()) s.read_only = v->get<bool>();
  if (auto* v = get("audit_log_forward_endpoint"); v && v->is_string()) {
    s.audit_log_forward_endpoint = v->get<std::string>();
  }
  if (auto* v = get("skip_audit_log_database"); v && v->is_boolean()) {
    s.skip_audit_log_database = v->get<bool>();
  }
  s.auth_config_json = s.auth_mode == "db" ? "{}" : ProviderConfig(s.auth_mode, stored).dump();
  return s;
}

StatusOr<RuntimeSettings> ConfigController::Effective() {
  BERTH_ASSIGN_OR_RETURN(auto stored, Stored());
  return Compute(stored);
}

nlohmann::json ConfigController::ValueOf(const Item& item, const RuntimeSettings& s,
                                         const std::map<std::string, nlohmann::json>& stored) const {
  std::string key = item.key;
  if (key == "auth_mode") return s.auth_mode + "_auth";
  if (key == "self_registration") return s.self_registration;
  if (key == "token_expiration") return s.token_expiration_minutes;
  if (key == "robot_token_duration") return s.robot_token_duration_days;
  if (key == "robot_name_prefix") return s.robot_name_prefix;
  if (key == "project_creation_restriction") return s.project_creation_restriction;
  if (key == "storage_per_project") return s.storage_per_project;
  if (key == "read_only") return s.read_only;
  if (key == "audit_log_forward_endpoint") return s.audit_log_forward_endpoint;
  if (key == "skip_audit_log_database") return s.skip_audit_log_database;
  nlohmann::json cfg = ProviderConfig(item.provider, stored);
  auto it = cfg.find(item.path);
  if (it == cfg.end()) return nlohmann::json::parse(item.fallback);
  if (item.conv == Conv::kScope && it->is_string()) {
    for (int i = 0; i < 3; ++i) {
      if (*it == kScopes[i]) return i;
    }
  }
  if (item.conv == Conv::kJsonObject) return it->dump();
  return *it;
}

Status ConfigController::Validate(const Item& item, const nlohmann::json& v) const {
  std::string key = item.key;
  switch (item.type) {
    case ItemType::kString:
      if (!v.is_string()) return Bad(key + " must be a string");
      break;
    case ItemType::kBool:
      if (!v.is_boolean()) return Bad(key + " must be a boolean");
      break;
    case ItemType::kInt:
      if (!v.is_number_integer() ||
          (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t{INT64_MAX})) {
        return Bad(key + " must be an integer");
      }
      break;
  }
  if (key == "auth_mode") {
    std::string m = v.get<std::string>();
    if (m != "db_auth" && m != "ldap_auth" && m != "oidc_auth") {
      return Bad("auth_mode '" + m + "' is not supported: use db_auth, ldap_auth or oidc_auth");
    }
  } else if (key == "token_expiration" || key == "robot_token_duration") {
    int64_t n = v.get<int64_t>();
    if (n <= 0) return Bad("the " + key + " value must be positive");
    if (n > kMaxNumber) {
      return Bad("the " + key + " value is over the limit value: " + std::to_string(kMaxNumber));
    }
  } else if (key == "robot_name_prefix") {
    const std::string& p = v.get_ref<const std::string&>();
    if (p.empty() || p.size() > 64) return Bad("robot_name_prefix must be 1-64 characters");
    for (unsigned char c : p) {
      // ':' would split Basic credentials; '/' and spaces are not names.
      if (c <= 0x20 || c >= 0x7f || c == ':' || c == '/') {
        return Bad("robot_name_prefix must be printable ASCII without spaces, ':' or '/'");
      }
    }
  } else if (key == "project_creation_restriction") {
    if (v != "everyone" && v != "adminonly") {
      return Bad("project_creation_restriction must be everyone or adminonly");
    }
  } else if (key == "storage_per_project") {
    int64_t n = v.get<int64_t>();
    if (n != -1 && n <= 0) {
      return Bad("storage_per_project must be -1 (unlimited) or a positive number of bytes");
    }
  } else if (key == "audit_log_forward_endpoint") {
    const std::string& e = v.get_ref<const std::string&>();
    if (!e.empty()) {
      size_t colon = e.rfind(':');
      auto port = colon == std::string::npos ? std::nullopt
                                             : ParseInt64(std::string_view(e).substr(colon + 1));
      if (colon == 0 || !port || *port < 1 || *port > 65535 ||
          e.find_first_of(" \t\r\n/") != std::string::npos) {
        return Bad("audit_log_forward_endpoint must be host:port");
      }
    }
  } else if (item.conv == Conv::kScope) {
    int64_t n = v.get<int64_t>();
    if (n < 0 || n > 2) return Bad(key + " must be 0 (base), 1 (one level) or 2 (subtree)");
  } else if (key == "ldap_timeout") {
    int64_t n = v.get<int64_t>();
    if (n < 1 || n > 300) return Bad("ldap_timeout must be between 1 and 300 seconds");
  } else if (item.conv == Conv::kJsonObject) {
    const std::string& s = v.get_ref<const std::string&>();
    if (!s.empty()) {
      auto obj = nlohmann::json::parse(s, nullptr, false);
      if (!obj.is_object()) return Bad(key + " must be a JSON object in a string");
      for (const auto& [k, x] : obj.items()) {
        if (!x.is_string()) return Bad(key + ": the value of " + k + " must be a string");
      }
    }
  }
  return {};
}

StatusOr<bool> ConfigController::AuthModeEditable() {
  if (config_.fixed.count("auth.mode")) return false;
  // As in Harbor: only while no user but the administrator exists (users
  // belong to the identity provider that created them).
  BERTH_ASSIGN_OR_RETURN(int64_t users, users_.Count());
  return users <= 1;
}

StatusOr<nlohmann::json> ConfigController::Get(const Identity& who) {
  if (!who.sysadmin) return Deny(who, "only system administrators may read the configuration");
  BERTH_ASSIGN_OR_RETURN(auto stored, Stored());
  RuntimeSettings s = Compute(stored);
  BERTH_ASSIGN_OR_RETURN(bool auth_mode_editable, AuthModeEditable());
  nlohmann::json out = nlohmann::json::object();
  for (const auto& item : Items()) {
    if (item.secret) continue;
    bool editable = std::string(item.key) == "auth_mode" ? auth_mode_editable : !Fixed(item);
    out[item.key] = {{"value", ValueOf(item, s, stored)}, {"editable", editable}};
  }
  return out;
}

StatusOr<nlohmann::json> ConfigController::Internal(const Identity& who) {
  BERTH_ASSIGN_OR_RETURN(nlohmann::json out, Get(who));
  auto fixed = [&out](const char* key, const std::string& value) {
    out[key] = {{"value", value}, {"editable", false}};
  };
  fixed("ext_endpoint", config_.external_url);
  fixed("database_type", config_.metadata.driver == "postgres" ? "postgresql" : config_.metadata.driver);
  fixed("registry_storage_provider_name", config_.storage.driver == "fs" ? "filesystem" : config_.storage.driver);
  return out;
}

Status ConfigController::Update(const Identity& who, const nlohmann::json& changes) {
  if (!who.sysadmin) return Deny(who, "only system administrators may change the configuration");
  if (!changes.is_object()) return Bad("the body must be a JSON object");
  std::lock_guard<std::mutex> lock(update_mu_);
  // Every key first: unknown keys, wrong types and bad values are 400.
  for (const auto& [key, v] : changes.items()) {
    const Item* item = Find(key);
    if (item == nullptr) return Bad("unknown or unsupported configuration item: " + key);
    BERTH_RETURN_IF_ERROR(Validate(*item, v));
  }
  BERTH_ASSIGN_OR_RETURN(auto stored, Stored());
  RuntimeSettings before = Compute(stored);
  std::map<std::string, std::string> writes;
  for (const auto& [key, v] : changes.items()) {
    const Item* item = Find(key);
    if (Fixed(*item)) {
      // Harbor's answer for settings the deployment fixed.
      return Forbidden("the configuration item " + key +
                       " is set in berth.yml or the environment and cannot be changed here");
    }
    stored[key] = v;
    writes[key] = v.dump();
  }
  RuntimeSettings after = Compute(stored);
  if (after.auth_mode != before.auth_mode) {
    BERTH_ASSIGN_OR_RETURN(bool editable, AuthModeEditable());
    if (!editable) {
      return Bad("the auth mode cannot be modified as new users have been inserted into database");
    }
  }
  if (after.skip_audit_log_database && after.audit_log_forward_endpoint.empty()) {
    return Bad("audit log forward endpoint should be configured before enable skip audit log in database");
  }
  // A new backend before anything is stored: settings its provider refuses
  // are a 400 and change nothing.
  std::optional<std::shared_ptr<AuthBackend>> backend;
  if (after.auth_mode != before.auth_mode || after.auth_config_json != before.auth_config_json) {
    std::shared_ptr<AuthBackend> b;
    if (after.auth_mode != "db") {
      auto made = hooks_.make_backend(after.auth_mode, after.auth_config_json);
      if (!made.ok()) {
        return Bad("the " + after.auth_mode + " settings are not usable: " + made.status().message());
      }
      b = std::move(*made);
    }
    backend = std::move(b);
  }
  if (writes.empty()) return {};
  BERTH_RETURN_IF_ERROR(store_.Save(writes));
  settings_.Set(after);
  if (hooks_.apply) hooks_.apply(after, std::move(backend));
  return {};
}

namespace {

bool SameSettings(const RuntimeSettings& a, const RuntimeSettings& b) {
  return a.auth_mode == b.auth_mode && a.auth_config_json == b.auth_config_json &&
         a.self_registration == b.self_registration &&
         a.token_expiration_minutes == b.token_expiration_minutes &&
         a.robot_token_duration_days == b.robot_token_duration_days &&
         a.robot_name_prefix == b.robot_name_prefix &&
         a.project_creation_restriction == b.project_creation_restriction &&
         a.storage_per_project == b.storage_per_project && a.read_only == b.read_only &&
         a.audit_log_forward_endpoint == b.audit_log_forward_endpoint &&
         a.skip_audit_log_database == b.skip_audit_log_database;
}

}  // namespace

StatusOr<bool> ConfigController::Refresh() {
  std::lock_guard<std::mutex> lock(update_mu_);
  BERTH_ASSIGN_OR_RETURN(auto stored, Stored());
  RuntimeSettings after = Compute(stored);
  std::shared_ptr<const RuntimeSettings> before = settings_.Get();
  if (SameSettings(after, *before)) return false;
  std::optional<std::shared_ptr<AuthBackend>> backend;
  if (after.auth_mode != before->auth_mode || after.auth_config_json != before->auth_config_json) {
    std::shared_ptr<AuthBackend> b;
    if (after.auth_mode != "db") {
      BERTH_ASSIGN_OR_RETURN(b, hooks_.make_backend(after.auth_mode, after.auth_config_json));
    }
    backend = std::move(b);
  }
  settings_.Set(after);
  if (hooks_.apply) hooks_.apply(after, std::move(backend));
  return true;
}

}  // namespace berth
