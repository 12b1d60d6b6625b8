#!/usr/bin/env python3
"""Harbor's scan data export (CVE export) through berthd's HTTP API:
POST /export/cve, GET /export/cve/executions, /export/cve/execution/{id}
and /export/cve/download/{id}.

Images are pushed with skopeo and scanned by the test-scanner plugin
(tests/scan/test_scanner.cc, loaded through the C ABI like any scanner),
which returns the findings of a JSON file written here: two registrations
with different findings, so artifacts of one project carry different
reports. The CSV rows are checked value by value against the security hub
(/security/vul) and the scanner's own findings (CVSS v2, vectors, CWEs), for
every filter (repositories, tags, cveIds, labels); then the denials, bad
input, the delete-on-download, a project's deletion, and an export enqueued
before a restart of berthd.
"""

import csv
import io
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import berth_harness as bh
import swagger_shape as ss
from harbor_api import Api, basic

V11 = "application/vnd.security.vulnerability.report; version=1.1"
# Harbor 2.9 and later.
COLUMNS = ["Repository", "Artifact Digest", "CVE", "Package", "Current Version", "Fixed in version",
           "Severity", "CWE Ids", "Additional Data", "Scanner"]

# Scanner A: hostile cells (formula injection), a quoted description, no CVSS.
FINDINGS_A = [
    {"id": "CVE-2024-1000", "package": "@evil/pkg", "version": "=cmd|'/c calc'!A1",
     "fix_version": "+1+1", "severity": "High", "description": "formula cells",
     "preferred_cvss": {"score_v3": 7.5, "score_v2": 5.0,
                        "vector_v3": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
                        "vector_v2": "AV:N/AC:L/Au:N/C:N/I:N/A:P"},
     "cwe_ids": ["CWE-79", "CWE-89"],
     "vendor_attributes": {"CVSS": {"nvd": {"V3Score": 7.5, "V2Score": 5.0},
                                    "redhat": {"V3Vector": "=HYPERLINK(\"x\")"}}}},
    {"id": "CVE-2024-2000", "package": "libssl3", "version": "3.0.8-r0", "fix_version": "3.0.8-r1",
     "severity": "Critical", "description": "overflow",
     "preferred_cvss": {"score_v3": 9.8, "score_v2": 10.0,
                        "vector_v3": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                        "vector_v2": "AV:N/AC:L/Au:N/C:C/I:C/A:C"},
     "cwe_ids": ["CWE-787"]},
    {"id": "GHSA-m425-mq94-257g", "package": "golang.org/x/net", "version": "0.1.0",
     "fix_version": "", "severity": "Medium", "description": "with \"quotes\", and commas"},
]
# Scanner B.
FINDINGS_B = [
    {"id": "CVE-2023-3000", "package": "zlib", "version": "1.2.13", "fix_version": "1.3",
     "severity": "Low", "description": "z", "preferred_cvss": {"score_v3": 3.1}, "cwe_ids": ["CWE-20"],
     "vendor_attributes": {"CVSS": {"ghsa": {"V3Score": 3.1}}}},
    {"id": "CVE-2024-2000", "package": "openssl", "version": "1.1", "fix_version": "",
     "severity": "Critical", "description": "o", "preferred_cvss": {"score_v3": 9.8}},
]


def sanitize(v):
    """Harbor's formula-injection guard."""
    return "'" + v if v and v[0] in "=+-@\t\r\n" else v




def plugin_dir():
    return os.path.join(os.path.dirname(os.path.dirname(bh.berthd_binary())),
                        "test-plugins", "scanner")


