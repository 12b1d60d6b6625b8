// storage-s3: objects in an S3-compatible bucket (SigV4 over libcurl).
#include "s3_driver.h"

namespace {

// REDIRECT_URL: redirect_url answers only when the instance's config has
// "redirect": true (BERTH_E_UNSUPPORTED otherwise); berthd then sends blob
// GETs to presigned URLs.
const berth_provider kS3Provider =
    berth::sdk::MakeStorageProvider<berth::storage_s3::S3Driver>(
        {"s3", "Objects in an S3-compatible bucket: multipart uploads, resumable writers, presigned redirects",
         berth::storage_s3::kConfigSchema, BERTH_STORAGE_CAP_REDIRECT_URL,
         BERTH_THREADING_REENTRANT});

}  // namespace

BERTH_PLUGIN("storage-s3", "1.0.0", "S3-compatible storage driver", &kS3Provider)
