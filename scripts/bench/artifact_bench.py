#!/usr/bin/python3
"""Artifact management at scale: Harbor's artifact list on one repository of
100,000 artifacts, and pushes into that repository against pushes spread over
100 repositories, on SQLite and on PostgreSQL.

    scripts/bench/artifact_bench.py                       SQLite and PostgreSQL
    BENCH_ART_DB=sqlite BENCH_ART_N=20000 scripts/bench/artifact_bench.py    quick look
    BENCH_WRITE_DOCS=1 scripts/bench/artifact_bench.py    ... and rewrite the artifact
                                                          block of docs/benchmarks.md

Stand-alone: builds berthd (Release, build-bench/, target berth-runtime)
unless BENCH_SKIP_BUILD=1, works under BENCH_TMPDIR, stops what it started.
python3 stdlib only; PostgreSQL through scripts/pg-test-server.sh.

What it does, per metadata store:
 1. Seeds project `bench` with repository `bench/big`: BENCH_ART_N OCI
    manifests (one shared config and layer, a distinct annotation each).
    BENCH_ART_SEED=http pushes all of them over keep-alive HTTP with
    BENCH_ART_THREADS threads; every (N / BENCH_ART_TAGGED)-th is pushed with a
    tag, and each tagged one gets two of three global labels through the API
    (about an hour per store on a loaded 2-core machine). BENCH_ART_SEED=sql
    (the default) pushes and labels the BENCH_ART_TAGGED tagged ones (and one
    untagged template) over HTTP the same way, then fills in the untagged rest
    at the store layer: one INSERT ... SELECT that copies the template's
    artifact row with distinct digests and push times spread over the pushed
    ones' (so tagged artifacts are spread over every page, as with http), in
    SQL that berthd's own triggers keep counted. The lists read exactly the
    rows a push writes for them (artifact, tag, label_reference); seeded rows
    have no manifest in storage, which a list never reads.
 2. The artifact list as Harbor's UI asks for it (page_size 15, with_tag,
    with_label, with_scan_overview, with_accessory), BENCH_ART_REQS sequential
    requests on one connection per case: the first page, a page in the middle,
    the last page, and the first page of q=tags=* (tagged only); then the
    project-wide list (GET /projects/bench/artifacts: first and middle page,
    q=tags=*). Reports p50 and p95 in ms; every answer is checked (15 items,
    X-Total-Count).
 3. BENCH_ART_PUSHES more manifests into bench/big (100,000 artifacts already
    there) against the same count spread round-robin over 100 fresh
    repositories (blobs linked first), same threads, in three alternated
    rounds; reports the median manifests/s of each and the ratio spread/one
    (Harbor's #14108: pushes to one large repository slowed to 13k/hour).

Environment (all optional):
  BENCH_ART_DB        sqlite,postgres (either or both)                 sqlite,postgres
  BENCH_ART_N         artifacts in bench/big                             100000
  BENCH_ART_TAGGED    of which tagged and labelled                       1000
  BENCH_ART_THREADS   push threads                                       4
  BENCH_ART_REQS      list requests per case                             200
  BENCH_ART_PUSHES    manifests per push case                            3000
  BENCH_ART_SEED      sql or http (see 1.)                               sql
  BENCH_BUILD_DIR, BENCH_SKIP_BUILD, BENCH_TMPDIR, BENCH_WRITE_DOCS, BENCH_KEEP as gc_bench.py.
"""
import datetime
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402
import gc_bench  # noqa: E402  (Client, parallel, push_blob)
from bench import OCI_CONFIG, OCI_LAYER_GZ, OCI_MANIFEST, ROOT, env_int, say  # noqa: E402

MARK_BEGIN = "<!-- artifact-bench:begin -->"
MARK_END = "<!-- artifact-bench:end -->"


