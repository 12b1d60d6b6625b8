#include "support/local_auth_backend.h"

#include "auth/secret_hash.h"

namespace berth::testing_support {

namespace {
Status Refused() { return Status::Unauthenticated("invalid username or password"); }
}  // namespace

void LocalAuthBackend::AddDirectoryUser(const ExternalUser& u, const std::string& password) {
  std::lock_guard<std::mutex> lock(mu_);
  directory_[u.username] = {u, HashSecret(password)};
}

StatusOr<ExternalUser> LocalAuthBackend::Authenticate(std::string_view username,
                                                      std::string_view password,
                                                      std::string_view stored) {
  ++authentications_;
  if (password.empty()) return Refused();
  if (!stored.empty()) {
    if (!VerifySecret(password, stored)) return Refused();
    ExternalUser u;
    u.username = std::string(username);
    return u;
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = directory_.find(username);
  if (it == directory_.end() || !VerifySecret(password, it->second.password_hash)) {
    return Refused();
  }
  return it->second.user;
}

StatusOr<std::string> LocalAuthBackend::HashPassword(std::string_view password) {
  if (password.empty()) return Status::InvalidArgument("password must not be empty");
  return HashSecret(password);
}

StatusOr<std::vector<ExternalUser>> LocalAuthBackend::SearchUsers(std::string_view query) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ExternalUser> out;
  for (const auto& [name, e] : directory_) {
    if (name.find(query) != std::string::npos) out.push_back(e.user);
  }
  return out;
}

StatusOr<std::vector<ExternalGroup>> LocalAuthBackend::SearchGroups(std::string_view) {
  return std::vector<ExternalGroup>{};
}

StatusOr<std::string> LocalAuthBackend::LoginBegin(std::string_view, std::string_view,
                                                   std::string_view) {
  return Status::Unsupported("no browser sign-in");
}

StatusOr<std::pair<ExternalUser, std::string>> LocalAuthBackend::LoginCallback(std::string_view,
                                                                               std::string_view,
                                                                               std::string_view) {
  return Status::Unsupported("no browser sign-in");
}

StatusOr<ExternalUser> LocalAuthBackend::VerifyToken(std::string_view) {
  return Status::Unsupported("no ID tokens");
}

}  // namespace berth::testing_support
