// base64url, base32, SHA-256 and the error names.
#include <openssl/evp.h>

#include <array>

#include "internal.h"
#include "jose.h"

namespace berth::jose {

namespace {
constexpr char kB64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr char kB32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int B64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}
}  // namespace

const char* ErrcName(Errc code) {
  switch (code) {
    case Errc::kInvalidInput: return "invalid input";
    case Errc::kUnsupported: return "unsupported";
    case Errc::kAlgRefused: return "algorithm refused";
    case Errc::kKeyNotFound: return "key not found";
    case Errc::kBadSignature: return "bad signature";
    case Errc::kExpired: return "expired";
    case Errc::kNotYetValid: return "not yet valid";
    case Errc::kIssuedInFuture: return "issued in the future";
    case Errc::kClaimMismatch: return "claim mismatch";
    case Errc::kMissingClaim: return "missing claim";
    case Errc::kInvalidClaim: return "invalid claim";
    case Errc::kCrypto: return "crypto failure";
    case Errc::kInternal: return "internal error";
  }
  return "unknown error";
}

std::string Base64UrlEncode(std::string_view in) {
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(in[k])); };
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += kB64Url[(v >> 18) & 63];
    out += kB64Url[(v >> 12) & 63];
    out += kB64Url[(v >> 6) & 63];
    out += kB64Url[v & 63];
  }
  size_t rest = in.size() - i;
  if (rest == 1) {
    uint32_t v = byte(i) << 16;
    out += kB64Url[(v >> 18) & 63];
    out += kB64Url[(v >> 12) & 63];
  } else if (rest == 2) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8);
    out += kB64Url[(v >> 18) & 63];
    out += kB64Url[(v >> 12) & 63];
    out += kB64Url[(v >> 6) & 63];
  }
  return out;
}

Result<std::string> Base64UrlDecode(std::string_view in) {
  return internal::Protect([&]() -> Result<std::string> {
    if (in.size() % 4 == 1) {
      return internal::Err(Errc::kInvalidInput, "base64url: impossible length " + std::to_string(in.size()));
    }
    std::string out;
    out.reserve(in.size() * 3 / 4);
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < in.size(); ++i) {
      int v = B64UrlValue(in[i]);
      if (v < 0) {
        return internal::Err(Errc::kInvalidInput, in[i] == '='
                                                      ? "base64url: padding is not allowed"
                                                      : "base64url: invalid character at offset " + std::to_string(i));
      }
      acc = (acc << 6) | static_cast<uint32_t>(v);
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out += static_cast<char>((acc >> bits) & 0xff);
      }
    }
    // Leftover bits (2 or 4) must be zero: otherwise two texts decode alike.
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
      return internal::Err(Errc::kInvalidInput, "base64url: non-zero trailing bits");
    }
    return out;
  });
}

std::string Base32Encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() * 8 + 4) / 5);
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += kB32[(acc >> bits) & 31];
    }
  }
  if (bits > 0) out += kB32[(acc << (5 - bits)) & 31];
  return out;
}

std::string Sha256(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &n, EVP_sha256(), nullptr) != 1) {
    ERR_clear_error();
    return {};
  }
  return std::string(reinterpret_cast<const char*>(md.data()), n);
}

}  // namespace berth::jose
