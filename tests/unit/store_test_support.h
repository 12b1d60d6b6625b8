// Shared plumbing of the store suites: every TEST_P runs against SQLite (a
// temp file, support/sqlite_fixture.h) and PostgreSQL (the ctest "pg"
// fixture; a fresh database per test), with the schema migrated. The
// fixture also holds a ProjectStore, since nearly every suite needs projects.
#ifndef BERTH_TESTS_UNIT_STORE_TEST_SUPPORT_H_
#define BERTH_TESTS_UNIT_STORE_TEST_SUPPORT_H_

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>
#include <string>

#include "common/strings.h"
#include "store/migrations.h"
#include "store/pg_database.h"
#include "store/project_store.h"
#include "store/sql.h"
#include "store/sqlite_database.h"
#include "support/sqlite_fixture.h"
#include "support/status_testing.h"

namespace berth {
namespace store_test {

enum class Backend { kSqlite, kPostgres };

inline std::string BackendName(Backend b) { return b == Backend::kSqlite ? "Sqlite" : "Postgres"; }
inline void PrintTo(Backend b, std::ostream* os) { *os << BackendName(b); }

// ---- PostgreSQL plumbing -----------------------------------------------------

// The fixture's DSN: BERTH_TEST_PG_DSN, else the file pg_server_start wrote.
inline std::string AdminDsn() {
  if (const char* e = std::getenv("BERTH_TEST_PG_DSN"); e != nullptr && *e != '\0') return e;
  std::ifstream in(BERTH_PG_DSN_FILE);
  std::string dsn;
  std::getline(in, dsn);
  return std::string(Trim(dsn));
}

// The same server, another database.
inline std::string WithDatabase(const std::string& dsn, const std::string& db) {
  size_t scheme = dsn.find("://");
  if (scheme == std::string::npos) return dsn + " dbname=" + db;  // key=value form
  size_t q = dsn.find('?', scheme + 3);
  std::string params = q == std::string::npos ? "" : dsn.substr(q);
  std::string head = dsn.substr(0, q == std::string::npos ? dsn.size() : q);
  size_t slash = head.find('/', scheme + 3);
  if (slash != std::string::npos) head.resize(slash);
  return head + "/" + db + params;
}

// Runs one statement outside a transaction (CREATE/DROP DATABASE need that).
inline Status PgExec(const std::string& dsn, const std::string& sql) {
  PGconn* c = PQconnectdb(dsn.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    Status s = Status::IOError("cannot connect to " + dsn + ": " + PQerrorMessage(c));
    PQfinish(c);
    return s;
  }
  PGresult* r = PQexec(c, sql.c_str());
  Status s;
  if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
    s = Status::Internal(sql + ": " + PQresultErrorMessage(r));
  }
  PQclear(r);
  PQfinish(c);
  return s;
}

// Runs a query returning one integer; -1 on error.
inline int64_t PgQueryInt(const std::string& dsn, const std::string& sql) {
  PGconn* c = PQconnectdb(dsn.c_str());
  int64_t out = -1;
  if (PQstatus(c) == CONNECTION_OK) {
    PGresult* r = PQexec(c, sql.c_str());
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
      out = ParseInt64(PQgetvalue(r, 0, 0)).value_or(-1);
    }
    PQclear(r);
  }
  PQfinish(c);
  return out;
}

// ---- The parameterised fixture -------------------------------------------------

// Opens a fresh database of the backend under test (pool of 8) and migrates it.
class StoreTestBase : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kSqlite) {
      ASSERT_TRUE(dir_.ok());
      auto db = testing_support::OpenMigratedSqlite(dir_.path(), 8, &version_);
      ASSERT_TRUE(db.ok()) << db.status().ToString();
      db_ = std::move(*db);
    } else {
      admin_dsn_ = AdminDsn();
      ASSERT_FALSE(admin_dsn_.empty())
          << "no PostgreSQL DSN: run through ctest (fixture pg_server_start writes "
          << BERTH_PG_DSN_FILE << ") or set BERTH_TEST_PG_DSN";
      static std::atomic<int> counter{0};
      pg_db_name_ = "berth_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
      // An ICU "en" default collation sorts "a" before "B" and ignores
      // punctuation, so ordering tests prove the schema's COLLATE "C".
      Status created = PgExec(admin_dsn_, "CREATE DATABASE " + pg_db_name_ +
                                              " TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER "
                                              "icu ICU_LOCALE 'en' LOCALE 'C.UTF-8'");
      if (!created.ok()) {
        std::fprintf(stderr, "note: no ICU database (%s); using the server default\n",
                     created.message().c_str());
        created = PgExec(admin_dsn_, "CREATE DATABASE " + pg_db_name_);
      }
      ASSERT_TRUE(created.ok()) << created.ToString();
      auto db = PgDatabase::Open(WithDatabase(admin_dsn_, pg_db_name_), 8);
      ASSERT_TRUE(db.ok()) << db.status().ToString();
      db_ = std::move(*db);
      auto v = Migrate(*db_);
      ASSERT_TRUE(v.ok()) << v.status().ToString();
      version_ = *v;
    }
    projects_ = std::make_unique<ProjectStore>(*db_);
  }

  void TearDown() override {
    projects_.reset();
    db_.reset();
    if (!pg_db_name_.empty()) {
      Status s = PgExec(admin_dsn_, "DROP DATABASE IF EXISTS " + pg_db_name_ + " WITH (FORCE)");
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
  }

  // A private project without an owner; its id (0 after a recorded failure).
  int64_t Project(const std::string& name, int64_t storage_limit = -1) {
    auto p = projects_->Create(name, 0, {{"public", "false"}}, 0, storage_limit);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? p->project_id : 0;
  }

  // One integer from a query on the database under test; -1 on error.
  int64_t QueryInt(const std::string& sql, const std::vector<SqlValue>& params = {}) {
    int64_t out = -1;
    Status s = RunInTransaction(*db_, false, [&](SqlTransaction& tx) -> Status {
      auto r = tx.Exec(sql, params);
      if (!r.ok()) return r.status();
      if (r->rows.size() != 1) return Status::Internal("expected one row from " + sql);
      out = r->rows[0].Int(0);
      return {};
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  // Runs one statement in a write transaction.
  Status ExecSql(const std::string& sql, const std::vector<SqlValue>& params = {}) {
    return RunInTransaction(*db_, true, [&](SqlTransaction& tx) -> Status {
      return tx.Exec(sql, params).status();
    });
  }

  testing_support::TempDir dir_;
  std::string admin_dsn_;
  std::string pg_db_name_;
  std::unique_ptr<SqlDatabase> db_;
  std::unique_ptr<ProjectStore> projects_;
  int version_ = 0;
};

}  // namespace store_test
}  // namespace berth

#endif  // BERTH_TESTS_UNIT_STORE_TEST_SUPPORT_H_
