// Preflight: what `berthd --check-config` checks before a service manager
// starts berthd (the packaged systemd unit runs it as ExecStartPre), so a
// broken configuration fails with one clear list of problems instead of a
// restart loop. It loads the plugin directories and checks that every
// provider the configuration names is loaded and accepts its configuration.
// It neither binds, nor creates provider instances, nor touches the data.
#ifndef BERTH_PREFLIGHT_H_
#define BERTH_PREFLIGHT_H_

#include <string>
#include <vector>

#include "config/config.h"
#include "plugin/plugin_registry.h"

namespace berth {

struct PreflightResult {
  std::vector<std::string> problems;  // empty: berthd should start
  std::vector<std::string> checked;   // what was found, for the success message
};

// `plugin_dirs`: the directories berthd would load, in order.
PreflightResult Preflight(const Config& config, const std::vector<std::string>& plugin_dirs,
                          PluginRegistry& plugins);

}  // namespace berth

#endif  // BERTH_PREFLIGHT_H_
