// JWS: algorithms, raw signatures, compact serialization.
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "internal.h"
#include "jose.h"

namespace berth::jose {

using internal::CryptoErr;
using internal::Err;
using internal::MdCtxPtr;
using internal::Protect;
using json = nlohmann::json;

namespace {

struct EcdsaSigFree {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;

const EVP_MD* Digest(Alg alg) {
  switch (alg) {
    case Alg::kRS256:
    case Alg::kPS256:
    case Alg::kES256: return EVP_sha256();
    case Alg::kRS384:
    case Alg::kES384: return EVP_sha384();
    case Alg::kRS512: return EVP_sha512();
  }
  return nullptr;
}

bool IsEc(Alg alg) { return alg == Alg::kES256 || alg == Alg::kES384; }
bool IsPss(Alg alg) { return alg == Alg::kPS256; }
size_t EcBytes(Alg alg) { return alg == Alg::kES256 ? 32 : 48; }

// Sets RSA padding on a digest-sign/verify context: PKCS#1 v1.5, or PSS with
// MGF1 on the same hash and a salt as long as the hash (RFC 7518 §3.5).
Status SetPadding(EVP_PKEY_CTX* pctx, Alg alg) {
  if (IsEc(alg)) return {};
  if (IsPss(alg)) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, Digest(alg)) <= 0) {
      return CryptoErr("setting RSA-PSS parameters");
    }
    return {};
  }
  if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0) return CryptoErr("setting RSA padding");
  return {};
}

// The well-known header parameters of RFC 7515 §4.1 (never valid in crit).
bool IsRegisteredHeader(const std::string& name) {
  static const std::set<std::string> kNames = {"alg", "jku", "jwk", "kid", "x5u", "x5c",
                                               "x5t", "x5t#S256", "typ", "cty", "crit"};
  return kNames.count(name) != 0;
}

// Every header check that does not need the key: alg parsed and allowed,
// crit well-formed and understood.
Result<Alg> CheckHeader(const json& header, const VerifyOptions& opts) {
  auto a = header.find("alg");
  if (a == header.end() || !a->is_string()) return Err(Errc::kInvalidInput, "JWS header has no \"alg\" string");
  auto alg = ParseAlg(a->get_ref<const std::string&>());
  if (!alg.ok()) return alg.error();
  const std::vector<Alg>& allowed = opts.allowed_algs.empty() ? AllAlgs() : opts.allowed_algs;
  if (std::find(allowed.begin(), allowed.end(), *alg) == allowed.end()) {
    return Err(Errc::kAlgRefused, std::string("alg ") + AlgName(*alg) + " is not allowed here");
  }
  if (auto crit = header.find("crit"); crit != header.end()) {
    if (!crit->is_array() || crit->empty()) {
      return Err(Errc::kInvalidInput, "JWS \"crit\" must be a non-empty array");
    }
    std::set<std::string> seen;
    for (const auto& c : *crit) {
      if (!c.is_string()) return Err(Errc::kInvalidInput, "JWS \"crit\" holds a non-string");
      const std::string& name = c.get_ref<const std::string&>();
      if (IsRegisteredHeader(name)) {
        return Err(Errc::kInvalidInput, "JWS \"crit\" lists the registered parameter \"" + name + "\"");
      }
      if (!seen.insert(name).second) return Err(Errc::kInvalidInput, "JWS \"crit\" lists \"" + name + "\" twice");
      if (std::find(opts.understood_crit.begin(), opts.understood_crit.end(), name) == opts.understood_crit.end()) {
        return Err(Errc::kUnsupported, "JWS critical header parameter \"" + name + "\" is not understood");
      }
      if (!header.contains(name)) {
        return Err(Errc::kInvalidInput, "JWS \"crit\" names \"" + name + "\" but the header lacks it");
      }
    }
  }
  return *alg;
}

Result<Jws> VerifyDecoded(Jws jws, Alg alg, const Key& key) {
  auto fits = CheckAlgFitsKey(alg, key);
  if (!fits.ok()) return fits.error();
  auto st = VerifyBytes(jws.signing_input, jws.signature, key, alg);
  if (!st.ok()) return st.error();
  return jws;
}

}  // namespace

const char* AlgName(Alg alg) {
  switch (alg) {
    case Alg::kRS256: return "RS256";
    case Alg::kRS384: return "RS384";
    case Alg::kRS512: return "RS512";
    case Alg::kPS256: return "PS256";
    case Alg::kES256: return "ES256";
    case Alg::kES384: return "ES384";
  }
  return "?";
}

