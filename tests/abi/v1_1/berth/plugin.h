/*
 * Berth plugin ABI: the only contract between berthd and a plugin (.so).
 *
 * C99, no dependency beyond the C standard library; compiles as C and C++.
 * Rules (full text and version history in plugin-api/ABI.md):
 *   - A plugin exports exactly one symbol, berth_plugin_entry().
 *   - The host offers {major, minor}; a plugin built for another major refuses,
 *     and the host refuses a plugin built for a newer minor than its own.
 *   - Every struct crossing the boundary begins with uint32_t struct_size.
 *     A minor version only appends members (and vtable slots); a reader checks
 *     BERTH_HAS_FIELD() before touching a member newer than 1.0.
 *   - Inputs are borrowed for the duration of the call (berth_str). Outputs go
 *     through host-owned sinks; no pointer is freed across the boundary.
 *   - Every fallible call returns berth_status and may describe the failure
 *     through an error sink. No C++ exception and no longjmp crosses the boundary.
 *   - Plugins are never unloaded while berthd runs.
 */
#ifndef BERTH_PLUGIN_H_
#define BERTH_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BERTH_ABI_MAJOR 1
#define BERTH_ABI_MINOR 1

#if defined(_WIN32)
#define BERTH_EXPORT __declspec(dllexport)
#else
#define BERTH_EXPORT __attribute__((visibility("default")))
#endif

/* True when the struct pointed to by p, whose first member is struct_size,
 * is large enough to contain `field`. */
#define BERTH_HAS_FIELD(p, type, field) \
  ((p) != NULL && (p)->struct_size >= offsetof(type, field) + sizeof(((type*)0)->field))

/* ---- Status codes ------------------------------------------------------ */

/* Values are part of the ABI. A host treats an unknown negative value as
 * BERTH_E_INTERNAL. */
typedef int32_t berth_status;
#define BERTH_OK 0
#define BERTH_E_NOT_FOUND (-1)         /* path, object or user does not exist */
#define BERTH_E_INVALID_ARGUMENT (-2)  /* the caller passed something malformed */
#define BERTH_E_UNSUPPORTED (-3)       /* optional operation not implemented */
#define BERTH_E_UNAUTHENTICATED (-4)   /* credentials missing or wrong */
#define BERTH_E_PERMISSION_DENIED (-5) /* authenticated but not allowed */
#define BERTH_E_CONFLICT (-6)          /* state does not allow the operation */
#define BERTH_E_RETRY (-7)             /* transient: the host may retry later */
#define BERTH_E_IO (-8)                /* I/O or remote service failure */
#define BERTH_E_ABI_MISMATCH (-9)      /* entry: host ABI not supported */
#define BERTH_E_INTERNAL (-10)         /* bug or unexpected state in the plugin */
#define BERTH_E_INVALID_OFFSET (-11)   /* storage: offset beyond the end */
#define BERTH_E_DEADLINE_EXCEEDED (-12)
#define BERTH_E_CANCELLED (-13)

/* ---- Borrowed buffers and host sinks ----------------------------------- */

/* A byte string that is not NUL-terminated.
 * OWNERSHIP: borrowed; valid only during the call it is passed to. */
typedef struct berth_str {
  const char* ptr;
  size_t len;
} berth_str;

/* A host-owned output channel. The plugin calls append() zero or more times;
 * the host copies the bytes before returning. What one call means depends on
 * the use: a byte stream (content, error message) or one item per call
 * (list entries). append() returns BERTH_OK, or an error the plugin must
 * return (e.g. the host refused an oversized object).
 * OWNERSHIP: host-owned; valid only during the call it is passed to. */
typedef struct berth_sink {
  uint32_t struct_size;
  void* ctx;
  berth_status (*append)(void* ctx, const void* data, size_t len);
} berth_sink;

/* ---- Typed handles (1.1) ----------------------------------------------- */

/* Incomplete types: a plugin defines them (or casts its own pointers), the
 * host only passes them back. Distinct types make a reader passed where a
 * writer is wanted a compile error. The 1.0 slots keep `void*` (changing a
 * released slot's parameter types would break plugins' sources); every slot
 * added since 1.1 uses these. A berth_instance* is the `void*` create()
 * returned, a berth_storage_reader* / berth_storage_writer* what
 * reader_open_v2 / writer_open_v2 returned. */
