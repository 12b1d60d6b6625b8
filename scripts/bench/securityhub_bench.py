#!/usr/bin/python3
"""Harbor 2.10's security hub on 100,000 stored findings:
GET /api/v2.0/security/summary and /security/vul with common filters,
p50/p95 per query, on SQLite and on PostgreSQL.

    scripts/bench/securityhub_bench.py                       both databases
    BENCH_SH_DBS=sqlite scripts/bench/securityhub_bench.py   SQLite only
    BENCH_SH_FINDINGS=20000 scripts/bench/securityhub_bench.py   quick look

The findings are not 100,000 real scans: berthd stores the artifacts
(BENCH_SH_ARTIFACTS small images pushed over HTTP into BENCH_SH_REPOS
repositories of two projects, each tagged v<i>, the newest of each
repository also `latest`), then the script writes, at the store layer, one
successful vulnerability report per artifact (scan_report, with the
per-severity counters ScanReportStore::Finish writes) and its share of the
findings (vulnerability_finding rows: CVE ids drawn from a pool of 8,000,
packages from 400, severities Critical 5 % / High 20 % / Medium 35 % /
Low 25 % / Unknown 10 % / None 5 %, CVSS v3 scores matching the severity,
half of them fixable), through sqlite3 or psql COPY. Then each query is
sent BENCH_SH_REQUESTS times over one keep-alive connection, after 3
warm-up requests, and timed client-side. Last, Harbor's CVE export of the
first project is timed once, from the POST to the downloaded CSV.

Uses the berthd of build/ (BERTHD_BIN to override) and, for PostgreSQL,
scripts/pg-test-server.sh (a throwaway server in the work directory).
python3 stdlib only. BENCH_SH_SEED seeds the data (default 1).
"""
import base64
import csv
import http.client
import io
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "protocol"))
import berth_harness as bh  # noqa: E402

FINDINGS = int(os.environ.get("BENCH_SH_FINDINGS", "100000"))
ARTIFACTS = int(os.environ.get("BENCH_SH_ARTIFACTS", "200"))
REPOS = int(os.environ.get("BENCH_SH_REPOS", "20"))
REQUESTS = int(os.environ.get("BENCH_SH_REQUESTS", "40"))
DBS = [d for d in os.environ.get("BENCH_SH_DBS", "sqlite,postgres").split(",") if d]
SEED = int(os.environ.get("BENCH_SH_SEED", "1"))
V11 = "application/vnd.security.vulnerability.report; version=1.1"

# (severity value as stored, name, share, CVSS v3 range)
SEVERITIES = [(5, "Critical", 0.05, (9.0, 10.0)), (4, "High", 0.20, (7.0, 8.9)),
              (3, "Medium", 0.35, (4.0, 6.9)), (2, "Low", 0.25, (0.1, 3.9)),
              (1, "Unknown", 0.10, None), (0, "None", 0.05, None)]


