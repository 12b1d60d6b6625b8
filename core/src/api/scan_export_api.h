// Harbor's "scan data export" operations (the CVE export):
//   POST /api/v2.0/export/cve                          exportScanData
//   GET  /api/v2.0/export/cve/executions               getScanDataExportExecutionList
//   GET  /api/v2.0/export/cve/execution/{execution_id} getScanDataExportExecution
//   GET  /api/v2.0/export/cve/download/{execution_id}  downloadScanData
#ifndef BERTH_API_SCAN_EXPORT_API_H_
#define BERTH_API_SCAN_EXPORT_API_H_

#include "api/api_router.h"
#include "scan/scan_data_export.h"

namespace berth {

void RegisterScanExportApi(ApiRouter& router, ScanDataExportController& exports);

}  // namespace berth

#endif  // BERTH_API_SCAN_EXPORT_API_H_
