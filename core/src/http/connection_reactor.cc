#include "http/connection_reactor.h"

#include <Poco/Buffer.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponseImpl.h>
#include <Poco/Net/HTTPServerSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SecureStreamSocketImpl.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/StreamSocketImpl.h>
#include <Poco/Timestamp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace berth {

namespace {

using Clock = std::chrono::steady_clock;

// A request header larger than this is refused (431): Poco's own field
// limits are below it, so a legitimate header always fits.
constexpr size_t kMaxHeaderBytes = 64 * 1024;
// How long a worker waits for body bytes or for the client to take response
// bytes before giving up on the connection (Poco's HTTPServer default was the same).
constexpr int kSocketTimeoutS = 120;
// How often the reactor looks for connections past their deadline.
constexpr auto kSweepEvery = std::chrono::milliseconds(250);

// Answers the reactor gives itself; the connection closes after each.
std::string CannedResponse(const char* status, const std::string& body) {
  return std::string("HTTP/1.1 ") + status +
         "\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}
const std::string k408 =
    CannedResponse("408 Request Timeout", "request header not complete in time\n");
const std::string k400 = CannedResponse("400 Bad Request", "not an HTTP request\n");
const std::string k431 =
    CannedResponse("431 Request Header Fields Too Large", "request header too large\n");

// Bytes the reactor read off the connection that the HTTP parser has not
// taken yet.
struct ReadAhead {
  std::string bytes;
  size_t pos = 0;

  bool empty() const { return pos >= bytes.size(); }
  std::string_view view() const { return std::string_view(bytes).substr(pos); }
  int Take(void* buf, int len) {
    size_t n = std::min(static_cast<size_t>(len), bytes.size() - pos);
    std::memcpy(buf, bytes.data() + pos, n);
    pos += n;
    if (pos == bytes.size()) Clear();
    return static_cast<int>(n);
  }
  // `front` was read before what is left here (the parser's own buffer).
  void Prepend(const char* front, size_t n) {
    if (n == 0) return;
    bytes = std::string(front, n) + std::string(view());
    pos = 0;
  }
  void Append(const char* p, size_t n) {
    if (pos > 0 && pos == bytes.size()) Clear();
    bytes.append(p, n);
  }
  void Clear() {
    bytes.clear();
    pos = 0;
  }
};

// The connection's plain socket as Poco's HTTP session reads it: what the
// reactor read ahead comes first.
class PlainSocket : public Poco::Net::StreamSocketImpl {
 public:
  PlainSocket(poco_socket_t fd, ReadAhead* ahead) : StreamSocketImpl(fd), ahead_(ahead) {}
  using StreamSocketImpl::receiveBytes;
  int receiveBytes(void* buf, int len, int flags = 0) override {
    if (flags == 0 && !ahead_->empty()) return ahead_->Take(buf, len);
    return StreamSocketImpl::receiveBytes(buf, len, flags);
  }
  // Straight from the socket (the reactor's reads).
  int ReadRaw(void* buf, int len) { return StreamSocketImpl::receiveBytes(buf, len, 0); }

 private:
  ReadAhead* ahead_;
};

// The same over TLS: Poco's server-side SSL socket (lazy handshake, driven
// by the reactor's non-blocking reads), decrypted read-ahead first.
class TlsSocket : public Poco::Net::SecureStreamSocketImpl {
 public:
  TlsSocket(Poco::Net::StreamSocketImpl* plain, Poco::Net::Context::Ptr ctx, ReadAhead* ahead)
      : SecureStreamSocketImpl(plain, ctx), ahead_(ahead) {
    acceptSSL();
  }
  using SecureStreamSocketImpl::receiveBytes;
  int receiveBytes(void* buf, int len, int flags = 0) override {
    if (flags == 0 && !ahead_->empty()) return ahead_->Take(buf, len);
    return SecureStreamSocketImpl::receiveBytes(buf, len, flags);
  }
  // Non-blocking: bytes, 0 at the end, ERR_SSL_WANT_READ/WRITE, or throws.
  int ReadRaw(void* buf, int len) { return SecureStreamSocketImpl::receiveBytes(buf, len, 0); }

 protected:
  ~TlsSocket() override = default;

 private:
  ReadAhead* ahead_;
};

enum class ConnState {
  kNew,     // accepted (TLS: handshaking), no request byte yet
  kIdle,    // keep-alive, between requests
  kHeader,  // part of a request header received
  kWorker,  // a worker has it; not in epoll
  kLinger,  // answered by the reactor and shut for writing: reads discarded until EOF
};

struct Conn {
  int fd = -1;
  ReadAhead ahead;
  Poco::Net::StreamSocket plain;   // owns fd
  Poco::Net::StreamSocket socket;  // what HTTP reads and writes: `plain` or TLS over it
  PlainSocket* plain_impl = nullptr;
  TlsSocket* tls_impl = nullptr;
  ConnState state = ConnState::kNew;
  Clock::time_point deadline;
  bool in_epoll = false;
  uint32_t events = 0;

  int ReadRaw(char* buf, int len) {
    return tls_impl ? tls_impl->ReadRaw(buf, len) : plain_impl->ReadRaw(buf, len);
  }
  void SetBlocking(bool b) {
    plain.setBlocking(b);
    if (tls_impl) socket.setBlocking(b);
  }
};

bool IsTokenChar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != 0;
}

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

enum class HeadScan { kNeedMore, kComplete, kNotHttp };

// Looks at buffered bytes for a complete request header. Leading blank lines
// (a CRLF some clients send after a body) are skipped, as Poco's parser does.
// A first line whose method is not an HTTP token (a TLS ClientHello on the
// plain port: docker's HTTPS probe) is refused at once, so that client falls
// back to HTTP without waiting for the header deadline.
HeadScan ScanRequestHead(std::string_view b, bool* has_body) {
  size_t i = 0;
  while (i < b.size() && (b[i] == '\r' || b[i] == '\n')) ++i;
  size_t m = i;
  while (m < b.size() && m - i <= 32 && IsTokenChar(static_cast<unsigned char>(b[m]))) ++m;
  if (m < b.size() && (m == i || m - i > 32 || b[m] != ' ')) return HeadScan::kNotHttp;
  size_t end = b.find("\n\r\n", i);
  size_t end2 = b.find("\n\n", i);
  if (end == std::string_view::npos && end2 == std::string_view::npos) return HeadScan::kNeedMore;
  size_t stop = std::min(end, end2);
  // Content-Length other than 0, or Transfer-Encoding: the request has a body.
  *has_body = false;
  std::string_view head = b.substr(i, stop - i);
  for (size_t p = head.find('\n'); p != std::string_view::npos; p = head.find('\n', p + 1)) {
    std::string_view line = head.substr(p + 1);
    if (StartsWithIgnoreCase(line, "transfer-encoding:")) {
      *has_body = true;
    } else if (StartsWithIgnoreCase(line, "content-length:")) {
      std::string_view v = line.substr(15);
      size_t eol = v.find('\n');
      v = v.substr(0, eol);
      for (char c : v) {
        if (c >= '1' && c <= '9') *has_body = true;
      }
    }
  }
  return HeadScan::kComplete;
}

// Workers: at most `max` threads, started as needed. Requests with a body
// may occupy at most `max_body` of them.
class WorkerPool {
 public:
  WorkerPool(int max, int max_body) : max_(max), max_body_(max_body) {}
  ~WorkerPool() { Stop(); }

