#include "auth/token_service.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/clock.h"
#include "common/digest.h"
#include "common/random.h"
#include "common/strings.h"
#include "jose.h"

namespace berth {

struct TokenService::Keys {
  jose::Key private_key;
  jose::Key public_key;
};

StatusOr<std::vector<TokenScope>> ParseScopes(std::string_view value) {
  std::vector<TokenScope> out;
  for (const auto& word : Split(value, ' ')) {
    if (word.empty()) continue;
    size_t first = word.find(':'), last = word.rfind(':');
    if (first == std::string::npos || first == last) {
      return Status::InvalidArgument("invalid scope '" + word + "': expected type:name:actions",
                                     "BAD_REQUEST");
    }
    TokenScope s;
    s.type = word.substr(0, first);
    s.name = word.substr(first + 1, last - first - 1);
    for (const auto& a : Split(std::string_view(word).substr(last + 1), ',')) {
      if (!a.empty()) s.actions.push_back(a);
    }
    if (s.type.empty() || s.name.empty()) {
      return Status::InvalidArgument("invalid scope '" + word + "'", "BAD_REQUEST");
    }
    out.push_back(std::move(s));
  }
  return out;
}

namespace {

StatusOr<jose::Key> LoadKeyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IOError("cannot read the token signing key " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto key = jose::KeyFromPem(ss.str());
  if (!key.ok()) {
    return Status::InvalidArgument("token signing key " + path + ": " + key.message());
  }
  if (key->type() != jose::KeyType::kRsa || !key->has_private()) {
    return Status::InvalidArgument("token signing key " + path + " must be an RSA private key");
  }
  return *key;
}

// Writes a new RSA 2048 key (mode 0600) to `path` unless one appeared there
// meanwhile: link() never replaces, so when several nodes start at once on a
// shared path exactly one key is kept.
Status CreateKeyFile(const std::string& path) {
  auto key = jose::GenerateRsaKey(2048);
  if (!key.ok()) return Status::Internal("generating the token key: " + key.message());
  auto pem = jose::PrivateKeyToPem(*key);
  if (!pem.ok()) return Status::Internal(pem.message());
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + RandomHex(4);
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << *pem;
    if (!out) return Status::IOError("cannot write " + tmp);
  }
  ::chmod(tmp.c_str(), 0600);
  int rc = ::link(tmp.c_str(), path.c_str());
  int err = errno;
  ::unlink(tmp.c_str());
  if (rc != 0 && err != EEXIST) {
    return Status::IOError("cannot move the token key into place at " + path + ": " +
                           std::strerror(err));
  }
  return {};
}

}  // namespace

TokenService::~TokenService() = default;

StatusOr<std::unique_ptr<TokenService>> TokenService::Open(const TokenServiceOptions& options) {
  std::unique_ptr<TokenService> t(new TokenService());
  t->options_ = options;
  t->expiration_s_.store(options.expiration_s);
  t->keys_ = std::make_unique<Keys>();
  std::error_code ec;
  if (!std::filesystem::exists(options.key_path, ec)) {
    BERTH_RETURN_IF_ERROR(CreateKeyFile(options.key_path));
  }
  // Always the file's key, also right after creating it: nodes sharing the
  // path (or racing to create it) all sign with the one that won.
  BERTH_ASSIGN_OR_RETURN(t->keys_->private_key, LoadKeyFile(options.key_path));
  auto pub = t->keys_->private_key.PublicOnly();
  if (!pub.ok()) return Status::Internal(pub.message());
  t->keys_->public_key = *pub;
  auto kid = jose::LibtrustKeyId(*pub);
  if (!kid.ok()) return Status::Internal(kid.message());
  t->kid_ = *kid;
  auto pem = jose::PublicKeyToPem(*pub);
  if (pem.ok()) t->public_pem_ = *pem;
  return t;
}

