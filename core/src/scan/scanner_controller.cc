#include "scan/scanner_controller.h"

#include "auth/denial.h"
#include "common/clock.h"
#include "common/random.h"
#include "plugin/json_schema.h"

namespace berth {

namespace {

constexpr int64_t kHealthCacheMs = 30000;
constexpr int64_t kMetadataTimeoutMs = 10000;

Status Bad(const std::string& m) { return Status::InvalidArgument(m, "BAD_REQUEST"); }

Status NotFound(const std::string& uuid) {
  return Status::NotFound("scanner registration " + uuid + " not found", "NOT_FOUND");
}

bool StartsWith(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

// Optional typed members of a request body.
Status OptString(const nlohmann::json& b, const char* k, std::string* out) {
  auto it = b.find(k);
  if (it == b.end() || it->is_null()) return {};
  if (!it->is_string()) return Bad(std::string(k) + " must be a string");
  *out = it->get<std::string>();
  return {};
}
Status OptBool(const nlohmann::json& b, const char* k, bool* out) {
  auto it = b.find(k);
  if (it == b.end() || it->is_null()) return {};
  if (!it->is_boolean()) return Bad(std::string(k) + " must be a boolean");
  *out = it->get<bool>();
  return {};
}

// Whether the provider's config schema declares a top-level property.
bool SchemaHas(const berth_provider* p, const char* prop) {
  if (p->config_schema_json == nullptr) return false;
  auto s = nlohmann::json::parse(p->config_schema_json, nullptr, false);
  return !s.is_discarded() && s.is_object() && s.contains("properties") &&
         s["properties"].is_object() && s["properties"].contains(prop);
}

}  // namespace

ScannerController::ScannerController(ScannerStore& store, PluginRegistry& plugins,
                                     AccessEvaluator& evaluator, ProjectController& projects,
                                     const ScanningConfig& config)
    : store_(store), plugins_(plugins), evaluator_(evaluator), projects_(projects), config_(config) {}

Status ScannerController::RequireSystem(const Identity& who, const char* action) const {
  if (who.authenticated() && evaluator_.CanSystem(who, "scanner", action)) return {};
  return Deny(who, "scanner registrations are managed by system administrators");
}

Status ScannerController::FromBody(const nlohmann::json& b, ScannerRegistrationRecord* r,
                                   bool update) {
  if (!b.is_object()) return Bad("the body must be a JSON object");
  BERTH_RETURN_IF_ERROR(OptString(b, "name", &r->name));
  BERTH_RETURN_IF_ERROR(OptString(b, "description", &r->description));
  std::string url = r->url;
  BERTH_RETURN_IF_ERROR(OptString(b, "url", &url));
  BERTH_RETURN_IF_ERROR(OptString(b, "auth", &r->auth));
  std::string credential;
  BERTH_RETURN_IF_ERROR(OptString(b, "access_credential", &credential));
  BERTH_RETURN_IF_ERROR(OptBool(b, "skip_certVerify", &r->skip_cert_verify));
  BERTH_RETURN_IF_ERROR(OptBool(b, "use_internal_addr", &r->use_internal_addr));
  BERTH_RETURN_IF_ERROR(OptBool(b, "disabled", &r->disabled));
  std::string provider;
  BERTH_RETURN_IF_ERROR(OptString(b, "provider", &provider));
  if (r->name.empty()) return Bad("name is required");
  if (r->name.size() > 255) return Bad("name is longer than 255 characters");
  if (url.empty()) return Bad("url is required");
  if (r->auth != "" && r->auth != "Basic" && r->auth != "Bearer" &&
      r->auth != "X-ScannerAdapter-API-Key") {
    return Bad("auth must be one of \"\", Basic, Bearer, X-ScannerAdapter-API-Key");
  }
  // Harbor keeps the stored credential when an update omits it.
  if (!credential.empty() || !update) r->access_credential = credential;
  if (r->auth.empty()) r->access_credential.clear();
  if (StartsWith(url, "plugin:")) {
    std::string named = url.substr(7);
    if (named.empty()) return Bad("url plugin:<provider> names no provider");
    if (!provider.empty() && provider != named) {
      return Bad("provider '" + provider + "' contradicts url '" + url + "'");
    }
    provider = named;
  } else if (StartsWith(url, "http://") || StartsWith(url, "https://")) {
    if (url.size() <= 8 || url.find(' ') != std::string::npos) return Bad("url is not a valid URL");
    if (provider.empty()) provider = update && !StartsWith(r->url, "plugin:") ? r->provider : "";
    if (provider.empty()) provider = config_.adapter_provider;
  } else {
    return Bad("url must be plugin:<provider> or an http(s) URL of a scanner adapter");
  }
  r->url = url;
  r->provider = provider;
  const berth_provider* p = plugins_.FindProvider(BERTH_KIND_SCANNER, provider);
  if (p == nullptr) {
    return Bad("no loaded scanner plugin provides '" + provider +
               "' (see `berthd plugins list` or GET /api/v2.0/systeminfo)");
  }
  nlohmann::json cfg = nlohmann::json::object();
  if (update) {
    auto old = nlohmann::json::parse(r->config_json, nullptr, false);
    if (old.is_object()) cfg = old;
  }
  if (auto it = b.find("config"); it != b.end() && !it->is_null()) {
    if (!it->is_object()) return Bad("config must be an object");
    cfg = *it;
  }
  // An adapter URL and its credentials travel in the adapter's config, for
  // providers whose schema asks for them.
  if (!StartsWith(url, "plugin:")) {
    if (SchemaHas(p, "url")) cfg["url"] = url;
    if (SchemaHas(p, "auth")) cfg["auth"] = r->auth;
    if (SchemaHas(p, "access_credential")) cfg["access_credential"] = r->access_credential;
    if (SchemaHas(p, "skip_cert_verify")) cfg["skip_cert_verify"] = r->skip_cert_verify;
  }
  r->config_json = cfg.dump();
  Status v = plugins_.ValidateConfig(p, r->config_json);
  if (!v.ok()) return Bad("config: " + v.message());
  return {};
}

Status ScannerController::ApplyConfiguredDefault() {
  if (config_.default_provider.empty()) return {};
  std::string name = config_.default_name.empty()
                         ? config_.default_provider + " (berth.yml)"
                         : config_.default_name;
  nlohmann::json body = {{"name", name},
                         {"description", "scanning.default in berth.yml"},
                         {"url", "plugin:" + config_.default_provider},
                         {"config", nlohmann::json::parse(config_.default_config_json)}};
  BERTH_ASSIGN_OR_RETURN(auto existing, store_.GetByName(name));
  ScannerRegistrationRecord r;
  if (existing) r = *existing;
  Status s = FromBody(body, &r, false);
  if (!s.ok()) return Status::InvalidArgument("scanning.default: " + s.message());
  r.from_config = true;
  r.disabled = false;
  if (existing) {
    BERTH_RETURN_IF_ERROR(store_.Update(r));
    Forget(r.uuid);
  } else {
    r.uuid = NewUuid();
    BERTH_RETURN_IF_ERROR(store_.Create(r));
  }
  return store_.SetDefault(r.uuid);
}

StatusOr<ScannerRegistrationRecord> ScannerController::Create(const Identity& who,
                                                              const nlohmann::json& body) {
  BERTH_RETURN_IF_ERROR(RequireSystem(who, "create"));
  ScannerRegistrationRecord r;
  BERTH_RETURN_IF_ERROR(FromBody(body, &r, false));
  r.uuid = NewUuid();
  r.is_default = false;
  BERTH_RETURN_IF_ERROR(store_.Create(r));
  // The first registration becomes the default, as in Harbor.
  BERTH_ASSIGN_OR_RETURN(auto def, store_.GetDefault());
  if (!def) {
    BERTH_RETURN_IF_ERROR(store_.SetDefault(r.uuid));
    r.is_default = true;
  }
  return r;
}

StatusOr<ScannerRegistrationRecord> ScannerController::Get(const Identity& who,
                                                           const std::string& uuid) {
  BERTH_RETURN_IF_ERROR(RequireSystem(who, "read"));
  BERTH_ASSIGN_OR_RETURN(auto r, store_.Get(uuid));
  if (!r) return NotFound(uuid);
  return *r;
}

StatusOr<Page<ScannerRegistrationRecord>> ScannerController::List(const Identity& who,
                                                                  const ListQuery& q) {
  BERTH_RETURN_IF_ERROR(RequireSystem(who, "list"));
  return store_.List(q);
}

Status ScannerController::Update(const Identity& who, const std::string& uuid,
                                 const nlohmann::json& body) {
  BERTH_RETURN_IF_ERROR(RequireSystem(who, "update"));
  BERTH_ASSIGN_OR_RETURN(auto r, store_.Get(uuid));
  if (!r) return NotFound(uuid);
  ScannerRegistrationRecord next = *r;
  BERTH_RETURN_IF_ERROR(FromBody(body, &next, true));
  BERTH_RETURN_IF_ERROR(store_.Update(next));
  Forget(uuid);
  return {};
}

StatusOr<ScannerRegistrationRecord> ScannerController::Delete(const Identity& who,
                                                              const std::string& uuid) {
  BERTH_RETURN_IF_ERROR(RequireSystem(who, "delete"));
  BERTH_ASSIGN_OR_RETURN(auto r, store_.Get(uuid));
  if (!r) return NotFound(uuid);
  BERTH_RETURN_IF_ERROR(store_.Delete(uuid));
  Forget(uuid);
  return *r;
}

Status ScannerController::SetDefault(const Identity& who, const std::string& uuid, bool is_default) {
  BERTH_RETURN_IF_ERROR(RequireSystem(who, "update"));
  BERTH_ASSIGN_OR_RETURN(auto r, store_.Get(uuid));
  if (!r) return NotFound(uuid);
  // Harbor only ever sets a default; "false" leaves things as they are.
  if (!is_default) return {};
  if (r->disabled) {
    return Status::InvalidArgument("a disabled registration cannot be the default", "BAD_REQUEST");
  }
  return store_.SetDefault(uuid);
}

StatusOr<std::shared_ptr<PluginScanner>> ScannerController::Build(const ScannerRegistrationRecord& r) {
  const berth_provider* p = plugins_.FindProvider(BERTH_KIND_SCANNER, r.provider);
  if (p == nullptr) {
    return Status(Code::kPreconditionFailed,
                  "scanner provider '" + r.provider + "' is not offered by any loaded plugin",
                  "PRECONDITION");
  }
  BERTH_ASSIGN_OR_RETURN(void* inst, plugins_.CreateInstance(p, r.config_json));
  return std::make_shared<PluginScanner>(p, inst);
}

StatusOr<std::shared_ptr<PluginScanner>> ScannerController::Instance(const ScannerRegistrationRecord& r) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(r.uuid);
    if (it != cache_.end() && it->second.scanner && it->second.update_time == r.update_time) {
      return it->second.scanner;
    }
  }
  BERTH_ASSIGN_OR_RETURN(auto s, Build(r));
  std::lock_guard<std::mutex> lock(mu_);
  Cached& c = cache_[r.uuid];
  if (c.update_time != r.update_time) c = Cached{};
  c.update_time = r.update_time;
  c.scanner = s;
  return s;
}

