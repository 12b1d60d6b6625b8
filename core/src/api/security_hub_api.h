// Harbor 2.10's security hub: GET /api/v2.0/security/summary and
// GET /api/v2.0/security/vul, read from the findings rows (indexed
// columns, not the JSON reports). System administrators (security-hub).
#ifndef BERTH_API_SECURITY_HUB_API_H_
#define BERTH_API_SECURITY_HUB_API_H_

#include "api/api_router.h"
#include "auth/access_evaluator.h"
#include "store/scan_report_store.h"

namespace berth {

void RegisterSecurityHubApi(ApiRouter& router, ScanReportStore& reports, AccessEvaluator& evaluator);

}  // namespace berth

#endif  // BERTH_API_SECURITY_HUB_API_H_
