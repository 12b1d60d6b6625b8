// Storage provider "faulty": storage-fs with injected failures, for the
// tests of how berthd survives a misbehaving plugin. The file <root>/fault
// selects the behaviour of reads (OpenReader, GetContent) at each call:
//   error  -> returns BERTH_E_IO with a message
//   throw  -> throws std::runtime_error (the SDK must turn it into a status)
//   slow   -> sleeps 1500 ms, past any short deadline, then succeeds
//   absent -> behaves like storage-fs
#include <chrono>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "fs_driver.h"

namespace {

using berth::sdk::Status;

class FaultyDriver : public berth::storage_fs::FsDriver {
 public:
  static Status Create(const berth::sdk::Host& host, std::string_view config,
                       std::unique_ptr<FaultyDriver>* out) {
    std::string root;
    Status s = PrepareRoot(host, config, &root);
    if (s.ok()) out->reset(new FaultyDriver(root));
    return s;
  }

  Status GetContent(const CallCtx& c, std::string_view path, Sink& out) override {
    Status s = Inject();
    return s.ok() ? FsDriver::GetContent(c, path, out) : s;
  }
  Status OpenReader(const CallCtx& c, std::string_view path, int64_t offset,
                    std::unique_ptr<berth::sdk::StorageReader>* out) override {
    Status s = Inject();
    return s.ok() ? FsDriver::OpenReader(c, path, offset, out) : s;
  }

 private:
  explicit FaultyDriver(std::string root) : FsDriver(std::move(root)) {}

  Status Inject() {
    std::ifstream f(root() + "/fault");
    std::string mode;
    f >> mode;
    if (mode == "error") return Status::IO("injected storage failure");
    if (mode == "throw") throw std::runtime_error("injected exception from the faulty plugin");
    if (mode == "slow") std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    return {};
  }
};

const berth_provider kFaulty = berth::sdk::MakeStorageProvider<FaultyDriver>(
    {"faulty", "storage-fs with injected failures (tests only)",
     berth::storage_fs::kConfigSchema, 0, BERTH_THREADING_REENTRANT});

}  // namespace

BERTH_PLUGIN("faulty-storage", "1.0.0", "Fault injection for tests", &kFaulty)
