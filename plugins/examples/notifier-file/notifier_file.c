/*
 * notifier-file: an example Berth plugin in plain C99.
 *
 * Provides the notifier "file": every event berthd delivers to an endpoint of
 * type "file" is appended to a file as one JSON line:
 *   {"event":"PUSH_ARTIFACT","format":"Default","address":"...","attempt":1,"payload":{...}}
 *
 * Config (validated by berthd against kSchema before create() is called):
 *   {"path": "/var/log/berth/events.jsonl"}
 *
 * It uses only <berth/plugin.h> and the C library: the host's services arrive
 * in a struct, errors leave through the error sink, nothing is freed across
 * the boundary.
 */
#include <berth/plugin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char kSchema[] =
    "{\"type\":\"object\","
    "\"properties\":{\"path\":{\"type\":\"string\",\"minLength\":1,"
    "\"description\":\"file the events are appended to\"}},"
    "\"required\":[\"path\"],\"additionalProperties\":false}";

typedef struct file_notifier {
  char* path;
  const berth_host_services* host;
  pthread_mutex_t mu; /* one line at a time */
} file_notifier;

static void set_error(berth_sink* err, const char* msg) {
  if (err != NULL && err->append != NULL) err->append(err->ctx, msg, strlen(msg));
}

static void host_log(const berth_host_services* host, int32_t level, const char* msg) {
  if (host != NULL && host->log != NULL) host->log(host->host_ctx, level, msg, strlen(msg));
}

/* Extracts the string value of "path" from the (schema-checked) config.
 * Escaped characters are not supported: keep the path plain. */
static char* config_path(berth_str config) {
  const char* key = "\"path\"";
  const char* end = config.ptr + config.len;
  const char* p = config.ptr;
  while (p + 6 <= end && memcmp(p, key, 6) != 0) ++p;
  if (p + 6 > end) return NULL;
  p += 6;
  while (p < end && (*p == ' ' || *p == ':' || *p == '\t' || *p == '\n')) ++p;
  if (p >= end || *p != '"') return NULL;
  const char* start = ++p;
  while (p < end && *p != '"') {
    if (*p == '\\') return NULL;
    ++p;
  }
  if (p >= end) return NULL;
  size_t n = (size_t)(p - start);
  char* out = (char*)malloc(n + 1);
  if (out == NULL) return NULL;
  memcpy(out, start, n);
  out[n] = '\0';
  return out;
}

static berth_status file_create(const berth_host_services* host, berth_str config,
                                void** out_instance, berth_sink* err) {
  file_notifier* self = (file_notifier*)calloc(1, sizeof *self);
  if (self == NULL) return BERTH_E_INTERNAL;
  self->path = config_path(config);
  if (self->path == NULL) {
    free(self);
    set_error(err, "config.path must be a plain string (no escapes)");
    return BERTH_E_INVALID_ARGUMENT;
  }
  FILE* f = fopen(self->path, "a");
  if (f == NULL) {
    set_error(err, "cannot open config.path for appending");
    free(self->path);
    free(self);
    return BERTH_E_IO;
  }
  fclose(f);
  self->host = host;
  pthread_mutex_init(&self->mu, NULL);
  host_log(host, BERTH_LOG_INFO, "notifier-file: ready");
  *out_instance = self;
  return BERTH_OK;
}

static void file_destroy(void* instance) {
  file_notifier* self = (file_notifier*)instance;
  pthread_mutex_destroy(&self->mu);
  free(self->path);
  free(self);
}

static void write_json_string(FILE* f, berth_str s) {
  size_t i;
  fputc('"', f);
  for (i = 0; i < s.len; ++i) {
    unsigned char c = (unsigned char)s.ptr[i];
    if (c == '"' || c == '\\') {
      fputc('\\', f);
      fputc(c, f);
    } else if (c < 0x20) {
      fprintf(f, "\\u%04x", c);
    } else {
      fputc(c, f);
    }
  }
  fputc('"', f);
}

static berth_status file_deliver(void* instance, const berth_call_ctx* call,
                                 const berth_notification* n, berth_sink* err) {
  file_notifier* self = (file_notifier*)instance;
  berth_status rc = BERTH_OK;
  FILE* f;
  (void)call;
  pthread_mutex_lock(&self->mu);
  f = fopen(self->path, "a");
  if (f == NULL) {
    set_error(err, "cannot open the events file");
    rc = BERTH_E_RETRY; /* maybe the disk comes back: let berthd retry */
  } else {
    fputs("{\"event\":", f);
    write_json_string(f, n->event_type);
    fputs(",\"format\":", f);
    write_json_string(f, n->payload_format);
    fputs(",\"address\":", f);
    write_json_string(f, n->address);
    fprintf(f, ",\"attempt\":%d,\"payload\":", (int)n->attempt);
    fwrite(n->payload_json.ptr, 1, n->payload_json.len, f); /* already JSON */
    fputs("}\n", f);
    if (fclose(f) != 0) {
      set_error(err, "writing the events file failed");
      rc = BERTH_E_RETRY;
    }
  }
  pthread_mutex_unlock(&self->mu);
  return rc;
}

static const berth_notifier_vtable kVtable = {sizeof(berth_notifier_vtable), file_deliver};

static const berth_provider kProvider = {
    sizeof(berth_provider),
    BERTH_KIND_NOTIFIER,
    "file",
    "Appends each event as a JSON line to a file",
    kSchema,
    0,
    BERTH_THREADING_REENTRANT,
    file_create,
    file_destroy,
    &kVtable,
};

static const berth_provider* const kProviders[] = {&kProvider};

static const berth_plugin_descriptor kDescriptor = {
    sizeof(berth_plugin_descriptor), "notifier-file", "1.0.0",
    "Example plugin in C: events to a JSON-lines file", 1, kProviders};

BERTH_EXPORT berth_status berth_plugin_entry(berth_entry_args* args) {
  if (args == NULL || args->struct_size < sizeof(berth_entry_args)) {
    return BERTH_E_INVALID_ARGUMENT;
  }
  args->plugin_abi_major = BERTH_ABI_MAJOR;
  args->plugin_abi_minor = BERTH_ABI_MINOR;
  if (args->host_abi_major != BERTH_ABI_MAJOR) return BERTH_E_ABI_MISMATCH;
  args->descriptor = &kDescriptor;
  return BERTH_OK;
}
