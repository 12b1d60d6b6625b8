#include "store/sqlite_database.h"

#include <sqlite3.h>

#include <unordered_map>

namespace berth {

namespace {

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string msg = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return {Code::kUnavailable, msg};
  if (primary == SQLITE_CONSTRAINT) return Status::Conflict(msg);
  return Status::Internal(msg);
}

// "$12" -> "?12": SQLite understands numbered parameters as ?NNN.
std::string RewritePlaceholders(std::string_view sql) {
  std::string out(sql);
  for (size_t i = 0; i + 1 < out.size(); ++i) {
    if (out[i] == '$' && out[i + 1] >= '0' && out[i + 1] <= '9') out[i] = '?';
  }
  return out;
}

}  // namespace

struct SqliteDatabase::Connection {
  sqlite3* db = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> stmts;

  ~Connection() {
    for (auto& [_, s] : stmts) sqlite3_finalize(s);
    if (db) sqlite3_close_v2(db);
  }

  StatusOr<sqlite3_stmt*> Prepare(std::string_view sql) {
    std::string key(sql);
    auto it = stmts.find(key);
    if (it != stmts.end()) return it->second;
    std::string rewritten = RewritePlaceholders(sql);
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v3(db, rewritten.c_str(), static_cast<int>(rewritten.size()),
                                SQLITE_PREPARE_PERSISTENT, &st, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db, rc, "prepare");
    stmts.emplace(std::move(key), st);
    return st;
  }

  Status ExecSimple(const char* sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string m = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      return SqliteError(nullptr, rc, std::string(sql) + ": " + m);
    }
    return {};
  }
};

class SqliteTransaction : public SqlTransaction {
 public:
  SqliteTransaction(SqliteDatabase* owner, std::unique_ptr<SqliteDatabase::Connection> c,
                    std::unique_lock<std::mutex> write_lock)
      : owner_(owner), c_(std::move(c)), write_lock_(std::move(write_lock)) {}
  ~SqliteTransaction() override {
    if (!done_) {
      // A failed ROLLBACK leaves nothing behind: SQLite rolls back when the
      // connection ends the transaction any other way, and there is no caller left.
      IgnoreError(c_->ExecSimple("ROLLBACK"), "destructor: no caller to report to");
    }
    if (write_lock_.owns_lock()) write_lock_.unlock();
    owner_->Release(std::move(c_));
  }

  StatusOr<SqlResult> Exec(std::string_view sql, const std::vector<SqlValue>& params) override {
    BERTH_ASSIGN_OR_RETURN(sqlite3_stmt * st, c_->Prepare(sql));
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    for (size_t i = 0; i < params.size(); ++i) {
      int idx = static_cast<int>(i + 1);
      const SqlValue& v = params[i];
      int rc;
      if (auto* n = std::get_if<int64_t>(&v)) {
        rc = sqlite3_bind_int64(st, idx, *n);
      } else if (auto* s = std::get_if<std::string>(&v)) {
        rc = sqlite3_bind_text(st, idx, s->data(), static_cast<int>(s->size()), SQLITE_TRANSIENT);
      } else {
        rc = sqlite3_bind_null(st, idx);
      }
      if (rc != SQLITE_OK) return SqliteError(c_->db, rc, "bind");
    }
    SqlResult result;
    int cols = sqlite3_column_count(st);
    for (;;) {
      int rc = sqlite3_step(st);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        Status s = SqliteError(c_->db, rc, "step");
        sqlite3_reset(st);
        return s;
      }
      std::vector<SqlValue> row;
      row.reserve(static_cast<size_t>(cols));
      for (int i = 0; i < cols; ++i) {
        switch (sqlite3_column_type(st, i)) {
          case SQLITE_NULL: row.emplace_back(std::monostate{}); break;
          case SQLITE_INTEGER: row.emplace_back(static_cast<int64_t>(sqlite3_column_int64(st, i))); break;
          default: {
            const unsigned char* t = sqlite3_column_text(st, i);
            int n = sqlite3_column_bytes(st, i);
            row.emplace_back(std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(n)));
          }
        }
      }
      result.rows.emplace_back(std::move(row));
    }
    result.affected = sqlite3_changes(c_->db);
    sqlite3_reset(st);
    return result;
  }

  Status Commit() override {
    Status s = c_->ExecSimple("COMMIT");
    if (s.ok()) done_ = true;
    return s;
  }

 private:
  SqliteDatabase* owner_;
  std::unique_ptr<SqliteDatabase::Connection> c_;
  std::unique_lock<std::mutex> write_lock_;
  bool done_ = false;
};

StatusOr<std::unique_ptr<SqliteDatabase>> SqliteDatabase::Open(const std::string& path,
                                                               int pool_size) {
  std::unique_ptr<SqliteDatabase> db(new SqliteDatabase());
  for (int i = 0; i < std::max(1, pool_size); ++i) {
    auto c = std::make_unique<Connection>();
    int rc = sqlite3_open_v2(path.c_str(), &c->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             nullptr);
    if (rc != SQLITE_OK) {
      return Status::InvalidArgument("cannot open SQLite database " + path + ": " +
                                     (c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc)));
    }
    sqlite3_busy_timeout(c->db, 10000);
    // WAL lets readers run beside the single writer; FULL makes each commit
    // durable before we acknowledge a push.
    for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                               "PRAGMA foreign_keys=ON", "PRAGMA temp_store=MEMORY"}) {
      Status s = c->ExecSimple(pragma);
      if (!s.ok()) return Status::InvalidArgument("SQLite " + path + ": " + s.message());
    }
    db->free_.push_back(std::move(c));
  }
  return db;
}

SqliteDatabase::~SqliteDatabase() = default;

std::unique_ptr<SqliteDatabase::Connection> SqliteDatabase::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !free_.empty(); });
  auto c = std::move(free_.back());
  free_.pop_back();
  return c;
}

void SqliteDatabase::Release(std::unique_ptr<Connection> c) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(std::move(c));
  }
  cv_.notify_one();
}

StatusOr<std::unique_ptr<SqlTransaction>> SqliteDatabase::Begin(bool write) {
  // Connection first, then the write lock: the lock's holder already has its
  // connection, so waiting for one can never block it.
  auto c = Acquire();
  std::unique_lock<std::mutex> write_lock;
  if (write) write_lock = std::unique_lock<std::mutex>(write_mu_);
  Status s = c->ExecSimple(write ? "BEGIN IMMEDIATE" : "BEGIN");
  if (!s.ok()) {
    if (write_lock.owns_lock()) write_lock.unlock();
    Release(std::move(c));
    return s;
  }
  return std::unique_ptr<SqlTransaction>(
      new SqliteTransaction(this, std::move(c), std::move(write_lock)));
}

}  // namespace berth
