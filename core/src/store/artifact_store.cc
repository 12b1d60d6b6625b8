#include "store/artifact_store.h"

#include <algorithm>

#include "common/clock.h"
#include "common/strings.h"
#include "store/artifact_columns.h"
#include "store/row_query.h"

namespace berth {

namespace {

constexpr char kRepositorySelect[] =
    "r.id, r.project_id, r.name, r.description, r.artifact_count, "
    "r.pull_count, r.created_at, r.updated_at";

RepositoryInfo ReadRepository(const SqlRow& row) {
  return {row.Int(0), row.Int(1), row.Text(2), row.Text(3),
          row.Int(4), row.Int(5), row.Int(6), row.Int(7)};
}

constexpr char kTagSelect[] =
    "t.id, t.repository_id, t.artifact_id, t.name, t.push_time, t.pull_time";

TagRecord ReadTag(const SqlRow& row) {
  return {row.Int(0), row.Int(1), row.Int(2), row.Text(3), row.Int(4), row.Int(5)};
}

Status Bad(std::string msg) { return Status::InvalidArgument(std::move(msg), "BAD_REQUEST"); }

std::vector<SqlValue> IdValues(const std::vector<int64_t>& ids) {
  std::vector<SqlValue> out;
  for (int64_t id : ids) out.push_back(SqlInt(id));
  return out;
}

// The artifact-list terms a column cannot express: tags and labels live in
// their own tables. Consumed terms are removed from `q`. `tag_repositories`
// selects the repositories whose tags count ("= $1" for one repository's
// list, "IN (the project's repositories)" across a project): a tag filter
// selects from those tags (a.id IN ..., not correlated with a), so the tagged
// few drive the query instead of every artifact probing the tag table
// (SQLite runs EXISTS, and a correlated IN, once per row).
StatusOr<std::string> RelationFilters(ListQuery* q, std::vector<SqlValue>* params,
                                      const std::string& tag_repositories) {
  std::string where;
  std::vector<QueryTerm> rest;
  for (auto& t : q->terms) {
    if (t.key == "tags") {
      const std::string tagged_in =
          "a.id IN (SELECT t.artifact_id FROM tag t WHERE t.repository_id " + tag_repositories;
      switch (t.op) {
        case QueryTerm::Op::kExact:
          if (t.values[0] == "nil") {
            where += " AND NOT EXISTS (SELECT 1 FROM tag t WHERE t.artifact_id = a.id)";
          } else if (t.values[0] == "*") {
            where += " AND " + tagged_in + ")";
          } else {
            params->push_back(SqlText(t.values[0]));
            where += " AND " + tagged_in + " AND t.name = $" + std::to_string(params->size()) + ")";
          }
          break;
        case QueryTerm::Op::kFuzzy:
          params->push_back(SqlText(LikePattern(ToLower(t.values[0]))));
          where += " AND " + tagged_in + " AND LOWER(t.name) LIKE $" +
                   std::to_string(params->size()) + " ESCAPE '\\')";
          break;
        case QueryTerm::Op::kAnyOf: {
          std::vector<SqlValue> names;
          for (const auto& v : t.values) names.push_back(SqlText(v));
          where += " AND " + tagged_in + " AND t.name IN (" + BindList(names, params) + "))";
          break;
        }
        default:
          return Bad("tags supports exact (nil, *, a name), fuzzy and {a b} matches");
      }
    } else if (t.key == "labels") {
      std::vector<SqlValue> ids;
      for (const auto& v : t.values) {
        auto id = ParseInt64(v);
        if (!id) return Bad("labels takes label ids, not '" + v + "'");
        ids.push_back(SqlInt(*id));
      }
      const std::string label_exists =
          "EXISTS (SELECT 1 FROM artifact_label al WHERE al.artifact_id = a.id AND al.label_id";
      if (t.op == QueryTerm::Op::kExact || t.op == QueryTerm::Op::kAllOf) {
        for (const auto& id : ids) {
          params->push_back(id);
          where += " AND " + label_exists + " = $" + std::to_string(params->size()) + ")";
        }
      } else if (t.op == QueryTerm::Op::kAnyOf) {
        where += " AND " + label_exists + " IN (" + BindList(ids, params) + "))";
      } else {
        return Bad("labels supports labels=id, labels=(a b) and labels={a b}");
      }
    } else {
      rest.push_back(std::move(t));
    }
  }
  q->terms = std::move(rest);
  return where;
}

// Artifacts by id, in the order of `ids`.
Status LoadArtifacts(SqlTransaction& tx, const std::vector<int64_t>& ids,
                     std::vector<ArtifactRecord>* out) {
  if (ids.empty()) return {};
  std::vector<SqlValue> params;
  std::string in = BindList(IdValues(ids), &params);
  auto r =
      tx.Exec(SelectSql(kArtifactColumns, "FROM artifact a WHERE a.id IN (") + in + ")", params);
  if (!r.ok()) return r.status();
  std::map<int64_t, ArtifactRecord> by_id;
  for (const auto& row : r->rows) {
    ArtifactRecord a = ReadArtifact(row);
    by_id.emplace(a.id, std::move(a));
  }
  for (int64_t id : ids) {
    if (auto it = by_id.find(id); it != by_id.end()) out->push_back(std::move(it->second));
  }
  return {};
}

// " ORDER BY x ASC, y DESC" with every direction swapped.
std::string ReversedOrder(const std::string& order_by) {
  std::string out;
  for (const auto& part : Split(order_by, ',')) {
    std::string item(Trim(part));
    if (item.ends_with(" DESC")) {
      item.replace(item.size() - 4, 4, "ASC");
    } else if (item.ends_with(" ASC")) {
      item.replace(item.size() - 3, 3, "DESC");
    }
    out += (out.empty() ? " " : ", ") + item;
  }
  return out;
}

// Harbor's media_type of an artifact (what the API shows): the config's
// type or the artifactType (artifact_type), else the manifest's own.
std::string MediaTypeSql(const char* alias) {
  std::string a(alias);
  return "CASE WHEN " + a + ".artifact_type = '' THEN " + a + ".media_type ELSE " + a +
         ".artifact_type END";
}

// What an artifact list covers: `where` over `artifact a` with its `params`.
struct ArtifactScope {
  std::string where;
  std::vector<SqlValue> params;
  std::string tag_repositories = "= $1";  // see RelationFilters
  int64_t count_repository = 0;       // see PageOfArtifacts
  // When set, only the newest artifact of each of these repositories (an
  // SQL list of repository ids) among those the type filters (media_type,
  // artifact_type) select.
  std::string latest_in_repositories = "";
};

// " AND a.id IN (the newest top-level artifact passing the media_type /
// artifact_type terms of each of `repositories`)": one backward walk of the
// listing index per repository, stopping at the first match, rather than a
// check per artifact.
StatusOr<std::string> NewestInRepositories(const ListQuery& q, const std::string& repositories,
                                           std::vector<SqlValue>* params) {
  static const std::map<std::string, QueryColumn> kTypeColumns = {
      {"media_type", {MediaTypeSql("b")}}, {"artifact_type", {"b.artifact_type"}}};
  ListQuery types;
  for (const auto& t : q.terms) {
    if (kTypeColumns.count(t.key) != 0) types.terms.push_back(t);
  }
  BERTH_ASSIGN_OR_RETURN(SqlFilter f, BuildSqlFilter(types, kTypeColumns, "b.id",
                                                     static_cast<int>(params->size()) + 1));
  params->insert(params->end(), f.params.begin(), f.params.end());
  return " AND a.id IN (SELECT (SELECT b.id FROM artifact b WHERE b.repository_id = r.id"
         " AND b.top_level = 1" + f.where +
         " ORDER BY b.push_time DESC, b.id DESC LIMIT 1) FROM repository r WHERE r.id IN (" +
         repositories + "))";
}

// One page of ids over `artifact a` in `scope`, then the rows. The total is
// repository.artifact_count when the list is a repository's top-level
// artifacts without filters (`count_repository` > 0), else a COUNT(*). With a
// known total, a page past the middle walks the index from the other end, so
// no page costs more than half the repository (the order always ends with the
// unique a.id, so the reversed walk gives the same rows).
StatusOr<Page<ArtifactRecord>> PageOfArtifacts(SqlDatabase& db, ArtifactScope scope, ListQuery q) {
  static const std::map<std::string, QueryColumn> kColumns = {
      {"id", {"a.id", true}},
      {"type", {"a.harbor_type"}},
      {"media_type", {MediaTypeSql("a")}},
      {"manifest_media_type", {"a.media_type"}},
      {"artifact_type", {"a.artifact_type"}},
      {"digest", {"a.digest"}},
      {"size", {"a.size", true}},
      {"push_time", {"a.push_time", true}},
      {"pull_time", {"a.pull_time", true}}};
  std::vector<SqlValue> params = std::move(scope.params);
  std::string latest;
  if (!scope.latest_in_repositories.empty()) {
    BERTH_ASSIGN_OR_RETURN(latest, NewestInRepositories(q, scope.latest_in_repositories, &params));
  }
  BERTH_ASSIGN_OR_RETURN(std::string relations, RelationFilters(&q, &params, scope.tag_repositories));
  BERTH_ASSIGN_OR_RETURN(
      SqlFilter f, BuildSqlFilter(q, kColumns, "a.push_time DESC, a.id DESC",
                                  static_cast<int>(params.size()) + 1));
  params.insert(params.end(), f.params.begin(), f.params.end());
  std::string where = " WHERE " + scope.where + latest + relations + f.where;
  const int64_t count_repository = scope.count_repository;
  bool counted = count_repository > 0 && relations.empty() && f.where.empty() && latest.empty();
  Page<ArtifactRecord> page;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db, false, [&](SqlTransaction& tx) -> Status {
    page.items.clear();
    auto c = counted ? tx.Exec("SELECT artifact_count FROM repository WHERE id = $1",
                               {SqlInt(count_repository)})
                     : tx.Exec("SELECT COUNT(*) FROM artifact a" + where, params);
    if (!c.ok()) return c.status();
    page.total = c->rows.empty() ? 0 : c->rows.at(0).Int(0);
    int64_t offset = q.offset();
    int64_t limit = q.page_size;
    std::string order_by = f.order_by;
    bool reversed = counted && offset < page.total && offset > page.total / 2;
    if (reversed) {
      limit = std::min(limit, page.total - offset);
      offset = page.total - offset - limit;
      order_by = " ORDER BY" + ReversedOrder(order_by.substr(std::string(" ORDER BY").size()));
    }
    auto paged = params;
    paged.push_back(SqlInt(limit));
    paged.push_back(SqlInt(offset));
    size_t n = paged.size();
    auto ids = tx.Exec("SELECT a.id FROM artifact a" + where + order_by + " LIMIT $" +
                           std::to_string(n - 1) + " OFFSET $" + std::to_string(n),
                       paged);
    if (!ids.ok()) return ids.status();
    std::vector<int64_t> list;
    for (const auto& row : ids->rows) list.push_back(row.Int(0));
    if (reversed) std::reverse(list.begin(), list.end());
    return LoadArtifacts(tx, list, &page.items);
  }));
  return page;
}

}  // namespace

