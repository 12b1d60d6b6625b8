// Manifest and descriptor media types berthd understands.
#ifndef BERTH_REGISTRY_MEDIA_TYPES_H_
#define BERTH_REGISTRY_MEDIA_TYPES_H_

namespace berth::media_types {

inline constexpr char kOciManifest[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kOciIndex[] = "application/vnd.oci.image.index.v1+json";
inline constexpr char kDockerManifest[] = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr char kDockerManifestList[] =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr char kDockerSchema1[] = "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr char kDockerSchema1Signed[] =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
inline constexpr char kDockerForeignLayer[] =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
inline constexpr char kOciNondistributablePrefix[] =
    "application/vnd.oci.image.layer.nondistributable.";

}  // namespace berth::media_types

#endif  // BERTH_REGISTRY_MEDIA_TYPES_H_
