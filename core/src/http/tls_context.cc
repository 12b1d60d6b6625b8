#include "http/tls_context.h"

#include <Poco/Exception.h>
#include <Poco/Net/NetSSL.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>

namespace berth {

struct TlsContext::Pair {
  X509* cert = nullptr;
  STACK_OF(X509)* chain = nullptr;
  EVP_PKEY* key = nullptr;
  std::string subject;
  std::string not_after;
  std::string warning;  // expired or not yet valid: served anyway, clients decide
  Pair() = default;
  Pair(const Pair&) = delete;
  Pair& operator=(const Pair&) = delete;
  ~Pair() {
    X509_free(cert);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(key);
  }
};

namespace {

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "no details";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::string AsnTime(const ASN1_TIME* t) {
  BIO* b = BIO_new(BIO_s_mem());
  ASN1_TIME_print(b, t);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, n > 0 ? static_cast<size_t>(n) : 0);
  BIO_free(b);
  return out;
}

// Opens `path` for PEM reading; the error names the config key.
StatusOr<BIO*> Open(const std::string& key, const std::string& path) {
  BIO* b = BIO_new_file(path.c_str(), "r");
  if (b == nullptr) {
    ERR_clear_error();
    return Status::InvalidArgument(key + " " + path + ": cannot read: " + std::strerror(errno));
  }
  return b;
}

// At least one PEM certificate in `path` (a CA bundle).
Status CheckCertificates(const std::string& key, const std::string& path) {
  BERTH_ASSIGN_OR_RETURN(BIO * b, Open(key, path));
  X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  if (x == nullptr) {
    return Status::InvalidArgument(key + " " + path + ": no PEM certificate (" + OpenSslError() + ")");
  }
  X509_free(x);
  return {};
}

StatusOr<std::shared_ptr<const TlsContext::Pair>> LoadPair(const TlsConfig& c) {
  auto p = std::make_shared<TlsContext::Pair>();
  BERTH_ASSIGN_OR_RETURN(BIO * b, Open("tls.cert", c.cert));
  p->cert = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  if (p->cert == nullptr) {
    BIO_free(b);
    return Status::InvalidArgument("tls.cert " + c.cert + ": no PEM certificate (" +
                                   OpenSslError() + ")");
  }
  // The rest of the file is the chain up to (not necessarily including) the root.
  p->chain = sk_X509_new_null();
  while (X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr)) sk_X509_push(p->chain, x);
  ERR_clear_error();  // the end of the file reads as an error
  BIO_free(b);

  BERTH_ASSIGN_OR_RETURN(b, Open("tls.key", c.key));
  p->key = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  if (p->key == nullptr) {
    return Status::InvalidArgument("tls.key " + c.key +
                                   ": no unencrypted PEM private key (" + OpenSslError() + ")");
  }
  if (X509_check_private_key(p->cert, p->key) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("tls.key " + c.key + " does not belong to the certificate in " +
                                   c.cert);
  }
  char name[512];
  X509_NAME_oneline(X509_get_subject_name(p->cert), name, sizeof name);
  p->subject = name;
  p->not_after = AsnTime(X509_get0_notAfter(p->cert));
  // Served all the same (as web servers do): refusing to start would take the
  // registry down for clients that do not verify too. Logged and reported.
  if (X509_cmp_current_time(X509_get0_notAfter(p->cert)) < 0) {
    p->warning = "tls.cert " + c.cert + " (" + p->subject + ") expired on " + p->not_after +
                 ": verifying clients will refuse it";
  } else if (X509_cmp_current_time(X509_get0_notBefore(p->cert)) > 0) {
    p->warning = "tls.cert " + c.cert + " (" + p->subject + ") is not valid before " +
                 AsnTime(X509_get0_notBefore(p->cert)) + ": verifying clients will refuse it";
  }
  return std::shared_ptr<const TlsContext::Pair>(std::move(p));
}

}  // namespace

StatusOr<std::string> CheckTlsFiles(const TlsConfig& config) {
  BERTH_ASSIGN_OR_RETURN(auto pair, LoadPair(config));
  if (!config.client_ca.empty()) BERTH_RETURN_IF_ERROR(CheckCertificates("tls.client_ca", config.client_ca));
  if (!config.ca.empty()) BERTH_RETURN_IF_ERROR(CheckCertificates("tls.ca", config.ca));
  return pair->warning;
}

StatusOr<std::unique_ptr<TlsContext>> TlsContext::Create(const TlsConfig& config) {
  BERTH_RETURN_IF_ERROR(CheckTlsFiles(config).status());
  std::unique_ptr<TlsContext> t(new TlsContext(config));
  BERTH_ASSIGN_OR_RETURN(t->pair_, LoadPair(config));
  try {
    Poco::Net::initializeSSL();
    Poco::Net::Context::Params params;
    // Certificate and key come from SelectCertificate, per handshake.
    params.verificationMode = config.client_ca.empty() ? Poco::Net::Context::VERIFY_NONE
                                                       : Poco::Net::Context::VERIFY_STRICT;
    params.caLocation = config.client_ca;
    params.loadDefaultCAs = false;
    params.cipherList = "HIGH:!aNULL:!eNULL:!MD5:!RC4:!3DES";
    t->context_ = new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, params);
    // Poco would also match a client certificate's names against the
    // client's address, as if it were a server's: a client certificate names
    // a client, so OpenSSL's chain verification against tls.client_ca is all.
    t->context_->enableExtendedCertificateVerification(false);
  } catch (const Poco::Exception& e) {
    return Status::InvalidArgument("cannot set up TLS: " + e.displayText());
  }
  SSL_CTX* ctx = t->context_->sslContext();
  SSL_CTX_set_min_proto_version(ctx, config.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_cert_cb(ctx, &TlsContext::SelectCertificate, t.get());
  if (!config.client_ca.empty()) {
    // Tell clients which CA their certificate must come from; session
    // resumption with client verification needs a session id context.
    SSL_CTX_set_client_CA_list(ctx, SSL_load_client_CA_file(config.client_ca.c_str()));
    static const unsigned char kSid[] = "berthd";
    SSL_CTX_set_session_id_context(ctx, kSid, sizeof kSid - 1);
  }
  return t;
}

TlsContext::~TlsContext() {
  if (context_) SSL_CTX_set_cert_cb(context_->sslContext(), nullptr, nullptr);
}

std::shared_ptr<const TlsContext::Pair> TlsContext::current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pair_;
}

int TlsContext::SelectCertificate(SSL* ssl, void* arg) {
  auto p = static_cast<TlsContext*>(arg)->current();
  if (!p) return 0;
  // Up-references the certificate, key and chain: a later Reload does not
  // pull them from under this connection.
  return SSL_use_cert_and_key(ssl, p->cert, p->key, p->chain, 1) == 1 ? 1 : 0;
}

Status TlsContext::Reload() {
  BERTH_ASSIGN_OR_RETURN(auto pair, LoadPair(config_));
  std::lock_guard<std::mutex> lock(mu_);
  pair_ = std::move(pair);
  return {};
}

std::string TlsContext::Warning() const {
  auto p = current();
  return p ? p->warning : std::string();
}

std::string TlsContext::Describe() const {
  auto p = current();
  return p ? p->subject + ", valid until " + p->not_after : std::string();
}

}  // namespace berth