StatusOr<Page<RepositoryInfo>> ArtifactStore::ListRepositories(const ListQuery& q,
                                                               int64_t project_id,
                                                               const ProjectVisibility& who) {
  static const std::map<std::string, QueryColumn> kColumns = {
      {"name", {"r.name"}},
      {"project_id", {"r.project_id", true}},
      {"id", {"r.id", true}},
      {"creation_time", {"r.created_at", true}},
      {"update_time", {"r.updated_at", true}},
      {"pull_count", {"r.pull_count", true}}};
  std::vector<SqlValue> params;
  std::string where;
  if (project_id > 0) {
    params.push_back(SqlInt(project_id));
    where = "r.project_id = $1";
  } else {
    where = "EXISTS (SELECT 1 FROM project p WHERE p.project_id = r.project_id AND " +
            VisibleProjectCondition(who, &params) + ")";
  }
  BERTH_ASSIGN_OR_RETURN(RowPage rows,
                         RunListQuery(db_, kRepositorySelect, "repository r", where, params, q,
                                      kColumns, "r.created_at DESC, r.id DESC"));
  Page<RepositoryInfo> page{{}, rows.total};
  for (const auto& row : rows.rows) page.items.push_back(ReadRepository(row));
  return page;
}

StatusOr<std::optional<RepositoryInfo>> ArtifactStore::GetRepository(std::string_view name) {
  return QueryOptionalRow(db_, SelectSql(kRepositorySelect, "FROM repository r WHERE r.name = $1"),
                          {SqlText(name)}, ReadRepository);
}

