"""Two berthd processes on one metadata store (one SQLite file, or one
PostgreSQL database in the protocol_pg variant) and one storage directory:
a cron schedule fires once per firing across both nodes, both nodes appear
as worker pools, and jobs queued on one node run exactly once on either;
/configurations changed through one node reach the other within 5 s, and
tokens of one node work on the other."""

import json
import os
import tempfile
import time

import berth_harness as h


def api(reg, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    resp = reg.request(method, "/api/v2.0" + path, body=data,
                       headers={"Content-Type": "application/json"}, check=False)
    return resp


class TwoNodes(h.RegistryTestCase):

    @classmethod
    def setUpClass(cls):
        cls.reg = h.Registry(config="jobs:\n  poll_ms: 100\n").start()
        env = {"BERTH_DATA_DIR": cls.reg.data_dir}
        dsn = cls.reg.postgres_dsn()
        if dsn:
            env["BERTH_POSTGRES_DSN"] = dsn
        # A second node: its own directory for logs, the first one's data
        # directory (SQLite file and storage) or PostgreSQL database.
        cls.other = h.Registry(root=tempfile.mkdtemp(prefix="berth-protocol-"),
                               config="jobs:\n  poll_ms: 100\n", extra_env=env)
        cls.other.pg_dsn = None  # never drop the shared database twice
        cls.other.start()

    @classmethod
    def tearDownClass(cls):
        cls.other.cleanup_checked("TwoNodes (second node)")
        super().tearDownClass()

    def test_both_nodes_are_worker_pools(self):
        for reg in (self.reg, self.other):
            pools = json.loads(api(reg, "GET", "/jobservice/pools").body)
            self.assertEqual(len(pools), 2, pools)
            self.assertEqual(len({p["pid"] for p in pools}), 2, pools)

    def test_a_schedule_fires_once_per_firing_across_nodes(self):
        r = api(self.reg, "POST", "/system/purgeaudit/schedule",
                {"schedule": {"type": "Custom", "cron": "*/2 * * * * *"},
                 "parameters": {"audit_retention_hour": 100000, "dry_run": True}})
        self.assertEqual(r.status, 201, r.body)
        time.sleep(11)
        r = api(self.other, "PUT", "/system/purgeaudit/schedule",
                {"schedule": {"type": "None"}})
        self.assertEqual(r.status, 200, r.body)
        time.sleep(1)
        runs = json.loads(api(self.reg, "GET", "/system/purgeaudit?page_size=100").body)
        scheduled = [x for x in runs if x["job_kind"] == "SCHEDULE"]
        # Every 2 s for ~11 s: about 5 firings, each one run, never two runs
        # for one firing (their creation times would be within a second).
        self.assertGreaterEqual(len(scheduled), 4, runs)
        self.assertLessEqual(len(scheduled), 7, runs)
        times = sorted(h_time(x["creation_time"]) for x in scheduled)
        gaps = [b - a for a, b in zip(times, times[1:])]
        self.assertTrue(all(g > 1.0 for g in gaps), "a firing ran twice: %r" % gaps)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            runs = json.loads(api(self.reg, "GET", "/system/purgeaudit?page_size=100").body)
            if all(x["job_status"] == "Success" for x in runs):
                break
            time.sleep(0.2)
        self.assertTrue(all(x["job_status"] == "Success" for x in runs), runs)

    def test_jobs_queued_on_one_node_run_once_on_either(self):
        ids = []
        for i in range(10):
            reg = self.reg if i % 2 else self.other
            r = api(reg, "POST", "/system/quotarecount/schedule", {"schedule": {"type": "Manual"}})
            if r.status == 409:  # one at a time: wait for the previous run
                time.sleep(0.3)
                r = api(reg, "POST", "/system/quotarecount/schedule",
                        {"schedule": {"type": "Manual"}})
            self.assertIn(r.status, (201, 409), r.body)
            if r.status == 201:
                ids.append(int(r.header("Location").rsplit("/", 1)[1]))
            time.sleep(0.3)
        self.assertGreaterEqual(len(ids), 5)
        deadline = time.monotonic() + 30
        done = {}
        while time.monotonic() < deadline and len(done) < len(ids):
            for i in ids:
                j = json.loads(api(self.other, "GET", "/system/quotarecount/%d" % i).body)
                if j["job_status"] in ("Success", "Error", "Stopped"):
                    done[i] = j["job_status"]
            time.sleep(0.2)
        self.assertEqual(set(done.values()), {"Success"}, done)
        # Exactly once: each run's log has one start and one summary.
        for i in ids:
            log = api(self.reg, "GET", "/system/quotarecount/%d/log" % i).body.decode()
            self.assertEqual(log.count("projects recounted"), 1, log)
            self.assertNotIn("attempt 2", log)


class TwoNodesSettings(h.RegistryTestCase):
    """/configurations changed through one node reach the other (which
    re-reads them every 5 s, docs/scale-out.md); tokens of one node work on
    the other (one key: here the shared data directory's)."""

    BOUND_S = 5.0

    @classmethod
    def setUpClass(cls):
        cls.reg = h.Registry().start()
        env = {"BERTH_DATA_DIR": cls.reg.data_dir}
        dsn = cls.reg.postgres_dsn()
        if dsn:
            env["BERTH_POSTGRES_DSN"] = dsn
        cls.other = h.Registry(root=tempfile.mkdtemp(prefix="berth-protocol-"), extra_env=env)
        cls.other.pg_dsn = dsn or None  # the first node's database, dropped by it
        cls.other.start()

    @classmethod
    def tearDownClass(cls):
        cls.other.cleanup_checked("TwoNodesSettings (second node)")
        super().tearDownClass()

    def test_read_only_set_on_one_node_reaches_the_other(self):
        repo = "settings/ro"
        self.assertEqual(self.other.request("POST", "/v2/%s/blobs/uploads/" % repo).status, 202)
        r = api(self.reg, "PUT", "/configurations", {"read_only": True})
        self.assertEqual(r.status, 200, r.body)
        t0 = time.monotonic()
        try:
            seen = None
            while time.monotonic() - t0 < self.BOUND_S + 3:
                if self.other.request("POST", "/v2/%s/blobs/uploads/" % repo,
                                      check=False).status == 403:
                    seen = time.monotonic() - t0
                    break
                time.sleep(0.1)
            self.assertIsNotNone(seen, "read_only never reached the other node")
            # 2 s over the period: the re-read itself, on a loaded machine.
            self.assertLessEqual(seen, self.BOUND_S + 2.0)
        finally:
            self.assertEqual(api(self.reg, "PUT", "/configurations", {"read_only": False}).status, 200)
        deadline = time.monotonic() + self.BOUND_S + 3
        while time.monotonic() < deadline:
            if self.other.request("POST", "/v2/%s/blobs/uploads/" % repo, check=False).status == 202:
                break
            time.sleep(0.1)
        else:
            self.fail("read_only stayed on the other node")

    def test_a_token_of_one_node_works_on_the_other(self):
        repo = "settings/tok"
        self.reg.push_image(repo, "v1")
        r = self.reg.request("GET", "/service/token?service=harbor-registry&scope=repository:%s:pull"
                             % repo)
        self.assertEqual(r.status, 200, r)
        t = self.other.request("GET", "/v2/%s/tags/list" % repo,
                               headers={"Authorization": "Bearer " + r.json()["token"]})
        self.assertEqual(t.status, 200, t)


def h_time(s):
    import datetime
    return datetime.datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=datetime.timezone.utc).timestamp() + (float("0" + s[19:-1]) if s[19:20] == "." else 0)


if __name__ == "__main__":
    h.main()