class ScanExportTest(unittest.TestCase):
    reg = None

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(os.path.join(plugin_dir(), "test-scanner.so")):
            raise unittest.SkipTest("the test-scanner plugin is not built")
        if not os.path.exists(bh.SKOPEO):
            raise unittest.SkipTest("skopeo is not installed")
        cls.tmp = tempfile.mkdtemp(prefix="berth-export-")
        cls.file_a = os.path.join(cls.tmp, "a.json")
        cls.file_b = os.path.join(cls.tmp, "b.json")
        for path, findings in ((cls.file_a, FINDINGS_A), (cls.file_b, FINDINGS_B)):
            with open(path, "w") as f:
                json.dump(findings, f)
        cls.scanner_a = bh.unique("scanner-a")
        cfg = {"plugins": {"dirs": [plugin_dir()]},
               "scanning": {"max_concurrent": 2, "timeout_s": 20, "call_timeout_s": 5,
                            "default": {"name": cls.scanner_a, "provider": "test-scanner",
                                        "config": {"findings_file": cls.file_a}}}}
        cls.reg = bh.Registry(config=json.dumps(cfg)).start()
        cls.api = Api(cls.reg)
        cls.creds = "%s:%s" % (bh.ADMIN_USER, bh.ADMIN_PASSWORD)
        cls.build_project()

    @classmethod
    def tearDownClass(cls):
        if cls.reg is not None:
            cls.reg.cleanup_checked(cls.__name__)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # -- set-up ------------------------------------------------------------

    @classmethod
    def push(cls, repo, tag):
        lay = bh.Layout()
        try:
            desc = lay.image([lay.layer(512)])
            lay.tag(desc, tag)
            bh.push_layout(lay, tag, "127.0.0.1:%d/%s:%s" % (cls.reg.port, repo, tag), cls.creds)
            return desc["digest"]
        finally:
            lay.cleanup()

    @classmethod
    def scan(cls, repo, digest):
        path = "/projects/%s/repositories/%s/artifacts/%s" % (
            cls.project, repo.replace("/", "%252F"), digest)
        r = cls.api.call("POST", path + "/scan", None)
        assert r.status == 202, r
        return path

    @classmethod
    def wait_scanned(cls, paths):
        deadline = time.monotonic() + 30
        for path in paths:
            while True:
                a = cls.api.ok("GET", path + "?with_scan_overview=true")
                ov = next(iter((a.get("scan_overview") or {}).values()), None)
                if ov and ov["scan_status"] == "Success":
                    break
                assert ov is None or ov["scan_status"] in ("Pending", "Running"), ov
                assert time.monotonic() < deadline, "scan of %s did not finish: %r" % (path, ov)
                time.sleep(0.1)

    @classmethod
    def build_project(cls):
        """app:v1, app:v2 (labelled), an untagged app artifact, tools:v1 with
        scanner A; team/web:latest with scanner B only."""
        cls.project = bh.unique("export")
        cls.pid = cls.api.create_project(cls.project)
        cls.reg.projects.add(cls.project)
        p = cls.project
        cls.d_v1 = cls.push(p + "/app", "v1")
        cls.d_v2 = cls.push(p + "/app", "v2")
        cls.d_tools = cls.push(p + "/tools", "v1")
        # Untagged: pushed with a temporary tag, which is then deleted.
        cls.d_untagged = cls.push(p + "/app", "tmp")
        r = cls.api.call("DELETE", "/projects/%s/repositories/app/artifacts/%s/tags/tmp" %
                         (p, cls.d_untagged))
        assert r.status == 200, r
        cls.d_web = cls.push(p + "/team/web", "latest")
        paths = [cls.scan("app", d) for d in (cls.d_v1, cls.d_v2, cls.d_untagged)]
        paths.append(cls.scan("tools", cls.d_tools))
        cls.wait_scanned(paths)
        cls.scanner_b = bh.unique("scanner-b")
        r = cls.api.call("POST", "/scanners", {"name": cls.scanner_b, "url": "plugin:test-scanner",
                                               "config": {"findings_file": cls.file_b}})
        assert r.status == 201, r
        uuid_b = r.header("Location").rsplit("/", 1)[1]
        cls.api.ok("PUT", "/projects/%s/scanner" % p, {"uuid": uuid_b})
        cls.wait_scanned([cls.scan("team/web", cls.d_web)])
        cls.label = cls.api.create_label({"name": bh.unique("exported"), "scope": "g"})
        cls.api.ok("POST", "/projects/%s/repositories/app/artifacts/%s/labels" % (p, cls.d_v2),
                   {"id": cls.label})
        cls.artifacts = {
            "v1": (p + "/app", cls.d_v1, cls.scanner_a, FINDINGS_A),
            "v2": (p + "/app", cls.d_v2, cls.scanner_a, FINDINGS_A),
            "untagged": (p + "/app", cls.d_untagged, cls.scanner_a, FINDINGS_A),
            "tools": (p + "/tools", cls.d_tools, cls.scanner_a, FINDINGS_A),
            "web": (p + "/team/web", cls.d_web, cls.scanner_b, FINDINGS_B),
        }
        cls.hub = cls.api.ok("GET", "/security/vul?q=project_id%%3D%d&page_size=100" % cls.pid)

    # -- helpers -----------------------------------------------------------

    def export(self, criteria=None, auth="admin", status=200, header=V11, raw=None):
        body = {"job_name": "export", "projects": [self.pid], "labels": [], "repositories": "",
                "cveIds": "", "tags": ""}
        body.update(criteria or {})
        headers = {"Content-Type": "application/json"}
        if header is not None:
            headers["X-Scan-Data-Type"] = header
        if auth == "admin":
            headers["Authorization"] = self.reg.auth_header()
        elif auth is not None:
            headers["Authorization"] = basic(*auth)
        data = raw if raw is not None else json.dumps(body).encode()
        r = self.reg.request("POST", "/api/v2.0/export/cve", data, headers, auth=False)
        self.assertEqual(r.status, status, r)
        if status != 200:
            errs = r.json()["errors"]
            self.assertTrue(errs and all(isinstance(e["code"], str) and isinstance(e["message"], str)
                                         for e in errs), r)
            return r
        job = r.json()
        if ss.skip_reason() is None:
            ss.assert_shape(job, "ScanDataExportJob")
        return job["id"]

    def wait(self, eid, auth="admin"):
        deadline = time.monotonic() + 30
        while True:
            e = self.api.ok("GET", "/export/cve/execution/%d" % eid, auth=auth)
            if e["status"] != "Running":
                return e
            self.assertLess(time.monotonic(), deadline, e)
            time.sleep(0.1)

    def download(self, eid, auth="admin"):
        r = self.api.call("GET", "/export/cve/download/%d" % eid, auth=auth)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"), "text/csv")
        self.assertEqual(r.header("Content-Disposition"),
                         'attachment; filename="scandata_export_%d.csv"' % eid)
        return r.body.decode()

    def rows(self, criteria=None, auth="admin"):
        eid = self.export(criteria, auth=auth)
        e = self.wait(eid, auth=auth)
        self.assertEqual((e["status"], e["file_present"], e["trigger"]), ("Success", True, "MANUAL"), e)
        text = self.download(eid, auth=auth)
        reader = csv.reader(io.StringIO(text, newline=""))
        self.assertEqual(next(reader), COLUMNS)
        out = [dict(zip(COLUMNS, row)) for row in reader]
        return out

    def expected(self, names, cves=None):
        """The rows the export must hold for these artifacts, from the security
        hub (versions, severity, CVSS v3) and the scanner's findings (the rest)."""
        out = {}
        for name in names:
            repo, digest, scanner, findings = self.artifacts[name]
            extra = {(f["id"], f["package"]): f for f in findings}
            hub = [h for h in self.hub if h["repository_name"] == repo and h["digest"] == digest]
            self.assertEqual(len(hub), len(findings), (name, hub))
            for h in hub:
                if cves is not None and h["cve_id"] not in cves:
                    continue
                f = extra[(h["cve_id"], h["package"])]
                out[(repo, digest, h["cve_id"], h["package"])] = {
                    "Scanner": scanner, "Repository": repo, "Artifact Digest": digest,
                    "CVE": h["cve_id"], "Package": sanitize(h["package"]),
                    "Current Version": sanitize(h["version"]),
                    "Fixed in version": sanitize(h["fixed_version"]), "Severity": h["severity"],
                    "CWE Ids": ",".join(f.get("cwe_ids", [])),
                    "Additional Data": f.get("vendor_attributes")}
        return out

    def check(self, rows, names, cves=None):
        want = self.expected(names, cves)
        got = {}
        for r in rows:
            key = (r["Repository"], r["Artifact Digest"], r["CVE"],
                   r["Package"][1:] if r["Package"].startswith("'") else r["Package"])
            self.assertNotIn(key, got, "duplicate row %r" % r)
            got[key] = dict(r)
            # The scanner's vendor_attributes, as JSON (key order aside).
            extra = r["Additional Data"]
            got[key]["Additional Data"] = json.loads(extra) if extra else None
        self.assertEqual(got, want)

    # -- tests -------------------------------------------------------------

    def test_1_all_rows_match_the_security_hub(self):
        rows = self.rows()
        self.check(rows, ["v1", "v2", "untagged", "tools", "web"])
        # The hostile cells are neutralised, as Harbor's export does.
        evil = [r for r in rows if r["CVE"] == "CVE-2024-1000"][0]
        self.assertEqual((evil["Package"], evil["Current Version"], evil["Fixed in version"]),
                         ("'@evil/pkg", "'=cmd|'/c calc'!A1", "'+1+1"))
        self.assertEqual(evil["CWE Ids"], "CWE-79,CWE-89")
        self.assertEqual(json.loads(evil["Additional Data"])["CVSS"]["nvd"]["V3Score"], 7.5)

    def test_1b_reports_indexed_before_the_extra_columns(self):
        """Reports indexed before migration 22 have rows without CVSS v2,
        vectors and CWEs: the export reads those from the stored report."""
        self.db_exec("UPDATE vulnerability_finding SET cvss_v2_score = -1, cvss_v3_vector = '', "
                     "cvss_v2_vector = '', cwe_ids = '', vendor_attributes = '' WHERE digest = '%s'"
                     % self.d_web)
        self.db_exec("UPDATE scan_report SET finding_details = 0 WHERE digest = '%s'" % self.d_web)
        # (It stays so: the later tests read this artifact through its report.)
        self.check(self.rows({"repositories": "team/web"}), ["web"])

    def test_2_filters(self):
        # Repositories: doublestar over the path inside the project, {a,b} alternation.
        self.check(self.rows({"repositories": "team/**"}), ["web"])
        self.check(self.rows({"repositories": "{tools,team/web}"}), ["tools", "web"])
        self.check(self.rows({"repositories": "app"}), ["v1", "v2", "untagged"])
        self.assertEqual(self.rows({"repositories": "nothing*"}), [])
        # Tags: untagged artifacts only without a tag filter.
        self.check(self.rows({"tags": "v1"}), ["v1", "tools"])
        self.check(self.rows({"tags": "v*", "repositories": "app"}), ["v1", "v2"])
        self.check(self.rows({"tags": "{latest,v2}"}), ["v2", "web"])
        # CVE ids: one, a bare comma list, a braced list.
        self.check(self.rows({"cveIds": "CVE-2024-2000"}), ["v1", "v2", "untagged", "tools", "web"],
                   cves={"CVE-2024-2000"})
        self.check(self.rows({"cveIds": "CVE-2023-3000,GHSA-m425-mq94-257g"}),
                   ["v1", "v2", "untagged", "tools", "web"],
                   cves={"CVE-2023-3000", "GHSA-m425-mq94-257g"})
        self.check(self.rows({"cveIds": "{CVE-2024-1000}", "repositories": "app", "tags": "v2"}),
                   ["v2"], cves={"CVE-2024-1000"})
        # Labels: artifacts carrying any of them.
        self.check(self.rows({"labels": [self.label]}), ["v2"])
        self.check(self.rows({"labels": [self.label, 987654]}), ["v2"])
        self.assertEqual(self.rows({"labels": [987654]}), [])

    def test_3_denials(self):
        p, pid = self.project, self.pid
        dev = self.api.create_user(bh.unique("dev"))
        guest = self.api.create_user(bh.unique("guest"))
        stranger = self.api.create_user(bh.unique("stranger"))
        self.api.add_member(pid, dev, "developer")
        self.api.add_member(pid, guest, "guest")
        self.export(auth=None, status=401)
        self.export(auth=guest, status=403)
        self.export(auth=stranger, status=403)
        robot = self.api.ok("POST", "/robots", {
            "name": bh.unique("puller"), "level": "project", "duration": -1,
            "permissions": [{"kind": "project", "namespace": p,
                             "access": [{"resource": "repository", "action": "pull"}]}]}, status=201)
        self.export(auth=(robot["name"], robot["secret"]), status=403)
        for path in ("/export/cve/executions", "/export/cve/execution/1", "/export/cve/download/1"):
            r = self.api.call("GET", path, auth=None)
            self.assertEqual(r.status, 401, r)

        # A developer exports; the executions are the caller's own.
        eid = self.export({"job_name": "dev-export", "repositories": "tools"}, auth=dev)
        e = self.wait(eid, auth=dev)
        if ss.skip_reason() is None:
            ss.assert_shape(e, "ScanDataExportExecution")
        self.assertEqual((e["id"], e["user_name"], e["status"], e["status_text"]),
                         (eid, dev[0], "Success", ""), e)
        self.assertGreater(e["user_id"], 0)
        listed = self.api.ok("GET", "/export/cve/executions", auth=dev)
        if ss.skip_reason() is None:
            ss.assert_shape(listed, "ScanDataExportExecutionList")
        self.assertEqual([x["id"] for x in listed["items"]], [eid])
        self.assertNotIn(eid, [x["id"] for x in self.api.ok("GET", "/export/cve/executions")["items"]])
        self.assertEqual(self.api.ok("GET", "/export/cve/executions", auth=guest), {"items": []})
        # Someone else's execution: 403 even for the system administrator
        # (Harbor compares user names), and for a guest without export-cve.
        for who in ("admin", guest, stranger):
            for path in ("/export/cve/execution/%d", "/export/cve/download/%d"):
                r = self.api.call("GET", path % eid, auth=who)
                self.assertEqual(r.status, 403, (who, r))
        r = self.api.call("GET", "/export/cve/execution/999999", auth=dev)
        self.assertEqual(r.status, 404, r)
        r = self.api.call("GET", "/export/cve/download/999999", auth=dev)
        self.assertEqual(r.status, 404, r)

        # The owner downloads; the file and the execution are gone after.
        text = self.download(eid, auth=dev)
        rows = list(csv.reader(io.StringIO(text, newline="")))
        self.assertEqual(rows[0], COLUMNS)
        self.assertEqual(len(rows) - 1, len(FINDINGS_A))
        self.assertEqual(self.api.call("GET", "/export/cve/download/%d" % eid, auth=dev).status, 404)
        self.assertEqual(self.api.call("GET", "/export/cve/execution/%d" % eid, auth=dev).status, 404)
        self.assertEqual(self.api.ok("GET", "/export/cve/executions", auth=dev), {"items": []})
        self.assertEqual(self.export_files(eid), [])

    def test_4_bad_input(self):
        self.export(header=None, status=400)
        self.export(header="application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0",
                    status=400)
        self.export({"projects": []}, status=400)
        self.export({"projects": [self.pid, self.pid]}, status=400)
        self.export({"projects": [987654]}, status=404)
        for key in ("repositories", "tags", "cveIds"):
            r = self.export({key: "a, b"}, status=400)
            self.assertIn("spaces", r.json()["errors"][0]["message"])
        self.export({"repositories": "{app"}, status=400)
        self.export({"projects": "one"}, status=400)
        self.export({"labels": ["x"]}, status=400)
        self.export(raw=b'{"projects": [1', status=400)
        self.export(raw=b'[1, 2]', status=400)
        # Nothing was recorded for any of them.
        ids = [x["id"] for x in self.api.ok("GET", "/export/cve/executions")["items"]]
        self.assertEqual(ids, [])
        r = self.api.call("GET", "/export/cve/execution/abc")
        self.assertEqual(r.status, 400, r)

    def test_5_deleting_the_project_deletes_its_exports(self):
        name = bh.unique("doomed")
        pid = self.api.create_project(name)
        eid = self.export({"projects": [pid]})
        e = self.wait(eid)
        self.assertEqual((e["status"], e["file_present"]), ("Success", True), e)
        self.assertEqual(len(self.export_files(eid)), 1)
        self.api.ok("DELETE", "/projects/%s" % name)
        self.assertEqual(self.api.call("GET", "/export/cve/execution/%d" % eid).status, 404)
        self.assertEqual(self.export_files(eid), [])

    def test_6_an_export_survives_a_restart(self):
        # The queue is paused so the job is still waiting when berthd stops.
        self.api.ok("PUT", "/jobservice/queues/SCAN_DATA_EXPORT", {"action": "pause"})
        try:
            eid = self.export({"repositories": "team/web"})
            time.sleep(0.3)
            self.assertEqual(self.api.ok("GET", "/export/cve/execution/%d" % eid)["status"], "Running")
            self.reg.restart()
            e = self.api.ok("GET", "/export/cve/execution/%d" % eid)
            self.assertEqual((e["status"], e["file_present"]), ("Running", False), e)
            self.assertEqual(self.api.call("GET", "/export/cve/download/%d" % eid).status, 404)
        finally:
            self.api.ok("PUT", "/jobservice/queues/SCAN_DATA_EXPORT", {"action": "resume"})
        e = self.wait(eid)
        self.assertEqual((e["status"], e["file_present"]), ("Success", True), e)
        rows = list(csv.reader(io.StringIO(self.download(eid), newline="")))
        self.assertEqual(len(rows) - 1, len(FINDINGS_B))

    def db_exec(self, sql):
        """A statement on berthd's database (SQLite file or PostgreSQL)."""
        if getattr(self.reg, "pg_dsn", None):
            subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", self.reg.pg_dsn, "-c", sql],
                           check=True, stdout=subprocess.DEVNULL)
            return
        import sqlite3
        conn = sqlite3.connect(os.path.join(self.reg.data_dir, "berth.db"), timeout=30)
        try:
            conn.execute(sql)
            conn.commit()
        finally:
            conn.close()

    def export_files(self, eid):
        name = "scandata_export_%d.csv" % eid
        return [os.path.join(d, name) for d, _, files in os.walk(self.reg.data_dir) if name in files]