  void Submit(std::function<void()> task, bool has_body) {
    std::lock_guard<std::mutex> lock(mu_);
    (has_body ? body_ : plain_).push_back(std::move(task));
    if (idle_ == 0 && static_cast<int>(threads_.size()) < max_) {
      threads_.emplace_back([this] { Run(); });
    } else {
      cv_.notify_all();
    }
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    threads_.clear();
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      std::function<void()> task;
      bool body = false;
      if (!plain_.empty()) {
        task = std::move(plain_.front());
        plain_.pop_front();
      } else if (!body_.empty() && body_busy_ < max_body_) {
        task = std::move(body_.front());
        body_.pop_front();
        body = true;
        ++body_busy_;
      } else if (stopping_) {
        return;
      } else {
        ++idle_;
        cv_.wait(lock);
        --idle_;
        continue;
      }
      lock.unlock();
      task();
      lock.lock();
      if (body) {
        --body_busy_;
        // A queued body request may now run: wake a worker for it.
        if (!body_.empty()) cv_.notify_one();
      }
    }
  }

  const int max_;
  const int max_body_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> plain_;
  std::deque<std::function<void()>> body_;
  std::vector<std::thread> threads_;
  int idle_ = 0;
  int body_busy_ = 0;
  bool stopping_ = false;
};

}  // namespace

