// The storage layout, in one place (as distribution's paths.go).
//
//   /blobs/<alg>/<first two hex>/<hex>/data    content, stored once per digest
//                                             (layers, configs and manifests)
//   /uploads/<uuid>/data                      bytes of an upload in progress
//
// Which repository may see which blob, tags, and everything else about
// manifests lives in the metadata store, not here.
#ifndef BERTH_BLOB_LAYOUT_H_
#define BERTH_BLOB_LAYOUT_H_

#include <string>
#include <string_view>

#include "common/digest.h"

namespace berth::layout {

std::string BlobDataPath(const Digest& d);
std::string UploadDir(std::string_view uuid);
std::string UploadDataPath(std::string_view uuid);
inline constexpr std::string_view kUploadsRoot = "/uploads";
inline constexpr std::string_view kBlobsRoot = "/blobs";

}  // namespace berth::layout

#endif  // BERTH_BLOB_LAYOUT_H_
