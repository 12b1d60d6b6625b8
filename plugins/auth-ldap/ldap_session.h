// One LDAP connection (libldap handle) for the duration of one backend call.
// A handle is never shared between threads: every call opens its own, which
// makes the backend reentrant.
//
// Time limits: the plugin makes the TCP connection itself (non-blocking
// connect bounded by the deadline) and hands the socket to libldap
// (ldap_init_fd). LDAP operations are asynchronous and waited for in short
// slices, so timeout_s, the host's deadline and cancellation are honoured.
// What libldap does blocking on the socket (the TLS handshake of ldaps:// and
// StartTLS, a reply that stops half-way) is bounded by a watchdog that shuts
// the socket down when the deadline passes. libldap's own
// LDAP_OPT_NETWORK_TIMEOUT is not used: in OpenLDAP 2.5 a handshake under
// that option busy-loops on EAGAIN and never times out.
#ifndef BERTH_AUTH_LDAP_LDAP_SESSION_H_
#define BERTH_AUTH_LDAP_LDAP_SESSION_H_

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ldap_options.h"

typedef struct ldap LDAP;
typedef struct ldapmsg LDAPMessage;

namespace berth_ldap {

using berth::sdk::CallCtx;

// The earlier of now + timeout_s and the host's deadline.
class Deadline {
 public:
  Deadline(const CallCtx& call, int timeout_s);
  // Milliseconds left (<= 0 when expired).
  int64_t RemainingMs() const;
  // The same instant on the steady clock.
  std::chrono::steady_clock::time_point When() const;
  // The status for an expired wait on `what`: DeadlineExceeded when the
  // host's deadline is the one that passed, else IO naming timeout_s.
  Status Expired(std::string_view what) const;
  bool Cancelled() const { return call_.cancelled(); }

 private:
  const CallCtx& call_;
  int timeout_s_;
  std::chrono::steady_clock::time_point own_;
};

struct Entry {
  std::string dn;
  // Lowercased attribute description -> values.
  std::map<std::string, std::vector<std::string>> attrs;
  // First value of `attr` (any case), or "".
  std::string First(std::string_view attr) const;
  const std::vector<std::string>* Values(std::string_view attr) const;
};

struct SearchResult {
  std::vector<Entry> entries;
  bool truncated = false;   // the size limit cut the result short
  bool no_such_base = false;  // the search base does not exist
};

class Session {
 public:
  // Connects, hands the socket to libldap, applies the TLS settings and runs
  // the TLS handshake (ldaps://) or StartTLS (start_tls).
  static Status Open(const Options& o, const Deadline& deadline, std::unique_ptr<Session>* out);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // A simple bind. *result gets the LDAP result code (LDAP_SUCCESS,
  // LDAP_INVALID_CREDENTIALS, ...) when the server answered; a transport
  // failure or timeout is a non-OK Status instead.
  Status Bind(std::string_view dn, std::string_view password, int* result);
  // Binds as the service account (anonymously without search_dn). Failure
  // to bind is UNAUTHENTICATED when the server refused the credentials.
  Status BindService();
  // Searches; a base that does not exist sets no_such_base (not an error).
  Status Search(const std::string& base, int scope, const std::string& filter,
                const std::vector<std::string>& attrs, int size_limit, SearchResult* out);

  const Options& options() const { return o_; }

 private:
  Session(const Options& o, const Deadline& d) : o_(o), deadline_(d) {}
  Status Connect();
  Status Wait(int msgid, int all, std::string_view what, LDAPMessage** res);
  // Maps a libldap failure to a Status (a watchdog timeout wins).
  Status Failure(int rc, std::string_view what) const;
  Status StartTls();
  Status InstallTls(std::string_view what);
  bool WatchdogFired() const;

  const Options& o_;
  const Deadline& deadline_;
  LDAP* ld_ = nullptr;
  uint64_t watch_id_ = 0;
  std::shared_ptr<bool> fired_;  // set by the watchdog (under its lock)
};

// Runs on the control thread (create) before any worker uses libldap:
// libldap's global and TLS initialisation are not thread-safe. Also checks
// that a TLS context can be built from the settings (e.g. the CA file) and
// starts the watchdog.
Status InitLibrary(const Options& o);

// The CA file/dir used when ca_cert is empty: what libldap is configured
// with (ldap.conf TLS_CACERT / TLS_CACERTDIR, LDAPTLS_CACERT...), else the
// distribution's CA bundle. libldap does not fall back to a system store on
// its own once a handle gets its own TLS context.
void DefaultTrust(std::string* file, std::string* dir);

}  // namespace berth_ldap

#endif  // BERTH_AUTH_LDAP_LDAP_SESSION_H_