typedef struct berth_instance berth_instance;
typedef struct berth_storage_reader berth_storage_reader;
typedef struct berth_storage_writer berth_storage_writer;

/* ---- Call context ------------------------------------------------------ */

/* Per-call information passed to every operation that may block.
 * Since 1.1 the host fills request_id (the HTTP request's X-Request-Id, or
 * "job-<id>" for background work) and is_cancelled (set once the client
 * disconnected or the job was stopped); a long operation checks is_cancelled
 * between chunks and returns BERTH_E_CANCELLED. The host's log service tags
 * lines logged during a call with the call's request id.
 * OWNERSHIP: host-owned; valid only during the call. */
typedef struct berth_call_ctx {
  uint32_t struct_size;
  int64_t deadline_unix_ns; /* 0: no deadline */
  berth_str request_id;     /* for log correlation; may be empty */
  void* host_ctx;
  /* Non-zero once the host gave up on the call. May be NULL. */
  int32_t (*is_cancelled)(void* host_ctx);
} berth_call_ctx;

/* ---- Host services ----------------------------------------------------- */

#define BERTH_LOG_DEBUG 0
#define BERTH_LOG_INFO 1
#define BERTH_LOG_WARN 2
#define BERTH_LOG_ERROR 3

#define BERTH_METRIC_COUNTER 0
#define BERTH_METRIC_GAUGE 1

/* The one boundary struct without struct_size: 1.0 passes it as a plain
 * array (berth_http_request.headers), so its size is a stride and cannot grow
 * within ABI 1. It stays as it is until 2.0 (see plugin-api/ABI.md). */
typedef struct berth_header {
  berth_str name;
  berth_str value;
} berth_header;

/* Receives response headers: one call per header. */
typedef struct berth_header_sink {
  uint32_t struct_size;
  void* ctx;
  berth_status (*add)(void* ctx, berth_str name, berth_str value);
} berth_header_sink;

#define BERTH_HTTP_INSECURE_SKIP_VERIFY 0x1u

typedef struct berth_http_request {
  uint32_t struct_size;
  berth_str method;
  berth_str url;
  const berth_header* headers;
  size_t n_headers;
  berth_str body;
  int64_t timeout_ms; /* 0: host default */
  uint32_t flags;     /* BERTH_HTTP_* */
  berth_str ca_pem;   /* extra trusted CA certificates; may be empty */
} berth_http_request;

typedef struct berth_http_response {
  uint32_t struct_size;
  int32_t status;             /* out: HTTP status */
  berth_header_sink* headers; /* may be NULL */
  berth_sink* body;           /* may be NULL: body discarded */
} berth_http_response;

/* Services the host offers to plugins. Every function is thread-safe.
 * OWNERSHIP: host-owned; valid until the process exits. */
typedef struct berth_host_services {
  uint32_t struct_size;
  void* host_ctx;
  void (*log)(void* host_ctx, int32_t level, const char* msg, size_t len);
  int32_t (*log_enabled)(void* host_ctx, int32_t level);
  int64_t (*now_unix_ns)(void* host_ctx);
  /* HTTP on berthd's libcurl, with its proxy and CA settings. */
  berth_status (*http_request)(void* host_ctx, const berth_call_ctx* call,
                               const berth_http_request* req, berth_http_response* resp,
                               berth_sink* err);
  /* Looks up a named secret from berthd's configuration or environment. */
  berth_status (*secret_get)(void* host_ctx, berth_str name, berth_sink* out, berth_sink* err);
  /* Defines a metric exported on /metrics as berth_plugin_<name>. */
  berth_status (*metric_define)(void* host_ctx, berth_str name, berth_str help, int32_t kind,
                                uint32_t* out_handle);
  void (*metric_add)(void* host_ctx, uint32_t handle, double value);
} berth_host_services;

/* ---- Provider kinds ---------------------------------------------------- */

#define BERTH_KIND_STORAGE 1
#define BERTH_KIND_AUTH 2
#define BERTH_KIND_SCANNER 3
#define BERTH_KIND_REPLICATION 4
#define BERTH_KIND_NOTIFIER 5
#define BERTH_KIND_PREHEAT 6

#define BERTH_THREADING_REENTRANT 0  /* host may call concurrently */
#define BERTH_THREADING_SERIALIZED 1 /* host serialises calls per instance */

/* ---- Storage driver ---------------------------------------------------- */