const std::vector<Alg>& AllAlgs() {
  static const std::vector<Alg> kAll = {Alg::kRS256, Alg::kRS384, Alg::kRS512,
                                        Alg::kPS256, Alg::kES256, Alg::kES384};
  return kAll;
}

Result<Alg> ParseAlg(std::string_view name) {
  for (Alg a : AllAlgs()) {
    if (name == AlgName(a)) return a;
  }
  std::string n(name);
  std::string lower = n;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "none") return Err(Errc::kAlgRefused, "alg \"" + n + "\" (an unsecured JWS) is refused");
  if (lower.rfind("hs", 0) == 0) {
    return Err(Errc::kAlgRefused, "alg \"" + n + "\" is refused: symmetric (HMAC) algorithms are not accepted");
  }
  return Err(Errc::kUnsupported, "alg \"" + n + "\" is not supported");
}

Status CheckAlgFitsKey(Alg alg, const Key& key) {
  switch (key.type()) {
    case KeyType::kRsa:
      if (IsEc(alg)) return Err(Errc::kAlgRefused, std::string("alg ") + AlgName(alg) + " does not fit an RSA key");
      if (key.bits() < 2048) {
        return Err(Errc::kAlgRefused, "RSA key of " + std::to_string(key.bits()) + " bits is too small (2048 minimum)");
      }
      return {};
    case KeyType::kEc: {
      if (!IsEc(alg)) return Err(Errc::kAlgRefused, std::string("alg ") + AlgName(alg) + " does not fit an EC key");
      std::string want = alg == Alg::kES256 ? "P-256" : "P-384";
      std::string crv = key.curve();
      if (crv != want) {
        return Err(Errc::kAlgRefused, std::string("alg ") + AlgName(alg) + " needs a " + want + " key, not " +
                                          (crv.empty() ? std::string("another curve") : crv));
      }
      return {};
    }
    case KeyType::kNone: return Err(Errc::kInvalidInput, "no key");
    case KeyType::kOther: break;
  }
  return Err(Errc::kAlgRefused, std::string("alg ") + AlgName(alg) + " does not fit this key type");
}

Result<std::string> SignBytes(std::string_view data, const Key& key, Alg alg) {
  return Protect([&]() -> Result<std::string> {
    auto fits = CheckAlgFitsKey(alg, key);
    if (!fits.ok()) return fits.error();
    if (!key.has_private()) return Err(Errc::kInvalidInput, "signing needs a private key");
    MdCtxPtr md(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;
    if (!md || EVP_DigestSignInit(md.get(), &pctx, Digest(alg), nullptr, key.get()) != 1) {
      return CryptoErr("starting the signature");
    }
    auto pad = SetPadding(pctx, alg);
    if (!pad.ok()) return pad.error();
    size_t len = 0;
    const auto* in = reinterpret_cast<const unsigned char*>(data.data());
    if (EVP_DigestSign(md.get(), nullptr, &len, in, data.size()) != 1) return CryptoErr("sizing the signature");
    std::string sig(len, '\0');
    if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in, data.size()) != 1) {
      return CryptoErr("signing");
    }
    sig.resize(len);
    if (!IsEc(alg)) return sig;
    // ECDSA: DER SEQUENCE{r, s} -> fixed-width r || s (RFC 7518 §3.4).
    const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
    EcdsaSigPtr es(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
    if (!es) return CryptoErr("decoding the ECDSA signature");
    const BIGNUM* r = nullptr;
    const BIGNUM* s = nullptr;
    ECDSA_SIG_get0(es.get(), &r, &s);
    int n = static_cast<int>(EcBytes(alg));
    std::string raw(static_cast<size_t>(2 * n), '\0');
    auto* out = reinterpret_cast<unsigned char*>(raw.data());
    if (BN_bn2binpad(r, out, n) != n || BN_bn2binpad(s, out + n, n) != n) {
      return CryptoErr("encoding the ECDSA signature");
    }
    return raw;
  });
}

