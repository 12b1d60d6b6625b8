// GET /api/v2.0/icons/{digest}: the built-in artifact-type icons, as
// Harbor's Icon {"content-type", "content" (base64)}. Anyone may read them,
// as in Harbor; a malformed digest is 400, an unknown one 404.
#ifndef BERTH_API_ICON_API_H_
#define BERTH_API_ICON_API_H_

#include "api/api_router.h"

namespace berth {

void RegisterIconApi(ApiRouter& router);

}  // namespace berth

#endif  // BERTH_API_ICON_API_H_