class ScanExportCleanupTest(unittest.TestCase):
    """Exports never downloaded are removed by the SYSTEM_ARTIFACT_CLEANUP
    schedule (here every second, for exports older than a second)."""

    def test_undownloaded_exports_are_purged(self):
        cfg = {"scanning": {"export_max_age_s": 1, "export_cleanup_cron": "* * * * * *"}}
        reg = bh.Registry(config=json.dumps(cfg)).start()
        try:
            api = Api(reg)
            name = bh.unique("purged")
            pid = api.create_project(name)
            reg.projects.add(name)
            r = api.call("POST", "/export/cve", None, raw=json.dumps({"projects": [pid]}).encode())
            self.assertEqual(r.status, 400, r)  # no X-Scan-Data-Type
            headers = {"Content-Type": "application/json", "X-Scan-Data-Type": V11,
                       "Authorization": reg.auth_header()}
            r = reg.request("POST", "/api/v2.0/export/cve", json.dumps({"projects": [pid]}).encode(),
                            headers, auth=False)
            self.assertEqual(r.status, 200, r)
            eid = r.json()["id"]
            name = "scandata_export_%d.csv" % eid
            files = lambda: [d for d, _, fs in os.walk(reg.data_dir) if name in fs]
            deadline = time.monotonic() + 20
            seen_file = False
            while True:
                seen_file = seen_file or bool(files())
                r = api.call("GET", "/export/cve/execution/%d" % eid)
                if r.status == 404:
                    break
                self.assertEqual(r.status, 200, r)
                self.assertLess(time.monotonic(), deadline, r)
                time.sleep(0.1)
            self.assertTrue(seen_file)
            self.assertEqual(files(), [])
            sched = api.ok("GET", "/jobservice/queues")
            self.assertIn("SYSTEM_ARTIFACT_CLEANUP", [q["job_type"] for q in sched])
        finally:
            reg.cleanup_checked(type(self).__name__)


if __name__ == "__main__":
    bh.main()
