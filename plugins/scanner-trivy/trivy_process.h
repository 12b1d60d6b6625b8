// Runs one scanner CLI invocation as a child process in its own process
// group, with a hard timeout: when the time is up (or the plugin instance is
// being destroyed) the whole group gets SIGKILL, so a hung Trivy and anything
// it started are gone. The child gets a clean signal state (berthd blocks
// SIGTERM/SIGINT/SIGHUP and ignores SIGPIPE, which children would inherit).
#ifndef BERTH_PLUGINS_SCANNER_TRIVY_TRIVY_PROCESS_H_
#define BERTH_PLUGINS_SCANNER_TRIVY_TRIVY_PROCESS_H_

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "scan_common.h"

namespace berth::trivy {

using sdk::Status;

struct ProcessResult {
  int exit_code = -1;  // when it exited
  int term_signal = 0; // when a signal ended it
  bool timed_out = false;
  bool stopped = false;  // the instance was being destroyed
  std::string output;    // the last bytes of its stdout+stderr
};

// Runs argv[0] (looked up in PATH when it has no '/') with `env`, stdout and
// stderr going to `log_path`. OK whenever the process ran (check *out);
// an error when it could not be started.
Status RunProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                  std::chrono::milliseconds timeout, const std::atomic<bool>& stop,
                  const std::string& log_path, ProcessResult* out);

// "exited with status 1", "was killed by signal 11 (Segmentation fault)", ...
std::string DescribeEnd(const ProcessResult& r);

// The last `max_lines` non-empty lines of `text`, joined by " | ".
std::string LastLines(const std::string& text, size_t max_lines);

}  // namespace berth::trivy

#endif  // BERTH_PLUGINS_SCANNER_TRIVY_TRIVY_PROCESS_H_
