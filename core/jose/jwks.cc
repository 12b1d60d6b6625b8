// JWK metadata and JWK sets.
#include <algorithm>

#include "internal.h"
#include "jose.h"

namespace berth::jose {

using internal::Err;
using internal::Protect;
using json = nlohmann::json;

namespace {

Result<std::string> OptionalString(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return std::string();
  if (!it->is_string()) return Err(Errc::kInvalidInput, std::string("JWK \"") + name + "\" is not a string");
  return it->get<std::string>();
}

bool UsableForSignatures(const Jwk& k) {
  if (!k.use.empty() && k.use != "sig") return false;
  if (!k.key_ops.empty() && std::find(k.key_ops.begin(), k.key_ops.end(), "verify") == k.key_ops.end()) {
    return false;
  }
  return true;
}

// Why jwk cannot verify an alg signature ("" when it can).
std::string Unfit(const Jwk& jwk, Alg alg) {
  if (!UsableForSignatures(jwk)) return "is not a signature key (use/key_ops)";
  if (!jwk.alg.empty() && jwk.alg != AlgName(alg)) return "is restricted to " + jwk.alg;
  auto fits = CheckAlgFitsKey(alg, jwk.key);
  if (!fits.ok()) return fits.message();
  return {};
}

}  // namespace

Result<Jwk> ParseJwk(const json& j) {
  return Protect([&]() -> Result<Jwk> {
    if (!j.is_object()) return Err(Errc::kInvalidInput, "a JWK must be a JSON object");
    Jwk out;
    auto kid = OptionalString(j, "kid");
    if (!kid.ok()) return kid.error();
    auto alg = OptionalString(j, "alg");
    if (!alg.ok()) return alg.error();
    auto use = OptionalString(j, "use");
    if (!use.ok()) return use.error();
    out.kid = std::move(*kid);
    out.alg = std::move(*alg);
    out.use = std::move(*use);
    if (auto ops = j.find("key_ops"); ops != j.end()) {
      if (!ops->is_array()) return Err(Errc::kInvalidInput, "JWK \"key_ops\" is not an array");
      for (const auto& op : *ops) {
        if (!op.is_string()) return Err(Errc::kInvalidInput, "JWK \"key_ops\" holds a non-string");
        out.key_ops.push_back(op.get<std::string>());
      }
    }
    auto key = KeyFromJwk(j);
    if (!key.ok()) return key.error();
    out.key = std::move(*key);
    return out;
  });
}

Result<Jwks> Jwks::Parse(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return Err(Errc::kInvalidInput, "JWKS is not valid JSON");
  return FromJson(j);
}

Result<Jwks> Jwks::FromJson(const json& j) {
  return Protect([&]() -> Result<Jwks> {
    if (!j.is_object()) return Err(Errc::kInvalidInput, "a JWKS must be a JSON object");
    auto keys = j.find("keys");
    if (keys == j.end() || !keys->is_array()) return Err(Errc::kInvalidInput, "JWKS lacks a \"keys\" array");
    Jwks out;
    size_t index = 0;
    for (const auto& k : *keys) {
      auto jwk = ParseJwk(k);
      std::string where = "key " + std::to_string(index++);
      if (k.is_object() && k.contains("kid") && k["kid"].is_string()) {
        where += " (kid " + k["kid"].get<std::string>() + ")";
      }
      if (!jwk.ok()) {
        out.skipped_.push_back(where + ": " + jwk.message());
      } else if (!UsableForSignatures(*jwk)) {
        out.skipped_.push_back(where + ": not a signature key");
      } else {
        out.keys_.push_back(std::move(*jwk));
      }
    }
    return out;
  });
}

const Jwk* Jwks::Find(std::string_view kid) const {
  for (const auto& k : keys_) {
    if (k.kid == kid) return &k;
  }
  return nullptr;
}

Result<const Jwk*> Jwks::Select(std::string_view kid, Alg alg) const {
  return Protect([&]() -> Result<const Jwk*> {
    if (kid.empty()) {
      const Jwk* only = nullptr;
      for (const auto& k : keys_) {
        if (!Unfit(k, alg).empty()) continue;
        if (only != nullptr) {
          return Err(Errc::kKeyNotFound, std::string("the token has no kid and several keys fit ") + AlgName(alg));
        }
        only = &k;
      }
      if (only == nullptr) return Err(Errc::kKeyNotFound, std::string("no key fits ") + AlgName(alg));
      return only;
    }
    std::string why;
    bool seen = false;
    for (const auto& k : keys_) {
      if (k.kid != kid) continue;
      seen = true;
      why = Unfit(k, alg);
      if (why.empty()) return &k;
    }
    if (!seen) return Err(Errc::kKeyNotFound, "no key with kid \"" + std::string(kid) + "\"");
    return Err(Errc::kAlgRefused, "key \"" + std::string(kid) + "\" cannot verify " + AlgName(alg) + ": " + why);
  });
}

Result<json> Jwks::ToJson() const {
  return Protect([&]() -> Result<json> {
    json keys = json::array();
    for (const auto& k : keys_) {
      auto j = KeyToJwk(k.key, false);
      if (!j.ok()) return j.error();
      if (!k.kid.empty()) (*j)["kid"] = k.kid;
      if (!k.alg.empty()) (*j)["alg"] = k.alg;
      if (!k.use.empty()) (*j)["use"] = k.use;
      if (!k.key_ops.empty()) (*j)["key_ops"] = k.key_ops;
      keys.push_back(std::move(*j));
    }
    return json{{"keys", std::move(keys)}};
  });
}

}  // namespace berth::jose
