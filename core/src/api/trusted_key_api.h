// /api/v2.0/projects/{project_name_or_id}/trusted-keys: Berth's own API (in
// Harbor's style) for the public keys a project trusts for cosign
// signatures (docs/signing.md): list, add, get, delete.
#ifndef BERTH_API_TRUSTED_KEY_API_H_
#define BERTH_API_TRUSTED_KEY_API_H_

#include "api/api_router.h"
#include "iam/project_controller.h"
#include "signing/trusted_key_controller.h"

namespace berth {

void RegisterTrustedKeyApi(ApiRouter& router, TrustedKeyController& keys,
                           ProjectController& projects);

}  // namespace berth

#endif  // BERTH_API_TRUSTED_KEY_API_H_
