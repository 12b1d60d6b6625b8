#include "store/migrations.h"

#include "common/clock.h"

namespace berth {

const std::vector<Migration>& AllMigrations() {
  static const std::vector<Migration> kMigrations = {
      {1,
       "registry core: repositories, blobs, artifacts, tags, references, uploads",
       {
           R"(CREATE TABLE repository (
                id {{ID}},
                name {{NAME}} NOT NULL UNIQUE,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL))",
           R"(CREATE TABLE blob (
                digest TEXT PRIMARY KEY,
                size BIGINT NOT NULL,
                created_at BIGINT NOT NULL))",
           R"(CREATE TABLE repository_blob (
                repository_id BIGINT NOT NULL REFERENCES repository(id) ON DELETE CASCADE,
                digest TEXT NOT NULL REFERENCES blob(digest),
                created_at BIGINT NOT NULL,
                PRIMARY KEY (repository_id, digest)))",
           R"(CREATE INDEX repository_blob_digest_idx ON repository_blob (digest))",
           R"(CREATE TABLE artifact (
                id {{ID}},
                repository_id BIGINT NOT NULL REFERENCES repository(id) ON DELETE CASCADE,
                digest TEXT NOT NULL,
                media_type TEXT NOT NULL,
                artifact_type TEXT NOT NULL DEFAULT '',
                manifest_size BIGINT NOT NULL,
                size BIGINT NOT NULL,
                subject_digest TEXT,
                annotations TEXT NOT NULL DEFAULT '',
                push_time BIGINT NOT NULL,
                pull_time BIGINT NOT NULL DEFAULT 0,
                UNIQUE (repository_id, digest)))",
           R"(CREATE INDEX artifact_subject_idx ON artifact (repository_id, subject_digest))",
           R"(CREATE TABLE artifact_blob (
                artifact_id BIGINT NOT NULL REFERENCES artifact(id) ON DELETE CASCADE,
                digest TEXT NOT NULL,
                PRIMARY KEY (artifact_id, digest)))",
           R"(CREATE INDEX artifact_blob_digest_idx ON artifact_blob (digest))",
           R"(CREATE TABLE artifact_reference (
                parent_id BIGINT NOT NULL REFERENCES artifact(id) ON DELETE CASCADE,
                child_id BIGINT NOT NULL REFERENCES artifact(id),
                child_digest TEXT NOT NULL,
                platform TEXT NOT NULL DEFAULT '',
                PRIMARY KEY (parent_id, child_digest)))",
           R"(CREATE INDEX artifact_reference_child_idx ON artifact_reference (child_id))",
           R"(CREATE TABLE tag (
                id {{ID}},
                repository_id BIGINT NOT NULL REFERENCES repository(id) ON DELETE CASCADE,
                artifact_id BIGINT NOT NULL REFERENCES artifact(id) ON DELETE CASCADE,
                name {{NAME}} NOT NULL,
                push_time BIGINT NOT NULL,
                pull_time BIGINT NOT NULL DEFAULT 0,
                UNIQUE (repository_id, name)))",
           R"(CREATE INDEX tag_artifact_idx ON tag (artifact_id))",
           R"(CREATE TABLE upload (
                uuid TEXT PRIMARY KEY,
                repository {{NAME}} NOT NULL,
                started_at BIGINT NOT NULL))",
       }},
  };
  return kMigrations;
}

std::string RenderForDialect(const char* statement, SqlDialect dialect) {
  std::string s = statement;
  auto replace = [&](const std::string& token, const std::string& with) {
    for (size_t pos = s.find(token); pos != std::string::npos; pos = s.find(token, pos)) {
      s.replace(pos, token.size(), with);
      pos += with.size();
    }
  };
  bool pg = dialect == SqlDialect::kPostgres;
  replace("{{ID}}", pg ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT");
  replace("{{NAME}}", pg ? "TEXT COLLATE \"C\"" : "TEXT");
  return s;
}

StatusOr<int> Migrate(SqlDatabase& db) {
  bool pg = db.dialect() == SqlDialect::kPostgres;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db, true, [&](SqlTransaction& tx) -> Status {
    if (pg) {
      auto r = tx.Exec("SELECT pg_advisory_xact_lock(7324001)");
      if (!r.ok()) return r.status();
    }
    auto r = tx.Exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
        "name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
    return r.status();
  }));
  int current = 0;
  for (const Migration& m : AllMigrations()) {
    Status s = RunInTransaction(db, true, [&](SqlTransaction& tx) -> Status {
      if (pg) {
        auto r = tx.Exec("SELECT pg_advisory_xact_lock(7324001)");
        if (!r.ok()) return r.status();
      }
      auto have = tx.Exec("SELECT 1 FROM schema_migrations WHERE version = $1", {SqlInt(m.version)});
      if (!have.ok()) return have.status();
      if (!have->rows.empty()) return {};
      for (const char* stmt : m.statements) {
        auto r = tx.Exec(RenderForDialect(stmt, db.dialect()));
        if (!r.ok()) {
          return Status::Internal("migration " + std::to_string(m.version) + " (" + m.name +
                                  ") failed: " + r.status().message());
        }
      }
      auto r = tx.Exec(
          "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
          {SqlInt(m.version), SqlText(m.name), SqlInt(NowUnixMillis())});
      return r.status();
    });
    if (!s.ok()) return s;
    current = m.version;
  }
  return current;
}

}  // namespace berth
