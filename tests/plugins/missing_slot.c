/* A storage provider whose vtable lacks the required stat operation. */
#include "fixture.h"

static const berth_storage_vtable vtable = {sizeof(berth_storage_vtable)}; /* all NULL */

static const berth_provider provider = {sizeof(berth_provider), BERTH_KIND_STORAGE, "holes", "",
                                        "", 0, BERTH_THREADING_REENTRANT, fixture_create,
                                        fixture_destroy, &vtable};
static const berth_provider* const providers[] = {&provider};
static const berth_plugin_descriptor descriptor = {sizeof(berth_plugin_descriptor), "holes",
                                                   "1.0.0", "", 1, providers};

BERTH_EXPORT berth_status berth_plugin_entry(berth_entry_args* args) {
  args->plugin_abi_major = BERTH_ABI_MAJOR;
  args->plugin_abi_minor = BERTH_ABI_MINOR;
  if (args->host_abi_major != BERTH_ABI_MAJOR) return BERTH_E_ABI_MISMATCH;
  args->descriptor = &descriptor;
  return BERTH_OK;
}
