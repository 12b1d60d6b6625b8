// storage-fs: Berth's default storage driver, on a local POSIX filesystem.
#include "fs_driver.h"

namespace {

const berth_provider kFsProvider =
    berth::sdk::MakeStorageProvider<berth::storage_fs::FsDriver>(
        {"fs", "Objects as files under a local directory, fsynced and renamed into place",
         berth::storage_fs::kConfigSchema, BERTH_STORAGE_CAP_OPEN_FD, BERTH_THREADING_REENTRANT});

}  // namespace

BERTH_PLUGIN("storage-fs", "1.0.0", "Local filesystem storage driver", &kFsProvider)
