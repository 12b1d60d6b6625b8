#include "ldap_session.h"

#include <fcntl.h>
#include <lber.h>
#include <ldap.h>
#include <netdb.h>
#include <openldap.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace berth_ldap {

namespace {

constexpr int64_t kSliceMs = 200;  // how often a wait looks at cancellation

timeval ToTimeval(int64_t ms) {
  if (ms < 1) ms = 1;
  timeval tv;
  tv.tv_sec = static_cast<time_t>(ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

int64_t NowUnixNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Frees an LDAPMessage chain.
struct MsgFree {
  void operator()(LDAPMessage* m) const {
    if (m != nullptr) ldap_msgfree(m);
  }
};
using MsgPtr = std::unique_ptr<LDAPMessage, MsgFree>;

// Shuts down the sockets of calls that ran past their deadline while libldap
// was blocked on them. One thread for the process, started by create() and
// never stopped (plugins are never unloaded; it is leaked on purpose so that
// nothing of it is destroyed at exit).
class Watchdog {
 public:
  static Watchdog& Get() {
    static Watchdog* w = new Watchdog();
    return *w;
  }

  // Watches `fd` until Unwatch(id); *fired is set once it was shut down.
  uint64_t Watch(int fd, std::chrono::steady_clock::time_point deadline,
                 std::shared_ptr<bool> fired) {
    std::lock_guard<std::mutex> lock(mu_);
    uint64_t id = ++next_id_;
    entries_[id] = Entry{fd, deadline, std::move(fired)};
    cv_.notify_one();
    return id;
  }
  // After this returns the watchdog never touches the socket again, so the
  // caller may close it.
  void Unwatch(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.erase(id);
  }
  bool Fired(const std::shared_ptr<bool>& fired) {
    std::lock_guard<std::mutex> lock(mu_);
    return fired != nullptr && *fired;
  }

 private:
  struct Entry {
    int fd;
    std::chrono::steady_clock::time_point deadline;
    std::shared_ptr<bool> fired;
  };

  Watchdog() { std::thread([this] { Run(); }).detach(); }

  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      auto now = std::chrono::steady_clock::now();
      auto next = std::chrono::steady_clock::time_point::max();
      for (auto it = entries_.begin(); it != entries_.end();) {
        if (it->second.deadline <= now) {
          ::shutdown(it->second.fd, SHUT_RDWR);  // blocked reads and writes return
          *it->second.fired = true;
          it = entries_.erase(it);
        } else {
          next = std::min(next, it->second.deadline);
          ++it;
        }
      }
      if (next == std::chrono::steady_clock::time_point::max()) {
        cv_.wait(lock);
      } else {
        cv_.wait_until(lock, next);
      }
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<uint64_t, Entry> entries_;
  uint64_t next_id_ = 0;
};

// Scheme, host and port of the configured URL.
struct Target {
  bool ldaps = false;
  std::string host;
  int port = 0;
};

Status ParseTarget(const std::string& url, Target* out) {
  LDAPURLDesc* lud = nullptr;
  if (ldap_url_parse(url.c_str(), &lud) != LDAP_URL_SUCCESS || lud == nullptr) {
    if (lud != nullptr) ldap_free_urldesc(lud);
    return Status::InvalidArgument("ldap: '" + url + "' is not a valid LDAP URL");
  }
  Target t;
  t.ldaps = lud->lud_scheme != nullptr && AsciiLower(lud->lud_scheme) == "ldaps";
  t.host = lud->lud_host != nullptr ? lud->lud_host : "";
  t.port = lud->lud_port != 0 ? lud->lud_port : (t.ldaps ? LDAPS_PORT : LDAP_PORT);
  ldap_free_urldesc(lud);
  if (t.host.empty()) return Status::InvalidArgument("ldap: '" + url + "' names no host");
  *out = std::move(t);
  return {};
}

std::string ErrnoText(int e) {
  char buf[256];
#if (_POSIX_C_SOURCE >= 200112L) && !_GNU_SOURCE
  if (strerror_r(e, buf, sizeof buf) != 0) return "errno " + std::to_string(e);
  return buf;
#else
  return strerror_r(e, buf, sizeof buf);
#endif
}

// A connected blocking TCP socket, or an error. Each address of the host is
// tried until the deadline; resolving the name is not bounded by it.
Status TcpConnect(const std::string& url, const Target& t, const Deadline& deadline, int* out_fd) {
  addrinfo hints;
  std::memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(t.port);
  int gai = getaddrinfo(t.host.c_str(), port.c_str(), &hints, &res);
  if (gai != 0) {
    return Status::IO("ldap: cannot resolve the host of " + url + ": " + gai_strerror(gai));
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard(res, freeaddrinfo);
  int last_errno = ECONNREFUSED;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
      last_errno = errno;
      continue;
    }
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno != EINPROGRESS) {
      last_errno = errno;
      ::close(fd);
      continue;
    }
    if (rc != 0) {
      for (;;) {
        int64_t left = deadline.RemainingMs();
        if (left <= 0) {
          ::close(fd);
          return deadline.Expired("ldap: connecting to " + url);
        }
        pollfd p{fd, POLLOUT, 0};
        int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, kSliceMs)));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          rc = -1;
          last_errno = errno;
          break;
        }
        if (n == 0) {
          if (deadline.Cancelled()) {
            ::close(fd);
            return Status(BERTH_E_CANCELLED, "ldap: connecting to " + url + ": cancelled");
          }
          continue;
        }
        int err = 0;
        socklen_t len = sizeof err;
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        rc = err == 0 ? 0 : -1;
        if (err != 0) last_errno = err;
        break;
      }
      if (rc != 0) {
        ::close(fd);
        continue;
      }
    }
    // libldap expects a blocking socket.
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
      last_errno = errno;
      ::close(fd);
      continue;
    }
    *out_fd = fd;
    return {};
  }
  return Status::IO("ldap: cannot connect to " + url + ": " + ErrnoText(last_errno));
}

