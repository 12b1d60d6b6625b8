// Server: the composition root. Builds every component from the config and
// injects it through constructors; nothing else holds global state.
#ifndef BERTH_SERVER_H_
#define BERTH_SERVER_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <string>
#include <vector>

#include "auth/auth_backend.h"
#include "common/logger.h"
#include "config/config.h"
#include "config/runtime_settings.h"

namespace berth {

// Where plugins are looked for when the config names no directory first.
std::vector<std::string> DefaultPluginDirs();

class Server {
 public:
  Server(Config config, Logger& log);
  ~Server();
  // Opens the metadata store, runs migrations, loads plugins and storage.
  Status Init();
  // Starts listening; port() is valid afterwards.
  Status Start();
  int port() const;
  // The tls.redirect_listen port (0 when there is none).
  int redirect_port() const;
  // SIGHUP: re-reads tls.cert and tls.key for new connections; on error the
  // certificate in service stays.
  Status ReloadTls();
  // The external URL (derived from the bound port unless configured).
  const std::string& external_url() const { return config_.external_url; }
  // Graceful stop: in-flight requests finish (up to http.shutdown_grace_s).
  void Stop();

 private:
  struct Parts;
  void MaintenanceLoop();
  // Re-reads /configurations from the database every kSettingsRefreshMillis,
  // so a change made through another node takes effect here too.
  void SettingsRefreshLoop();
  // An auth backend of `mode` (ldap, oidc) from its plugin.
  StatusOr<std::shared_ptr<AuthBackend>> MakeAuthBackend(const std::string& mode,
                                                         const std::string& config_json);
  // Puts settings changed through /configurations into effect.
  void ApplySettings(const RuntimeSettings& s, std::optional<std::shared_ptr<AuthBackend>> backend);

  Config config_;
  Logger& log_;
  std::unique_ptr<Parts> parts_;
  std::thread maintenance_;
  std::thread settings_refresh_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

}  // namespace berth

#endif  // BERTH_SERVER_H_
