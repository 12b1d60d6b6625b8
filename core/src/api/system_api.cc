#include "api/system_api.h"

#include <sys/statvfs.h>

#include <fstream>
#include <sstream>

#include "api/api_util.h"
#include "auth/rbac.h"
#include "common/clock.h"
#include "http/response.h"
#include "iam/project_controller.h"

namespace berth {

void RegisterSystemApi(ApiRouter& r, SystemApiDeps d) {
  r.Add("GET", "/api/v2.0/ping", "ping", [](ApiCall& call) -> Status {
    SendBody(call.ctx, 200, "text/plain; charset=utf-8", "Pong");
    return {};
  });
  r.Add("GET", "/api/version", "version", [](ApiCall& call) -> Status {
    return SendJsonValue(call.ctx, 200, {{"version", "v2.0"}});
  });
  r.Add("GET", "/api/v2.0/health", "health", [d](ApiCall& call) -> Status {
    std::string body;
    bool ok = d.health.HealthJson(&body);
    SendJson(call.ctx, ok ? 200 : 503, body);
    return {};
  });
  r.Add("GET", "/api/v2.0/systeminfo", "systeminfo", [d](ApiCall& call) -> Status {
    const Config& c = d.config;
    auto s = d.settings.Get();
    std::string registry = c.external_url.substr(c.external_url.find("://") + 3);
    nlohmann::json j = {{"auth_mode", s->auth_mode + "_auth"},
                        {"primary_auth_mode", false},
                        {"project_creation_restriction", s->project_creation_restriction},
                        {"self_registration", s->self_registration},
                        {"has_ca_root", !c.tls.ca.empty()},
                        {"harbor_version", std::string("berth-") + BERTH_VERSION},
                        {"registry_storage_provider_name", c.storage.driver},
                        {"read_only", s->read_only},
                        {"notification_enable", !c.notifications.endpoints.empty()},
                        {"current_time", FormatRfc3339(NowUnixMillis() / 1000)}};
    // Deployment details only for signed-in callers, as in Harbor.
    if (call.ctx.identity.authenticated()) {
      j["registry_url"] = registry;
      j["external_url"] = c.external_url;
    }
    return SendJsonValue(call.ctx, 200, j);
  });
  // Harbor's download of the CA that signed the registry's certificate, for
  // clients to trust (docker's certs.d/<host>/ca.crt); 404 when none is set.
  r.Add("GET", "/api/v2.0/systeminfo/getcert", "getcert", [d](ApiCall& call) -> Status {
    const std::string& path = d.config.tls.ca;
    if (path.empty()) return Status::NotFound("no CA certificate is configured (tls.ca)", "NOT_FOUND");
    std::ifstream in(path, std::ios::binary);
    std::stringstream pem;
    pem << in.rdbuf();
    if (!in || pem.str().empty()) {
      return Status::Internal("cannot read the CA certificate " + path);
    }
    call.ctx.response.set("Content-Disposition", "attachment; filename=ca.crt");
    SendBody(call.ctx, 200, "application/octet-stream", pem.str());
    return {};
  });
  // Harbor's capacity of the local disk holding the images: the storage-fs
  // root, else (another driver) the data directory berthd writes to.
  // Harbor's rule: system-volumes read (administrators, robots granted it).
  r.Add("GET", "/api/v2.0/systeminfo/volumes", "volumes", [d](ApiCall& call) -> Status {
    const Identity& who = call.ctx.identity;
    if (!who.authenticated() || !d.evaluator.CanSystem(who, "system-volumes", "read")) {
      return Deny(who, "not allowed to read the system volumes");
    }
    std::string path = d.config.data_dir;
    if (d.config.storage.driver == "fs") {
      auto cfg = nlohmann::json::parse(d.config.storage.config_json, nullptr, false);
      if (cfg.is_object() && cfg.contains("root") && cfg["root"].is_string()) {
        path = cfg["root"].get<std::string>();
      }
    }
    struct statvfs st {};
    if (statvfs(path.c_str(), &st) != 0) return Status::IOError("statvfs " + path + " failed");
    uint64_t unit = st.f_frsize ? st.f_frsize : st.f_bsize;
    return SendJsonValue(call.ctx, 200,
                         {{"storage", nlohmann::json::array({{{"total", uint64_t{st.f_blocks} * unit},
                                                              {"free", uint64_t{st.f_bavail} * unit}}})}});
  });
  r.Add("GET", "/api/v2.0/permissions", "permissions", [d](ApiCall& call) -> Status {
    const Identity& who = call.ctx.identity;
    if (!who.authenticated()) return Deny(who, "");
    // Harbor shows the catalog to those who may create robots.
    bool system = d.evaluator.CanSystem(who, "robot", "create");
    if (!system && who.kind != Identity::Kind::kUser) return Deny(who, "not allowed to list permissions");
    auto list = [](const std::vector<rbac::Grant>& gs) {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& [res, act] : gs) a.push_back({{"resource", res}, {"action", act}});
      return a;
    };
    nlohmann::json j = {{"project", list(rbac::ProjectPermissionCatalog())}};
    if (system) j["system"] = list(rbac::SystemPermissionCatalog());
    return SendJsonValue(call.ctx, 200, j);
  });
  r.Add("GET", "/api/v2.0/plugins", "plugins", [d](ApiCall& call) -> Status {
    const Identity& who = call.ctx.identity;
    if (!who.sysadmin) return Deny(who, "only system administrators may list plugins");
    nlohmann::json loaded = nlohmann::json::array();
    for (const auto& p : d.plugins.plugins()) {
      nlohmann::json providers = nlohmann::json::array();
      for (const auto& pr : p.providers) {
        auto schema = nlohmann::json::parse(pr.config_schema_json, nullptr, false);
        providers.push_back({{"kind", KindName(pr.kind)},
                             {"name", pr.name},
                             {"description", pr.description},
                             {"capabilities", pr.capabilities},
                             {"threading", pr.threading == BERTH_THREADING_SERIALIZED ? "serialized" : "reentrant"},
                             {"config_schema", schema.is_discarded() ? nlohmann::json() : schema}});
      }
      loaded.push_back({{"name", p.name},
                        {"version", p.version},
                        {"description", p.description},
                        {"path", p.path},
                        {"abi", std::to_string(p.abi_major) + "." + std::to_string(p.abi_minor)},
                        {"providers", providers}});
    }
    nlohmann::json refused = nlohmann::json::array();
    for (const auto& x : d.plugins.refused()) refused.push_back({{"path", x.path}, {"reason", x.reason}});
    return SendJsonValue(call.ctx, 200,
                         {{"abi", std::to_string(BERTH_ABI_MAJOR) + "." + std::to_string(BERTH_ABI_MINOR)},
                          {"loaded", loaded},
                          {"refused", refused}});
  });
}

}  // namespace berth
