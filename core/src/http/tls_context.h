// TlsContext: the server side of berthd's HTTPS. One OpenSSL context (through
// Poco NetSSL, so Poco's HTTPServer serves on a SecureServerSocket) whose
// certificate and key are picked per handshake from the pair loaded last:
// Reload() (SIGHUP) swaps in the files' current contents for new connections
// while established ones keep theirs, and an unreadable or mismatched pair is
// refused with the old one kept in service.
#ifndef BERTH_HTTP_TLS_CONTEXT_H_
#define BERTH_HTTP_TLS_CONTEXT_H_

#include <Poco/Net/Context.h>

#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"
#include "config/config.h"

namespace berth {

class TlsContext {
 public:
  // Loads and checks tls.cert / tls.key (and tls.client_ca): errors name the
  // file and what is wrong with it (unreadable, no certificate, key does not
  // match, expired).
  static StatusOr<std::unique_ptr<TlsContext>> Create(const TlsConfig& config);
  ~TlsContext();

  Status Reload();
  Poco::Net::Context::Ptr context() const { return context_; }
  // Subject and expiry of the certificate in service, for logs.
  std::string Describe() const;
  // Non-empty when the certificate in service is expired or not yet valid.
  std::string Warning() const;

  struct Pair;  // certificate, chain and key, immutable once loaded

 private:
  explicit TlsContext(TlsConfig config) : config_(std::move(config)) {}
  static int SelectCertificate(struct ssl_st* ssl, void* arg);
  std::shared_ptr<const Pair> current() const;

  TlsConfig config_;
  Poco::Net::Context::Ptr context_;
  mutable std::mutex mu_;
  std::shared_ptr<const Pair> pair_;
};

// Reads the PEM certificate (chain) and private key and checks they belong
// together, and that the CA files hold certificates; used by Create, Reload
// and `berthd --check-config`. The value is a warning ("" if none) when the
// certificate is expired or not yet valid, which berthd serves anyway.
StatusOr<std::string> CheckTlsFiles(const TlsConfig& config);

}  // namespace berth

#endif  // BERTH_HTTP_TLS_CONTEXT_H_