struct ConnectionReactor::Impl {
  HttpConfig config;
  Poco::Net::HTTPRequestHandlerFactory::Ptr factory;
  Poco::Net::HTTPServerParams::Ptr params;
  const TlsContext* tls;
  Logger& log;

  int listen_fd = -1;
  int epoll_fd = -1;
  int wake_fd = -1;
  std::thread thread;
  std::unique_ptr<WorkerPool> pool;
  // Owned by the reactor thread (and by Stop once that thread has ended).
  std::unordered_map<int, std::unique_ptr<Conn>> conns;
  bool listening = false;
  Clock::time_point accept_resume;  // after EMFILE: accepting pauses briefly

  std::atomic<bool> stop{false};
  std::atomic<bool> draining{false};
  std::mutex returns_mu;
  std::vector<std::pair<Conn*, bool>> returns;  // from workers: (connection, keep alive)

  Impl(const HttpConfig& c, Poco::Net::HTTPRequestHandlerFactory::Ptr f,
       Poco::Net::HTTPServerParams::Ptr p, const TlsContext* t, Logger& l)
      : config(c), factory(std::move(f)), params(std::move(p)), tls(t), log(l) {}

  void Wake() {
    uint64_t one = 1;
    ssize_t r = ::write(wake_fd, &one, sizeof one);
    (void)r;
  }

