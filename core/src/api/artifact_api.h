// Harbor's artifact endpoints under
// /projects/{p}/repositories/{r}/artifacts: list, get, delete, copy, tags,
// accessories and additions.
#ifndef BERTH_API_ARTIFACT_API_H_
#define BERTH_API_ARTIFACT_API_H_

#include "api/api_router.h"
#include "artifact/artifact_controller.h"

namespace berth {

class ScanController;

// `scans` (may be null) fills with_scan_overview, with_sbom_overview and the
// vulnerabilities addition.
void RegisterArtifactApi(ApiRouter& r, ArtifactController& artifacts, ProjectController& projects,
                         ScanController* scans = nullptr);

}  // namespace berth

#endif  // BERTH_API_ARTIFACT_API_H_
