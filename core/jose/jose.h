// berth_jose: the JOSE pieces Berth needs, on OpenSSL 3 EVP.
//
//   - base64url (RFC 4648 §5, no padding, strict) and base32 (RFC 4648 §6)
//   - keys: RSA (>= 2048 bits to sign or verify) and EC P-256 / P-384 as
//     EVP_PKEY; generation, PEM, JWK (RFC 7517/7518) both ways, RFC 7638
//     thumbprints and the libtrust key id Docker's token auth uses
//   - JWKS parsing and key selection by kid
//   - JWS compact serialization (RFC 7515): RS256/384/512, PS256, ES256/384.
//     "none", HMAC algorithms and any alg that does not fit the key are
//     refused; so are unknown critical header parameters.
//   - JWT claim checks (RFC 7519): iss, aud, exp/nbf/iat with leeway, required
//
// No exception leaves this API: every fallible call returns a Result.
#ifndef BERTH_JOSE_JOSE_H_
#define BERTH_JOSE_JOSE_H_

#include <openssl/types.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace berth::jose {

// ---- Errors -----------------------------------------------------------------

enum class Errc {
  kInvalidInput,    // malformed base64url, JSON, JWK, PEM or token
  kUnsupported,     // key type, curve, alg or critical header we do not implement
  kAlgRefused,      // "none", HMAC, an alg outside the allowed list or unfit for the key
  kKeyNotFound,     // no usable key in the JWKS for the token's kid
  kBadSignature,    // the signature does not verify
  kExpired,         // exp (plus leeway) has passed
  kNotYetValid,     // nbf (minus leeway) is in the future
  kIssuedInFuture,  // iat (minus leeway) is in the future
  kClaimMismatch,   // iss or aud do not match
  kMissingClaim,    // a required claim is absent
  kInvalidClaim,    // a registered claim has the wrong type
  kCrypto,          // OpenSSL failed
  kInternal,        // a bug or an allocation failure
};
const char* ErrcName(Errc code);

struct Error {
  Errc code = Errc::kInternal;
  std::string message;
};

// A value or an Error. value()/operator* on an error is a programming error
// and aborts (the API itself never throws).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  const T& value() const& { return *Get(); }
  T& value() & { return *Get(); }
  T&& value() && { return std::move(*Get()); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return Get(); }
  T* operator->() { return Get(); }
  const Error& error() const {
    if (ok()) std::abort();
    return std::get<1>(v_);
  }
  Errc code() const { return error().code; }
  std::string message() const { return ok() ? std::string() : error().message; }

 private:
  T* Get() {
    if (!ok()) std::abort();
    return &std::get<0>(v_);
  }
  const T* Get() const {
    if (!ok()) std::abort();
    return &std::get<0>(v_);
  }
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : e_(std::move(error)) {}  // NOLINT
  bool ok() const { return !e_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const {
    if (ok()) std::abort();
    return *e_;
  }
  Errc code() const { return error().code; }
  std::string message() const { return ok() ? std::string() : e_->message; }

 private:
  std::optional<Error> e_;
};
using Status = Result<void>;

// ---- Encodings ----------------------------------------------------------------

// base64url without padding.
std::string Base64UrlEncode(std::string_view bytes);
// Strict: only [A-Za-z0-9_-], no padding or whitespace, no impossible length,
// and unused trailing bits must be zero (one encoding per byte string).
Result<std::string> Base64UrlDecode(std::string_view text);
// RFC 4648 base32 (A-Z2-7) without padding.
std::string Base32Encode(std::string_view bytes);
// SHA-256 of data (32 raw bytes).
std::string Sha256(std::string_view data);

// ---- Keys -----------------------------------------------------------------------

enum class KeyType { kNone, kRsa, kEc, kOther };

// A shared, immutable handle on an EVP_PKEY (copying shares the key).
class Key {
 public:
  Key() = default;
  // Takes ownership of pkey (which may be null).
  static Key Adopt(EVP_PKEY* pkey);
  // Shares pkey: takes a new reference, the caller keeps its own.
  static Key Share(EVP_PKEY* pkey);

