/* A storage provider whose vtable lacks the required stat operation. */
#include "fixture.h"

/* Every slot NULL (the designated initializer zeroes the rest): only the
 * size is set. */
static const berth_storage_vtable vtable = {.struct_size = sizeof(berth_storage_vtable)};

static const berth_provider provider = {sizeof(berth_provider), BERTH_KIND_STORAGE, "holes", "",
                                        "", 0, BERTH_THREADING_REENTRANT, fixture_create,
                                        fixture_destroy, &vtable};
static const berth_provider* const providers[] = {&provider};
static const berth_plugin_descriptor descriptor = {sizeof(berth_plugin_descriptor), "holes",
                                                   "1.0.0", "", 1, providers};

FIXTURE_ENTRY(descriptor)
