/* A plugin built for ABI 2.x: it refuses a 1.x host. */
#include "fixture.h"

BERTH_EXPORT berth_status berth_plugin_entry(berth_entry_args* args) {
  args->plugin_abi_major = 2;
  args->plugin_abi_minor = 0;
  return args->host_abi_major == 2 ? BERTH_OK : BERTH_E_ABI_MISMATCH;
}