Status VerifyBytes(std::string_view data, std::string_view signature, const Key& key, Alg alg) {
  return Protect([&]() -> Status {
    auto fits = CheckAlgFitsKey(alg, key);
    if (!fits.ok()) return fits.error();
    std::string sig(signature);
    if (IsEc(alg)) {
      // r || s -> DER; anything but the exact width is not a JWS signature.
      size_t n = EcBytes(alg);
      if (sig.size() != 2 * n) {
        return Err(Errc::kBadSignature, std::string(AlgName(alg)) + " signature must be " + std::to_string(2 * n) +
                                            " bytes, not " + std::to_string(sig.size()));
      }
      const auto* raw = reinterpret_cast<const unsigned char*>(sig.data());
      EcdsaSigPtr es(ECDSA_SIG_new());
      BIGNUM* r = BN_bin2bn(raw, static_cast<int>(n), nullptr);
      BIGNUM* s = BN_bin2bn(raw + n, static_cast<int>(n), nullptr);
      if (!es || r == nullptr || s == nullptr || ECDSA_SIG_set0(es.get(), r, s) != 1) {
        BN_free(r);
        BN_free(s);
        return CryptoErr("building the ECDSA signature");
      }
      unsigned char* der = nullptr;
      int dlen = i2d_ECDSA_SIG(es.get(), &der);
      if (dlen <= 0 || der == nullptr) return CryptoErr("encoding the ECDSA signature");
      sig.assign(reinterpret_cast<const char*>(der), static_cast<size_t>(dlen));
      OPENSSL_free(der);
    }
    MdCtxPtr md(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;
    if (!md || EVP_DigestVerifyInit(md.get(), &pctx, Digest(alg), nullptr, key.get()) != 1) {
      return CryptoErr("starting the verification");
    }
    auto pad = SetPadding(pctx, alg);
    if (!pad.ok()) return pad.error();
    int rc = EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                              reinterpret_cast<const unsigned char*>(data.data()), data.size());
    ERR_clear_error();
    if (rc != 1) return Err(Errc::kBadSignature, std::string(AlgName(alg)) + " signature does not verify");
    return {};
  });
}

Result<Jws> DecodeCompact(std::string_view token) {
  return Protect([&]() -> Result<Jws> {
    if (token.size() > kMaxCompactBytes) return Err(Errc::kInvalidInput, "token is too large");
    size_t d1 = token.find('.');
    size_t d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
    if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) {
      return Err(Errc::kInvalidInput, "not a compact JWS (three dot-separated parts)");
    }
    std::string_view h64 = token.substr(0, d1);
    std::string_view p64 = token.substr(d1 + 1, d2 - d1 - 1);
    std::string_view s64 = token.substr(d2 + 1);
    auto h = Base64UrlDecode(h64);
    if (!h.ok()) return Err(Errc::kInvalidInput, "JWS header: " + h.message());
    auto p = Base64UrlDecode(p64);
    if (!p.ok()) return Err(Errc::kInvalidInput, "JWS payload: " + p.message());
    auto s = Base64UrlDecode(s64);
    if (!s.ok()) return Err(Errc::kInvalidInput, "JWS signature: " + s.message());
    Jws out;
    out.header = json::parse(*h, nullptr, false);
    if (out.header.is_discarded() || !out.header.is_object()) {
      return Err(Errc::kInvalidInput, "JWS header is not a JSON object");
    }
    out.payload = std::move(*p);
    out.signing_input = std::string(token.substr(0, d2));
    out.signature = std::move(*s);
    return out;
  });
}

Result<std::string> SignCompact(std::string_view payload, const Key& key, Alg alg, const json& header) {
  return Protect([&]() -> Result<std::string> {
    if (!header.is_object()) return Err(Errc::kInvalidInput, "JWS header must be a JSON object");
    json h = header;
    h["alg"] = AlgName(alg);
    std::string input = Base64UrlEncode(h.dump()) + "." + Base64UrlEncode(payload);
    auto sig = SignBytes(input, key, alg);
    if (!sig.ok()) return sig.error();
    return input + "." + Base64UrlEncode(*sig);
  });
}

Result<Jws> VerifyCompact(std::string_view token, const Key& key, const VerifyOptions& opts) {
  return Protect([&]() -> Result<Jws> {
    auto jws = DecodeCompact(token);
    if (!jws.ok()) return jws.error();
    auto alg = CheckHeader(jws->header, opts);
    if (!alg.ok()) return alg.error();
    return VerifyDecoded(std::move(*jws), *alg, key);
  });
}

Result<Jws> VerifyCompact(std::string_view token, const Jwks& jwks, const VerifyOptions& opts) {
  return Protect([&]() -> Result<Jws> {
    auto jws = DecodeCompact(token);
    if (!jws.ok()) return jws.error();
    auto alg = CheckHeader(jws->header, opts);
    if (!alg.ok()) return alg.error();
    std::string kid;
    if (auto k = jws->header.find("kid"); k != jws->header.end()) {
      if (!k->is_string()) return Err(Errc::kInvalidInput, "JWS \"kid\" is not a string");
      kid = k->get<std::string>();
    }
    auto jwk = jwks.Select(kid, *alg);
    if (!jwk.ok()) return jwk.error();
    return VerifyDecoded(std::move(*jws), *alg, (*jwk)->key);
  });
}

}  // namespace berth::jose