std::string Err(int rc) {
  const char* s = ldap_err2string(rc);
  return s != nullptr ? s : ("LDAP error " + std::to_string(rc));
}

Status SetOption(LDAP* ld, int option, const void* value, const char* name) {
  if (ldap_set_option(ld, option, value) != LDAP_OPT_SUCCESS) {
    return Status::Internal(std::string("ldap: libldap refused option ") + name);
  }
  return {};
}

// Applies the TLS settings to a handle and builds its own TLS context.
Status ApplyTls(LDAP* ld, const Options& o) {
  int require = o.verify_cert ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER;
  if (Status st = SetOption(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &require, "TLS_REQUIRE_CERT"); !st.ok()) {
    return st;
  }
  // A handle's own TLS context trusts exactly what is set here.
  const std::string& file = o.ca_cert.empty() ? o.default_ca_file : o.ca_cert;
  if (!file.empty()) {
    if (Status st = SetOption(ld, LDAP_OPT_X_TLS_CACERTFILE, file.c_str(), "TLS_CACERTFILE");
        !st.ok()) {
      return st;
    }
  } else if (!o.default_ca_dir.empty()) {
    if (Status st = SetOption(ld, LDAP_OPT_X_TLS_CACERTDIR, o.default_ca_dir.c_str(), "TLS_CACERTDIR");
        !st.ok()) {
      return st;
    }
  }
  int min = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
  if (Status st = SetOption(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &min, "TLS_PROTOCOL_MIN"); !st.ok()) {
    return st;
  }
  int is_server = 0;
  if (ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &is_server) != LDAP_OPT_SUCCESS) {
    std::string msg = "ldap: cannot set up TLS";
    if (!o.ca_cert.empty()) msg += " with ca_cert '" + o.ca_cert + "'";
    char* diag = nullptr;
    if (ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag) == LDAP_OPT_SUCCESS && diag != nullptr) {
      if (*diag != '\0') msg += std::string(": ") + diag;
      ldap_memfree(diag);
    }
    return Status::InvalidArgument(msg);
  }
  return {};
}

}  // namespace

