// The plugin header and the SDK must compile as C++ without warnings.
#include <berth/plugin.h>
#include <berth/plugin_sdk.hpp>

int BerthAbiHeaderIsCxx() {
  berth_provider p{};
  p.struct_size = sizeof p;
  return p.struct_size > 0 ? BERTH_ABI_MINOR + 1 : 0;
}
