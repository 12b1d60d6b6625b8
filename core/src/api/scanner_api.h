// Harbor's scanner API: /api/v2.0/scanners (registrations, default, ping,
// metadata) and /api/v2.0/projects/{p}/scanner (the project's scanner and
// its candidates).
#ifndef BERTH_API_SCANNER_API_H_
#define BERTH_API_SCANNER_API_H_

#include "api/api_router.h"
#include "scan/scanner_controller.h"

namespace berth {

void RegisterScannerApi(ApiRouter& router, ScannerController& scanners, ProjectController& projects);

}  // namespace berth

#endif  // BERTH_API_SCANNER_API_H_