Status ArtifactStore::SetRepositoryDescription(std::string_view name,
                                               std::string_view description) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("UPDATE repository SET description = $2 WHERE name = $1",
                     {SqlText(name), SqlText(description)});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return Status::NotFound("repository " + std::string(name) + " not found", "NOT_FOUND");
    return {};
  });
}

StatusOr<Page<ArtifactRecord>> ArtifactStore::ListArtifacts(int64_t repository_id,
                                                            const ListQuery& q) {
  ArtifactScope scope{"a.repository_id = $1 AND a.top_level = 1", {SqlInt(repository_id)}};
  scope.count_repository = repository_id;
  return PageOfArtifacts(db_, std::move(scope), q);
}

StatusOr<Page<ArtifactRecord>> ArtifactStore::ListProjectArtifacts(int64_t project_id,
                                                                   const ListQuery& q,
                                                                   bool latest_in_repository) {
  const std::string repositories = "SELECT p.id FROM repository p WHERE p.project_id = $1";
  ArtifactScope scope{"a.repository_id IN (" + repositories + ") AND a.top_level = 1",
                      {SqlInt(project_id)}};
  scope.tag_repositories = "IN (" + repositories + ")";
  if (latest_in_repository) scope.latest_in_repositories = repositories;
  return PageOfArtifacts(db_, std::move(scope), q);
}