def say(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def pick_severity(rng):
    x = rng.random()
    for sev in SEVERITIES:
        x -= sev[2]
        if x <= 0:
            return sev
    return SEVERITIES[-1]


def seed_rows(artifacts, registration_uuid):
    """The reports and findings: ([report row], [finding row]) in column order."""
    rng = random.Random(SEED)
    cves = ["CVE-%d-%05d" % (2015 + i % 10, i) for i in range(8000)]
    packages = ["pkg-%03d" % i for i in range(400)] + ["openssl", "libssl3", "zlib", "busybox"]
    per = FINDINGS // len(artifacts)
    extra = FINDINGS - per * len(artifacts)
    reports, findings = [], []
    now = int(time.time() * 1000)
    for i, (project_id, repo, digest) in enumerate(artifacts):
        n = per + (1 if i < extra else 0)
        counts = {s[0]: 0 for s in SEVERITIES}
        fixable = 0
        worst = 0
        for _ in range(n):
            value, name, _, rng_range = pick_severity(rng)
            counts[value] += 1
            worst = max(worst, value)
            score = int(round(rng.uniform(*rng_range) * 10)) if rng_range else -1
            fixed = "%d.%d.%d" % (rng.randint(1, 9), rng.randint(0, 20), rng.randint(0, 9)) \
                if rng.random() < 0.5 else ""
            fixable += 1 if fixed else 0
            cve = rng.choice(cves)
            findings.append([i + 1, project_id, repo, digest, cve, rng.choice(packages),
                             "1.%d.%d" % (rng.randint(0, 20), rng.randint(0, 9)), fixed, value, score,
                             "synthetic finding %s" % cve,
                             json.dumps(["https://avd.aquasec.com/nvd/%s" % cve.lower()])])
        summary = {name: counts[value] for value, name, _, _ in SEVERITIES if counts[value]}
        reports.append([i + 1, "bench-report-%06d" % i, digest, registration_uuid, V11, "vulnerability",
                        project_id, repo, "Success", 0, now - 60000, now - 59000, worst, n, fixable,
                        json.dumps(summary),
                        json.dumps({"name": "Bench", "vendor": "Berth", "version": "1"}),
                        "{}", "", "", counts[5], counts[4], counts[3], counts[2], counts[0], counts[1],
                        1])
    return reports, findings


REPORT_COLUMNS = ("id, uuid, digest, registration_uuid, mime_type, scan_type, project_id, repository, "
                  "status, job_id, start_time, end_time, severity, total, fixable, summary, scanner, "
                  "report, sbom_digest, error, critical_cnt, high_cnt, medium_cnt, low_cnt, none_cnt, "
                  "unknown_cnt, finding_details")
FINDING_COLUMNS = ("report_id, project_id, repository, digest, cve_id, package, version, fixed_version, "
                   "severity, cvss_v3_score, description, links")
REGISTRATION = ("INSERT INTO scanner_registration (uuid, name, url, provider, creation_time, update_time) "
                "VALUES ('bench-registration', 'bench', 'plugin:bench', 'bench', 0, 0)")


def load_sqlite(reg, reports, findings):
    conn = sqlite3.connect(os.path.join(reg.data_dir, "berth.db"), timeout=60)
    try:
        conn.execute(REGISTRATION)
        conn.executemany("INSERT INTO scan_report (%s) VALUES (%s)" %
                         (REPORT_COLUMNS, ", ".join("?" * len(reports[0]))), reports)
        conn.executemany("INSERT INTO vulnerability_finding (%s) VALUES (%s)" %
                         (FINDING_COLUMNS, ", ".join("?" * len(findings[0]))), findings)
        conn.commit()
        conn.execute("ANALYZE")
        conn.commit()
    finally:
        conn.close()


def load_postgres(reg, reports, findings):
    def copy(table, columns, rows):
        buf = io.StringIO()
        csv.writer(buf).writerows(rows)
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", reg.pg_dsn, "-c",
                        "\\copy %s (%s) FROM STDIN WITH (FORMAT csv, NULL '\\N')" % (table, columns)],
                       input=buf.getvalue().encode(), check=True)
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", reg.pg_dsn, "-c", REGISTRATION],
                   check=True, stdout=subprocess.DEVNULL)
    copy("scan_report", REPORT_COLUMNS, reports)
    copy("vulnerability_finding", FINDING_COLUMNS, findings)
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", reg.pg_dsn, "-c",
                    "SELECT setval(pg_get_serial_sequence('scan_report', 'id'), %d)" % len(reports)],
                   check=True, stdout=subprocess.DEVNULL)
    # What autovacuum does on a live server soon after a bulk of inserts: the
    # statistics, and the visibility map that lets counts read indexes only.
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", reg.pg_dsn, "-c",
                    "VACUUM ANALYZE vulnerability_finding"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", reg.pg_dsn, "-c",
                    "VACUUM ANALYZE scan_report"], check=True, stdout=subprocess.DEVNULL)