void ScannerController::Forget(const std::string& uuid) {
  std::lock_guard<std::mutex> lock(mu_);
  cache_.erase(uuid);
}

ScannerHealth ScannerController::Health(const ScannerRegistrationRecord& r, bool fresh) {
  int64_t now = NowUnixMillis();
  if (!fresh) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(r.uuid);
    if (it != cache_.end() && it->second.update_time == r.update_time && it->second.health_at > 0 &&
        now - it->second.health_at < kHealthCacheMs) {
      return it->second.health;
    }
  }
  ScannerHealth h;
  auto inst = Instance(r);
  StatusOr<std::string> md = inst.ok() ? (*inst)->Metadata(kMetadataTimeoutMs)
                                       : StatusOr<std::string>(inst.status());
  if (!md.ok()) {
    h.error = md.status().message();
  } else {
    h.metadata = nlohmann::json::parse(*md);
    h.healthy = true;
    const auto& sc = h.metadata.value("scanner", nlohmann::json::object());
    if (sc.is_object()) {
      h.name = sc.value("name", "");
      h.vendor = sc.value("vendor", "");
      h.version = sc.value("version", "");
    }
    const auto& caps = h.metadata.value("capabilities", nlohmann::json::array());
    if (caps.is_array()) {
      for (const auto& c : caps) {
        if (!c.is_object()) continue;
        std::string type = c.value("type", "vulnerability");
        if (type == "vulnerability") h.support_vulnerability = true;
        if (type == "sbom") h.support_sbom = true;
      }
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  Cached& c = cache_[r.uuid];
  if (c.update_time == r.update_time || !c.scanner) {
    c.update_time = r.update_time;
    c.health = h;
    c.health_at = now;
  }
  return h;
}

Status ScannerController::Ping(const Identity& who, const nlohmann::json& body) {
  BERTH_RETURN_IF_ERROR(RequireSystem(who, "create"));
  ScannerRegistrationRecord r;
  BERTH_RETURN_IF_ERROR(FromBody(body, &r, false));
  BERTH_ASSIGN_OR_RETURN(auto s, Build(r));
  auto md = s->Metadata(kMetadataTimeoutMs);
  if (!md.ok()) return Bad("the scanner did not answer: " + md.status().message());
  return {};
}

StatusOr<nlohmann::json> ScannerController::Metadata(const Identity& who, const std::string& uuid) {
  BERTH_RETURN_IF_ERROR(RequireSystem(who, "read"));
  BERTH_ASSIGN_OR_RETURN(auto r, store_.Get(uuid));
  if (!r) return NotFound(uuid);
  ScannerHealth h = Health(*r, true);
  if (!h.healthy) return Status::Internal("scanner metadata: " + h.error);
  return h.metadata;
}

StatusOr<std::optional<ScannerRegistrationRecord>> ScannerController::EffectiveFor(int64_t project_id) {
  BERTH_ASSIGN_OR_RETURN(std::string uuid, store_.ProjectScanner(project_id));
  if (!uuid.empty()) {
    BERTH_ASSIGN_OR_RETURN(auto r, store_.Get(uuid));
    if (r) return r;
  }
  return store_.GetDefault();
}

StatusOr<std::optional<ScannerRegistrationRecord>> ScannerController::Find(const std::string& uuid) {
  return store_.Get(uuid);
}

StatusOr<std::optional<ScannerRegistrationRecord>> ScannerController::ProjectScanner(
    const Identity& who, const ProjectRecord& p) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, p, "scanner", "read"));
  return EffectiveFor(p.project_id);
}

Status ScannerController::SetProjectScanner(const Identity& who, const ProjectRecord& p,
                                            const std::string& uuid) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, p, "scanner", "create"));
  if (uuid.empty()) return Bad("uuid is required");
  BERTH_ASSIGN_OR_RETURN(auto r, store_.Get(uuid));
  if (!r) return NotFound(uuid);
  if (r->disabled) return Bad("scanner registration " + uuid + " is disabled");
  return store_.SetProjectScanner(p.project_id, uuid);
}

StatusOr<Page<ScannerRegistrationRecord>> ScannerController::Candidates(const Identity& who,
                                                                        const ProjectRecord& p,
                                                                        const ListQuery& q) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, p, "scanner", "create"));
  return store_.List(q);
}

}  // namespace berth
