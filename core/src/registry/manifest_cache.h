// ManifestCache: a bounded LRU of manifest bytes by digest. Content under a
// digest never changes, so entries never go stale.
#ifndef BERTH_REGISTRY_MANIFEST_CACHE_H_
#define BERTH_REGISTRY_MANIFEST_CACHE_H_

#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace berth {

class ManifestCache {
 public:
  explicit ManifestCache(size_t max_bytes) : max_bytes_(max_bytes) {}
  std::shared_ptr<const std::string> Get(const std::string& digest);
  void Put(const std::string& digest, std::shared_ptr<const std::string> body);

 private:
  using Entry = std::pair<std::string, std::shared_ptr<const std::string>>;
  size_t max_bytes_;
  size_t bytes_ = 0;
  std::mutex mu_;
  std::list<Entry> lru_;  // front = most recent
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace berth

#endif  // BERTH_REGISTRY_MANIFEST_CACHE_H_