// ---- Deadline -------------------------------------------------------------

Deadline::Deadline(const CallCtx& call, int timeout_s)
    : call_(call),
      timeout_s_(timeout_s),
      own_(std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s)) {}

int64_t Deadline::RemainingMs() const {
  int64_t own = std::chrono::duration_cast<std::chrono::milliseconds>(
                    own_ - std::chrono::steady_clock::now())
                    .count();
  int64_t host_deadline = call_.deadline_unix_ns();
  if (host_deadline > 0) {
    int64_t host = (host_deadline - NowUnixNs()) / 1000000;
    return std::min(own, host);
  }
  return own;
}

std::chrono::steady_clock::time_point Deadline::When() const {
  return std::chrono::steady_clock::now() + std::chrono::milliseconds(RemainingMs());
}

Status Deadline::Expired(std::string_view what) const {
  int64_t host_deadline = call_.deadline_unix_ns();
  int64_t own = std::chrono::duration_cast<std::chrono::milliseconds>(
                    own_ - std::chrono::steady_clock::now())
                    .count();
  if (host_deadline > 0 && (host_deadline - NowUnixNs()) / 1000000 <= own) {
    return Status::DeadlineExceeded(std::string(what) + ": the call's deadline passed");
  }
  return Status::IO(std::string(what) + ": no answer within " + std::to_string(timeout_s_) +
                    "s (timeout_s)");
}

// ---- Entry ----------------------------------------------------------------

const std::vector<std::string>* Entry::Values(std::string_view attr) const {
  auto it = attrs.find(AsciiLower(attr));
  return it == attrs.end() ? nullptr : &it->second;
}

std::string Entry::First(std::string_view attr) const {
  const auto* v = Values(attr);
  return (v != nullptr && !v->empty()) ? v->front() : std::string();
}

// ---- Session --------------------------------------------------------------

Session::~Session() {
  // The watchdog lets go of the socket before libldap closes it.
  if (watch_id_ != 0) Watchdog::Get().Unwatch(watch_id_);
  if (ld_ != nullptr) ldap_unbind_ext(ld_, nullptr, nullptr);
}

bool Session::WatchdogFired() const { return Watchdog::Get().Fired(fired_); }

Status Session::Open(const Options& o, const Deadline& deadline, std::unique_ptr<Session>* out) {
  std::unique_ptr<Session> s(new Session(o, deadline));
  if (Status st = s->Connect(); !st.ok()) return st;
  *out = std::move(s);
  return {};
}

Status Session::Connect() {
  Target t;
  if (Status st = ParseTarget(o_.url, &t); !st.ok()) return st;
  if (deadline_.RemainingMs() <= 0) return deadline_.Expired("ldap: connecting to " + o_.url);
  int fd = -1;
  if (Status st = TcpConnect(o_.url, t, deadline_, &fd); !st.ok()) return st;
  fired_ = std::make_shared<bool>(false);
  watch_id_ = Watchdog::Get().Watch(fd, deadline_.When(), fired_);
  int rc = ldap_init_fd(fd, LDAP_PROTO_TCP, o_.url.c_str(), &ld_);
  if (rc != LDAP_SUCCESS || ld_ == nullptr) {
    Watchdog::Get().Unwatch(watch_id_);
    watch_id_ = 0;
    ::close(fd);
    ld_ = nullptr;
    return Status::Internal("ldap: libldap refused the connection to " + o_.url + ": " + Err(rc));
  }
  int version = LDAP_VERSION3;
  // No libldap network timeout (see ldap_session.h): handshakes block and
  // the watchdog bounds them.
  timeval no_timeout;
  no_timeout.tv_sec = -1;
  no_timeout.tv_usec = 0;
  Status st = SetOption(ld_, LDAP_OPT_PROTOCOL_VERSION, &version, "PROTOCOL_VERSION");
  // Referrals would be chased with anonymous binds: never follow them.
  if (st.ok()) st = SetOption(ld_, LDAP_OPT_REFERRALS, LDAP_OPT_OFF, "REFERRALS");
  if (st.ok()) st = SetOption(ld_, LDAP_OPT_RESTART, LDAP_OPT_ON, "RESTART");
  if (st.ok()) st = SetOption(ld_, LDAP_OPT_NETWORK_TIMEOUT, &no_timeout, "NETWORK_TIMEOUT");
  if (st.ok() && o_.uses_tls()) st = ApplyTls(ld_, o_);
  if (st.ok() && t.ldaps) st = InstallTls("ldap: TLS handshake with " + o_.url);
  if (st.ok() && o_.start_tls) st = StartTls();
  return st;
}

