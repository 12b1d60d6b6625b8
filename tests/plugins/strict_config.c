/* Notifier "strict" whose config must be {"target": "<non-empty string>"}. */
#include "fixture.h"

static const char schema[] =
    "{\"type\":\"object\",\"properties\":{\"target\":{\"type\":\"string\",\"minLength\":1}},"
    "\"required\":[\"target\"],\"additionalProperties\":false}";

static int created = 0;

static berth_status strict_create(const berth_host_services* host, berth_str config, void** out,
                                  berth_sink* err) {
  /* The host validated the config against the schema before this call. */
  if (config.len == 0 || memchr(config.ptr, '{', config.len) == NULL) {
    fixture_error(err, "create() saw a config the schema should have rejected");
    return BERTH_E_INTERNAL;
  }
  created = 1;
  return fixture_create(host, config, out, err);
}

static const berth_provider provider = {sizeof(berth_provider), BERTH_KIND_NOTIFIER, "strict",
                                        "", schema, 0, BERTH_THREADING_REENTRANT, strict_create,
                                        fixture_destroy, &fixture_notifier_vtable};
static const berth_provider* const providers[] = {&provider};
static const berth_plugin_descriptor descriptor = {sizeof(berth_plugin_descriptor), "strict",
                                                   "1.0.0", "", 1, providers};

FIXTURE_ENTRY(descriptor)