  EVP_PKEY* get() const { return p_.get(); }
  bool empty() const { return p_ == nullptr; }
  KeyType type() const;
  // "P-256" or "P-384" for those EC keys, "" otherwise.
  std::string curve() const;
  int bits() const;
  bool has_private() const;
  // The same key without its private part.
  Result<Key> PublicOnly() const;

 private:
  std::shared_ptr<EVP_PKEY> p_;
};

// RSA of `bits` (2048..16384) with e = 65537.
Result<Key> GenerateRsaKey(int bits = 2048);
// EC on "P-256" or "P-384".
Result<Key> GenerateEcKey(std::string_view crv = "P-256");

// Any PEM OpenSSL decodes (PKCS#8, PKCS#1, SEC1, SubjectPublicKeyInfo);
// encrypted keys are refused. The key must be RSA or EC P-256/P-384.
Result<Key> KeyFromPem(std::string_view pem);
// PKCS#8 "PRIVATE KEY" PEM; the key must have its private part.
Result<std::string> PrivateKeyToPem(const Key& key);
// SubjectPublicKeyInfo "PUBLIC KEY" PEM.
Result<std::string> PublicKeyToPem(const Key& key);
// DER SubjectPublicKeyInfo.
Result<std::string> PublicKeyDer(const Key& key);

// JWK (RFC 7518 §6): kty "RSA" (n, e; private: d and optionally all of p, q,
// dp, dq, qi) or kty "EC" with crv "P-256"/"P-384" (x, y full length; private:
// d). EC points are checked to be on the curve, private EC keys to match.
Result<Key> KeyFromJwk(const nlohmann::json& jwk);
Result<Key> KeyFromJwkText(std::string_view jwk_json);
// The JWK members for key: public ones only unless include_private (then the
// key must have its private part).
Result<nlohmann::json> KeyToJwk(const Key& key, bool include_private = false);
// RFC 7638 JWK thumbprint: base64url(SHA-256(canonical required members)).
Result<std::string> JwkThumbprint(const Key& key);
// Docker/libtrust key id: SHA-256 of the DER SubjectPublicKeyInfo, first 30
// bytes, base32 (48 chars), as 12 groups of 4 joined by ':'.
Result<std::string> LibtrustKeyId(const Key& key);

// ---- Algorithms -------------------------------------------------------------

enum class Alg { kRS256, kRS384, kRS512, kPS256, kES256, kES384 };

const char* AlgName(Alg alg);
// The supported algorithms. "none" and HS* give kAlgRefused, anything else
// unknown kUnsupported.
Result<Alg> ParseAlg(std::string_view name);
const std::vector<Alg>& AllAlgs();
// OK when alg can be used with key: RS*/PS* need an RSA key of >= 2048 bits,
// ES256 an EC P-256 key, ES384 an EC P-384 key. kAlgRefused otherwise.
Status CheckAlgFitsKey(Alg alg, const Key& key);

// Raw JWS signature bytes over data (ES*: r||s, fixed length).
Result<std::string> SignBytes(std::string_view data, const Key& key, Alg alg);
Status VerifyBytes(std::string_view data, std::string_view signature, const Key& key, Alg alg);

// ---- JWKS ------------------------------------------------------------------------

struct Jwk {
  Key key;
  std::string kid;
  std::string alg;  // "" when the JWK does not restrict it
  std::string use;  // "sig", "enc" or ""
  std::vector<std::string> key_ops;
};

// One JWK with its metadata.
Result<Jwk> ParseJwk(const nlohmann::json& jwk);

class Jwks {
 public:
  // {"keys": [...]}. Keys this library cannot use (oct, OKP, other curves,
  // encryption keys) are skipped and listed in skipped(); a malformed set
  // (not JSON, no "keys" array) is an error.
  static Result<Jwks> Parse(std::string_view json);
  static Result<Jwks> FromJson(const nlohmann::json& json);