Status Session::InstallTls(std::string_view what) {
  if (deadline_.RemainingMs() <= 0) return deadline_.Expired(what);
  int rc = ldap_install_tls(ld_);
  if (rc != LDAP_SUCCESS) return Failure(rc, what);
  return {};
}

Status Session::StartTls() {
  int msgid = -1;
  int rc = ldap_start_tls(ld_, nullptr, nullptr, &msgid);
  if (rc != LDAP_SUCCESS) return Failure(rc, "ldap: StartTLS on " + o_.url);
  LDAPMessage* raw = nullptr;
  if (Status st = Wait(msgid, LDAP_MSG_ALL, "ldap: StartTLS on " + o_.url, &raw); !st.ok()) return st;
  MsgPtr res(raw);
  int err = LDAP_OTHER;
  char* diag = nullptr;
  rc = ldap_parse_result(ld_, res.get(), &err, nullptr, &diag, nullptr, nullptr, 0);
  std::string detail = (diag != nullptr && *diag != '\0') ? std::string(" (") + diag + ")" : "";
  if (diag != nullptr) ldap_memfree(diag);
  if (rc != LDAP_SUCCESS) return Failure(rc, "ldap: StartTLS on " + o_.url);
  if (err != LDAP_SUCCESS) {
    return Status::IO("ldap: the server at " + o_.url + " refused StartTLS: " + Err(err) + detail);
  }
  return InstallTls("ldap: TLS handshake with " + o_.url + " (StartTLS)");
}

Status Session::Failure(int rc, std::string_view what) const {
  if (WatchdogFired()) return deadline_.Expired(what);
  std::string msg = std::string(what) + ": " + Err(rc);
  char* diag = nullptr;
  if (ld_ != nullptr && ldap_get_option(ld_, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag) == LDAP_OPT_SUCCESS &&
      diag != nullptr) {
    // GnuTLS verification failures come as "(unknown error code)": no news.
    if (*diag != '\0' && std::strcmp(diag, "(unknown error code)") != 0) {
      msg += std::string(" (") + diag + ")";
    }
    ldap_memfree(diag);
  }
  switch (rc) {
    case LDAP_SERVER_DOWN:
    case LDAP_CONNECT_ERROR:
    case LDAP_TIMEOUT:
      if (o_.uses_tls()) {
        msg += "; the TLS handshake failed or the server certificate was not trusted or does not "
               "name the host in url (check ca_cert and verify_cert)";
      }
      return Status::IO(msg);
    case LDAP_BUSY:
    case LDAP_UNAVAILABLE:
      return Status::Retry(msg);
    case LDAP_FILTER_ERROR:
      return Status::InvalidArgument(msg + "; check filter and group_filter");
    case LDAP_NO_MEMORY:
      return Status::Internal(msg);
    default:
      return Status::IO(msg);
  }
}

Status Session::Wait(int msgid, int all, std::string_view what, LDAPMessage** res) {
  *res = nullptr;
  for (;;) {
    int64_t left = deadline_.RemainingMs();
    if (left <= 0) {
      ldap_abandon_ext(ld_, msgid, nullptr, nullptr);
      return deadline_.Expired(what);
    }
    if (deadline_.Cancelled()) {
      ldap_abandon_ext(ld_, msgid, nullptr, nullptr);
      return Status(BERTH_E_CANCELLED, std::string(what) + ": cancelled");
    }
    timeval tv = ToTimeval(std::min(left, kSliceMs));
    LDAPMessage* m = nullptr;
    int rc = ldap_result(ld_, msgid, all, &tv, &m);
    if (rc > 0 && m != nullptr) {
      *res = m;
      return {};
    }
    if (m != nullptr) ldap_msgfree(m);
    if (rc == 0) continue;  // nothing yet
    int err = LDAP_OTHER;
    ldap_get_option(ld_, LDAP_OPT_RESULT_CODE, &err);
    return Failure(err == LDAP_SUCCESS ? LDAP_OTHER : err, what);
  }
}