  void Watch(Conn* c, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = c->fd;
    if (!c->in_epoll) {
      if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, c->fd, &ev) == 0) c->in_epoll = true;
    } else if (c->events != events) {
      ::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
    }
    c->events = events;
  }

  void Unwatch(Conn* c) {
    if (!c->in_epoll) return;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, nullptr);
    c->in_epoll = false;
  }

  void Close(Conn* c) {
    Unwatch(c);
    int fd = c->fd;
    try {
      c->socket.close();  // TLS: a close_notify first
    } catch (...) {
    }
    try {
      c->plain.close();
    } catch (...) {
    }
    conns.erase(fd);
  }

  // Best effort, then the connection closes. Plain HTTP: the write side is
  // shut and what the client still sends is read and dropped for a moment
  // (a close with unread bytes would send a reset, which can destroy the
  // answer before the client reads it).
  void SendAndClose(Conn* c, const std::string& msg) {
    try {
      if (c->tls_impl) {
        c->socket.sendBytes(msg.data(), static_cast<int>(msg.size()));
        Close(c);
        return;
      }
      ssize_t r = ::send(c->fd, msg.data(), msg.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      (void)r;
      ::shutdown(c->fd, SHUT_WR);
    } catch (...) {
      Close(c);
      return;
    }
    c->state = ConnState::kLinger;
    c->deadline = Clock::now() + std::chrono::seconds(2);
    Watch(c, EPOLLIN | EPOLLRDHUP);
  }

  void Discard(Conn* c) {
    char buf[16 * 1024];
    for (;;) {
      ssize_t n = ::recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      Close(c);  // EOF or error
      return;
    }
  }

  void Accept() {
    for (;;) {
      int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // Out of descriptors: stop accepting for a moment rather than spin.
          log.Warn("accept failed", {{"error", std::strerror(errno)}});
          SetListening(false);
          accept_resume = Clock::now() + std::chrono::milliseconds(200);
        }
        return;
      }
      if (static_cast<int>(conns.size()) >= config.max_connections) {
        ::close(fd);
        continue;
      }
      int on = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      auto c = std::make_unique<Conn>();
      c->fd = fd;
      try {
        c->plain_impl = new PlainSocket(fd, &c->ahead);
        c->plain = Poco::Net::StreamSocket(c->plain_impl);
        c->plain.setBlocking(false);
        c->plain.setReceiveTimeout(Poco::Timespan(kSocketTimeoutS, 0));
        c->plain.setSendTimeout(Poco::Timespan(kSocketTimeoutS, 0));
        if (tls != nullptr) {
          c->tls_impl = new TlsSocket(c->plain_impl, tls->context(), &c->ahead);
          c->socket = Poco::Net::StreamSocket(c->tls_impl);
        } else {
          c->socket = c->plain;
        }
      } catch (const Poco::Exception& e) {
        log.Warn("cannot set up a connection", {{"error", e.displayText()}});
        if (!c->plain_impl) ::close(fd);
        continue;  // Poco closes fd with the socket
      }
      c->state = ConnState::kNew;
      c->deadline = Clock::now() + std::chrono::seconds(config.header_timeout_s);
      Conn* raw = c.get();
      conns[fd] = std::move(c);
      Watch(raw, EPOLLIN | EPOLLRDHUP);
      // TLS: the ClientHello is usually already here.
      if (tls != nullptr) OnReadable(raw);
    }
  }

  void SetListening(bool on) {
    if (on == listening) return;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = listen_fd;
    ::epoll_ctl(epoll_fd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, listen_fd, &ev);
    listening = on;
  }

  // Reads what the socket has (up to a header's worth), then dispatches a
  // complete request header to a worker.
  void OnReadable(Conn* c) {
    char buf[16 * 1024];
    bool want_write = false;
    while (c->ahead.view().size() < kMaxHeaderBytes) {
      int n;
      try {
        n = c->ReadRaw(buf, sizeof buf);
      } catch (...) {
        Close(c);  // reset, failed handshake, TLS alert
        return;
      }
      if (n == 0) {
        Close(c);
        return;
      }
      if (n < 0) {
        // Plain: EAGAIN. TLS: ERR_SSL_WANT_READ (-1) or ERR_SSL_WANT_WRITE (-2).
        want_write = n == -2 && c->tls_impl != nullptr;
        break;
      }
      if (c->state == ConnState::kIdle) {
        c->deadline = Clock::now() + std::chrono::seconds(config.header_timeout_s);
      }
      c->state = ConnState::kHeader;
      c->ahead.Append(buf, static_cast<size_t>(n));
      bool has_body = false;
      if (ScanRequestHead(c->ahead.view(), &has_body) != HeadScan::kNeedMore) break;
    }
    TryDispatch(c, want_write);
  }

  void TryDispatch(Conn* c, bool want_write) {
    bool has_body = false;
    HeadScan scan =
        c->ahead.empty() ? HeadScan::kNeedMore : ScanRequestHead(c->ahead.view(), &has_body);
    if (scan == HeadScan::kNotHttp) {
      if (c->tls_impl) {
        Close(c);
      } else {
        SendAndClose(c, k400);
      }
      return;
    }
    if (scan == HeadScan::kNeedMore) {
      if (c->ahead.view().size() >= kMaxHeaderBytes) {
        SendAndClose(c, k431);
        return;
      }
      Watch(c, EPOLLIN | EPOLLRDHUP | (want_write ? static_cast<uint32_t>(EPOLLOUT) : 0u));
      return;
    }
    // Blank lines before a request line (RFC 9112 2.2: a server SHOULD
    // ignore them; some clients send CRLF after a body) would fail Poco's parser.
    while (!c->ahead.empty() && (c->ahead.view()[0] == '\r' || c->ahead.view()[0] == '\n')) {
      ++c->ahead.pos;
    }
    Unwatch(c);
    c->state = ConnState::kWorker;
    try {
      c->SetBlocking(true);
    } catch (...) {
      Close(c);
      return;
    }
    pool->Submit([this, c] { Serve(c); }, has_body);
  }

  // On a worker: one request, as Poco's HTTPServerConnection::run serves
  // each request of its loop.
  bool ServeOne(Poco::Net::HTTPServerSession& session) {
    using Poco::Net::HTTPResponse;
    try {
      Poco::Net::HTTPServerResponseImpl response(session);
      Poco::Net::HTTPServerRequestImpl request(response, session, params);
      response.setDate(Poco::Timestamp());
      response.setVersion(request.getVersion());
      response.setKeepAlive(params->getKeepAlive() && request.getKeepAlive() && !draining);
      const std::string& server = params->getSoftwareVersion();
      if (!server.empty()) response.set("Server", server);
      std::unique_ptr<Poco::Net::HTTPRequestHandler> handler(factory->createRequestHandler(request));
      if (!handler) {
        SendError(session, HTTPResponse::HTTP_NOT_IMPLEMENTED);
        return false;
      }
      if (request.getExpectContinue() && response.getStatus() == HTTPResponse::HTTP_OK) {
        response.sendContinue();
      }
      handler->handleRequest(request, response);
      // A handler that sent nothing leaves the client waiting: close instead.
      return response.sent() && response.getKeepAlive();
    } catch (const Poco::Net::NoMessageException&) {
      return false;
    } catch (const Poco::Net::MessageException&) {
      SendError(session, HTTPResponse::HTTP_BAD_REQUEST);
      return false;
    } catch (...) {
      return false;  // network error or timeout: the connection is done
    }
  }

  static void SendError(Poco::Net::HTTPServerSession& session,
                        Poco::Net::HTTPResponse::HTTPStatus status) {
    try {
      Poco::Net::HTTPServerResponseImpl response(session);
      response.setVersion(Poco::Net::HTTPMessage::HTTP_1_1);
      response.setStatusAndReason(status);
      response.setKeepAlive(false);
      response.send();
    } catch (...) {
    }
  }

  void Serve(Conn* c) {
    bool keep = false;
    try {
      Poco::Net::HTTPServerSession session(c->socket, params);
      // The session would close the socket when destroyed: it is the
      // reactor's, so it is detached first whatever happens.
      struct Detach {
        Poco::Net::HTTPServerSession& s;
        ~Detach() {
          try {
            s.detachSocket();
          } catch (...) {
          }
        }
      } detach{session};
      keep = ServeOne(session);
      if (keep) {
        // What the parser read past this request (pipelined requests) goes
        // back in front of the reactor's read-ahead.
        Poco::Buffer<char> rest(0);
        session.drainBuffer(rest);
        c->ahead.Prepend(rest.begin(), rest.size());
      }
    } catch (...) {
      keep = false;
    }
    {
      std::lock_guard<std::mutex> lock(returns_mu);
      returns.emplace_back(c, keep);
    }
    Wake();
  }

  void TakeReturns() {
    std::vector<std::pair<Conn*, bool>> back;
    {
      std::lock_guard<std::mutex> lock(returns_mu);
      back.swap(returns);
    }
    for (auto [c, keep] : back) {
      if (!keep || draining) {
        Close(c);
        continue;
      }
      try {
        c->SetBlocking(false);
      } catch (...) {
        Close(c);
        continue;
      }
      auto now = Clock::now();
      if (c->ahead.empty()) {
        c->state = ConnState::kIdle;
        c->deadline = now + std::chrono::seconds(config.keep_alive_timeout_s);
      } else {
        c->state = ConnState::kHeader;
        c->deadline = now + std::chrono::seconds(config.header_timeout_s);
      }
      // Read now rather than wait for epoll: TLS may hold decrypted bytes
      // the kernel no longer reports, and a pipelined request may be whole.
      bool has_body = false;
      if (c->ahead.empty() || ScanRequestHead(c->ahead.view(), &has_body) == HeadScan::kNeedMore) {
        OnReadable(c);
      } else {
        TryDispatch(c, false);
      }
    }
  }

  void Sweep() {
    auto now = Clock::now();
    std::vector<Conn*> late;
    for (auto& [fd, c] : conns) {
      if (c->state == ConnState::kWorker) continue;
      if (draining || now >= c->deadline) late.push_back(c.get());
    }
    for (Conn* c : late) {
      if (c->state == ConnState::kLinger) {
        Close(c);
      } else if (c->state == ConnState::kHeader && !draining) {
        SendAndClose(c, k408);
      } else {
        Close(c);  // nothing asked: an idle keep-alive or silent connection
      }
    }
  }

  void Run() {
    std::vector<epoll_event> events(512);
    auto next_sweep = Clock::now() + kSweepEvery;
    while (!stop) {
      int n = ::epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()),
                           static_cast<int>(kSweepEvery.count()));
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == listen_fd) {
          if (!draining) Accept();
        } else if (fd == wake_fd) {
          uint64_t v;
          ssize_t r = ::read(wake_fd, &v, sizeof v);
          (void)r;
        } else {
          auto it = conns.find(fd);
          if (it == conns.end() || it->second->state == ConnState::kWorker) continue;
          Conn* c = it->second.get();
          if (c->state == ConnState::kLinger) {
            Discard(c);
          } else if ((events[i].events & (EPOLLERR | EPOLLHUP)) && !(events[i].events & EPOLLIN)) {
            Close(c);
          } else {
            OnReadable(c);
          }
        }
      }
      TakeReturns();
      auto now = Clock::now();
      if (draining && listening) SetListening(false);
      if (!draining && !listening && now >= accept_resume) SetListening(true);
      if (now >= next_sweep || draining) {
        Sweep();
        next_sweep = now + kSweepEvery;
      }
    }
  }
};

