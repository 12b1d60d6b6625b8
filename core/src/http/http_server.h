// HttpServer: Poco's HTTPServer with berthd's middleware chain: request id,
// routing by path prefix, access log and metrics, and a last-resort error
// handler so no exception escapes a request.
#ifndef BERTH_HTTP_HTTP_SERVER_H_
#define BERTH_HTTP_HTTP_SERVER_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/logger.h"
#include "common/status.h"
#include "config/config.h"
#include "http/metrics.h"
#include "http/request_context.h"
#include "http/tls_context.h"

namespace berth {

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  virtual void Handle(RequestContext& ctx) = 0;
};

// Dispatches to the handler with the longest matching path prefix.
class Router {
 public:
  // `prefix` matches the path itself or the path followed by '/'.
  void Add(std::string prefix, HttpHandler* handler);
  HttpHandler* Match(const std::string& path) const;

 private:
  std::vector<std::pair<std::string, HttpHandler*>> routes_;
};

class HttpServer {
 public:
  HttpServer(const HttpConfig& config, const Router& router, Logger& log, Metrics& metrics);
  ~HttpServer();
  // Binds host:port (port 0 picks one); port() is known afterwards. With
  // `tls`, the socket speaks HTTPS only (the context must outlive the server).
  Status Bind(const std::string& host, int port, const TlsContext* tls = nullptr);
  // Starts serving on the bound socket.
  Status Start();
  int port() const { return port_; }
  // Stops accepting, lets in-flight requests finish for up to grace_s, then returns.
  void Stop(int grace_s);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace berth

#endif  // BERTH_HTTP_HTTP_SERVER_H_
