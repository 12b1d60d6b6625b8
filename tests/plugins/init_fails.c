/* Notifier "initfail" whose create() fails with a message. */
#include "fixture.h"

static berth_status failing_create(const berth_host_services* host, berth_str config, void** out,
                                   berth_sink* err) {
  (void)host; (void)config; (void)out;
  fixture_error(err, "cannot reach the notification broker at mq.invalid:5672");
  return BERTH_E_IO;
}

static const berth_provider provider = {sizeof(berth_provider), BERTH_KIND_NOTIFIER, "initfail",
                                        "", "", 0, BERTH_THREADING_REENTRANT, failing_create,
                                        fixture_destroy, &fixture_notifier_vtable};
static const berth_provider* const providers[] = {&provider};
static const berth_plugin_descriptor descriptor = {sizeof(berth_plugin_descriptor), "initfail",
                                                   "1.0.0", "", 1, providers};

FIXTURE_ENTRY(descriptor)