/* Paths are absolute, '/'-separated, match ^(/[A-Za-z0-9._-]+)+$ and never
 * contain "." or ".." components; the host checks this before every call.
 * A storage driver knows only paths and bytes: the OCI layout lives in berthd. */

#define BERTH_STORAGE_CAP_OPEN_FD 0x1u      /* open_fd is implemented */
#define BERTH_STORAGE_CAP_REDIRECT_URL 0x2u /* redirect_url is implemented */

typedef struct berth_file_info {
  uint32_t struct_size;
  int64_t size;
  int64_t mtime_unix_ns;
  int32_t is_dir;
} berth_file_info;

/* Walk callback: return BERTH_WALK_CONTINUE, _SKIP_DIR or _STOP. */
#define BERTH_WALK_CONTINUE 0
#define BERTH_WALK_SKIP_DIR 1
#define BERTH_WALK_STOP 2
typedef int32_t (*berth_walk_fn)(void* user, berth_str path, const berth_file_info* info);

/* OWNERSHIP of handles: `self` is the instance returned by create(); reader
 * and writer handles belong to the plugin and are released by reader_close,
 * and by exactly one of writer_commit, writer_cancel or writer_close. */
typedef struct berth_storage_vtable {
  uint32_t struct_size;
  /* Whole small objects. put_content replaces atomically. */
  berth_status (*get_content)(void* self, const berth_call_ctx* call, berth_str path,
                              berth_sink* out, berth_sink* err);
  berth_status (*put_content)(void* self, const berth_call_ctx* call, berth_str path,
                              berth_str data, berth_sink* err);
  /* Streaming reads from an offset. reader_read sets *out_n = 0 at the end. */
  berth_status (*reader_open)(void* self, const berth_call_ctx* call, berth_str path,
                              int64_t offset, void** out_reader, berth_sink* err);
  berth_status (*reader_read)(void* self, void* reader, void* buf, size_t cap, size_t* out_n,
                              berth_sink* err);
  void (*reader_close)(void* self, void* reader);
  /* Writers: append != 0 continues an uncommitted object (a resumed upload).
   * writer_close keeps what was written (resumable later); writer_commit makes
   * it durable; writer_cancel removes it. */
  berth_status (*writer_open)(void* self, const berth_call_ctx* call, berth_str path,
                              int32_t append, void** out_writer, berth_sink* err);
  berth_status (*writer_write)(void* self, void* writer, const void* data, size_t len,
                               berth_sink* err);
  int64_t (*writer_size)(void* self, void* writer);
  berth_status (*writer_commit)(void* self, void* writer, berth_sink* err);
  berth_status (*writer_cancel)(void* self, void* writer, berth_sink* err);
  berth_status (*writer_close)(void* self, void* writer, berth_sink* err);
  berth_status (*stat)(void* self, const berth_call_ctx* call, berth_str path,
                       berth_file_info* out, berth_sink* err);
  /* Direct children of a directory, one full path per append(). */
  berth_status (*list)(void* self, const berth_call_ctx* call, berth_str path,
                       berth_sink* out_paths, berth_sink* err);
  /* Atomic where the backend allows; overwrites dst. */
  berth_status (*move)(void* self, const berth_call_ctx* call, berth_str src, berth_str dst,
                       berth_sink* err);
  /* Recursive. */
  berth_status (*remove)(void* self, const berth_call_ctx* call, berth_str path,
                         berth_sink* err);
  /* Depth-first walk in lexical order. */
  berth_status (*walk)(void* self, const berth_call_ctx* call, berth_str path, berth_walk_fn fn,
                       void* user, berth_sink* err);
  /* Optional (NULL or BERTH_E_UNSUPPORTED): a URL the client may fetch directly. */
  berth_status (*redirect_url)(void* self, const berth_call_ctx* call, berth_str method,
                               berth_str path, int64_t ttl_seconds, berth_sink* out_url,
                               berth_sink* err);
  /* Optional (BERTH_STORAGE_CAP_OPEN_FD): a read-only file descriptor for a
   * committed object, so the host can sendfile(2) it.
   * OWNERSHIP: the returned descriptor belongs to the host, which closes it. */
  berth_status (*open_fd)(void* self, const berth_call_ctx* call, berth_str path,
                          int32_t* out_fd, berth_sink* err);

  /* ---- 1.1: streams with a call context and typed handles ----
   * A plugin sets all nine or none (the loader refuses a partial set). When
   * the vtable's struct_size covers them the host uses them for every stream
   * and never calls reader_open..writer_close above, so a plugin built for
   * 1.1 may leave those NULL. Handles from these slots are only ever passed
   * to these slots. writer_size_v2 reports failures like every other call. */
  berth_status (*reader_open_v2)(berth_instance* self, const berth_call_ctx* call,
                                 berth_str path, int64_t offset,
                                 berth_storage_reader** out_reader, berth_sink* err);
  berth_status (*reader_read_v2)(berth_instance* self, berth_storage_reader* reader,
                                 const berth_call_ctx* call, void* buf, size_t cap,
                                 size_t* out_n, berth_sink* err);
  void (*reader_close_v2)(berth_instance* self, berth_storage_reader* reader);
  berth_status (*writer_open_v2)(berth_instance* self, const berth_call_ctx* call,
                                 berth_str path, int32_t append,
                                 berth_storage_writer** out_writer, berth_sink* err);
  berth_status (*writer_write_v2)(berth_instance* self, berth_storage_writer* writer,
                                  const berth_call_ctx* call, const void* data, size_t len,
                                  berth_sink* err);
  berth_status (*writer_size_v2)(berth_instance* self, berth_storage_writer* writer,
                                 const berth_call_ctx* call, int64_t* out_size,
                                 berth_sink* err);
  /* Each of these three releases the writer, whatever it returns. */
  berth_status (*writer_commit_v2)(berth_instance* self, berth_storage_writer* writer,
                                   const berth_call_ctx* call, berth_sink* err);
  berth_status (*writer_cancel_v2)(berth_instance* self, berth_storage_writer* writer,
                                   const berth_call_ctx* call, berth_sink* err);
  berth_status (*writer_close_v2)(berth_instance* self, berth_storage_writer* writer,
                                  const berth_call_ctx* call, berth_sink* err);
} berth_storage_vtable;

