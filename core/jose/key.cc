// Keys: EVP_PKEY handles, generation, PEM, JWK, thumbprints, libtrust ids.
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <array>
#include <vector>

#include "internal.h"
#include "jose.h"

namespace berth::jose {

using internal::BioPtr;
using internal::BnPtr;
using internal::CryptoErr;
using internal::Err;
using internal::PkeyCtxPtr;
using internal::Protect;
using json = nlohmann::json;

namespace {

constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 16384;

struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct DecoderCtxFree {
  void operator()(OSSL_DECODER_CTX* p) const { OSSL_DECODER_CTX_free(p); }
};

// Big-endian unsigned bytes of a BN parameter of pkey, left-padded to `pad`
// bytes when pad > 0.
Result<std::string> BnParam(EVP_PKEY* pkey, const char* name, int pad = 0) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1 || raw == nullptr) {
    return CryptoErr(std::string("reading key parameter ") + name);
  }
  BnPtr bn(raw);
  int n = pad > 0 ? pad : BN_num_bytes(bn.get());
  if (n == 0) n = 1;  // zero encodes as one zero byte
  std::string out(static_cast<size_t>(n), '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), n) != n) {
    return CryptoErr(std::string("encoding key parameter ") + name);
  }
  return out;
}

bool HasBnParam(EVP_PKEY* pkey, const char* name) {
  BIGNUM* raw = nullptr;
  bool ok = EVP_PKEY_get_bn_param(pkey, name, &raw) == 1 && raw != nullptr;
  BN_free(raw);
  ERR_clear_error();
  return ok;
}

// Refuses keys this library does not handle.
Status CheckSupported(const Key& key) {
  switch (key.type()) {
    case KeyType::kRsa: {
      int bits = key.bits();
      if (bits > kMaxRsaBits) return Err(Errc::kUnsupported, "RSA key larger than 16384 bits");
      return {};
    }
    case KeyType::kEc:
      if (key.curve().empty()) return Err(Errc::kUnsupported, "EC key on a curve other than P-256 or P-384");
      return {};
    case KeyType::kNone: return Err(Errc::kInvalidInput, "no key");
    case KeyType::kOther: break;
  }
  return Err(Errc::kUnsupported, "key type is neither RSA nor EC");
}

// A JWK member that must be a non-empty base64url string.
Result<std::string> JwkBytes(const json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end()) return Err(Errc::kInvalidInput, std::string("JWK lacks \"") + name + "\"");
  if (!it->is_string()) return Err(Errc::kInvalidInput, std::string("JWK \"") + name + "\" is not a string");
  auto bytes = Base64UrlDecode(it->get_ref<const std::string&>());
  if (!bytes.ok()) return Err(Errc::kInvalidInput, std::string("JWK \"") + name + "\": " + bytes.message());
  if (bytes->empty()) return Err(Errc::kInvalidInput, std::string("JWK \"") + name + "\" is empty");
  return bytes;
}

BnPtr ToBn(const std::string& bytes) {
  return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()),
                         nullptr));
}

Result<Key> FromParams(const char* type, OSSL_PARAM_BLD* bld, bool priv) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  if (!params) return CryptoErr("building key parameters");
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return CryptoErr("preparing key import");
  EVP_PKEY* pkey = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &pkey, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return CryptoErr(std::string("importing the ") + type + " key");
  }
  return Key::Adopt(pkey);
}

