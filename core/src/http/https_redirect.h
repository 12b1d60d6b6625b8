// HttpsRedirect: what a plain-HTTP port answers when berthd serves HTTPS
// (tls.redirect_listen): every request is sent to the same path and query on
// the HTTPS address with 308 (method and body kept), so a browser or a client
// that tried http:// first ends up on TLS; nothing else is served there.
#ifndef BERTH_HTTP_HTTPS_REDIRECT_H_
#define BERTH_HTTP_HTTPS_REDIRECT_H_

#include <string>

#include "http/http_server.h"

namespace berth {

class HttpsRedirect : public HttpHandler {
 public:
  // `external_url`: the https:// base when the operator set one ("" to build
  // it from the request's Host and `https_port`).
  HttpsRedirect(std::string external_url, int https_port)
      : external_url_(std::move(external_url)), https_port_(https_port) {}
  void Handle(RequestContext& ctx) override;

 private:
  std::string external_url_;
  int https_port_;
};

}  // namespace berth

#endif  // BERTH_HTTP_HTTPS_REDIRECT_H_
