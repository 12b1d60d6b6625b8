#include "api/configuration_api.h"

#include "api/api_util.h"

namespace berth {

void RegisterConfigurationApi(ApiRouter& r, ConfigController& configs) {
  r.Add("GET", "/api/v2.0/configurations", "configurations", [&configs](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(nlohmann::json body, configs.Get(call.ctx.identity));
    return SendJsonValue(call.ctx, 200, body);
  });
  r.Add("GET", "/api/v2.0/internalconfig", "internalconfig", [&configs](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(nlohmann::json body, configs.Internal(call.ctx.identity));
    return SendJsonValue(call.ctx, 200, body);
  });
  r.Add("PUT", "/api/v2.0/configurations", "configurations", [&configs](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(nlohmann::json body, ReadJsonObject(call.ctx));
    BERTH_RETURN_IF_ERROR(configs.Update(call.ctx.identity, body));
    return SendOk(call.ctx);
  });
}

}  // namespace berth
