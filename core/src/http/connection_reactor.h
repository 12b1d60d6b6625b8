// ConnectionReactor: berthd's HTTP connection layer. One epoll thread owns
// every accepted socket; a bounded worker pool runs requests.
//
// Why: with Poco's HTTPServer each connection held a thread for its whole
// life, idle keep-alive time included, so http.max_threads was also the
// connection ceiling: 300 clients trickling upload bodies, or a few hundred
// idle CI clients, left no thread for anyone else, and a client that sent
// half a request line held its thread until the 120 s socket timeout.
//
// Here a connection costs a thread only while a request runs:
//  - the reactor reads (and for TLS, handshakes) without blocking until a
//    complete request header is buffered, under a short deadline
//    (http.header_timeout_s: too slow gets 408 and is closed); idle
//    keep-alive connections are parked in epoll until
//    http.keep_alive_timeout_s;
//  - then the connection goes to a worker, which parses and answers the
//    request with Poco's own HTTPServerRequestImpl/ResponseImpl (the
//    handler chain, sendfile and TLS stay as they were) and hands the
//    connection back for the next request;
//  - bytes the reactor read past the header (a body's start, pipelined
//    requests) are given to the parser before the socket, and what the
//    parser buffered past the request goes back to the reactor, so nothing
//    read is lost and pipelined requests are answered in order.
// Requests with a body stream it on their worker (a slow upload waits there
// for bytes), so they may take at most max_threads - max(2, max_threads/8)
// workers: the rest is kept for bodiless requests (manifest GETs, blob
// HEADs), which slow uploads then cannot starve.
#ifndef BERTH_HTTP_CONNECTION_REACTOR_H_
#define BERTH_HTTP_CONNECTION_REACTOR_H_

#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>

#include <memory>

#include "common/logger.h"
#include "common/status.h"
#include "config/config.h"
#include "http/tls_context.h"

namespace berth {

class ConnectionReactor {
 public:
  // `tls` (may be null) must outlive the reactor.
  ConnectionReactor(const HttpConfig& config, Poco::Net::HTTPRequestHandlerFactory::Ptr factory,
                    Poco::Net::HTTPServerParams::Ptr params, const TlsContext* tls, Logger& log);
  ~ConnectionReactor();
  // Serves connections accepted on `listen_fd` (bound and listening; not owned).
  Status Start(int listen_fd);
  // Stops accepting; idle connections close now, busy ones after their request.
  void StopAccepting();
  // Closes every connection (ones in a request are shut down) and joins all threads.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth

#endif  // BERTH_HTTP_CONNECTION_REACTOR_H_
