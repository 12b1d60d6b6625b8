// TaskLog: the log of one task of an execution (a retention repository, a
// replicated artifact, a preheated image), in the shape of Harbor's job
// logs: "<UTC time> [LEVEL] message" lines, stored with the task.
#ifndef BERTH_JOBS_TASK_LOG_H_
#define BERTH_JOBS_TASK_LOG_H_

#include <string>

namespace berth {

class TaskLog {
 public:
  void Info(const std::string& m) { Add("INFO", m); }
  void Error(const std::string& m) { Add("ERROR", m); }
  const std::string& text() const { return text_; }

 private:
  void Add(const char* level, const std::string& m);
  std::string text_;
};

}  // namespace berth

#endif  // BERTH_JOBS_TASK_LOG_H_