/* ---- Auth backend ------------------------------------------------------ */

/* Harbor's AuthenticateHelper: password sign-in, user and group search,
 * browser sign-in (OIDC) and bearer-token verification. Local users, sessions
 * and RBAC stay in berthd; a backend only says who someone is. */

#define BERTH_AUTH_CAP_PASSWORD 0x1u      /* authenticate */
#define BERTH_AUTH_CAP_SEARCH_USERS 0x2u  /* search_users */
#define BERTH_AUTH_CAP_SEARCH_GROUPS 0x4u /* search_groups */
#define BERTH_AUTH_CAP_BROWSER_LOGIN 0x8u /* login_begin, login_callback */
#define BERTH_AUTH_CAP_VERIFY_TOKEN 0x10u /* verify_token */
#define BERTH_AUTH_CAP_HASH_PASSWORD 0x20u /* hash_password: the backend owns local password hashes */
#define BERTH_AUTH_CAP_PING 0x40u         /* ping */

typedef struct berth_user_info {
  uint32_t struct_size;
  berth_str username;
  berth_str email;
  berth_str realname;
  berth_str subject;       /* stable external id: LDAP DN, OIDC "iss|sub"; empty for local users */
  const berth_str* groups; /* group identifiers: LDAP group DNs, OIDC group names */
  size_t n_groups;
  int32_t is_admin;        /* the backend grants system administrator (admin group) */
} berth_user_info;

/* Receives users: one add() per user. OWNERSHIP: host-owned, call-scoped;
 * the host copies *user before add() returns. */
typedef struct berth_user_sink {
  uint32_t struct_size;
  void* ctx;
  berth_status (*add)(void* ctx, const berth_user_info* user);
} berth_user_sink;

typedef struct berth_group_info {
  uint32_t struct_size;
  berth_str name;
  berth_str id; /* LDAP group DN, OIDC group name */
} berth_group_info;

typedef struct berth_group_sink {
  uint32_t struct_size;
  void* ctx;
  berth_status (*add)(void* ctx, const berth_group_info* group);
} berth_group_sink;

