#include "http/http_server.h"

#include <Poco/Net/HTTPMessage.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/ThreadPool.h>

#include <poll.h>
#include <sys/resource.h>

#include <chrono>
#include <thread>

#include "common/call_context.h"
#include "common/random.h"
#include "common/strings.h"
#include "http/client_address.h"
#include "http/connection_reactor.h"
#include "http/response.h"

namespace berth {

void Router::Add(std::string prefix, HttpHandler* handler) {
  routes_.emplace_back(std::move(prefix), handler);
}

HttpHandler* Router::Match(const std::string& path) const {
  HttpHandler* best = nullptr;
  size_t best_len = 0;
  for (const auto& [prefix, h] : routes_) {
    bool match = path == prefix ||
                 (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 &&
                  (prefix.back() == '/' || path[prefix.size()] == '/'));
    if (match && prefix.size() >= best_len) {
      best = h;
      best_len = prefix.size();
    }
  }
  return best;
}

namespace {

// How much of an unread request body is read and discarded to keep the
// connection (what Go's net/http does too).
constexpr int64_t kMaxDrainBytes = 256 * 1024;

bool IsHttp1Version(const std::string& v) {
  return v.size() == 8 && v.compare(0, 7, "HTTP/1.") == 0 && v[7] >= '0' && v[7] <= '9';
}

bool IsUsableRequestId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

// The request's CallContext: its id, and a cancellation that turns true
// once the client went away (asked only when a plugin checks between chunks:
// one poll(2), no wait). A reset or fully closed connection counts at once;
// a half-close (FIN) only once the request body has been read whole, since a
// client that stops sending mid-body gets its 400 from the body read, as
// before. The socket is forgotten when the request ends, for a stream that
// would outlive it.
struct RequestCall {
  std::shared_ptr<std::atomic<int>> sock = std::make_shared<std::atomic<int>>(-1);
  CallContext ctx;

  explicit RequestCall(RequestContext& rc) {
    ctx.request_id = rc.request_id;
    if (auto* impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl*>(&rc.request)) {
      sock->store(impl->socket().impl()->sockfd());
    }
    ctx.cancellation = std::make_shared<Cancellation>([s = sock, req = &rc] {
      int fd = s->load();
      if (fd < 0) return false;
      pollfd p{fd, POLLRDHUP, 0};
      if (::poll(&p, 1, 0) <= 0) return false;
      if (p.revents & (POLLHUP | POLLERR)) return true;
      if (!(p.revents & POLLRDHUP)) return false;
      int64_t length = req->ContentLength();
      return length == 0 || (length > 0 && req->bytes_in >= length);
    });
  }
  ~RequestCall() { sock->store(-1); }
};

class RequestHandler : public Poco::Net::HTTPRequestHandler {
 public:
  RequestHandler(const Router& router, Logger& log, Metrics& metrics,
                 const std::vector<AddressRange>& trusted_proxies)
      : router_(router), log_(log), metrics_(metrics), trusted_proxies_(trusted_proxies) {}

