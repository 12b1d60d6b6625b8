#include "replication/remote_registry_controller.h"

#include "auth/denial.h"
#include "common/clock.h"

namespace berth {

namespace {

Status Bad(const std::string& m) { return Status::InvalidArgument(m, "BAD_REQUEST"); }

Status RegistryNotFound(int64_t id) {
  return Status::NotFound("registry " + std::to_string(id) + " not found", "NOT_FOUND");
}

// Harbor trims the trailing slash and accepts http(s) only.
StatusOr<std::string> NormalizeUrl(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    if (url.find("://") != std::string::npos) return Bad("invalid URL scheme: " + url);
    url = "http://" + url;  // Harbor's default scheme
  }
  size_t host_start = url.find("://") + 3;
  if (host_start >= url.size() || url[host_start] == '/' || url.find_first_of(" \t\r\n#?") != std::string::npos) {
    return Bad("invalid URL: " + url);
  }
  return url;
}

StatusOr<std::string> OptString(const nlohmann::json& j, const char* key, bool* present) {
  *present = false;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::string();
  if (!it->is_string()) return Bad(std::string(key) + " must be a string");
  *present = true;
  return it->get<std::string>();
}

}  // namespace

nlohmann::json RemoteRegistryJson(const RemoteRegistryRecord& r) {
  nlohmann::json out = {{"id", r.id},
                        {"name", r.name},
                        {"description", r.description},
                        {"type", r.type},
                        {"url", r.url},
                        {"insecure", r.insecure},
                        {"status", r.status},
                        {"credential", {{"type", r.credential_type}, {"access_key", r.access_key}}},
                        {"creation_time", FormatRfc3339Millis(r.creation_time)},
                        {"update_time", FormatRfc3339Millis(r.update_time)}};
  if (!r.ca_certificate.empty()) out["ca_certificate"] = r.ca_certificate;
  return out;
}

Status RemoteRegistryController::Require(const Identity& who, const char* action) {
  if (ev_.CanSystem(who, "registry", action)) return {};
  return Deny(who, std::string("not allowed to ") + action + " registries");
}

PluginReplicationAdapter* RemoteRegistryController::AdapterFor(const std::string& type) {
  auto it = adapters_.find(type);
  return it == adapters_.end() ? nullptr : it->second.get();
}