typedef struct berth_auth_vtable {
  uint32_t struct_size;
  /* Checks a password. `stored_credential` is berthd's stored hash for a
   * local user of that name (empty when none). On success add()s exactly one
   * user; a wrong password or unknown user is BERTH_E_UNAUTHENTICATED, the
   * same for both. */
  berth_status (*authenticate)(void* self, const berth_call_ctx* call, berth_str username,
                               berth_str password, berth_str stored_credential,
                               berth_user_sink* out, berth_sink* err);
  /* Optional: derives the credential berthd stores for a local password. */
  berth_status (*hash_password)(void* self, const berth_call_ctx* call, berth_str password,
                                berth_sink* out_credential, berth_sink* err);
  /* Optional: users matching `query` (a username prefix or filter). */
  berth_status (*search_users)(void* self, const berth_call_ctx* call, berth_str query,
                               berth_user_sink* out, berth_sink* err);
  /* Optional: groups matching `query`. */
  berth_status (*search_groups)(void* self, const berth_call_ctx* call, berth_str query,
                                berth_group_sink* out, berth_sink* err);
  /* Optional: tests connectivity with the given settings (JSON; empty = own). */
  berth_status (*ping)(void* self, const berth_call_ctx* call, berth_str settings_json,
                       berth_sink* err);
  /* Optional browser sign-in: the URL to send the browser to. */
  berth_status (*login_begin)(void* self, const berth_call_ctx* call, berth_str redirect_uri,
                              berth_str state, berth_str nonce, berth_sink* out_url,
                              berth_sink* err);
  /* Completes browser sign-in with the authorization code; add()s one user.
   * `out_token` receives the verified ID token (may be NULL). */
  berth_status (*login_callback)(void* self, const berth_call_ctx* call, berth_str redirect_uri,
                                 berth_str code, berth_str nonce, berth_user_sink* out,
                                 berth_sink* out_token, berth_sink* err);
  /* Optional: verifies a bearer token issued by the backend's provider. */
  berth_status (*verify_token)(void* self, const berth_call_ctx* call, berth_str token,
                               berth_user_sink* out, berth_sink* err);
} berth_auth_vtable;

/* ---- Scanner ----------------------------------------------------------- */

/* The pluggable scanner API (goharbor/pluggable-scanner-spec) as calls. */

typedef struct berth_scan_request {
  uint32_t struct_size;
  berth_str registry_url;           /* where the scanner pulls from */
  berth_str registry_authorization; /* "Basic ..." or "Bearer ..." */
  berth_str repository;
  berth_str digest;
  berth_str tag;
  berth_str mime_type;              /* manifest media type */
  berth_str capabilities_json;      /* enabled_capabilities (spec v1.2); may be empty */
} berth_scan_request;

typedef struct berth_scanner_vtable {
  uint32_t struct_size;
  /* ScannerAdapterMetadata as JSON. */
  berth_status (*get_metadata)(void* self, const berth_call_ctx* call, berth_sink* out_json,
                               berth_sink* err);
  /* Starts a scan; out_scan_id receives its id. */
  berth_status (*submit_scan)(void* self, const berth_call_ctx* call,
                              const berth_scan_request* req, berth_sink* out_scan_id,
                              berth_sink* err);
  /* The report in `mime_type`. BERTH_E_RETRY while not ready, with
   * *retry_after_seconds set; BERTH_E_NOT_FOUND for an unknown id. */
  berth_status (*get_report)(void* self, const berth_call_ctx* call, berth_str scan_id,
                             berth_str mime_type, berth_sink* out_report,
                             int64_t* retry_after_seconds, berth_sink* err);
} berth_scanner_vtable;

/* ---- Replication adapter ----------------------------------------------- */

/* Harbor's Adapter + ArtifactRegistry. A session is opened per registry
 * endpoint; every call on it names repositories in the remote's namespace. */

typedef struct berth_registry_endpoint {
  uint32_t struct_size;
  berth_str url;
  berth_str credential_type; /* "basic", "oauth", "secret" or empty */
  berth_str access_key;
  berth_str access_secret;
  int32_t insecure;          /* skip TLS verification */
  berth_str ca_pem;
} berth_registry_endpoint;

/* Bytes the host hands to push_blob. read() sets *n = 0 at the end. */
typedef struct berth_blob_source {
  uint32_t struct_size;
  void* ctx;
  berth_status (*read)(void* ctx, void* buf, size_t cap, size_t* n);
} berth_blob_source;

