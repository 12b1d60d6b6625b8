#include "api/icon_api.h"

#include "api/api_util.h"
#include "common/base64.h"
#include "common/digest.h"
#include "registry/artifact_icons.h"

namespace berth {

void RegisterIconApi(ApiRouter& r) {
  r.Add("GET", "/api/v2.0/icons/{digest}", "icon", [](ApiCall& call) -> Status {
    auto digest = Digest::Parse(call.Param("digest"));
    if (!digest.ok()) {
      return Status::InvalidArgument(digest.status().message(), "BAD_REQUEST");
    }
    const ArtifactIcon* icon = FindIcon(digest->ToString());
    if (icon == nullptr) {
      return Status::NotFound("the icon " + digest->ToString() + " not found", "NOT_FOUND");
    }
    return SendJsonValue(call.ctx, 200,
                         {{"content-type", icon->content_type},
                          {"content", Base64Encode(icon->content)}});
  });
}

}  // namespace berth