StatusOr<Page<ArtifactRecord>> ArtifactStore::ListAccessories(int64_t repository_id,
                                                              std::string_view subject,
                                                              const ListQuery& q) {
  return PageOfArtifacts(
      db_, {"a.repository_id = $1 AND a.accessory_of = $2", {SqlInt(repository_id), SqlText(subject)}},
      q);
}

StatusOr<std::map<int64_t, std::vector<TagRecord>>> ArtifactStore::TagsOf(
    const std::vector<int64_t>& ids) {
  std::map<int64_t, std::vector<TagRecord>> out;
  if (ids.empty()) return out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    std::vector<SqlValue> params;
    std::string in = BindList(IdValues(ids), &params);
    auto r = tx.Exec(SelectSql(kTagSelect, "FROM tag t WHERE t.artifact_id IN (") + in +
                         ") ORDER BY t.push_time DESC, t.id DESC",
                     params);
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) {
      TagRecord t = ReadTag(row);
      out[t.artifact_id].push_back(std::move(t));
    }
    return {};
  }));
  return out;
}

StatusOr<std::map<int64_t, std::vector<ReferenceRecord>>> ArtifactStore::ReferencesOf(
    const std::vector<int64_t>& ids) {
  std::map<int64_t, std::vector<ReferenceRecord>> out;
  if (ids.empty()) return out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    std::vector<SqlValue> params;
    std::string in = BindList(IdValues(ids), &params);
    auto r = tx.Exec(
        "SELECT parent_id, child_id, child_digest, platform FROM artifact_reference WHERE "
        "parent_id IN (" + in + ") ORDER BY parent_id, child_digest",
        params);
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) {
      out[row.Int(0)].push_back({row.Int(0), row.Int(1), row.Text(2), row.Text(3)});
    }
    return {};
  }));
  return out;
}