class Cfg:
    def __init__(self, work):
        self.work = work
        self.build = os.environ.get("BENCH_BUILD_DIR", os.path.join(ROOT, "build-bench"))
        self.dbs = [d for d in os.environ.get("BENCH_ART_DB", "sqlite,postgres").split(",") if d]
        self.n = env_int("BENCH_ART_N", 100000)
        self.tagged = env_int("BENCH_ART_TAGGED", 1000)
        self.threads = env_int("BENCH_ART_THREADS", 4)
        self.reqs = env_int("BENCH_ART_REQS", 200)
        self.pushes = env_int("BENCH_ART_PUSHES", 3000)
        self.seed = os.environ.get("BENCH_ART_SEED", "sql")


def blob(data):
    return {"mediaType": None, "digest": "sha256:" + bench.sha256_hex(data), "size": len(data)}


class Content:
    """One config and one layer shared by every manifest; manifests differ by
    an annotation."""

    def __init__(self):
        self.config = json.dumps({"architecture": "amd64", "os": "linux",
                                  "config": {"Env": ["BENCH=1"]}}).encode()
        self.layer = os.urandom(512)
        self.config_d = dict(blob(self.config), mediaType=OCI_CONFIG)
        self.layer_d = dict(blob(self.layer), mediaType=OCI_LAYER_GZ)

    def manifest(self, key):
        return json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": self.config_d, "layers": [self.layer_d],
                           "annotations": {"bench.seq": key}}, separators=(",", ":")).encode()

    def link(self, c, repo):
        for data, d in ((self.config, self.config_d), (self.layer, self.layer_d)):
            gc_bench.push_blob(c, "post", repo, d["digest"], data)


def api(c, method, path, body=None, expect=(200,)):
    data = json.dumps(body).encode() if body is not None else None
    return c.call(method, "/api/v2.0" + path, body=data,
                  headers={"Content-Type": "application/json"} if data else None, expect=expect)


def start_berthd(cfg, name, dsn):
    env_extra = {}
    if dsn:
        env_extra = {"BERTH_METADATA_DRIVER": "postgres", "BERTH_POSTGRES_DSN": dsn}
    os.environ.update(env_extra)
    try:
        return gc_bench.start_berthd(cfg, name)
    finally:
        for k in env_extra:
            os.environ.pop(k, None)


def seed(cfg, host, content, db, dsn):
    c = gc_bench.Client(host)
    bench.create_project(host)
    content.link(c, "bench/big")
    labels = []
    for i in range(3):
        r, _ = api(c, "POST", "/labels", {"name": f"bench-{i}", "scope": "g"}, expect=(201, 409))
        labels.append(int(r.getheader("Location").rsplit("/", 1)[1]))
    every = max(1, cfg.n // max(1, cfg.tagged))
    by_sql = cfg.seed == "sql"
    items = list(range(0, cfg.n, every) if by_sql else range(cfg.n))

    def push(cl, i):
        body = content.manifest(f"seed-{i}")
        ref = f"t{i}" if i % every == 0 else "sha256:" + bench.sha256_hex(body)
        cl.call("PUT", f"/v2/bench/big/manifests/{ref}", body=body,
                headers={"Content-Type": OCI_MANIFEST}, expect=(201,))
        if i % every == 0:
            for lid in (labels[i % 3], labels[(i + 1) % 3]):
                api(cl, "POST", f"/projects/bench/repositories/big/artifacts/{ref}/labels", {"id": lid})

    t0 = time.perf_counter()
    gc_bench.parallel(cfg, host, items, push, "seeded")
    if by_sql:
        template = content.manifest("template")
        c.call("PUT", f"/v2/bench/big/manifests/sha256:{bench.sha256_hex(template)}",
               body=template, headers={"Content-Type": OCI_MANIFEST}, expect=(201,))
        fill = cfg.n - len(items) - 1
        if fill > 0:
            sql_fill(cfg, db, dsn, "sha256:" + bench.sha256_hex(template), fill)
    c.close()
    return time.perf_counter() - t0


def sql_fill(cfg, db, dsn, template, count):
    """`count` copies of the template artifact row, push times spread over
    the pushed artifacts' range (see the header)."""
    if db == "postgres":
        cols = subprocess.check_output(
            ["psql", "-X", "-At", dsn, "-c", "SELECT column_name FROM information_schema.columns "
             "WHERE table_name = 'artifact' ORDER BY ordinal_position"], text=True).split()
    else:
        con = sqlite3.connect(os.path.join(cfg.work, "berthd-sqlite", "berth.db"), timeout=60)
        cols = [r[1] for r in con.execute("PRAGMA table_info(artifact)")]
    keep = [x for x in cols if x not in ("id", "digest", "push_time")]
    series = ("generate_series(1, %d) AS s(k)" % count if db == "postgres" else "s")
    digest = ("'sha256:' || lpad(to_hex(s.k), 64, '0')" if db == "postgres"
              else "printf('sha256:%064x', s.k)")
    span = ("(SELECT MIN(a.push_time) AS lo, MAX(a.push_time) AS hi FROM artifact a "
            "JOIN repository b ON b.id = a.repository_id WHERE b.name = 'bench/big')")
    sql = ("INSERT INTO artifact (%s, digest, push_time) SELECT %s, %s, "
           "r.lo + (r.hi - r.lo) * s.k / %d FROM %s, artifact t, %s r WHERE t.digest = '%s'"
           % (", ".join(keep), ", ".join("t." + x for x in keep), digest, count, series, span,
              template))
    t0 = time.perf_counter()
    if db == "postgres":
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", dsn, "-c", sql,
                        "-c", "VACUUM ANALYZE artifact"], check=True)
    else:
        con.execute("WITH RECURSIVE s(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM s WHERE k < %d) "
                    % count + sql)
        con.commit()
        con.execute("ANALYZE")
        con.close()
    say(f"    filled {count} untagged artifacts at the store layer in "
        f"{time.perf_counter() - t0:.1f} s")


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))]