Status Session::Bind(std::string_view dn, std::string_view password, int* result) {
  std::string who = "ldap: bind to " + o_.url;
  std::string dn_s(dn);
  std::string pw(password);
  berval cred;
  cred.bv_len = static_cast<ber_len_t>(pw.size());
  cred.bv_val = pw.data();
  int msgid = -1;
  int rc = ldap_sasl_bind(ld_, dn_s.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, &msgid);
  if (rc != LDAP_SUCCESS) return Failure(rc, who);
  LDAPMessage* raw = nullptr;
  if (Status st = Wait(msgid, LDAP_MSG_ALL, who, &raw); !st.ok()) return st;
  MsgPtr res(raw);
  int err = LDAP_OTHER;
  rc = ldap_parse_result(ld_, res.get(), &err, nullptr, nullptr, nullptr, nullptr, 0);
  if (rc != LDAP_SUCCESS) return Failure(rc, who);
  *result = err;
  return {};
}

Status Session::BindService() {
  int result = LDAP_OTHER;
  if (Status st = Bind(o_.search_dn, o_.search_password, &result); !st.ok()) return st;
  if (result == LDAP_SUCCESS) return {};
  std::string who = o_.search_dn.empty() ? std::string("an anonymous bind")
                                         : "the service account bind as '" + o_.search_dn + "'";
  std::string msg = "ldap: the server at " + o_.url + " refused " + who + ": " + Err(result);
  switch (result) {
    case LDAP_INVALID_CREDENTIALS:
    case LDAP_INAPPROPRIATE_AUTH:
    case LDAP_UNWILLING_TO_PERFORM:
    case LDAP_INSUFFICIENT_ACCESS:
    case LDAP_CONFIDENTIALITY_REQUIRED:
    case LDAP_STRONG_AUTH_REQUIRED:
      return Status::Unauthenticated(msg);
    case LDAP_BUSY:
    case LDAP_UNAVAILABLE:
      return Status::Retry(msg);
    default:
      return Status::IO(msg);
  }
}

