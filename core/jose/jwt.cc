// JWT claim checks (RFC 7519 §4.1).
#include <algorithm>
#include <cmath>
#include <ctime>

#include "internal.h"
#include "jose.h"

namespace berth::jose {

using internal::Err;
using internal::Protect;
using json = nlohmann::json;

namespace {

// A NumericDate claim as whole seconds (fractions truncated toward -inf).
Result<std::optional<int64_t>> NumericDate(const json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::optional<int64_t>();
  if (!it->is_number()) return Err(Errc::kInvalidClaim, std::string("claim \"") + name + "\" is not a number");
  double v = it->get<double>();
  if (!std::isfinite(v) || v < -9.2e18 || v > 9.2e18) {
    return Err(Errc::kInvalidClaim, std::string("claim \"") + name + "\" is out of range");
  }
  if (it->is_number_integer()) return std::optional<int64_t>(it->get<int64_t>());
  return std::optional<int64_t>(static_cast<int64_t>(std::floor(v)));
}

}  // namespace

Result<json> ParseClaims(std::string_view payload) {
  return Protect([&]() -> Result<json> {
    json j = json::parse(payload, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Err(Errc::kInvalidInput, "JWT claims are not a JSON object");
    return j;
  });
}

Result<std::vector<std::string>> Audiences(const json& claims) {
  return Protect([&]() -> Result<std::vector<std::string>> {
    std::vector<std::string> out;
    auto it = claims.find("aud");
    if (it == claims.end()) return out;
    if (it->is_string()) {
      out.push_back(it->get<std::string>());
      return out;
    }
    if (!it->is_array()) return Err(Errc::kInvalidClaim, "claim \"aud\" is neither a string nor an array");
    for (const auto& a : *it) {
      if (!a.is_string()) return Err(Errc::kInvalidClaim, "claim \"aud\" holds a non-string");
      out.push_back(a.get<std::string>());
    }
    return out;
  });
}

Status ValidateClaims(const json& claims, const ClaimChecks& c) {
  return Protect([&]() -> Status {
    if (!claims.is_object()) return Err(Errc::kInvalidInput, "JWT claims are not a JSON object");
    const int64_t now = c.now != 0 ? c.now : static_cast<int64_t>(std::time(nullptr));
    const int64_t leeway = c.leeway < 0 ? 0 : c.leeway;
    for (const auto& r : c.required) {
      if (!claims.contains(r)) return Err(Errc::kMissingClaim, "claim \"" + r + "\" is required");
    }
    if (auto it = claims.find("iss"); it != claims.end() && !it->is_string()) {
      return Err(Errc::kInvalidClaim, "claim \"iss\" is not a string");
    }
    if (!c.issuer.empty()) {
      auto it = claims.find("iss");
      if (it == claims.end()) return Err(Errc::kMissingClaim, "claim \"iss\" is required");
      if (it->get_ref<const std::string&>() != c.issuer) {
        return Err(Errc::kClaimMismatch,
                   "issuer \"" + it->get<std::string>() + "\" is not the expected \"" + c.issuer + "\"");
      }
    }
    auto auds = Audiences(claims);
    if (!auds.ok()) return auds.error();
    if (!c.audience.empty()) {
      if (!claims.contains("aud")) return Err(Errc::kMissingClaim, "claim \"aud\" is required");
      if (std::find(auds->begin(), auds->end(), c.audience) == auds->end()) {
        return Err(Errc::kClaimMismatch, "audience does not include \"" + c.audience + "\"");
      }
    }
    auto exp = NumericDate(claims, "exp");
    if (!exp.ok()) return exp.error();
    auto nbf = NumericDate(claims, "nbf");
    if (!nbf.ok()) return nbf.error();
    auto iat = NumericDate(claims, "iat");
    if (!iat.ok()) return iat.error();
    if (exp->has_value()) {
      if (now >= **exp + leeway) {
        return Err(Errc::kExpired, "token expired at " + std::to_string(**exp) + " (now " + std::to_string(now) +
                                       ", leeway " + std::to_string(leeway) + "s)");
      }
    } else if (c.require_exp) {
      return Err(Errc::kMissingClaim, "claim \"exp\" is required");
    }
    if (nbf->has_value() && **nbf > now + leeway) {
      return Err(Errc::kNotYetValid, "token is not valid before " + std::to_string(**nbf));
    }
    if (iat->has_value()) {
      if (**iat > now + leeway) {
        return Err(Errc::kIssuedInFuture, "token issued in the future (" + std::to_string(**iat) + ")");
      }
    } else if (c.require_iat) {
      return Err(Errc::kMissingClaim, "claim \"iat\" is required");
    }
    return {};
  });
}

namespace {
template <class KeySource>
Result<json> VerifyJwtWith(std::string_view token, const KeySource& keys, const ClaimChecks& checks,
                           const VerifyOptions& opts) {
  auto jws = VerifyCompact(token, keys, opts);
  if (!jws.ok()) return jws.error();
  auto claims = ParseClaims(jws->payload);
  if (!claims.ok()) return claims.error();
  auto st = ValidateClaims(*claims, checks);
  if (!st.ok()) return st.error();
  return claims;
}
}  // namespace

Result<json> VerifyJwt(std::string_view token, const Key& key, const ClaimChecks& checks,
                       const VerifyOptions& opts) {
  return Protect([&] { return VerifyJwtWith(token, key, checks, opts); });
}

Result<json> VerifyJwt(std::string_view token, const Jwks& jwks, const ClaimChecks& checks,
                       const VerifyOptions& opts) {
  return Protect([&] { return VerifyJwtWith(token, jwks, checks, opts); });
}

}  // namespace berth::jose
