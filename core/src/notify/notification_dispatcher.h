// NotificationDispatcher: turns artifact events into deliveries to the
// configured endpoints, off the request path, with retries and exponential
// backoff. The queue is in memory: deliveries pending at shutdown are lost
// (logged), as are events beyond max_queue.
#ifndef BERTH_NOTIFY_NOTIFICATION_DISPATCHER_H_
#define BERTH_NOTIFY_NOTIFICATION_DISPATCHER_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/logger.h"
#include "config/config.h"
#include "http/metrics.h"
#include "notify/event_payload.h"
#include "notify/notifier.h"

namespace berth {

struct NotificationTarget {
  NotificationEndpointConfig endpoint;
  Notifier* notifier;  // not owned
};

class NotificationDispatcher {
 public:
  using ContextFn = std::function<PayloadContext(const ArtifactEvent&)>;
  NotificationDispatcher(std::vector<NotificationTarget> targets,
                         const NotificationsConfig& options, ContextFn context, Logger& log,
                         Metrics& metrics);
  ~NotificationDispatcher();
  void Start();
  void Stop();
  // Never blocks on delivery.
  void OnArtifactEvent(const ArtifactEvent& e);

 private:
  struct Task {
    int64_t due_ms;
    uint64_t seq;
    size_t target;
    // The event until the first attempt builds the payload (on a worker:
    // building it may read the metadata store).
    std::shared_ptr<const ArtifactEvent> event;
    Delivery delivery;
    bool operator>(const Task& o) const {
      return due_ms != o.due_ms ? due_ms > o.due_ms : seq > o.seq;
    }
  };
  void Worker();
  void Run(Task task);
  void BuildDelivery(Task& task);
  int64_t Backoff(int attempt) const;

  std::vector<NotificationTarget> targets_;
  NotificationsConfig options_;
  ContextFn context_;
  Logger& log_;
  uint32_t m_delivered_, m_failed_, m_retried_, m_dropped_;
  Metrics& metrics_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Task, std::vector<Task>, std::greater<Task>> queue_;
  uint64_t seq_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace berth

#endif  // BERTH_NOTIFY_NOTIFICATION_DISPATCHER_H_