def push_artifacts(reg):
    """ARTIFACTS images over REPOS repositories of two projects; returns
    [(project_id, repository, digest)] and the projects' ids."""
    projects = {}
    for name in ("bench-a", "bench-b"):
        reg.create_project(name)
        r = reg.request("GET", "/api/v2.0/projects/%s" % name)
        projects[name] = json.loads(r.body)["project_id"]
    out = []
    per_repo = {}
    for i in range(ARTIFACTS):
        project = "bench-a" if i % REPOS < REPOS // 2 else "bench-b"
        repo = "%s/app%02d" % (project, i % REPOS)
        _, digest = reg.push_image(repo, "v%d" % i, seed="bench-%d" % i)
        per_repo[repo] = digest
        out.append((projects[project], repo, digest))
    for repo, digest in per_repo.items():  # the newest of each repository is also `latest`
        body = reg.request("GET", "/v2/%s/manifests/%s" % (repo, digest),
                           headers={"Accept": bh.OCI_MANIFEST}).body
        reg.put_manifest(repo, "latest", body, bh.OCI_MANIFEST)
    return out, projects


def measure(reg, path):
    conn = reg.connect(timeout=120)
    headers = {"Authorization": reg.auth_header()}
    times = []
    body = b""
    total = None
    for i in range(REQUESTS + 3):
        t0 = time.perf_counter()
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        body = r.read()
        dt = time.perf_counter() - t0
        if r.status != 200:
            raise RuntimeError("%s answered %d: %s" % (path, r.status, body[:300]))
        total = r.getheader("X-Total-Count")
        if i >= 3:
            times.append(dt * 1000)
    conn.close()
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)]
    return statistics.median(times), p95, total, json.loads(body)


def export_cve(reg, project_id):
    """Harbor's CVE export of one project, end to end: POST, the job, the
    download. Returns (seconds, CSV rows, bytes)."""
    conn = reg.connect(timeout=300)
    headers = {"Authorization": reg.auth_header(), "Content-Type": "application/json",
               "X-Scan-Data-Type": V11}
    t0 = time.perf_counter()
    conn.request("POST", "/api/v2.0/export/cve", json.dumps({"projects": [project_id]}), headers)
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        raise RuntimeError("export answered %d: %s" % (r.status, body[:300]))
    eid = json.loads(body)["id"]
    while True:
        conn.request("GET", "/api/v2.0/export/cve/execution/%d" % eid, headers=headers)
        r = conn.getresponse()
        e = json.loads(r.read())
        if e["status"] not in ("Pending", "Running", "Scheduled"):
            break
        time.sleep(0.05)
    if e["status"] != "Success":
        raise RuntimeError("export ended %s: %s" % (e["status"], e.get("status_text")))
    conn.request("GET", "/api/v2.0/export/cve/download/%d" % eid, headers=headers)
    r = conn.getresponse()
    data = r.read()
    took = time.perf_counter() - t0
    conn.close()
    if r.status != 200:
        raise RuntimeError("download answered %d" % r.status)
    return took, data.count(b"\n") - 1, len(data)


