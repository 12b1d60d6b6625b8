/* Provides notifier "dup"; built twice (DUP_VARIANT 1 and 2) so two files
 * offer the same provider name. */
#include "fixture.h"

#define STR2(x) #x
#define STR(x) STR2(x)

static const berth_provider provider = {sizeof(berth_provider), BERTH_KIND_NOTIFIER, "dup", "",
                                        "", 0, BERTH_THREADING_REENTRANT, fixture_create,
                                        fixture_destroy, &fixture_notifier_vtable};
static const berth_provider* const providers[] = {&provider};
static const berth_plugin_descriptor descriptor = {
    sizeof(berth_plugin_descriptor), "dup-" STR(DUP_VARIANT), "1.0.0", "", 1, providers};

FIXTURE_ENTRY(descriptor)