  void handleRequest(Poco::Net::HTTPServerRequest& req,
                     Poco::Net::HTTPServerResponse& resp) override {
    auto start = std::chrono::steady_clock::now();
    metrics_.AddInFlight(1);
    RequestContext ctx(req, resp);
    ctx.method = req.getMethod();
    ctx.client_address = ClientAddress(req.clientAddress().host().toString(),
                                       ctx.Headers("X-Forwarded-For"), trusted_proxies_);
    std::string id = req.get("X-Request-Id", "");
    ctx.request_id = IsUsableRequestId(id) ? id : NewUuid();
    resp.set("X-Request-Id", ctx.request_id);
    RequestCall call(ctx);
    ScopedCallContext call_scope(call.ctx);
    const std::string& uri = req.getURI();
    size_t q = uri.find('?');
    ctx.raw_path = uri.substr(0, q);
    if (q != std::string::npos) ctx.raw_query = uri.substr(q + 1);
    // An undecodable path is routed as received: the handler's own
    // validation then refuses it in its protocol's error format.
    auto decoded = UrlDecode(ctx.raw_path);
    ctx.path = decoded ? *decoded : ctx.raw_path;
    ctx.query = QueryParams::Parse(ctx.raw_query);

    std::string error;
    try {
      HttpHandler* h = router_.Match(ctx.path);
      if (!IsHttp1Version(req.getVersion())) {
        // Poco answers in the request's own version: bytes that merely parse
        // as a request line (a TLS ClientHello sent to this plain-HTTP port,
        // which the docker CLI tries first on an insecure registry) got a
        // status line that is not HTTP, and the client gave up instead of
        // falling back to plain HTTP. Only HTTP/1.x is served.
        resp.setVersion(Poco::Net::HTTPMessage::HTTP_1_1);
        resp.setKeepAlive(false);
        ctx.route = "bad_request";
        SendApiError(ctx, Status::InvalidArgument("malformed or unsupported HTTP version"));
      } else if (h != nullptr) {
        h->Handle(ctx);
      } else {
        ctx.route = "unknown";
        SendApiError(ctx, Status::NotFound("no such endpoint: " + ctx.raw_path));
      }
    } catch (const Poco::Exception& e) {
      error = e.displayText();
    } catch (const std::exception& e) {
      error = e.what();
    } catch (...) {
      error = "unknown exception";
    }
    if (!error.empty()) {
      log_.Error("request failed", {{"request_id", ctx.request_id}, {"error", error}});
      if (!resp.sent()) {
        try {
          SendApiError(ctx, Status::Internal(error));
        } catch (...) {
        }
      } else if (ctx.status == 0) {
        ctx.status = 500;
      }
    }
    if (ctx.status == 0) ctx.status = static_cast<int>(resp.getStatus());
    // A body the handler did not read (a refusal before it: 401, 405, 413...)
    // would otherwise stay on the keep-alive connection and be parsed as the
    // next request (helm's token POST then GET got a 400). Read a small rest;
    // close the connection after a large one.
    if (resp.getKeepAlive() && !ctx.DrainBody(kMaxDrainBytes)) resp.setKeepAlive(false);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    metrics_.AddInFlight(-1);
    metrics_.ObserveRequest(ctx.route, ctx.method, ctx.status, secs, ctx.bytes_in, ctx.bytes_out);
    if (!error.empty() && ctx.error.empty()) ctx.error = error;
    LogLevel level = ctx.status >= 500 ? LogLevel::kError : LogLevel::kInfo;
    if (log_.Enabled(level)) {
      log_.Log(level, "request", {{"request_id", ctx.request_id},
                            {"remote", ctx.client_address},
                            {"method", ctx.method},
                            {"path", ctx.raw_path},
                            {"route", ctx.route},
                            {"status", ctx.status},
                            {"bytes_in", ctx.bytes_in},
                            {"bytes_out", ctx.bytes_out},
                            {"duration_ms", secs * 1000.0},
                            {"user", ctx.identity.username},
                            {"error", ctx.error}});
    }
  }

 private:
  const Router& router_;
  Logger& log_;
  Metrics& metrics_;
  const std::vector<AddressRange>& trusted_proxies_;
};

// The event engine holds a descriptor per open connection: the default soft
// limit (1024) would cap it below the connections it is meant to hold.
void RaiseDescriptorLimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

class HandlerFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  HandlerFactory(const Router& router, Logger& log, Metrics& metrics,
                 const std::vector<AddressRange>& trusted_proxies)
      : router_(router), log_(log), metrics_(metrics), trusted_proxies_(trusted_proxies) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new RequestHandler(router_, log_, metrics_, trusted_proxies_);
  }

 private:
  const Router& router_;
  Logger& log_;
  Metrics& metrics_;
  const std::vector<AddressRange>& trusted_proxies_;
};

}  // namespace