StatusOr<std::map<std::string, std::vector<ArtifactRecord>>> ArtifactStore::AccessoriesOf(
    int64_t repository_id, const std::vector<std::string>& digests) {
  std::map<std::string, std::vector<ArtifactRecord>> out;
  if (digests.empty()) return out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    std::vector<SqlValue> params = {SqlInt(repository_id)};
    std::vector<SqlValue> values;
    for (const auto& d : digests) values.push_back(SqlText(d));
    std::string in = BindList(values, &params);
    auto r =
        tx.Exec(SelectSql(kArtifactColumns,
                          "FROM artifact a WHERE a.repository_id = $1 AND a.accessory_of IN (") +
                    in + ") ORDER BY a.push_time DESC, a.id DESC",
                params);
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) {
      ArtifactRecord a = ReadArtifact(row);
      out[a.accessory_of].push_back(std::move(a));
    }
    return {};
  }));
  return out;
}

StatusOr<Page<TagRecord>> ArtifactStore::ListTags(int64_t artifact_id, const ListQuery& q) {
  static const std::map<std::string, QueryColumn> kColumns = {
      {"id", {"t.id", true}},
      {"name", {"t.name"}},
      {"push_time", {"t.push_time", true}},
      {"pull_time", {"t.pull_time", true}}};
  BERTH_ASSIGN_OR_RETURN(RowPage rows,
                         RunListQuery(db_, kTagSelect, "tag t", "t.artifact_id = $1",
                                      {SqlInt(artifact_id)}, q, kColumns,
                                      "t.push_time DESC, t.id DESC"));
  Page<TagRecord> page{{}, rows.total};
  for (const auto& row : rows.rows) page.items.push_back(ReadTag(row));
  return page;
}

StatusOr<TagRecord> ArtifactStore::CreateTag(int64_t artifact_id, std::string_view name) {
  TagRecord out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto a = tx.Exec("SELECT repository_id FROM artifact WHERE id = $1", {SqlInt(artifact_id)});
    if (!a.ok()) return a.status();
    if (a->rows.empty()) return Status::NotFound("artifact not found", "NOT_FOUND");
    int64_t repo_id = a->rows[0].Int(0);
    auto ins = tx.Exec(
        "INSERT INTO tag (repository_id, artifact_id, name, push_time) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (repository_id, name) DO NOTHING",
        {SqlInt(repo_id), SqlInt(artifact_id), SqlText(name), SqlInt(NowUnixMillis())});
    if (!ins.ok()) return ins.status();
    if (ins->affected == 0) {
      return Status::Conflict("tag " + std::string(name) + " already exists in the repository",
                              "CONFLICT");
    }
    auto r = tx.Exec(SelectSql(kTagSelect, "FROM tag t WHERE t.repository_id = $1 AND t.name = $2"),
                     {SqlInt(repo_id), SqlText(name)});
    if (!r.ok()) return r.status();
    if (r->rows.empty()) return Status::Internal("tag vanished after creation");
    out = ReadTag(r->rows[0]);
    return {};
  }));
  return out;
}

Status ArtifactStore::DeleteTag(int64_t artifact_id, std::string_view name) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("DELETE FROM tag WHERE artifact_id = $1 AND name = $2",
                     {SqlInt(artifact_id), SqlText(name)});
    if (!r.ok()) return r.status();
    if (r->affected == 0) {
      return Status::NotFound("tag " + std::string(name) + " not found on the artifact",
                              "NOT_FOUND");
    }
    if (!tag_guard_) return {};
    auto repo = tx.Exec(
        "SELECT r.name FROM artifact a JOIN repository r ON r.id = a.repository_id WHERE a.id = $1",
        {SqlInt(artifact_id)});
    if (!repo.ok()) return repo.status();
    if (repo->rows.empty()) return {};
    return tag_guard_(tx, repo->rows[0].Text(0), {std::string(name)}, TagChange::kDelete);
  });
}

