// PluginRegistry: loads plugin files, negotiates the ABI, validates their
// descriptors, and finds providers by kind and name. Plugins are never
// unloaded.
#ifndef BERTH_PLUGIN_PLUGIN_REGISTRY_H_
#define BERTH_PLUGIN_PLUGIN_REGISTRY_H_

#include <berth/plugin.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace berth {

struct ProviderInfo {
  int32_t kind = 0;
  std::string name;
  std::string description;
  std::string config_schema_json;
  uint64_t capabilities = 0;
  int32_t threading = 0;
};

struct PluginInfo {
  std::string path;
  std::string name;
  std::string version;
  std::string description;
  uint16_t abi_major = 0;
  uint16_t abi_minor = 0;
  std::vector<ProviderInfo> providers;
};

struct RefusedPlugin {
  std::string path;
  std::string reason;
};

const char* KindName(int32_t kind);

class PluginRegistry {
 public:
  // `host` is handed to every plugin's entry; it must outlive the process.
  explicit PluginRegistry(const berth_host_services* host);
  ~PluginRegistry();

  // Loads every *.so in the directories, in name order. Directories that do
  // not exist are skipped; a world-writable one is refused. Any refused file
  // makes this return an error naming it (after trying the rest).
  Status LoadDirectories(const std::vector<std::string>& dirs);
  Status LoadFile(const std::string& path);

  // Reads a plugin's descriptor without creating anything.
  static StatusOr<PluginInfo> Inspect(const std::string& path);

  // nullptr when no loaded plugin provides (kind, name).
  const berth_provider* FindProvider(int32_t kind, std::string_view name) const;
  const std::vector<PluginInfo>& plugins() const { return plugins_; }
  const std::vector<RefusedPlugin>& refused() const { return refused_; }
  // Checks `config_json` against the provider's schema without creating
  // anything (`berthd --check-config`). Errors name the provider and its file.
  Status ValidateConfig(const berth_provider* provider, const std::string& config_json) const;
  // Validates `config_json` against the provider's schema, then creates an
  // instance. Errors name the provider and its file.
  StatusOr<void*> CreateInstance(const berth_provider* provider,
                                 const std::string& config_json) const;
  // Where a provider came from ("" when unknown).
  std::string PathOf(const berth_provider* provider) const;

 private:
  struct Loaded;
  const berth_host_services* host_;
  std::vector<std::unique_ptr<Loaded>> loaded_;
  std::vector<PluginInfo> plugins_;
  std::vector<RefusedPlugin> refused_;
};

}  // namespace berth

#endif  // BERTH_PLUGIN_PLUGIN_REGISTRY_H_
