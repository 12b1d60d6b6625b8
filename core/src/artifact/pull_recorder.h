// PullRecorder: pull times and pull counts, off the request path. Pulls are
// merged in memory and written in one transaction per interval (and at
// Stop), so a busy pull load costs one write a second, not one per pull.
#ifndef BERTH_ARTIFACT_PULL_RECORDER_H_
#define BERTH_ARTIFACT_PULL_RECORDER_H_

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

#include "common/logger.h"
#include "store/artifact_store.h"

namespace berth {

class PullRecorder {
 public:
  PullRecorder(ArtifactStore& store, Logger& log, int64_t interval_ms = 1000)
      : store_(store), log_(log), interval_ms_(interval_ms) {}
  ~PullRecorder() { Stop(); }

  void Record(const std::string& repository, const std::string& digest, const std::string& tag,
              int64_t time_ms);
  // Writes what is pending now.
  Status Flush();
  void Start();
  // Flushes and stops the background writer.
  void Stop();

 private:
  using Key = std::tuple<std::string, std::string, std::string>;  // repo, digest, tag
  ArtifactStore& store_;
  Logger& log_;
  const int64_t interval_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<Key, PullRecord> pending_;
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace berth

#endif  // BERTH_ARTIFACT_PULL_RECORDER_H_
