// Harbor's artifact endpoints under
// /projects/{p}/repositories/{r}/artifacts: list, get, delete, copy, tags,
// accessories and additions.
#ifndef BERTH_API_ARTIFACT_API_H_
#define BERTH_API_ARTIFACT_API_H_

#include "api/api_router.h"
#include "artifact/artifact_controller.h"

namespace berth {

void RegisterArtifactApi(ApiRouter& r, ArtifactController& artifacts, ProjectController& projects);

}  // namespace berth

#endif  // BERTH_API_ARTIFACT_API_H_
