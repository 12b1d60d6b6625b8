// A migrated SQLite database in a private temp directory (on /dev/shm when
// there is one, so commits cost no disk flush), removed again with the
// fixture. The in-process controller tests use it alone; the store suites
// use it for their SQLite side (store_test_support.h).
#ifndef BERTH_TESTS_UNIT_SUPPORT_SQLITE_FIXTURE_H_
#define BERTH_TESTS_UNIT_SUPPORT_SQLITE_FIXTURE_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "common/status.h"
#include "store/migrations.h"
#include "store/sqlite_database.h"

namespace berth::testing_support {

// A private directory, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::error_code ec;
    std::filesystem::path base = std::filesystem::is_directory("/dev/shm", ec)
                                     ? std::filesystem::path("/dev/shm")
                                     : std::filesystem::temp_directory_path();
    std::string tmpl = (base / "berth-test-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Opens <dir>/berth.db with `pool_size` connections and migrates it; the
// schema version lands in *version when given. (A file rather than
// ":memory:": each pooled connection would otherwise see its own database.)
inline StatusOr<std::unique_ptr<SqlDatabase>> OpenMigratedSqlite(const std::string& dir,
                                                                 int pool_size = 4,
                                                                 int* version = nullptr) {
  auto db = SqliteDatabase::Open(dir + "/berth.db", pool_size);
  if (!db.ok()) return db.status();
  auto v = Migrate(**db);
  if (!v.ok()) return v.status();
  if (version != nullptr) *version = *v;
  return std::unique_ptr<SqlDatabase>(std::move(*db));
}

// A test with a migrated SQLite database (db_) of its own.
class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    auto db = OpenMigratedSqlite(dir_.path());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
  }

  TempDir dir_;
  std::unique_ptr<SqlDatabase> db_;
};

}  // namespace berth::testing_support

#endif  // BERTH_TESTS_UNIT_SUPPORT_SQLITE_FIXTURE_H_