Result<Key> RsaFromJwk(const json& jwk) {
  auto n = JwkBytes(jwk, "n");
  if (!n.ok()) return n.error();
  auto e = JwkBytes(jwk, "e");
  if (!e.ok()) return e.error();
  BnPtr nb = ToBn(*n), eb = ToBn(*e);
  if (!nb || !eb) return CryptoErr("decoding RSA parameters");
  int bits = BN_num_bits(nb.get());
  if (bits < 1024 || bits > kMaxRsaBits) {
    return Err(Errc::kUnsupported, "RSA modulus of " + std::to_string(bits) + " bits");
  }
  if (!BN_is_odd(eb.get()) || BN_num_bits(eb.get()) < 2 || BN_num_bits(eb.get()) > 64) {
    return Err(Errc::kInvalidInput, "RSA public exponent is not an odd number of reasonable size");
  }
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, nb.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, eb.get()) != 1) {
    return CryptoErr("building RSA parameters");
  }
  // Private parts: d alone, or d with every CRT member (RFC 7518 §6.3.2).
  static constexpr std::array<std::pair<const char*, const char*>, 5> kCrt = {{
      {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
      {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},
      {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
      {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2},
      {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1},
  }};
  std::vector<BnPtr> keep;
  bool priv = jwk.contains("d");
  size_t crt_present = 0;
  for (const auto& [member, param] : kCrt) crt_present += jwk.contains(member) ? 1 : 0;
  if (!priv && crt_present > 0) return Err(Errc::kInvalidInput, "RSA JWK has CRT members but no \"d\"");
  if (priv) {
    if (crt_present != 0 && crt_present != kCrt.size()) {
      return Err(Errc::kInvalidInput, "RSA JWK must have all of p, q, dp, dq, qi or none");
    }
    auto d = JwkBytes(jwk, "d");
    if (!d.ok()) return d.error();
    keep.push_back(ToBn(*d));
    if (!keep.back() || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_D, keep.back().get()) != 1) {
      return CryptoErr("building RSA private parameters");
    }
    if (crt_present != 0) {
      for (const auto& [member, param] : kCrt) {
        auto v = JwkBytes(jwk, member);
        if (!v.ok()) return v.error();
        keep.push_back(ToBn(*v));
        if (!keep.back() || OSSL_PARAM_BLD_push_BN(bld.get(), param, keep.back().get()) != 1) {
          return CryptoErr("building RSA CRT parameters");
        }
      }
    }
  }
  return FromParams("RSA", bld.get(), priv);
}

Result<Key> EcFromJwk(const json& jwk) {
  auto crv_it = jwk.find("crv");
  if (crv_it == jwk.end() || !crv_it->is_string()) return Err(Errc::kInvalidInput, "EC JWK lacks \"crv\"");
  const std::string& crv = crv_it->get_ref<const std::string&>();
  size_t len = internal::CurveBytes(crv);
  if (len == 0) return Err(Errc::kUnsupported, "EC curve \"" + crv + "\" is not supported");
  auto x = JwkBytes(jwk, "x");
  if (!x.ok()) return x.error();
  auto y = JwkBytes(jwk, "y");
  if (!y.ok()) return y.error();
  if (x->size() != len || y->size() != len) {
    return Err(Errc::kInvalidInput, "EC JWK coordinates must be " + std::to_string(len) + " bytes for " + crv);
  }
  std::string point = "\x04" + *x + *y;
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, internal::CurveGroup(crv), 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    return CryptoErr("building EC parameters");
  }
  BnPtr d;
  bool priv = jwk.contains("d");
  if (priv) {
    auto dbytes = JwkBytes(jwk, "d");
    if (!dbytes.ok()) return dbytes.error();
    if (dbytes->size() != len) {
      return Err(Errc::kInvalidInput, "EC JWK \"d\" must be " + std::to_string(len) + " bytes for " + crv);
    }
    d = ToBn(*dbytes);
    if (!d || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get()) != 1) {
      return CryptoErr("building EC private parameters");
    }
  }
  auto key = FromParams("EC", bld.get(), priv);
  if (!key.ok()) {
    return Err(Errc::kInvalidInput, "EC JWK is not a valid " + crv + " key (" + key.message() + ")");
  }
  // An off-curve point would open invalid-curve attacks; a private key must
  // match its public point.
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key->get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return Err(Errc::kInvalidInput, "EC JWK point is not on " + crv);
  }
  if (priv && EVP_PKEY_pairwise_check(check.get()) != 1) {
    ERR_clear_error();
    return Err(Errc::kInvalidInput, "EC JWK \"d\" does not match its public point");
  }
  return key;
}

}  // namespace

// ---- Key ----------------------------------------------------------------------

Key Key::Adopt(EVP_PKEY* pkey) {
  Key k;
  if (pkey != nullptr) k.p_ = std::shared_ptr<EVP_PKEY>(pkey, EVP_PKEY_free);
  return k;
}

Key Key::Share(EVP_PKEY* pkey) {
  if (pkey == nullptr || EVP_PKEY_up_ref(pkey) != 1) return Key();
  return Adopt(pkey);
}

KeyType Key::type() const {
  if (!p_) return KeyType::kNone;
  if (EVP_PKEY_is_a(p_.get(), "RSA")) return KeyType::kRsa;
  if (EVP_PKEY_is_a(p_.get(), "EC")) return KeyType::kEc;
  return KeyType::kOther;
}

std::string Key::curve() const {
  if (type() != KeyType::kEc) return {};
  char name[64] = {0};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(p_.get(), OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len) != 1) {
    ERR_clear_error();
    return {};
  }
  std::string_view g(name, len);
  if (g == "prime256v1" || g == "P-256" || g == "secp256r1") return "P-256";
  if (g == "secp384r1" || g == "P-384") return "P-384";
  return {};
}