StatusOr<TokenService::Issued> TokenService::Issue(const std::string& subject,
                                                   const std::vector<TokenAccess>& access) const {
  int64_t now = NowUnixMillis() / 1000;
  int64_t expiration_s = expiration_s_.load();
  nlohmann::json acc = nlohmann::json::array();
  for (const auto& a : access) {
    acc.push_back({{"type", a.type}, {"name", a.name}, {"actions", a.actions}});
  }
  nlohmann::json claims = {{"iss", options_.issuer},
                           {"sub", subject},
                           {"aud", options_.service},
                           {"exp", now + expiration_s},
                           {"nbf", now},
                           {"iat", now},
                           {"jti", RandomHex(8)},
                           {"access", acc}};
  auto token = jose::SignCompact(claims.dump(), keys_->private_key, jose::Alg::kRS256,
                                 {{"typ", "JWT"}, {"kid", kid_}});
  if (!token.ok()) return Status::Internal("signing a token: " + token.message());
  return Issued{*token, expiration_s, now};
}

StatusOr<Identity> TokenService::Verify(std::string_view token) const {
  std::string key = Digest::Of(DigestAlgorithm::kSha256, token).hex;
  int64_t now = NowUnixMillis() / 1000;
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      if (it->second.expires_at > now) return it->second.identity;
      cache_.erase(it);
    }
  }
  int64_t expires_at = 0;
  BERTH_ASSIGN_OR_RETURN(Identity id, VerifyUncached(token, &expires_at));
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (cache_.size() >= 50000) {
    for (auto it = cache_.begin(); it != cache_.end();) {
      it = it->second.expires_at <= now ? cache_.erase(it) : std::next(it);
    }
    if (cache_.size() >= 50000) cache_.clear();
  }
  cache_[key] = {id, expires_at};
  return id;
}

StatusOr<Identity> TokenService::VerifyUncached(std::string_view token, int64_t* expires_at) const {
  auto unauthenticated = [](const std::string& why) {
    return Status::Unauthenticated("invalid token: " + why, "UNAUTHORIZED");
  };
  auto decoded = jose::DecodeCompact(token);
  if (!decoded.ok()) return unauthenticated(decoded.message());
  // (header.value("kid", "") would throw on a non-string kid.)
  auto kid = decoded->header.find("kid");
  if (kid == decoded->header.end() || !kid->is_string() ||
      kid->get_ref<const std::string&>() != kid_) {
    return unauthenticated("unknown signing key");
  }
  jose::ClaimChecks checks;
  checks.issuer = options_.issuer;
  checks.audience = options_.service;
  checks.require_iat = true;
  checks.required = {"sub", "access"};
  jose::VerifyOptions opts;
  opts.allowed_algs = {jose::Alg::kRS256};
  auto claims = jose::VerifyJwt(token, keys_->public_key, checks, opts);
  if (!claims.ok()) return unauthenticated(claims.message());
  Identity id;
  id.kind = Identity::Kind::kToken;
  id.method = "bearer";
  const auto& c = *claims;
  if (!c["sub"].is_string()) return unauthenticated("sub must be a string");
  id.username = c["sub"].get<std::string>();
  id.token_issued_at = c["iat"].get<int64_t>();
  // Same leeway as the claim check: the cache never outlives what a fresh
  // verification would accept.
  *expires_at = c["exp"].get<int64_t>() + 60;
  if (!c["access"].is_array()) return unauthenticated("access must be an array");
  for (const auto& a : c["access"]) {
    if (!a.is_object() || !a.value("type", nlohmann::json()).is_string() ||
        !a.value("name", nlohmann::json()).is_string()) {
      return unauthenticated("malformed access entry");
    }
    TokenAccess ta;
    ta.type = a["type"].get<std::string>();
    ta.name = a["name"].get<std::string>();
    if (a.contains("actions")) {
      if (!a["actions"].is_array()) return unauthenticated("malformed actions");
      for (const auto& act : a["actions"]) {
        if (!act.is_string()) return unauthenticated("malformed actions");
        ta.actions.push_back(act.get<std::string>());
      }
    }
    id.token_access.push_back(std::move(ta));
  }
  return id;
}

}  // namespace berth
