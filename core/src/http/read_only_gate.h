// ReadOnlyGate: Harbor's read-only mode (its readonly middleware) in front
// of a handler. While read_only() holds, every request but GET, HEAD and
// OPTIONS is refused with 403 DENIED "The system is in read only mode. Any
// modification is prohibited.", except what Harbor lets through: the PUT of
// /api/v2.0/configurations (to switch the mode off) and signing in.
#ifndef BERTH_HTTP_READ_ONLY_GATE_H_
#define BERTH_HTTP_READ_ONLY_GATE_H_

#include <functional>

#include "http/http_server.h"

namespace berth {

class ReadOnlyGate : public HttpHandler {
 public:
  // `oci`: errors in the distribution shape, with its version header (/v2).
  ReadOnlyGate(HttpHandler& inner, std::function<bool()> read_only, bool oci)
      : inner_(inner), read_only_(std::move(read_only)), oci_(oci) {}
  void Handle(RequestContext& ctx) override;

  static bool Exempt(const std::string& method, const std::string& path);

 private:
  HttpHandler& inner_;
  std::function<bool()> read_only_;
  bool oci_;
};

}  // namespace berth

#endif  // BERTH_HTTP_READ_ONLY_GATE_H_
