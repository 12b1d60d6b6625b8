// PluginAuthBackend: an AuthBackend backed by an auth plugin's C vtable.
#ifndef BERTH_PLUGIN_PLUGIN_AUTH_BACKEND_H_
#define BERTH_PLUGIN_PLUGIN_AUTH_BACKEND_H_

#include <berth/plugin.h>

#include <mutex>

#include "auth/auth_backend.h"
#include "common/logger.h"
#include "plugin/plugin_call.h"

namespace berth {

class PluginAuthBackend : public AuthBackend {
 public:
  // Takes ownership of `instance`.
  PluginAuthBackend(const berth_provider* provider, void* instance, Logger* log,
                    int64_t call_timeout_ms = 30000);
  ~PluginAuthBackend() override;

  std::string name() const override { return provider_->name; }
  bool Supports(uint64_t capability) const override {
    return (provider_->capabilities & capability) == capability;
  }
  StatusOr<ExternalUser> Authenticate(std::string_view username, std::string_view password,
                                      std::string_view stored_credential) override;
  StatusOr<std::string> HashPassword(std::string_view password) override;
  StatusOr<std::vector<ExternalUser>> SearchUsers(std::string_view query) override;
  StatusOr<std::vector<ExternalGroup>> SearchGroups(std::string_view query) override;
  Status Ping(std::string_view settings_json) override;
  StatusOr<std::string> LoginBegin(std::string_view redirect_uri, std::string_view state,
                                   std::string_view nonce) override;
  StatusOr<std::pair<ExternalUser, std::string>> LoginCallback(std::string_view redirect_uri,
                                                               std::string_view code,
                                                               std::string_view nonce) override;
  StatusOr<ExternalUser> VerifyToken(std::string_view token) override;

 private:
  // Runs one slot through the caller (current context, lock, status, log).
  template <class Fn>
  Status Run(const char* op, Fn&& fn);
  Status Unsupported(const char* op) const;

  const berth_provider* provider_;
  const berth_auth_vtable* vt_;
  void* self_;
  PluginCaller caller_;
};

}  // namespace berth

#endif  // BERTH_PLUGIN_PLUGIN_AUTH_BACKEND_H_
