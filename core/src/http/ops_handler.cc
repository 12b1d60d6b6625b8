#include "http/ops_handler.h"

#include "common/strings.h"
#include "http/response.h"

namespace berth {

bool OpsHandler::HealthJson(std::string* out) const {
  bool healthy = true;
  std::string comps;
  for (const auto& c : checks_) {
    Status s = c.check();
    healthy = healthy && s.ok();
    if (!comps.empty()) comps += ',';
    comps += "{\"name\":" + JsonQuote(c.name) + ",\"status\":\"" +
             (s.ok() ? "healthy\"" : "unhealthy\",\"error\":" + JsonQuote(s.message())) + "}";
  }
  *out = std::string("{\"status\":\"") + (healthy ? "healthy" : "unhealthy") +
         "\",\"components\":[" + comps + "]}";
  return healthy;
}

void OpsHandler::Handle(RequestContext& ctx) {
  if (ctx.method != "GET" && ctx.method != "HEAD") {
    return SendApiError(ctx, Status(Code::kMethodNotAllowed, "only GET is supported"));
  }
  if (ctx.path == "/metrics") {
    ctx.route = "metrics";
    std::string text = metrics_.RenderPrometheus();
    for (const auto& fn : texts_) fn(&text);
    return SendBody(ctx, 200, "text/plain; version=0.0.4; charset=utf-8", text);
  }
  ctx.route = "health";
  std::string body;
  bool ok = HealthJson(&body);
  SendJson(ctx, ok ? 200 : 503, body);
}

}  // namespace berth