Status RemoteRegistryController::ApplyBody(const nlohmann::json& body, bool creating,
                                           RemoteRegistryRecord* r, std::string* new_secret,
                                           bool* secret_given) {
  bool present = false;
  BERTH_ASSIGN_OR_RETURN(std::string name, OptString(body, "name", &present));
  if (present || creating) {
    if (name.empty()) return Bad("name is required");
    if (name.size() > 64) return Bad("name is longer than 64 characters");
    r->name = name;
  }
  BERTH_ASSIGN_OR_RETURN(std::string desc, OptString(body, "description", &present));
  if (present) r->description = desc;
  if (creating) {
    BERTH_ASSIGN_OR_RETURN(std::string type, OptString(body, "type", &present));
    if (type.empty()) return Bad("type is required");
    if (AdapterFor(type) == nullptr) return Bad("invalid registry type: " + type);
    r->type = type;
  }
  BERTH_ASSIGN_OR_RETURN(std::string url, OptString(body, "url", &present));
  if (present || creating) {
    if (url.empty()) return Bad("url is required");
    BERTH_ASSIGN_OR_RETURN(r->url, NormalizeUrl(url));
  }
  if (auto it = body.find("insecure"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) return Bad("insecure must be a boolean");
    r->insecure = it->get<bool>();
  }
  BERTH_ASSIGN_OR_RETURN(std::string ca, OptString(body, "ca_certificate", &present));
  if (present) r->ca_certificate = ca;
  // Registry carries {credential: {...}}; RegistryUpdate and RegistryPing
  // carry the members flat.
  const nlohmann::json* cred = &body;
  if (auto it = body.find("credential"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return Bad("credential must be an object");
    cred = &*it;
  }
  const char* type_key = cred == &body ? "credential_type" : "type";
  BERTH_ASSIGN_OR_RETURN(std::string ctype, OptString(*cred, type_key, &present));
  if (present) {
    if (!ctype.empty() && ctype != "basic" && ctype != "oauth" && ctype != "secret") {
      return Bad("invalid credential type: " + ctype);
    }
    r->credential_type = ctype;
  }
  BERTH_ASSIGN_OR_RETURN(std::string key, OptString(*cred, "access_key", &present));
  if (present) r->access_key = key;
  BERTH_ASSIGN_OR_RETURN(std::string secret, OptString(*cred, "access_secret", secret_given));
  *new_secret = secret;
  if (r->credential_type.empty() && (!r->access_key.empty() || !secret.empty())) {
    r->credential_type = "basic";
  }
  return {};
}

StatusOr<int64_t> RemoteRegistryController::Create(const Identity& who, const nlohmann::json& body) {
  BERTH_RETURN_IF_ERROR(Require(who, "create"));
  RemoteRegistryRecord r;
  std::string secret;
  bool given = false;
  BERTH_RETURN_IF_ERROR(ApplyBody(body, true, &r, &secret, &given));
  if (!secret.empty()) {
    BERTH_ASSIGN_OR_RETURN(r.sealed_secret, secrets_.Seal(secret));
  }
  return store_.Create(r);
}

StatusOr<RemoteRegistryRecord> RemoteRegistryController::Load(int64_t id) {
  BERTH_ASSIGN_OR_RETURN(auto r, store_.Get(id));
  if (!r) return RegistryNotFound(id);
  return *r;
}

StatusOr<RemoteRegistryRecord> RemoteRegistryController::Get(const Identity& who, int64_t id) {
  BERTH_RETURN_IF_ERROR(Require(who, "read"));
  return Load(id);
}

StatusOr<Page<RemoteRegistryRecord>> RemoteRegistryController::List(const Identity& who,
                                                                     const ListQuery& q) {
  BERTH_RETURN_IF_ERROR(Require(who, "list"));
  return store_.List(q);
}

Status RemoteRegistryController::Update(const Identity& who, int64_t id, const nlohmann::json& body) {
  BERTH_RETURN_IF_ERROR(Require(who, "update"));
  BERTH_ASSIGN_OR_RETURN(RemoteRegistryRecord r, Load(id));
  std::string secret;
  bool given = false;
  BERTH_RETURN_IF_ERROR(ApplyBody(body, false, &r, &secret, &given));
  if (given) {
    if (secret.empty()) {
      r.sealed_secret.clear();
    } else {
      BERTH_ASSIGN_OR_RETURN(r.sealed_secret, secrets_.Seal(secret));
    }
  }
  return store_.Update(r);
}

Status RemoteRegistryController::Delete(const Identity& who, int64_t id) {
  BERTH_RETURN_IF_ERROR(Require(who, "delete"));
  return store_.Delete(id);
}

StatusOr<RemoteEndpoint> RemoteRegistryController::Endpoint(const RemoteRegistryRecord& r) {
  RemoteEndpoint ep;
  ep.url = r.url;
  ep.credential_type = r.credential_type;
  ep.access_key = r.access_key;
  if (!r.sealed_secret.empty()) {
    BERTH_ASSIGN_OR_RETURN(ep.access_secret, secrets_.Unseal(r.sealed_secret));
  }
  ep.insecure = r.insecure;
  ep.ca_pem = r.ca_certificate;
  return ep;
}

StatusOr<std::unique_ptr<ReplicationSession>> RemoteRegistryController::OpenSession(
    const RemoteRegistryRecord& r, const std::string& url_suffix,
    std::shared_ptr<std::atomic<bool>> cancel) {
  PluginReplicationAdapter* a = AdapterFor(r.type);
  if (a == nullptr) {
    return Status::InvalidArgument("registry " + r.name + " has type '" + r.type +
                                   "', which no loaded replication plugin provides");
  }
  BERTH_ASSIGN_OR_RETURN(RemoteEndpoint ep, Endpoint(r));
  ep.url += url_suffix;
  return a->Open(ep, std::move(cancel));
}

Status RemoteRegistryController::Ping(const Identity& who, const nlohmann::json& body) {
  BERTH_RETURN_IF_ERROR(Require(who, "read"));
  RemoteRegistryRecord r;
  std::string secret;
  bool given = false;
  auto id = body.find("id");
  if (id != body.end() && !id->is_null()) {
    if (!id->is_number_integer()) return Bad("id must be an integer");
    BERTH_ASSIGN_OR_RETURN(r, Load(id->get<int64_t>()));
    BERTH_RETURN_IF_ERROR(ApplyBody(body, false, &r, &secret, &given));
  } else {
    bool present = false;
    BERTH_ASSIGN_OR_RETURN(std::string type, OptString(body, "type", &present));
    nlohmann::json b = body;
    b["name"] = "ping";
    if (!present || type.empty()) return Bad("type is required");
    BERTH_RETURN_IF_ERROR(ApplyBody(b, true, &r, &secret, &given));
  }
  if (given) {
    if (secret.empty()) {
      r.sealed_secret.clear();
    } else {
      BERTH_ASSIGN_OR_RETURN(r.sealed_secret, secrets_.Seal(secret));
    }
  }
  auto session = OpenSession(r);
  Status health = session.ok() ? (*session)->HealthCheck() : session.status();
  if (r.id > 0 && !given && !body.contains("url")) {
    (void)store_.SetStatus(r.id, health.ok() ? "healthy" : "unhealthy");
  }
  if (!health.ok()) return Bad("the registry is unhealthy: " + health.message());
  return {};
}

StatusOr<nlohmann::json> RemoteRegistryController::Info(const Identity& who, int64_t id) {
  BERTH_RETURN_IF_ERROR(Require(who, "read"));
  BERTH_ASSIGN_OR_RETURN(RemoteRegistryRecord r, Load(id));
  PluginReplicationAdapter* a = AdapterFor(r.type);
  if (a == nullptr) return Status::Internal("no replication plugin for type '" + r.type + "'");
  BERTH_ASSIGN_OR_RETURN(std::string info, a->Info());
  auto j = nlohmann::json::parse(info, nullptr, false);
  if (!j.is_object()) return Status::Internal("replication plugin '" + r.type + "' returned bad info");
  j.erase("adapter_pattern");
  return j;
}

StatusOr<std::vector<std::string>> RemoteRegistryController::Adapters(const Identity& who) {
  if (!ev_.CanSystem(who, "replication-adapter", "list")) {
    return Deny(who, "not allowed to list replication adapters");
  }
  std::vector<std::string> out;
  for (const auto& [type, _] : adapters_) out.push_back(type);
  return out;
}

StatusOr<nlohmann::json> RemoteRegistryController::AdapterInfos(const Identity& who) {
  if (!ev_.CanSystem(who, "replication-adapter", "list")) {
    return Deny(who, "not allowed to list replication adapters");
  }
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [type, a] : adapters_) {
    auto info = a->Info();
    nlohmann::json pattern = nlohmann::json::object();
    if (info.ok()) {
      auto j = nlohmann::json::parse(*info, nullptr, false);
      if (j.is_object() && j.contains("adapter_pattern") && j["adapter_pattern"].is_object()) {
        pattern = j["adapter_pattern"];
      }
    }
    out[type] = pattern;
  }
  return out;
}

}  // namespace berth
