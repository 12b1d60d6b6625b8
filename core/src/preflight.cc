#include "preflight.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "http/tls_context.h"

namespace berth {

namespace {

// berthd creates data_dir at start: it must be a writable directory, or be
// creatable under its nearest existing ancestor. access(2) only asks.
std::string DataDirProblem(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(data_dir, ec);
  if (ec) p = data_dir;
  struct stat st;
  if (::stat(p.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return "data_dir " + p.string() + " is not a directory";
    if (::access(p.c_str(), W_OK | X_OK) != 0) {
      return "data_dir " + p.string() + " is not writable by this user (uid " +
             std::to_string(::geteuid()) + ")";
    }
    return {};
  }
  for (auto parent = p.parent_path(); !parent.empty(); parent = parent.parent_path()) {
    if (::stat(parent.c_str(), &st) != 0) {
      if (parent == parent.root_path()) break;
      continue;
    }
    if (!S_ISDIR(st.st_mode) || ::access(parent.c_str(), W_OK | X_OK) != 0) {
      return "data_dir " + p.string() + " does not exist and cannot be created in " +
             parent.string() + " by this user (uid " + std::to_string(::geteuid()) + ")";
    }
    return {};
  }
  return {};
}

}  // namespace

PreflightResult Preflight(const Config& config, const std::vector<std::string>& plugin_dirs,
                          PluginRegistry& plugins) {
  PreflightResult r;
  if (std::string d = DataDirProblem(config.data_dir); !d.empty()) r.problems.push_back(d);
  if (config.tls.enabled()) {
    auto tls = CheckTlsFiles(config.tls);
    if (tls.ok()) {
      r.checked.push_back("TLS certificate " + config.tls.cert + " and key " + config.tls.key);
      if (!tls->empty()) r.checked.push_back("warning: " + *tls);
    } else {
      r.problems.push_back(tls.status().message());
    }
  }

  Status loaded = plugins.LoadDirectories(plugin_dirs);
  if (!loaded.ok()) r.problems.push_back(loaded.message());
  std::string searched;
  for (const auto& d : plugin_dirs) searched += (searched.empty() ? "" : ", ") + d;
  r.checked.push_back(std::to_string(plugins.plugins().size()) + " plugin(s) loaded from " +
                      searched);

  // A provider the config names must be loaded and accept its config.
  auto require = [&](int32_t kind, const std::string& name, const std::string& config_json,
                     const std::string& what) {
    const berth_provider* p = plugins.FindProvider(kind, name);
    if (p == nullptr) {
      r.problems.push_back(what + " '" + name + "' is not provided by any loaded plugin " +
                           "(searched " + searched + ")");
      return;
    }
    Status valid = plugins.ValidateConfig(p, config_json);
    if (!valid.ok()) {
      r.problems.push_back(what + ": " + valid.message());
      return;
    }
    r.checked.push_back(what + " '" + name + "' from " + plugins.PathOf(p));
  };
  require(BERTH_KIND_STORAGE, config.storage.driver, config.storage.config_json, "storage.driver");
  require(BERTH_KIND_AUTH, "db", config.auth.db_config_json, "auth provider (local users)");
  if (config.auth.mode != "db") {
    require(BERTH_KIND_AUTH, config.auth.mode, config.auth.config_json, "auth.mode");
  }
  std::vector<std::string> seen;
  for (const auto& ep : config.notifications.endpoints) {
    bool dup = false;
    for (const auto& s : seen) dup = dup || s == ep.type;
    if (dup) continue;
    seen.push_back(ep.type);
    auto cfg = config.plugin_configs.find(ep.type);
    require(BERTH_KIND_NOTIFIER, ep.type, cfg == config.plugin_configs.end() ? "{}" : cfg->second,
            "notification endpoint '" + ep.name + "' type");
  }
  return r;
}

}  // namespace berth
