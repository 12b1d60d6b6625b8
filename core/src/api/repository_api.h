// Harbor's repository endpoints (/projects/{p}/repositories, /repositories),
// /search and /statistics.
#ifndef BERTH_API_REPOSITORY_API_H_
#define BERTH_API_REPOSITORY_API_H_

#include "api/api_router.h"
#include "artifact/repository_controller.h"

namespace berth {

void RegisterRepositoryApi(ApiRouter& r, RepositoryController& repos, ProjectController& projects);

}  // namespace berth

#endif  // BERTH_API_REPOSITORY_API_H_
