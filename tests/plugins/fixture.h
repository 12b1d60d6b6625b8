/* Shared bits for the C fixture plugins (static inline: each fixture uses some). */
#ifndef BERTH_TEST_FIXTURE_H_
#define BERTH_TEST_FIXTURE_H_

#include <berth/plugin.h>
#include <stdlib.h>
#include <string.h>

static inline void fixture_error(berth_sink* err, const char* msg) {
  if (err != NULL && err->append != NULL) err->append(err->ctx, msg, strlen(msg));
}

/* A notifier whose deliver() accepts everything. */
static inline berth_status fixture_deliver(void* self, const berth_call_ctx* call,
                                    const berth_notification* n, berth_sink* err) {
  (void)self; (void)call; (void)n; (void)err;
  return BERTH_OK;
}

static inline berth_status fixture_create(const berth_host_services* host, berth_str config,
                                   void** out, berth_sink* err) {
  (void)host; (void)config; (void)err;
  *out = malloc(1);
  return *out != NULL ? BERTH_OK : BERTH_E_INTERNAL;
}

static inline void fixture_destroy(void* instance) { free(instance); }

static const berth_notifier_vtable fixture_notifier_vtable = {
    sizeof(berth_notifier_vtable), fixture_deliver};

/* berth_plugin_entry for fixtures that negotiate normally. */
#define FIXTURE_ENTRY(descriptor)                                             \
  BERTH_EXPORT berth_status berth_plugin_entry(berth_entry_args* args) {      \
    args->plugin_abi_major = BERTH_ABI_MAJOR;                                 \
    args->plugin_abi_minor = BERTH_ABI_MINOR;                                 \
    if (args->host_abi_major != BERTH_ABI_MAJOR) return BERTH_E_ABI_MISMATCH; \
    args->descriptor = &(descriptor);                                         \
    return BERTH_OK;                                                          \
  }

#endif