Status ArtifactStore::RecordPulls(const std::vector<PullRecord>& pulls) {
  if (pulls.empty()) return {};
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    std::map<std::string, int64_t> counts;
    for (const auto& p : pulls) {
      counts[p.repository] += p.count;
      auto a = tx.Exec(
          "UPDATE artifact SET pull_time = $3 WHERE repository_id = (SELECT id FROM repository "
          "WHERE name = $1) AND digest = $2 AND pull_time < $3",
          {SqlText(p.repository), SqlText(p.digest), SqlInt(p.time)});
      if (!a.ok()) return a.status();
      if (p.tag.empty()) continue;
      auto t = tx.Exec(
          "UPDATE tag SET pull_time = $3 WHERE repository_id = (SELECT id FROM repository "
          "WHERE name = $1) AND name = $2 AND pull_time < $3",
          {SqlText(p.repository), SqlText(p.tag), SqlInt(p.time)});
      if (!t.ok()) return t.status();
    }
    for (const auto& [repo, n] : counts) {
      auto r = tx.Exec("UPDATE repository SET pull_count = pull_count + $2 WHERE name = $1",
                       {SqlText(repo), SqlInt(n)});
      if (!r.ok()) return r.status();
    }
    return {};
  });
}

StatusOr<std::vector<SearchRepositoryRow>> ArtifactStore::SearchRepositories(
    std::string_view fragment, const ProjectVisibility& who, int64_t limit) {
  std::vector<SearchRepositoryRow> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    std::vector<SqlValue> params = {SqlText(LikePattern(ToLower(std::string(fragment)))),
                                    SqlInt(limit)};
    std::string visible = VisibleProjectCondition(who, &params);
    auto r = tx.Exec(
        std::string("SELECT p.project_id, p.name, ") + kProjectPublicExpr +
            ", r.name, r.pull_count, r.artifact_count FROM repository r JOIN project p ON p.project_id = "
            "r.project_id WHERE LOWER(r.name) LIKE $1 ESCAPE '\\' AND " + visible +
            " ORDER BY r.name LIMIT $2",
        params);
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) {
      out.push_back({row.Int(0), row.Text(1), row.Text(2) == "true", row.Text(3), row.Int(4),
                     row.Int(5)});
    }
    return {};
  }));
  return out;
}

StatusOr<RegistryStatistics> ArtifactStore::Statistics(const ProjectVisibility& who) {
  RegistryStatistics s;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    std::vector<SqlValue> params;
    std::string visible = VisibleProjectCondition(who, &params);
    auto r = tx.Exec(std::string("SELECT v.pub, COUNT(*), SUM(v.repos) FROM (SELECT ") +
                         kProjectPublicExpr +
                         " AS pub, (SELECT COUNT(*) FROM repository r WHERE r.project_id = "
                         "p.project_id) AS repos FROM project p WHERE " + visible +
                         ") v GROUP BY v.pub",
                     params);
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) {
      bool pub = row.Text(0) == "true";
      (pub ? s.public_projects : s.private_projects) = row.Int(1);
      (pub ? s.public_repositories : s.private_repositories) = row.Int(2);
    }
    auto t = tx.Exec(
        "SELECT (SELECT COUNT(*) FROM project), (SELECT COUNT(*) FROM repository r WHERE "
        "EXISTS (SELECT 1 FROM project p WHERE p.project_id = r.project_id)), "
        "(SELECT COALESCE(SUM(size), 0) FROM blob WHERE deleting = 0)");
    if (!t.ok()) return t.status();
    s.total_projects = t->rows.at(0).Int(0);
    s.total_repositories = t->rows.at(0).Int(1);
    s.total_storage = t->rows.at(0).Int(2);
    return {};
  }));
  return s;
}

}  // namespace berth
