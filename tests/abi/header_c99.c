/* The plugin header must compile as strict C99 without a single warning. */
#include <berth/plugin.h>

int berth_abi_header_is_c99(void);
int berth_abi_header_is_c99(void) {
  berth_entry_args args;
  args.struct_size = (uint32_t)sizeof args;
  return BERTH_HAS_FIELD(&args, berth_entry_args, descriptor) ? BERTH_ABI_MAJOR : 0;
}