  void Add(Jwk jwk) { keys_.push_back(std::move(jwk)); }
  const std::vector<Jwk>& keys() const { return keys_; }
  const std::vector<std::string>& skipped() const { return skipped_; }
  // The first key with this kid, or nullptr.
  const Jwk* Find(std::string_view kid) const;
  // The key to verify a signature made with alg: the key with this kid (with
  // an empty kid, the only key that fits alg), usable for signatures, whose
  // own "alg" (if any) is alg and whose type fits alg. kKeyNotFound when no
  // key has the kid; kAlgRefused when it has but cannot be used with alg.
  Result<const Jwk*> Select(std::string_view kid, Alg alg) const;
  // {"keys": [public JWKs with kid/alg/use]}.
  Result<nlohmann::json> ToJson() const;

 private:
  std::vector<Jwk> keys_;
  std::vector<std::string> skipped_;
};

// ---- JWS compact serialization ------------------------------------------------

// Upper bound on a compact token accepted for decoding.
inline constexpr size_t kMaxCompactBytes = 256 * 1024;

struct Jws {
  nlohmann::json header;      // the protected header, a JSON object
  std::string payload;        // decoded payload bytes
  std::string signing_input;  // BASE64URL(header) '.' BASE64URL(payload)
  std::string signature;      // decoded signature bytes
};

// Splits and decodes a compact JWS without verifying anything.
Result<Jws> DecodeCompact(std::string_view token);

// Signs payload. `header` may carry extra members (kid, typ, ...); "alg" is
// set from alg. The key must have its private part and fit alg.
Result<std::string> SignCompact(std::string_view payload, const Key& key, Alg alg,
                                const nlohmann::json& header = nlohmann::json::object());

struct VerifyOptions {
  // Algorithms accepted; empty means AllAlgs().
  std::vector<Alg> allowed_algs;
  // Header parameters this caller understands and may appear in "crit".
  std::vector<std::string> understood_crit;
};

// Verifies a compact JWS with key: the header's alg must be a supported,
// allowed alg that fits the key, every "crit" entry must be understood, and
// the signature must verify.
Result<Jws> VerifyCompact(std::string_view token, const Key& key, const VerifyOptions& opts = {});
// The same with the key chosen from jwks by the header's kid (Jwks::Select).
Result<Jws> VerifyCompact(std::string_view token, const Jwks& jwks, const VerifyOptions& opts = {});

// ---- JWT claims -------------------------------------------------------------------

struct ClaimChecks {
  std::string issuer;    // when non-empty, "iss" must equal it exactly
  std::string audience;  // when non-empty, "aud" (string or array) must contain it
  int64_t now = 0;       // unix seconds; 0: the current time
  int64_t leeway = 60;   // seconds of clock skew tolerated for exp/nbf/iat
  bool require_exp = true;
  bool require_iat = false;
  std::vector<std::string> required;  // other claims that must be present
};

// The payload as a JSON object.
Result<nlohmann::json> ParseClaims(std::string_view payload);
// exp: now < exp + leeway. nbf: nbf <= now + leeway. iat: iat <= now + leeway.
// exp/nbf/iat must be numbers, iss a string, aud a string or array of strings.
Status ValidateClaims(const nlohmann::json& claims, const ClaimChecks& checks);
// The "aud" claim as a list (a single string becomes one element).
Result<std::vector<std::string>> Audiences(const nlohmann::json& claims);

// VerifyCompact + ParseClaims + ValidateClaims.
Result<nlohmann::json> VerifyJwt(std::string_view token, const Key& key, const ClaimChecks& checks,
                                 const VerifyOptions& opts = {});
Result<nlohmann::json> VerifyJwt(std::string_view token, const Jwks& jwks, const ClaimChecks& checks,
                                 const VerifyOptions& opts = {});

}  // namespace berth::jose

#endif  // BERTH_JOSE_JOSE_H_