typedef struct berth_replication_vtable {
  uint32_t struct_size;
  /* RegistryInfo JSON: type, description, supported_resource_filters,
   * supported_triggers. */
  berth_status (*info)(void* self, const berth_call_ctx* call, berth_sink* out_json,
                       berth_sink* err);
  berth_status (*open)(void* self, const berth_call_ctx* call,
                       const berth_registry_endpoint* endpoint, void** out_session,
                       berth_sink* err);
  void (*close)(void* self, void* session);
  berth_status (*health_check)(void* self, void* session, const berth_call_ctx* call,
                               berth_sink* err);
  /* Creates namespaces for the resources (JSON array) about to be pushed. */
  berth_status (*prepare_for_push)(void* self, void* session, const berth_call_ctx* call,
                                   berth_str resources_json, berth_sink* err);
  /* Resources (JSON array) matching the filters (JSON array). */
  berth_status (*fetch_artifacts)(void* self, void* session, const berth_call_ctx* call,
                                  berth_str filters_json, berth_sink* out_json, berth_sink* err);
  /* One tag per append(). */
  berth_status (*list_tags)(void* self, void* session, const berth_call_ctx* call,
                            berth_str repository, berth_sink* out_tags, berth_sink* err);
  berth_status (*manifest_exists)(void* self, void* session, const berth_call_ctx* call,
                                  berth_str repository, berth_str reference, int32_t* out_exists,
                                  berth_sink* out_digest, berth_sink* out_media_type,
                                  berth_sink* err);
  /* `accept`: comma-separated media types. */
  berth_status (*pull_manifest)(void* self, void* session, const berth_call_ctx* call,
                                berth_str repository, berth_str reference, berth_str accept,
                                berth_sink* out_media_type, berth_sink* out_body,
                                berth_sink* err);
  berth_status (*push_manifest)(void* self, void* session, const berth_call_ctx* call,
                                berth_str repository, berth_str reference, berth_str media_type,
                                berth_str body, berth_sink* out_digest, berth_sink* err);
  berth_status (*delete_manifest)(void* self, void* session, const berth_call_ctx* call,
                                  berth_str repository, berth_str reference, berth_sink* err);
  berth_status (*blob_exists)(void* self, void* session, const berth_call_ctx* call,
                              berth_str repository, berth_str digest, int32_t* out_exists,
                              berth_sink* err);
  /* Streams bytes [offset, offset+length) (length -1: to the end) into out;
   * *out_total_size receives the blob's size. */
  berth_status (*pull_blob)(void* self, void* session, const berth_call_ctx* call,
                            berth_str repository, berth_str digest, int64_t offset,
                            int64_t length, berth_sink* out, int64_t* out_total_size,
                            berth_sink* err);
  berth_status (*push_blob)(void* self, void* session, const berth_call_ctx* call,
                            berth_str repository, berth_str digest, int64_t size,
                            berth_blob_source* source, berth_sink* err);
  /* Optional: cross-repository mount on the remote; BERTH_E_UNSUPPORTED to copy. */
  berth_status (*mount_blob)(void* self, void* session, const berth_call_ctx* call,
                             berth_str from_repository, berth_str digest,
                             berth_str to_repository, berth_sink* err);
  berth_status (*delete_tag)(void* self, void* session, const berth_call_ctx* call,
                             berth_str repository, berth_str tag, berth_sink* err);
  /* Optional: the remote's referrers index for a digest (JSON). */
  berth_status (*list_referrers)(void* self, void* session, const berth_call_ctx* call,
                                 berth_str repository, berth_str digest,
                                 berth_sink* out_json, berth_sink* err);
} berth_replication_vtable;

/* ---- Notifier ---------------------------------------------------------- */

/* Delivers one event to one target. Queueing, retries and backoff stay in
 * berthd: return BERTH_E_RETRY for a transient failure. */

typedef struct berth_notification {
  uint32_t struct_size;
  berth_str event_type;     /* "PUSH_ARTIFACT", "DELETE_ARTIFACT", ... */
  berth_str payload_format; /* "Default" or "CloudEvents" */
  berth_str payload_json;   /* the payload, already in payload_format */
  berth_str content_type;   /* of payload_json */
  berth_str address;        /* the target */
  berth_str auth_header;    /* value for the Authorization header; may be empty */
  int32_t skip_cert_verify;
  int32_t attempt;          /* 1 for the first delivery */
} berth_notification;

typedef struct berth_notifier_vtable {
  uint32_t struct_size;
  berth_status (*deliver)(void* self, const berth_call_ctx* call,
                          const berth_notification* notification, berth_sink* err);
} berth_notifier_vtable;

/* ---- P2P preheat provider ---------------------------------------------- */

/* Harbor's preheat driver: Self, GetHealth, Preheat, CheckProgress. */

