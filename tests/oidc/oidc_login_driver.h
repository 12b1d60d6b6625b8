// Test support for OIDC: the state the test provider writes, and a
// browser-less driver for its authorization-code flow (libcurl, cookie
// engine on) that other tests can link (target berth_oidc_test_support).
#ifndef BERTH_TESTS_OIDC_OIDC_LOGIN_DRIVER_H_
#define BERTH_TESTS_OIDC_OIDC_LOGIN_DRIVER_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace berth::oidctest {

struct TestClient {
  std::string client_id;
  std::string client_secret;
  std::string auth_method;  // client_secret_basic or client_secret_post
  std::string id_token_alg;
};

// What tests/oidc/provider.mjs writes once it listens.
struct ProviderState {
  std::string issuer;
  std::string redirect_uri;
  std::vector<TestClient> clients;  // [0] "berth" (basic, RS256), [1] "berth-es" (post, ES256)
  nlohmann::json users;             // login -> claims
  nlohmann::json signing_keys;      // the provider's private JWKS (test use only)
  int pid = 0;
};

// Reads the state file: $BERTH_OIDC_STATE if set, else `path`. False with
// *err on failure (the fixture "oidc" was not started, ...).
bool LoadProviderState(const std::string& path, ProviderState* out, std::string* err);

struct LoginOutcome {
  std::string callback_url;  // the redirect_uri?code=...&state=... the provider sent the browser to
  std::string code;
  std::string state;
  std::string error;  // the provider's error=... on the callback, if any
  std::vector<std::string> visited;  // every URL requested, for diagnostics
};

// Follows `authorization_url` like a browser would: redirects, the login
// page (posting login/password), the consent page, until the provider
// redirects to a URL starting with `redirect_prefix`, which is not fetched.
// False with *err when the flow breaks (unexpected page, HTTP error, loop).
bool DriveLogin(const std::string& authorization_url, const std::string& login, const std::string& password,
                const std::string& redirect_prefix, LoginOutcome* out, std::string* err);

// The decoded value of query parameter `name` in `url` ("" when absent).
std::string QueryParam(const std::string& url, const std::string& name);

}  // namespace berth::oidctest

#endif  // BERTH_TESTS_OIDC_OIDC_LOGIN_DRIVER_H_
