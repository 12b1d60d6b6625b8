// Private helpers shared by the berth_jose sources.
#ifndef BERTH_JOSE_INTERNAL_H_
#define BERTH_JOSE_INTERNAL_H_

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <exception>
#include <memory>
#include <new>
#include <string>

#include "jose.h"

namespace berth::jose::internal {

struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

inline Error Err(Errc code, std::string message) { return Error{code, std::move(message)}; }

// An OpenSSL failure: the message plus the first queued OpenSSL reason, and
// the thread's error queue cleared so nothing leaks to other callers.
inline Error CryptoErr(const std::string& what) {
  unsigned long e = ERR_get_error();
  std::string msg = what;
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    msg += ": ";
    msg += buf;
  }
  ERR_clear_error();
  return Err(Errc::kCrypto, msg);
}

// Runs fn, turning any exception (allocation failure, a JSON type error we
// failed to anticipate) into kInternal so none crosses the API.
template <class Fn>
auto Protect(Fn&& fn) noexcept -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return Err(Errc::kInternal, "out of memory");
  } catch (const std::exception& e) {
    return Err(Errc::kInternal, std::string("unexpected error: ") + e.what());
  } catch (...) {
    return Err(Errc::kInternal, "unexpected non-standard exception");
  }
}

inline std::string BioContents(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

// Coordinate / scalar length in bytes for the supported curves (0: unsupported).
inline size_t CurveBytes(std::string_view crv) {
  if (crv == "P-256") return 32;
  if (crv == "P-384") return 48;
  return 0;
}
// JOSE curve name -> OpenSSL group name.
inline const char* CurveGroup(std::string_view crv) {
  if (crv == "P-256") return "prime256v1";
  if (crv == "P-384") return "secp384r1";
  return nullptr;
}

}  // namespace berth::jose::internal

#endif  // BERTH_JOSE_INTERNAL_H_
