/* A plugin built against a newer minor than the host implements. */
#include "fixture.h"

static const berth_provider provider = {sizeof(berth_provider), BERTH_KIND_NOTIFIER, "newer",
                                        "", "", 0, BERTH_THREADING_REENTRANT, fixture_create,
                                        fixture_destroy, &fixture_notifier_vtable};
static const berth_provider* const providers[] = {&provider};
static const berth_plugin_descriptor descriptor = {sizeof(berth_plugin_descriptor), "newer-minor",
                                                   "1.0.0", "", 1, providers};

BERTH_EXPORT berth_status berth_plugin_entry(berth_entry_args* args) {
  args->plugin_abi_major = BERTH_ABI_MAJOR;
  args->plugin_abi_minor = BERTH_ABI_MINOR + 1;
  args->descriptor = &descriptor;
  return BERTH_OK;
}
