// Harbor's scan endpoints: POST .../artifacts/{ref}/scan, .../scan/stop,
// GET .../scan/{report_id}/log, the scan-all schedule
// (/system/scanAll/schedule), POST /system/scanAll/stop, and the scan-all
// metrics (/scans/all/metrics, /scans/schedule/metrics).
#ifndef BERTH_API_SCAN_API_H_
#define BERTH_API_SCAN_API_H_

#include "api/api_router.h"
#include "artifact/artifact_controller.h"
#include "auth/access_evaluator.h"
#include "jobs/job_service.h"
#include "scan/scan_controller.h"

namespace berth {

void RegisterScanApi(ApiRouter& router, ScanController& scans, ArtifactController& artifacts,
                     ProjectController& projects, JobService& jobs, AccessEvaluator& evaluator);

}  // namespace berth

#endif  // BERTH_API_SCAN_API_H_
