// Registry bearer tokens (core/src/auth/token_service.cc on core/jose/):
// TokenService::Verify against a fixed RSA key (token_key.pem).
// Input: one mode byte, then
//   'S': a JWT claims set; the harness signs it (RS256, the service's kid)
//        so the claim checks behind the signature are fuzzed too (slow: an
//        RSA signature per input);
//   anything else: a compact token, verified as received.
// Checks: no crash/UB/leak and no exception out of Verify; and a token is
// only ever accepted when an independent check (OpenSSL directly, not
// core/jose) finds a good RS256 signature by the fixed key, the service's
// kid, the right issuer and audience, and a current validity window.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "auth/token_service.h"
#include "jose.h"

#ifndef BERTH_FUZZ_TOKEN_KEY
#error "BERTH_FUZZ_TOKEN_KEY must name tests/fuzz/token_key.pem"
#endif

namespace {
using nlohmann::json;

void Check(bool cond, const char* what) {
  if (!cond) {
    std::fprintf(stderr, "fuzz_token: invariant violated: %s\n", what);
    std::abort();
  }
}

struct Fixture {
  std::unique_ptr<berth::TokenService> service;
  berth::jose::Key private_key;
  EVP_PKEY* public_key = nullptr;
};

Fixture& F() {
  static Fixture* f = [] {
    auto* fx = new Fixture;
    berth::TokenServiceOptions o;
    o.key_path = BERTH_FUZZ_TOKEN_KEY;
    auto s = berth::TokenService::Open(o);
    if (!s.ok()) {
      std::fprintf(stderr, "fuzz_token: %s\n", s.status().ToString().c_str());
      std::abort();
    }
    fx->service = std::move(*s);
    FILE* in = std::fopen(BERTH_FUZZ_TOKEN_KEY, "r");
    Check(in != nullptr, "cannot open the key");
    EVP_PKEY* k = PEM_read_PrivateKey(in, nullptr, nullptr, nullptr);
    std::fclose(in);
    Check(k != nullptr, "cannot read the key");
    fx->private_key = berth::jose::Key::Adopt(k);
    fx->public_key = k;
    return fx;
  }();
  return *f;
}

// Strict base64url, written again here so the oracle does not share jose's.
bool B64(std::string_view in, std::string* out) {
  static const std::string_view a =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    size_t v = a.find(c);
    if (v == std::string_view::npos) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return bits < 6 && (acc & ((1u << bits) - 1)) == 0;
}

bool Date(const json& c, const char* k, double* v) {
  auto it = c.find(k);
  if (it == c.end() || !it->is_number()) return false;
  *v = it->get<double>();
  return true;
}

// What must hold for any token Verify accepts.
bool IndependentlyValid(std::string_view token) {
  size_t d1 = token.find('.');
  if (d1 == std::string_view::npos) return false;
  size_t d2 = token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) return false;
  std::string h, p, sig;
  if (!B64(token.substr(0, d1), &h) || !B64(token.substr(d1 + 1, d2 - d1 - 1), &p) ||
      !B64(token.substr(d2 + 1), &sig)) {
    return false;
  }
  auto hj = json::parse(h, nullptr, false);
  if (!hj.is_object() || hj.value("alg", json()) != "RS256" ||
      hj.value("kid", json()) != F().service->kid()) {
    return false;
  }
  std::string_view input = token.substr(0, d2);
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  bool good = EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, F().public_key) == 1 &&
              EVP_DigestVerify(md, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                               reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(md);
  if (!good) return false;
  auto c = json::parse(p, nullptr, false);
  if (!c.is_object()) return false;
  const auto& opt = F().service->options();
  if (c.value("iss", json()) != opt.issuer) return false;
  auto aud = c.value("aud", json());
  bool aud_ok = aud == opt.service;
  if (aud.is_array()) {
    for (const auto& a : aud) aud_ok = aud_ok || a == opt.service;
  }
  if (!aud_ok) return false;
  double now = static_cast<double>(std::time(nullptr)), exp = 0, iat = 0, nbf = 0;
  if (!Date(c, "exp", &exp) || now >= exp + 60) return false;
  if (!Date(c, "iat", &iat) || iat > now + 60) return false;
  if (c.contains("nbf") && (!Date(c, "nbf", &nbf) || nbf > now + 60)) return false;
  return c.value("sub", json()).is_string() && c.value("access", json()).is_array();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string token;
  if (data[0] == 'S') {
    auto t = berth::jose::SignCompact(rest, F().private_key, berth::jose::Alg::kRS256,
                                      {{"typ", "JWT"}, {"kid", F().service->kid()}});
    Check(t.ok(), "signing failed");
    token = *t;
  } else {
    token = rest;
  }
  auto id = F().service->Verify(token);
  if (id.ok()) {
    Check(IndependentlyValid(token), "Verify accepted a token that is not valid");
    Check(id->kind == berth::Identity::Kind::kToken, "accepted token without a token identity");
  } else {
    Check(id.status().code() == berth::Code::kUnauthenticated, "unexpected error kind");
  }
  return 0;
}