struct HttpServer::Impl {
  HttpConfig config;
  const Router& router;
  Logger& log;
  Metrics& metrics;
  std::unique_ptr<Poco::ThreadPool> pool;
  std::unique_ptr<Poco::Net::ServerSocket> socket;
  std::unique_ptr<Poco::Net::HTTPServer> server;           // engine "threads"
  std::unique_ptr<ConnectionReactor> reactor;              // engine "event"
  const TlsContext* tls = nullptr;
  std::vector<AddressRange> trusted_proxies;  // validated with the configuration
  bool event() const { return config.engine != "threads"; }
};

HttpServer::HttpServer(const HttpConfig& config, const Router& router, Logger& log,
                       Metrics& metrics)
    : impl_(new Impl{config, router, log, metrics, nullptr, nullptr, nullptr, {}, nullptr, {}}) {
  auto trusted = ParseAddressRanges(config.trusted_proxies);
  if (trusted.ok()) impl_->trusted_proxies = std::move(*trusted);
}

HttpServer::~HttpServer() {
  if (impl_->server || impl_->reactor) Stop(0);
}

Status HttpServer::Bind(const std::string& host, int port, const TlsContext* tls) {
  try {
    Poco::Net::SocketAddress addr(host, static_cast<Poco::UInt16>(port));
    impl_->tls = tls;
    // The event engine does TLS per connection itself, over a plain listener.
    if (tls != nullptr && !impl_->event()) {
      impl_->socket = std::make_unique<Poco::Net::SecureServerSocket>(tls->context());
    } else {
      impl_->socket = std::make_unique<Poco::Net::ServerSocket>();
    }
    // Bind without SO_REUSEPORT: a second berthd on the same port must fail,
    // not silently share connections.
    impl_->socket->bind(addr, true, false);
    impl_->socket->listen(1024);
    port_ = impl_->socket->address().port();
  } catch (const Poco::Exception& e) {
    impl_->socket.reset();
    return Status::InvalidArgument("cannot listen on " + host + ":" + std::to_string(port) +
                                   ": " + e.displayText());
  }
  return {};
}

Status HttpServer::Start() {
  if (!impl_->socket) return Status::Internal("HttpServer::Start before Bind");
  try {
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(impl_->config.max_threads);
    params->setMaxQueued(impl_->config.max_threads * 4);
    params->setKeepAlive(true);
    params->setKeepAliveTimeout(Poco::Timespan(impl_->config.keep_alive_timeout_s, 0));
    params->setMaxKeepAliveRequests(0);
    params->setTimeout(Poco::Timespan(120, 0));
    params->setServerName("berth");
    if (impl_->event()) {
      RaiseDescriptorLimit();
      impl_->reactor = std::make_unique<ConnectionReactor>(
          impl_->config, new HandlerFactory(impl_->router, impl_->log, impl_->metrics, impl_->trusted_proxies), params,
          impl_->tls, impl_->log);
      return impl_->reactor->Start(impl_->socket->impl()->sockfd());
    }
    impl_->pool = std::make_unique<Poco::ThreadPool>(4, impl_->config.max_threads, 60);
    impl_->server = std::make_unique<Poco::Net::HTTPServer>(
        new HandlerFactory(impl_->router, impl_->log, impl_->metrics, impl_->trusted_proxies),
        *impl_->pool,
        *impl_->socket, params);
    impl_->server->start();
  } catch (const Poco::Exception& e) {
    return Status::Internal("cannot start the HTTP server: " + e.displayText());
  }
  return {};
}

void HttpServer::Stop(int grace_s) {
  if (impl_->reactor) {
    impl_->reactor->StopAccepting();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(grace_s);
    while (impl_->metrics.in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    impl_->reactor->Stop();
    impl_->reactor.reset();
    impl_->socket->close();
    return;
  }
  if (!impl_->server) return;
  // Stop accepting and let each connection end after its current request;
  // once no request is in flight, close idle keep-alive connections too.
  impl_->server->stopAll(false);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(grace_s);
  while (impl_->metrics.in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  impl_->server->stopAll(true);
  impl_->pool->joinAll();
  impl_->server.reset();
}

}  // namespace berth