def list_latency(cfg, host, page, query="", base="/projects/bench/repositories/big/artifacts"):
    c = gc_bench.Client(host)
    path = ("%s?page=%d&page_size=15&with_tag=true"
            "&with_label=true&with_scan_overview=true&with_accessory=false%s" % (base, page, query))
    times = []
    total = None
    for _ in range(cfg.reqs):
        t0 = time.perf_counter()
        r, data = api(c, "GET", path)
        times.append((time.perf_counter() - t0) * 1000)
        items = json.loads(data)
        total = int(r.getheader("X-Total-Count"))
        want = min(15, max(0, total - (page - 1) * 15))
        if len(items) != want:
            raise RuntimeError(f"page {page}{query}: {len(items)} items, expected {want}")
    c.close()
    return pct(times, 50), pct(times, 95), total


def push_rate(cfg, host, content, repos, tag):
    """Manifests/s for a third of BENCH_ART_PUSHES (one of three rounds)."""
    items = list(range(max(1, cfg.pushes // 3)))

    def push(cl, i):
        repo = repos[i % len(repos)]
        body = content.manifest(f"{tag}-{i}")
        cl.call("PUT", f"/v2/{repo}/manifests/sha256:{bench.sha256_hex(body)}", body=body,
                headers={"Content-Type": OCI_MANIFEST}, expect=(201,))

    t0 = time.perf_counter()
    gc_bench.parallel(cfg, host, items, push, None)
    return len(items) / (time.perf_counter() - t0)


def run_one(cfg, db):
    say(f"== {db}")
    dsn = ""
    pgdir = os.path.join(cfg.work, "pg")
    if db == "postgres":
        dsn = subprocess.check_output([os.path.join(ROOT, "scripts", "pg-test-server.sh"), "start",
                                       pgdir], text=True).strip()
    server = start_berthd(cfg, "berthd-" + db, dsn)
    try:
        content = Content()
        seed_s = seed(cfg, server.host, content, db, dsn)
        say(f"  seeded {cfg.n} artifacts ({cfg.tagged} tagged, labelled) in {seed_s:.0f} s "
            f"({cfg.n / seed_s:.0f}/s)")
        last = (cfg.n + 14) // 15
        cases = {}
        project = "/projects/bench/artifacts"  # every repository of the project
        for name, page, query, base in (
                ("first page", 1, "", None), ("middle page", last // 2, "", None),
                ("last page", last, "", None), ("first page, q=tags=*", 1, "&q=tags%3D*", None),
                ("project list, first page", 1, "", project),
                ("project list, middle page", last // 2, "", project),
                ("project list, first page, q=tags=*", 1, "&q=tags%3D*", project),
                ("project list, latest_in_repository of a type", 1,
                 "&latest_in_repository=true&q=media_type%3D" + OCI_CONFIG.replace("+", "%2B"),
                 project)):
            p50, p95, total = list_latency(cfg, server.host, page, query,
                                           *([base] if base else []))
            cases[name] = (p50, p95, total, page)
            say(f"  list {name} (page {page} of {total} artifacts): p50 {p50:.1f} ms, p95 {p95:.1f} ms")
        c = gc_bench.Client(server.host)
        spread = [f"bench/spread-{k}" for k in range(100)]
        for repo in spread:
            content.link(c, repo)
        c.close()
        # Alternated rounds, medians: the machine's load drifts.
        ones, manys = [], []
        for rnd in range(3):
            ones.append(push_rate(cfg, server.host, content, ["bench/big"], f"one{rnd}"))
            manys.append(push_rate(cfg, server.host, content, spread, f"many{rnd}"))
        one, many = pct(ones, 50), pct(manys, 50)
        say(f"  pushes: {one:.0f}/s into bench/big ({cfg.n} artifacts), {many:.0f}/s over 100 "
            f"repositories; ratio {many / one:.2f}")
        return {"seed_s": seed_s, "cases": cases, "one": one, "many": many}
    finally:
        server.stop()
        if db == "postgres":
            subprocess.run([os.path.join(ROOT, "scripts", "pg-test-server.sh"), "stop", pgdir],
                           check=False)


def render(cfg, results):
    lines = ["| store | case | p50 | p95 |", "|---|---|---|---|"]
    for db, r in results.items():
        for name, (p50, p95, total, page) in r["cases"].items():
            lines.append(f"| {db} | artifact list, {name} (page {page}, {total} total) | "
                         f"{p50:.1f} ms | {p95:.1f} ms |")
    lines += ["", "| store | pushes into one repository of %d | pushes over 100 repositories | ratio |"
              % cfg.n, "|---|---|---|---|"]
    for db, r in results.items():
        lines.append(f"| {db} | {r['one']:.0f} manifests/s | {r['many']:.0f} manifests/s | "
                     f"{r['many'] / r['one']:.2f} |")
    return "\n".join(lines)


def write_docs(block):
    path = os.path.join(ROOT, "docs", "benchmarks.md")
    text = open(path).read()
    new = MARK_BEGIN + "\n" + block + "\n" + MARK_END
    if MARK_BEGIN in text:
        text = text[:text.index(MARK_BEGIN)] + new + text[text.index(MARK_END) + len(MARK_END):]
    else:
        text = text.rstrip() + "\n\n" + new + "\n"
    with open(path, "w") as f:
        f.write(text)


def main():
    work = tempfile.mkdtemp(prefix="berth-artifact-bench-", dir=os.environ.get("BENCH_TMPDIR"))
    cfg = Cfg(work)
    try:
        if os.environ.get("BENCH_SKIP_BUILD") != "1":
            gc_bench.build(cfg)
        started = datetime.datetime.now(datetime.timezone.utc)
        load0 = os.getloadavg()[0]
        results = {db: run_one(cfg, db) for db in cfg.dbs}
        table = render(cfg, results)
        head = (f"One run, {started:%Y-%m-%d %H:%M} UTC, {cfg.n} artifacts ({cfg.tagged} tagged "
                f"with 2 labels each; seeded by {cfg.seed}), {cfg.reqs} requests per list case, {cfg.pushes} pushes per "
                f"push case, {cfg.threads} threads; load average {load0:.1f} at the start "
                f"(`{' '.join(sys.argv)}`, build {cfg.build}).")
        say("\n" + head + "\n\n" + table)
        if os.environ.get("BENCH_WRITE_DOCS") == "1":
            write_docs(head + "\n\n" + table)
    finally:
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
