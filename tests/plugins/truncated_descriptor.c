/* A descriptor whose struct_size is smaller than ABI 1.0's. */
#include "fixture.h"

static const berth_plugin_descriptor descriptor = {8, "truncated", "1.0.0", "", 0, NULL};

BERTH_EXPORT berth_status berth_plugin_entry(berth_entry_args* args) {
  args->plugin_abi_major = BERTH_ABI_MAJOR;
  args->plugin_abi_minor = BERTH_ABI_MINOR;
  args->descriptor = &descriptor;
  return BERTH_OK;
}
