// LocalAuthBackend: an AuthBackend for in-process tests of the authenticator
// and the iam controllers, with auth-db's contract (plugins/auth-db): the
// credential berthd stores is the backend's hash of the password, an empty
// stored credential or password never verifies, and a refusal is
// kUnauthenticated whatever the cause. Passwords are hashed with the core's
// salted HMAC (auth/secret_hash.h) instead of argon2id so a test runs in
// microseconds rather than tens of milliseconds per check.
//
// Users added with AddDirectoryUser stand for an external directory (LDAP):
// with no stored credential they are verified against their directory
// password and returned with their groups and admin flag.
#ifndef BERTH_TESTS_UNIT_SUPPORT_LOCAL_AUTH_BACKEND_H_
#define BERTH_TESTS_UNIT_SUPPORT_LOCAL_AUTH_BACKEND_H_

#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include "auth/auth_backend.h"

namespace berth::testing_support {

class LocalAuthBackend : public AuthBackend {
 public:
  explicit LocalAuthBackend(std::string name = "db") : name_(std::move(name)) {}

  void AddDirectoryUser(const ExternalUser& u, const std::string& password);
  // How many times Authenticate ran (the authenticator caches verified
  // passwords; this shows when it did not ask).
  int authentications() const { return authentications_.load(); }

  std::string name() const override { return name_; }
  bool Supports(uint64_t) const override { return true; }
  StatusOr<ExternalUser> Authenticate(std::string_view username, std::string_view password,
                                      std::string_view stored_credential) override;
  StatusOr<std::string> HashPassword(std::string_view password) override;
  StatusOr<std::vector<ExternalUser>> SearchUsers(std::string_view query) override;
  StatusOr<std::vector<ExternalGroup>> SearchGroups(std::string_view query) override;
  Status Ping(std::string_view) override { return {}; }
  StatusOr<std::string> LoginBegin(std::string_view, std::string_view, std::string_view) override;
  StatusOr<std::pair<ExternalUser, std::string>> LoginCallback(std::string_view, std::string_view,
                                                               std::string_view) override;
  StatusOr<ExternalUser> VerifyToken(std::string_view) override;

 private:
  struct DirectoryEntry {
    ExternalUser user;
    std::string password_hash;
  };
  std::string name_;
  std::atomic<int> authentications_{0};
  std::mutex mu_;
  std::map<std::string, DirectoryEntry, std::less<>> directory_;
};

}  // namespace berth::testing_support

#endif  // BERTH_TESTS_UNIT_SUPPORT_LOCAL_AUTH_BACKEND_H_