def run(db, work):
    root = os.path.join(work, db)
    os.makedirs(root)
    reg = bh.Registry(root=root)
    pg_dir = None
    if db == "postgres":
        pg_dir = os.path.join(work, "pg")
        dsn = subprocess.run([os.path.join(ROOT, "scripts", "pg-test-server.sh"), "start", pg_dir],
                             check=True, stdout=subprocess.PIPE).stdout.decode().strip()
        dsn_file = os.path.join(work, "pg.dsn")
        with open(dsn_file, "w") as f:
            f.write(dsn)
        os.environ["BERTH_PROTOCOL_POSTGRES_DSN_FILE"] = dsn_file
    else:
        os.environ.pop("BERTH_PROTOCOL_POSTGRES_DSN_FILE", None)
    try:
        reg.start()
        t0 = time.monotonic()
        artifacts, projects = push_artifacts(reg)
        say("%s: %d artifacts pushed in %.1f s" % (db, len(artifacts), time.monotonic() - t0))
        t0 = time.monotonic()
        reports, findings = seed_rows(artifacts, "bench-registration")
        (load_postgres if db == "postgres" else load_sqlite)(reg, reports, findings)
        say("%s: %d reports, %d findings stored in %.1f s" % (db, len(reports), len(findings),
                                                               time.monotonic() - t0))
        repo = artifacts[0][1]
        digest = artifacts[-1][2]
        cve = findings[len(findings) // 2][4]
        queries = [
            ("summary (counts only)", "/api/v2.0/security/summary"),
            ("summary + dangerous CVEs + artifacts",
             "/api/v2.0/security/summary?with_dangerous_cve=true&with_dangerous_artifact=true"),
            ("vul, first page (15)", "/api/v2.0/security/vul?page_size=15"),
            ("vul, page 100", "/api/v2.0/security/vul?page=100&page_size=15"),
            ("vul, tune_count", "/api/v2.0/security/vul?page_size=15&tune_count=true"),
            ("vul, with_tag", "/api/v2.0/security/vul?page_size=15&with_tag=true"),
            ("vul q=cve_id", "/api/v2.0/security/vul?q=cve_id%3D" + cve),
            ("vul q=severity=Critical", "/api/v2.0/security/vul?q=severity%3DCritical"),
            ("vul q=cvss_score_v3=[9~10]", "/api/v2.0/security/vul?q=cvss_score_v3%3D%5B9~10%5D"),
            ("vul q=package=openssl", "/api/v2.0/security/vul?q=package%3Dopenssl"),
            ("vul q=project_id", "/api/v2.0/security/vul?q=project_id%3D" + str(projects["bench-b"])),
            ("vul q=repository_name", "/api/v2.0/security/vul?q=repository_name%3D" + repo),
            ("vul q=digest", "/api/v2.0/security/vul?q=digest%3D" + digest),
            ("vul q=tag=latest", "/api/v2.0/security/vul?q=tag%3Dlatest"),
            ("vul q=tag=latest,severity=High",
             "/api/v2.0/security/vul?q=tag%3Dlatest,severity%3DHigh"),
            ("vul q=project_id,severity=Critical,cvss [9~10]",
             "/api/v2.0/security/vul?q=project_id%3D" + str(projects["bench-a"]) +
             ",severity%3DCritical,cvss_score_v3%3D%5B9~10%5D"),
        ]
        results = []
        for name, path in queries:
            p50, p95, total, body = measure(reg, path)
            if name.startswith("summary") and body["total_vuls"] != len(findings):
                raise RuntimeError("summary counts %d findings, %d stored" % (body["total_vuls"], len(findings)))
            results.append((name, p50, p95, total))
            say("%-48s p50 %7.1f ms  p95 %7.1f ms  X-Total-Count %s" % (name, p50, p95, total))
        took, rows, size = export_cve(reg, projects["bench-a"])
        say("CVE export of bench-a: %d rows, %d bytes in %.2f s (POST to downloaded)" % (rows, size, took))
        results.append(("CVE export of one project, POST to download (%d rows)" % rows,
                        took * 1000, took * 1000, None))
        return results
    finally:
        reg.cleanup()
        if pg_dir:
            subprocess.run([os.path.join(ROOT, "scripts", "pg-test-server.sh"), "stop", pg_dir],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    bh._BERTHD = os.environ.get("BERTHD_BIN") or os.path.join(ROOT, "build", "bin", "berthd")
    work = tempfile.mkdtemp(prefix="berth-securityhub-bench-")
    try:
        all_results = {db: run(db, work) for db in DBS}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("| query (%d findings, %d artifacts) | %s |" % (
        FINDINGS, ARTIFACTS, " | ".join("%s p50 / p95 (ms)" % db for db in DBS)))
    print("|---|" + "---|" * len(DBS))
    for i, (name, _, _, _) in enumerate(all_results[DBS[0]]):
        cells = ["%.1f / %.1f" % (all_results[db][i][1], all_results[db][i][2]) for db in DBS]
        print("| %s | %s |" % (name, " | ".join(cells)))


if __name__ == "__main__":
    main()