int Key::bits() const { return p_ ? EVP_PKEY_get_bits(p_.get()) : 0; }

bool Key::has_private() const {
  switch (type()) {
    case KeyType::kRsa: return HasBnParam(p_.get(), OSSL_PKEY_PARAM_RSA_D);
    case KeyType::kEc: return HasBnParam(p_.get(), OSSL_PKEY_PARAM_PRIV_KEY);
    default: return false;
  }
}

Result<Key> Key::PublicOnly() const {
  return Protect([&]() -> Result<Key> {
    auto der = PublicKeyDer(*this);
    if (!der.ok()) return der.error();
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der->data());
    EVP_PKEY* pub = d2i_PUBKEY(nullptr, &p, static_cast<long>(der->size()));
    if (pub == nullptr) return CryptoErr("re-reading the public key");
    return Key::Adopt(pub);
  });
}

// ---- Generation and PEM ------------------------------------------------------------

Result<Key> GenerateRsaKey(int bits) {
  return Protect([&]() -> Result<Key> {
    if (bits < kMinRsaBits || bits > kMaxRsaBits) {
      return Err(Errc::kUnsupported, "RSA keys must have 2048 to 16384 bits");
    }
    EVP_PKEY* pkey = EVP_RSA_gen(static_cast<unsigned int>(bits));
    if (pkey == nullptr) return CryptoErr("generating an RSA key");
    return Key::Adopt(pkey);
  });
}

Result<Key> GenerateEcKey(std::string_view crv) {
  return Protect([&]() -> Result<Key> {
    const char* group = internal::CurveGroup(crv);
    if (group == nullptr) return Err(Errc::kUnsupported, "EC curve \"" + std::string(crv) + "\" is not supported");
    EVP_PKEY* pkey = EVP_EC_gen(group);
    if (pkey == nullptr) return CryptoErr("generating an EC key");
    return Key::Adopt(pkey);
  });
}

Result<Key> KeyFromPem(std::string_view pem) {
  return Protect([&]() -> Result<Key> {
    if (pem.find("ENCRYPTED") != std::string_view::npos) {
      return Err(Errc::kUnsupported, "encrypted PEM keys are not supported");
    }
    EVP_PKEY* pkey = nullptr;
    std::unique_ptr<OSSL_DECODER_CTX, DecoderCtxFree> dctx(
        OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", nullptr, nullptr, 0, nullptr, nullptr));
    if (!dctx) return CryptoErr("preparing the PEM decoder");
    // An empty passphrase: a key that needs one fails instead of prompting.
    OSSL_DECODER_CTX_set_passphrase(dctx.get(), reinterpret_cast<const unsigned char*>(""), 0);
    const unsigned char* data = reinterpret_cast<const unsigned char*>(pem.data());
    size_t len = pem.size();
    if (OSSL_DECODER_from_data(dctx.get(), &data, &len) != 1 || pkey == nullptr) {
      ERR_clear_error();
      return Err(Errc::kInvalidInput, "not a PEM-encoded RSA or EC key");
    }
    Key key = Key::Adopt(pkey);
    auto st = CheckSupported(key);
    if (!st.ok()) return st.error();
    return key;
  });
}

Result<std::string> PrivateKeyToPem(const Key& key) {
  return Protect([&]() -> Result<std::string> {
    auto st = CheckSupported(key);
    if (!st.ok()) return st.error();
    if (!key.has_private()) return Err(Errc::kInvalidInput, "the key has no private part");
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
      return CryptoErr("writing the private key PEM");
    }
    return internal::BioContents(bio.get());
  });
}

Result<std::string> PublicKeyToPem(const Key& key) {
  return Protect([&]() -> Result<std::string> {
    auto st = CheckSupported(key);
    if (!st.ok()) return st.error();
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1) return CryptoErr("writing the public key PEM");
    return internal::BioContents(bio.get());
  });
}

Result<std::string> PublicKeyDer(const Key& key) {
  return Protect([&]() -> Result<std::string> {
    if (key.empty()) return Err(Errc::kInvalidInput, "no key");
    unsigned char* der = nullptr;
    int n = i2d_PUBKEY(key.get(), &der);
    if (n <= 0 || der == nullptr) return CryptoErr("encoding the public key");
    std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(n));
    OPENSSL_free(der);
    return out;
  });
}

// ---- JWK -----------------------------------------------------------------------------

