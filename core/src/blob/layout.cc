#include "blob/layout.h"

namespace berth::layout {

std::string BlobDataPath(const Digest& d) {
  return std::string(kBlobsRoot) + "/" + std::string(d.AlgorithmName()) + "/" + d.hex.substr(0, 2) +
         "/" + d.hex + "/data";
}

std::string UploadDir(std::string_view uuid) {
  return std::string(kUploadsRoot) + "/" + std::string(uuid);
}

std::string UploadDataPath(std::string_view uuid) { return UploadDir(uuid) + "/data"; }

}  // namespace berth::layout