Status Session::Search(const std::string& base, int scope, const std::string& filter,
                       const std::vector<std::string>& attrs, int size_limit, SearchResult* out) {
  std::string who = "ldap: search under '" + base + "' on " + o_.url;
  std::vector<char*> av;
  static char kNoAttrs[] = "1.1";
  for (const auto& a : attrs) av.push_back(const_cast<char*>(a.c_str()));
  if (av.empty()) av.push_back(kNoAttrs);
  av.push_back(nullptr);
  int64_t left = deadline_.RemainingMs();
  if (left <= 0) return deadline_.Expired(who);
  // Also sent to the server as the search's time limit (whole seconds).
  timeval limit;
  limit.tv_sec = static_cast<time_t>(std::max<int64_t>(1, left / 1000));
  limit.tv_usec = 0;
  int msgid = -1;
  int rc = ldap_search_ext(ld_, base.c_str(), scope, filter.c_str(), av.data(), 0, nullptr, nullptr,
                           &limit, size_limit, &msgid);
  if (rc != LDAP_SUCCESS) return Failure(rc, who);
  LDAPMessage* raw = nullptr;
  if (Status st = Wait(msgid, LDAP_MSG_ALL, who, &raw); !st.ok()) return st;
  MsgPtr res(raw);

  SearchResult r;
  bool done = false;
  int err = LDAP_OTHER;
  std::string detail;
  for (LDAPMessage* m = ldap_first_message(ld_, res.get()); m != nullptr;
       m = ldap_next_message(ld_, m)) {
    int type = ldap_msgtype(m);
    if (type == LDAP_RES_SEARCH_ENTRY) {
      Entry e;
      char* dn = ldap_get_dn(ld_, m);
      if (dn != nullptr) {
        e.dn = dn;
        ldap_memfree(dn);
      }
      BerElement* ber = nullptr;
      for (char* a = ldap_first_attribute(ld_, m, &ber); a != nullptr;
           a = ldap_next_attribute(ld_, m, ber)) {
        auto& values = e.attrs[AsciiLower(a)];
        berval** vals = ldap_get_values_len(ld_, m, a);
        if (vals != nullptr) {
          for (int i = 0; vals[i] != nullptr; ++i) values.emplace_back(vals[i]->bv_val, vals[i]->bv_len);
          ldap_value_free_len(vals);
        }
        ldap_memfree(a);
      }
      if (ber != nullptr) ber_free(ber, 0);
      if (!e.dn.empty()) r.entries.push_back(std::move(e));
    } else if (type == LDAP_RES_SEARCH_RESULT) {
      char* diag = nullptr;
      rc = ldap_parse_result(ld_, m, &err, nullptr, &diag, nullptr, nullptr, 0);
      if (diag != nullptr) {
        if (*diag != '\0') detail = std::string(" (") + diag + ")";
        ldap_memfree(diag);
      }
      if (rc != LDAP_SUCCESS) return Failure(rc, who);
      done = true;
    }
    // Search references (continuation referrals) are not followed.
  }
  if (!done) return Status::IO(who + ": the server sent no search result");
  switch (err) {
    case LDAP_SUCCESS:
      break;
    case LDAP_SIZELIMIT_EXCEEDED:
      r.truncated = true;
      break;
    case LDAP_NO_SUCH_OBJECT:
      r.no_such_base = true;
      r.entries.clear();
      break;
    case LDAP_BUSY:
    case LDAP_UNAVAILABLE:
      return Status::Retry(who + ": " + Err(err) + detail);
    case LDAP_FILTER_ERROR:
      return Status::InvalidArgument(who + ": " + Err(err) + detail + "; check filter and group_filter");
    default:
      return Status::IO(who + ": " + Err(err) + detail);
  }
  *out = std::move(r);
  return {};
}

Status InitLibrary(const Options& o) {
  LDAP* ld = nullptr;
  int rc = ldap_initialize(&ld, o.url.c_str());
  if (rc != LDAP_SUCCESS || ld == nullptr) {
    return Status::InvalidArgument("ldap: cannot use url '" + o.url + "': " + Err(rc));
  }
  Status st;
  if (o.uses_tls()) {
    // Builds the context the calls will build: a bad CA file shows now.
    st = ApplyTls(ld, o);
  } else {
    // Only initialises the TLS library, in case a ping asks for TLS later.
    int never = LDAP_OPT_X_TLS_NEVER;
    int is_server = 0;
    if (ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &never) == LDAP_OPT_SUCCESS) {
      (void)ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &is_server);
    }
  }
  ldap_unbind_ext(ld, nullptr, nullptr);
  if (st.ok()) Watchdog::Get();  // starts its thread here, on the control thread
  return st;
}

void DefaultTrust(std::string* file, std::string* dir) {
  file->clear();
  dir->clear();
  char* v = nullptr;
  if (ldap_get_option(nullptr, LDAP_OPT_X_TLS_CACERTFILE, &v) == LDAP_OPT_SUCCESS && v != nullptr) {
    *file = v;
    ldap_memfree(v);
  }
  v = nullptr;
  if (ldap_get_option(nullptr, LDAP_OPT_X_TLS_CACERTDIR, &v) == LDAP_OPT_SUCCESS && v != nullptr) {
    *dir = v;
    ldap_memfree(v);
  }
  if (!file->empty() || !dir->empty()) return;
  for (const char* p : {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
                        "/etc/ssl/ca-bundle.pem", "/etc/ssl/cert.pem"}) {
    if (::access(p, R_OK) == 0) {
      *file = p;
      return;
    }
  }
}

}  // namespace berth_ldap