Result<Key> KeyFromJwk(const json& jwk) {
  return Protect([&]() -> Result<Key> {
    if (!jwk.is_object()) return Err(Errc::kInvalidInput, "a JWK must be a JSON object");
    auto kty = jwk.find("kty");
    if (kty == jwk.end() || !kty->is_string()) return Err(Errc::kInvalidInput, "JWK lacks \"kty\"");
    const std::string& t = kty->get_ref<const std::string&>();
    if (t == "RSA") return RsaFromJwk(jwk);
    if (t == "EC") return EcFromJwk(jwk);
    return Err(Errc::kUnsupported, "JWK kty \"" + t + "\" is not supported");
  });
}

Result<Key> KeyFromJwkText(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return Err(Errc::kInvalidInput, "JWK is not valid JSON");
  return KeyFromJwk(j);
}

Result<json> KeyToJwk(const Key& key, bool include_private) {
  return Protect([&]() -> Result<json> {
    auto st = CheckSupported(key);
    if (!st.ok()) return st.error();
    if (include_private && !key.has_private()) return Err(Errc::kInvalidInput, "the key has no private part");
    EVP_PKEY* p = key.get();
    json out = json::object();
    auto put = [&](const char* member, Result<std::string> v) -> Status {
      if (!v.ok()) return v.error();
      out[member] = Base64UrlEncode(*v);
      return {};
    };
    Status s;
    if (key.type() == KeyType::kRsa) {
      out["kty"] = "RSA";
      if (!(s = put("n", BnParam(p, OSSL_PKEY_PARAM_RSA_N))).ok()) return s.error();
      if (!(s = put("e", BnParam(p, OSSL_PKEY_PARAM_RSA_E))).ok()) return s.error();
      if (include_private) {
        if (!(s = put("d", BnParam(p, OSSL_PKEY_PARAM_RSA_D))).ok()) return s.error();
        if (HasBnParam(p, OSSL_PKEY_PARAM_RSA_FACTOR1)) {
          if (!(s = put("p", BnParam(p, OSSL_PKEY_PARAM_RSA_FACTOR1))).ok() ||
              !(s = put("q", BnParam(p, OSSL_PKEY_PARAM_RSA_FACTOR2))).ok() ||
              !(s = put("dp", BnParam(p, OSSL_PKEY_PARAM_RSA_EXPONENT1))).ok() ||
              !(s = put("dq", BnParam(p, OSSL_PKEY_PARAM_RSA_EXPONENT2))).ok() ||
              !(s = put("qi", BnParam(p, OSSL_PKEY_PARAM_RSA_COEFFICIENT1))).ok()) {
            return s.error();
          }
        }
      }
    } else {
      std::string crv = key.curve();
      int len = static_cast<int>(internal::CurveBytes(crv));
      out["kty"] = "EC";
      out["crv"] = crv;
      if (!(s = put("x", BnParam(p, OSSL_PKEY_PARAM_EC_PUB_X, len))).ok()) return s.error();
      if (!(s = put("y", BnParam(p, OSSL_PKEY_PARAM_EC_PUB_Y, len))).ok()) return s.error();
      if (include_private) {
        if (!(s = put("d", BnParam(p, OSSL_PKEY_PARAM_PRIV_KEY, len))).ok()) return s.error();
      }
    }
    return out;
  });
}

Result<std::string> JwkThumbprint(const Key& key) {
  return Protect([&]() -> Result<std::string> {
    auto jwk = KeyToJwk(key, false);
    if (!jwk.ok()) return jwk.error();
    // Required members only, lexicographic order, no whitespace (RFC 7638 §3.2):
    // nlohmann's default object is a std::map, so dump() is already canonical.
    json canon = json::object();
    for (const char* m : {"crv", "e", "kty", "n", "x", "y"}) {
      if (jwk->contains(m)) canon[m] = (*jwk)[m];
    }
    return Base64UrlEncode(Sha256(canon.dump()));
  });
}

Result<std::string> LibtrustKeyId(const Key& key) {
  return Protect([&]() -> Result<std::string> {
    auto st = CheckSupported(key);
    if (!st.ok()) return st.error();
    auto der = PublicKeyDer(key);
    if (!der.ok()) return der.error();
    std::string b32 = Base32Encode(Sha256(*der).substr(0, 30));  // 240 bits -> 48 chars
    std::string out;
    for (size_t i = 0; i < b32.size(); i += 4) {
      if (i > 0) out += ':';
      out += b32.substr(i, 4);
    }
    return out;
  });
}

}  // namespace berth::jose