typedef struct berth_preheat_instance {
  uint32_t struct_size;
  berth_str endpoint;
  berth_str auth_mode;      /* "NONE", "BASIC", "OAUTH", "CUSTOM" */
  berth_str auth_info_json; /* e.g. {"username":..,"password":..} or {"token":..} */
  int32_t insecure;
} berth_preheat_instance;

typedef struct berth_preheat_image {
  uint32_t struct_size;
  berth_str type;         /* "image" */
  berth_str url;          /* the manifest URL to warm */
  berth_str headers_json; /* headers the provider must send to berthd (authorization) */
  berth_str image;        /* repository:tag */
  berth_str digest;
  berth_str scope;        /* "single_peer", "all_peers", ... */
  berth_str extra_json;   /* provider-specific attributes */
} berth_preheat_image;

typedef struct berth_preheat_vtable {
  uint32_t struct_size;
  /* {id, name, icon, version, source, maintainers, auth_mode} as JSON. */
  berth_status (*self_info)(void* self, const berth_call_ctx* call, berth_sink* out_json,
                            berth_sink* err);
  berth_status (*get_health)(void* self, const berth_call_ctx* call,
                             const berth_preheat_instance* instance, berth_sink* err);
  /* Starts a preheat; out_json receives {"task_id","status","error"}. */
  berth_status (*preheat)(void* self, const berth_call_ctx* call,
                          const berth_preheat_instance* instance,
                          const berth_preheat_image* image, berth_sink* out_json,
                          berth_sink* err);
  /* Progress of a task: {"task_id","status","error"}; status is one of
   * PENDING, RUNNING, SUCCESS, FAIL. */
  berth_status (*check_progress)(void* self, const berth_call_ctx* call,
                                 const berth_preheat_instance* instance, berth_str task_id,
                                 berth_sink* out_json, berth_sink* err);
} berth_preheat_vtable;

/* ---- Descriptor and entry point ---------------------------------------- */

typedef struct berth_provider {
  uint32_t struct_size;
  int32_t kind;                   /* BERTH_KIND_* */
  const char* name;               /* unique per kind, e.g. "fs", "ldap" */
  const char* description;
  const char* config_schema_json; /* JSON Schema of the provider's config object */
  uint64_t capabilities;          /* kind-specific BERTH_*_CAP_* flags */
  int32_t threading;              /* BERTH_THREADING_* */
  /* Creates an instance from its validated JSON config. Runs on the host's
   * control thread. OWNERSHIP: *out_instance belongs to the plugin until
   * destroy(). `host` stays valid until the process exits. */
  berth_status (*create)(const berth_host_services* host, berth_str config_json,
                         void** out_instance, berth_sink* err);
  void (*destroy)(void* instance);
  /* Kind-specific vtable (e.g. berth_storage_vtable), static storage. */
  const void* vtable;
} berth_provider;

typedef struct berth_plugin_descriptor {
  uint32_t struct_size;
  const char* name;    /* plugin name */
  const char* version; /* plugin version (semver) */
  const char* description;
  size_t n_providers;
  const berth_provider* const* providers;
} berth_plugin_descriptor;

typedef struct berth_entry_args {
  uint32_t struct_size;
  uint16_t host_abi_major; /* in */
  uint16_t host_abi_minor; /* in */
  /* in; OWNERSHIP: host-owned, valid until the process exits. May be NULL when
   * the host only inspects the descriptor. */
  const berth_host_services* host;
  uint16_t plugin_abi_major; /* out: BERTH_ABI_MAJOR the plugin was built with */
  uint16_t plugin_abi_minor; /* out: BERTH_ABI_MINOR the plugin was built with */
  /* out; OWNERSHIP: static storage in the plugin. */
  const berth_plugin_descriptor* descriptor;
} berth_entry_args;

/* The one exported symbol. Fills plugin_abi_* and descriptor and returns
 * BERTH_OK, or BERTH_E_ABI_MISMATCH when host_abi_major differs. It must have
 * no side effect: work starts in a provider's create(). */
typedef berth_status (*berth_plugin_entry_fn)(berth_entry_args* args);
#define BERTH_PLUGIN_ENTRY_SYMBOL "berth_plugin_entry"
BERTH_EXPORT berth_status berth_plugin_entry(berth_entry_args* args);

#ifdef __cplusplus
}
#endif

#endif /* BERTH_PLUGIN_H_ */
