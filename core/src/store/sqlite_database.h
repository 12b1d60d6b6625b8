// SqliteDatabase: the embedded default metadata backend (WAL, pooled).
#ifndef BERTH_STORE_SQLITE_DATABASE_H_
#define BERTH_STORE_SQLITE_DATABASE_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/sql.h"

namespace berth {

class SqliteDatabase : public SqlDatabase {
 public:
  // Opens (creating if needed) the database file with `pool_size` connections.
  static StatusOr<std::unique_ptr<SqliteDatabase>> Open(const std::string& path, int pool_size);
  ~SqliteDatabase() override;

  SqlDialect dialect() const override { return SqlDialect::kSqlite; }
  StatusOr<std::unique_ptr<SqlTransaction>> Begin(bool write) override;

  struct Connection;

 private:
  friend class SqliteTransaction;
  SqliteDatabase() = default;
  std::unique_ptr<Connection> Acquire();
  void Release(std::unique_ptr<Connection> c);

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> free_;
  // SQLite admits one writer at a time. Writers of this process queue here
  // instead of in SQLite's busy handler, which polls with sleeps of up to
  // 100 ms and so leaves the lock idle while they sleep.
  std::mutex write_mu_;
};

}  // namespace berth

#endif  // BERTH_STORE_SQLITE_DATABASE_H_