ConnectionReactor::ConnectionReactor(const HttpConfig& config,
                                     Poco::Net::HTTPRequestHandlerFactory::Ptr factory,
                                     Poco::Net::HTTPServerParams::Ptr params,
                                     const TlsContext* tls, Logger& log)
    : impl_(new Impl(config, std::move(factory), std::move(params), tls, log)) {}

ConnectionReactor::~ConnectionReactor() { Stop(); }

Status ConnectionReactor::Start(int listen_fd) {
  Impl& m = *impl_;
  m.listen_fd = listen_fd;
  int flags = 1;
  if (::ioctl(listen_fd, FIONBIO, &flags) != 0) {
    return Status::Internal(std::string("listening socket: ") + std::strerror(errno));
  }
  m.epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  m.wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (m.epoll_fd < 0 || m.wake_fd < 0) {
    return Status::Internal(std::string("epoll: ") + std::strerror(errno));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = m.wake_fd;
  ::epoll_ctl(m.epoll_fd, EPOLL_CTL_ADD, m.wake_fd, &ev);
  m.SetListening(true);
  int max = m.config.max_threads;
  m.pool = std::make_unique<WorkerPool>(max, max - std::max(2, max / 8));
  m.thread = std::thread([this] { impl_->Run(); });
  return {};
}

void ConnectionReactor::StopAccepting() {
  if (!impl_->thread.joinable()) return;
  impl_->draining = true;
  impl_->Wake();
}

void ConnectionReactor::Stop() {
  Impl& m = *impl_;
  if (!m.thread.joinable()) return;
  m.draining = true;
  m.stop = true;
  m.Wake();
  m.thread.join();
  // Requests still running: cut their connections so their reads and writes
  // fail now rather than at the socket timeout.
  for (auto& [fd, c] : m.conns) {
    if (c->state == ConnState::kWorker) ::shutdown(fd, SHUT_RDWR);
  }
  m.pool->Stop();
  {
    std::lock_guard<std::mutex> lock(m.returns_mu);
    m.returns.clear();
  }
  std::vector<Conn*> all;
  for (auto& [fd, c] : m.conns) all.push_back(c.get());
  for (Conn* c : all) m.Close(c);
  ::close(m.epoll_fd);
  ::close(m.wake_fd);
  m.epoll_fd = m.wake_fd = -1;
}

}  // namespace berth
