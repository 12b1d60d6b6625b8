#!/usr/bin/python3
"""The job service: Harbor's /jobservice and /schedules API, and durable jobs.

  * JobServiceApi: worker pools, workers, queues and schedules in Harbor's
    shapes (checked against the swagger definitions); pausing a queue holds a
    GC Pending until it is resumed; stopping a pending job, a queue, a
    running job; pausing the SCHEDULER queue stops schedules firing; logs.
  * Durability: a Pending job survives kill -9; a job Running on a berthd
    that is killed is taken over after jobs.lease_s by the next berthd and
    completes; SIGTERM puts a running job back in the queue.

"A slow job" is a GC over a few thousand orphan files (files in the blob
layout no metadata knows, as a crash between storing and recording leaves
them): each costs the collector a few transactions, so a run lasts seconds.
Python 3 standard library only.
"""

import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from berth_harness import Registry, main  # noqa: E402
from test_gc import (  # noqa: E402
    FINISHED, GC, JOBSERVICE, ContentMixin, ShapeMixin, api, blob_file, gc_summary, get_job,
    job_log, parse_time, push_image, run_job, set_queue, trigger, wait_idle, wait_job,
    write_orphans)

# 3 workers for jobs, 2 more for webhook deliveries (notifications.workers):
# the pool runs 5 at once.
CONFIG = "jobs:\n  workers: 3\n  poll_ms: 100\nnotifications:\n  workers: 2\n"


def workers(reg, pool="all"):
    r = reg.request("GET", "%s/pools/%s/workers" % (JOBSERVICE, pool))
    if r.status != 200:
        raise AssertionError("workers of %s: %r" % (pool, r))
    return r.json()


def worker_of(reg, job_id):
    """The worker entry running job_id, or None."""
    for w in workers(reg):
        if w.get("job_id") == str(job_id):
            return w
    return None


def queues(reg):
    r = reg.request("GET", JOBSERVICE + "/queues")
    if r.status != 200:
        raise AssertionError("queues: %r" % r)
    return {q["job_type"]: q for q in r.json()}


def paused(reg):
    r = reg.request("GET", "/api/v2.0/schedules/all/paused")
    if r.status != 200:
        raise AssertionError("schedules/all/paused: %r" % r)
    return r.json()


def gc_runs(reg):
    return int(reg.request("GET", GC).header("X-Total-Count"))


class JobServiceApi(ShapeMixin, unittest.TestCase):
    reg = None

    @classmethod
    def setUpClass(cls):
        cls.reg = Registry(config=CONFIG).start()

    @classmethod
    def tearDownClass(cls):
        if cls.reg is not None:
            cls.reg.cleanup_checked(cls.__name__)

    def setUp(self):
        self.assertTrue(self.reg.alive(), self.reg.stderr_tail())
        wait_idle(self.reg)

    def tearDown(self):
        set_queue(self.reg, "all", "resume")
        api(self.reg, "PUT", GC + "/schedule", {"schedule": {"type": "None"}})

    def test_pools_and_workers(self):
        reg = self.reg
        r = reg.request("GET", JOBSERVICE + "/pools")
        self.assertEqual(r.status, 200, r)
        pools = r.json()
        self.assertEqual(len(pools), 1, pools)
        p = pools[0]
        self.assertShape(p, "WorkerPool")
        self.assertEqual(p["pid"], reg.proc.pid)
        self.assertEqual(p["concurrency"], 5)
        self.assertTrue(p["host"])
        self.assertLessEqual(parse_time(p["start_at"]), parse_time(p["heartbeat_at"]))
        # The pool's heartbeat moves (every 5 s).
        deadline = time.monotonic() + 12
        while True:
            p2 = reg.request("GET", JOBSERVICE + "/pools").json()[0]
            if parse_time(p2["heartbeat_at"]) > parse_time(p["heartbeat_at"]):
                break
            self.assertLess(time.monotonic(), deadline, "the pool's heartbeat does not move")
            time.sleep(0.2)
        self.assertLess(abs(parse_time(p2["heartbeat_at"]) - time.time()), 7)
        self.assertEqual(p2["start_at"], p["start_at"])

        ws = workers(reg, p["worker_pool_id"])
        self.assertEqual(ws, workers(reg, "all"))
        self.assertEqual(len(ws), 5)
        self.assertEqual(len({w["id"] for w in ws}), 5)
        for w in ws:
            self.assertShape(w, "Worker")
            self.assertEqual(w["pool_id"], p["worker_pool_id"])
            self.assertEqual((w["job_name"], w["job_id"]), ("", ""))
        r = reg.request("GET", JOBSERVICE + "/pools/nosuchpool/workers")
        self.assertEqual(r.status, 404, r)

        # A running job shows on its worker, with its check-in.
        write_orphans(reg, 3000)
        job = trigger(reg, params={"delete_untagged": False})
        wait_job(reg, GC, job, ("Running",) + FINISHED, timeout=30)
        w = worker_of(reg, job)
        if w is None:
            self.skipTest("the slow run finished too soon: %r" % get_job(reg, GC, job))
        self.assertShape(w, "Worker")
        self.assertEqual(w["job_name"], "GARBAGE_COLLECTION")
        self.assertIn("start_at", w)
        self.assertIn("checkin_at", w)
        # Stopped through the job service.
        r = api(reg, "PUT", "%s/jobs/%d" % (JOBSERVICE, job), {"action": "stop"})
        self.assertEqual(r.status, 200, r)
        j = wait_job(reg, GC, job, timeout=30)
        if j["job_status"] == "Success" and "stopped on request" not in job_log(reg, GC, job):
            # The run ended between the worker check and the stop: stopping a
            # finished job changes nothing, which is right, but proves nothing here.
            self.skipTest("the slow run finished before the stop arrived")
        self.assertEqual(j["job_status"], "Stopped")
        self.assertIsNone(worker_of(reg, job))
        run_job(self, reg, params={"delete_untagged": False}, timeout=180)

    def test_queues_and_schedules_shapes(self):
        reg = self.reg
        qs = queues(reg)
        for kind in ("GARBAGE_COLLECTION", "PURGE_AUDIT_LOG", "SCHEDULER"):
            self.assertIn(kind, qs)
        for q in qs.values():
            self.assertShape(q, "JobQueue")
            self.assertFalse(q["paused"])
        self.assertShape(paused(reg), "SchedulerStatus")
        self.assertEqual(paused(reg), {"paused": False})
        r = reg.request("GET", "/api/v2.0/schedules/GARBAGE_COLLECTION/paused")
        self.assertEqual(r.status, 400, r)
        api(reg, "POST", GC + "/schedule", {"schedule": {"type": "Daily"}})
        api(reg, "POST", "/api/v2.0/system/purgeaudit/schedule", {"schedule": {"type": "Weekly"}})
        r = reg.request("GET", "/api/v2.0/schedules")
        self.assertEqual(r.status, 200, r)
        tasks = r.json()
        # Harbor's daily SYSTEM_ARTIFACT_CLEANUP (CVE export files) is always there.
        self.assertEqual(sorted((t["vendor_type"], t["cron"]) for t in tasks),
                         [("GARBAGE_COLLECTION", "0 0 0 * * *"), ("PURGE_AUDIT_LOG", "0 0 0 * * 0"),
                          ("SYSTEM_ARTIFACT_CLEANUP", "0 0 0 * * *")])
        for t in tasks:
            self.assertShape(t, "ScheduleTask")
        self.assertEqual(r.header("X-Total-Count"), "3")
        r = reg.request("GET", "/api/v2.0/schedules?page=2&page_size=1")
        self.assertEqual(len(r.json()), 1)
        self.assertIn('rel="prev"', r.header("Link"))
        api(reg, "PUT", "/api/v2.0/system/purgeaudit/schedule", {"schedule": {"type": "None"}})

        for path, body, status in (
                ("/queues/GARBAGE_COLLECTION", {"action": "explode"}, 400),
                ("/queues/GARBAGE_COLLECTION", {}, 400),
                ("/queues/GARBAGE_COLLECTION", b"{", 400),
                ("/queues/GARBAGE_COLLECTION", {"action": 1}, 400),
                ("/queues/NO_SUCH_KIND", {"action": "pause"}, 404),
                ("/jobs/999999", {"action": "stop"}, 404),
                ("/jobs/abc", {"action": "stop"}, 400),
                ("/jobs/1", {"action": "pause"}, 400),
                ("/jobs/1", {"action": "launch"}, 400)):
            r = api(reg, "PUT", JOBSERVICE + path, body)
            self.assertEqual(r.status, status, "%s %r: %r" % (path, body, r))
            self.assertIn("errors", r.json())
        self.assertEqual(reg.request("GET", JOBSERVICE + "/jobs/999999/log").status, 404)
        self.assertEqual(reg.request("GET", JOBSERVICE + "/jobs/abc/log").status, 400)
        self.assertEqual(reg.request("GET", JOBSERVICE + "/jobs/0/log").status, 400)

    def test_paused_queue_holds_job_until_resumed(self):
        reg = self.reg
        set_queue(reg, "GARBAGE_COLLECTION", "pause")
        self.assertTrue(queues(reg)["GARBAGE_COLLECTION"]["paused"])
        self.assertFalse(queues(reg)["PURGE_AUDIT_LOG"]["paused"])
        job = trigger(reg, params={"dry_run": True})
        # Other kinds still run.
        run_job(self, reg, "/api/v2.0/system/purgeaudit", {"audit_retention_hour": 10000})
        time.sleep(2)
        self.assertEqual(get_job(reg, GC, job)["job_status"], "Pending")
        q = queues(reg)["GARBAGE_COLLECTION"]
        self.assertEqual(q["count"], 1)
        self.assertGreaterEqual(q["latency"], 1)
        self.assertEqual(job_log(reg, GC, job), "")
        set_queue(reg, "GARBAGE_COLLECTION", "resume")
        self.assertFalse(queues(reg)["GARBAGE_COLLECTION"]["paused"])
        self.assertEqual(wait_job(reg, GC, job, timeout=30)["job_status"], "Success")
        self.assertEqual(queues(reg)["GARBAGE_COLLECTION"]["count"], 0)

        # "all" pauses every queue, the scheduler included.
        set_queue(reg, "all", "pause")
        self.assertTrue(all(q["paused"] for q in queues(reg).values()), queues(reg))
        self.assertEqual(paused(reg), {"paused": True})
        set_queue(reg, "all", "resume")
        self.assertFalse(any(q["paused"] for q in queues(reg).values()), queues(reg))
        self.assertEqual(paused(reg), {"paused": False})

    def test_stop_pending_jobs(self):
        reg = self.reg
        set_queue(reg, "GARBAGE_COLLECTION", "pause")
        job = trigger(reg, params={"dry_run": True})
        r = api(reg, "PUT", "%s/jobs/%d" % (JOBSERVICE, job), {"action": "stop"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(get_job(reg, GC, job)["job_status"], "Stopped")
        # A stopped job leaves room for a new one; the queue stop ends it too.
        job2 = trigger(reg, params={"dry_run": True})
        self.assertEqual(get_job(reg, GC, job2)["job_status"], "Pending")
        r = api(reg, "PUT", JOBSERVICE + "/queues/GARBAGE_COLLECTION", {"action": "stop"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(get_job(reg, GC, job2)["job_status"], "Stopped")
        self.assertTrue(queues(reg)["GARBAGE_COLLECTION"]["paused"], "stop is not resume")
        # Stopped through /system/gc/{id}.
        job3 = trigger(reg, params={"dry_run": True})
        self.assertEqual(api(reg, "PUT", "%s/%d" % (GC, job3)).status, 200)
        self.assertEqual(get_job(reg, GC, job3)["job_status"], "Stopped")
        set_queue(reg, "GARBAGE_COLLECTION", "resume")
        time.sleep(1)
        for j in (job, job2, job3):
            self.assertEqual(get_job(reg, GC, j)["job_status"], "Stopped")
        self.assertEqual(queues(reg)["GARBAGE_COLLECTION"]["count"], 0)
        # Stopping a finished job is a no-op.
        done, _ = run_job(self, reg, params={"dry_run": True})
        r = api(reg, "PUT", "%s/jobs/%d" % (JOBSERVICE, done["id"]), {"action": "stop"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(get_job(reg, GC, done["id"])["job_status"], "Success")

    def test_scheduler_pause_stops_schedules(self):
        reg = self.reg
        r = api(reg, "POST", GC + "/schedule",
                {"schedule": {"type": "Custom", "cron": "* * * * * *"},
                 "parameters": {"dry_run": True}})
        self.assertEqual(r.status, 201, r)
        start = gc_runs(reg)
        deadline = time.monotonic() + 15
        while gc_runs(reg) == start and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertGreater(gc_runs(reg), start, "a per-second schedule did not fire in 15 s")

        set_queue(reg, "SCHEDULER", "pause")
        self.assertEqual(paused(reg), {"paused": True})
        self.assertTrue(queues(reg)["SCHEDULER"]["paused"])
        self.assertFalse(queues(reg)["GARBAGE_COLLECTION"]["paused"])
        time.sleep(1.2)  # a firing already in progress may land
        wait_idle(reg)
        held = gc_runs(reg)
        time.sleep(4)
        self.assertEqual(gc_runs(reg), held, "schedules fired while the scheduler was paused")
        # Manual runs are not the scheduler's.
        run_job(self, reg, params={"dry_run": True})
        held += 1

        set_queue(reg, "SCHEDULER", "resume")
        self.assertEqual(paused(reg), {"paused": False})
        deadline = time.monotonic() + 15
        while gc_runs(reg) == held and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertGreater(gc_runs(reg), held, "schedules did not resume")
        api(reg, "PUT", GC + "/schedule", {"schedule": {"type": "None"}})


class Durability(ContentMixin, unittest.TestCase):
    """Each test owns a berthd it kills and restarts on the same data."""

    def start(self, config):
        self.reg = Registry(config=config).start()

    def tearDown(self):
        if getattr(self, "reg", None):
            self.reg.cleanup_checked(self.id())

    def test_pending_job_survives_sigkill(self):
        self.start(CONFIG)
        reg = self.reg
        img = push_image(reg, "lib/dur", "v1", [os.urandom(500)])
        set_queue(reg, "GARBAGE_COLLECTION", "pause")
        job = trigger(reg, params={"dry_run": True})
        self.assertEqual(get_job(reg, GC, job)["job_status"], "Pending")
        self.assertEqual(reg.restart(signal.SIGKILL), -signal.SIGKILL)
        self.assertEqual(get_job(reg, GC, job)["job_status"], "Pending")
        self.assertTrue(queues(reg)["GARBAGE_COLLECTION"]["paused"], "the pause was forgotten")
        time.sleep(1.5)
        self.assertEqual(get_job(reg, GC, job)["job_status"], "Pending")
        set_queue(reg, "GARBAGE_COLLECTION", "resume")
        self.assertEqual(wait_job(reg, GC, job, timeout=30)["job_status"], "Success")
        self.assertIn("dry run:", job_log(reg, GC, job))
        self.assertPulls(reg, img)

    def test_running_job_taken_over_after_lease(self):
        lease = 3
        self.start("jobs:\n  lease_s: %d\n  poll_ms: 100\n" % lease)
        reg = self.reg
        img = push_image(reg, "lib/lease", "v1", [os.urandom(500)])
        orphans = write_orphans(reg, 2500)
        job = trigger(reg, params={"delete_untagged": False})
        wait_job(reg, GC, job, ("Running",) + FINISHED, timeout=30)
        time.sleep(1)
        before = worker_of(reg, job)
        if before is None:
            self.skipTest("the slow run finished too soon: %r" % get_job(reg, GC, job))
        old_pool = before["pool_id"]
        reg.proc.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        reg.stop()
        reg.start()
        new_pool = [p["worker_pool_id"] for p in reg.request("GET", JOBSERVICE + "/pools").json()
                    if p["pid"] == reg.proc.pid][0]
        self.assertNotEqual(new_pool, old_pool)
        if time.monotonic() - killed < lease - 1.5:
            # The dead node's lease still holds: the job is Running, not
            # taken, and a second run is refused.
            self.assertEqual(get_job(reg, GC, job)["job_status"], "Running")
            w = worker_of(reg, job)
            self.assertEqual(w and w["pool_id"], old_pool)
            trigger(reg, params={"dry_run": True}, expect=409)
        taken = None
        deadline = time.monotonic() + lease + 30
        while time.monotonic() < deadline:
            w = worker_of(reg, job)
            if w and w["pool_id"] == new_pool:
                taken = time.monotonic() - killed
                break
            if get_job(reg, GC, job)["job_status"] in FINISHED:
                break
            time.sleep(0.05)
        j = wait_job(reg, GC, job, timeout=180)
        log = job_log(reg, GC, job)
        self.assertEqual(j["job_status"], "Success", log)
        self.assertIsNotNone(taken, "never saw the new node run the job:\n" + log)
        # The lease is renewed every second, so it ran out 2..3 s after the kill.
        self.assertGreaterEqual(taken, lease - 1.2, "taken over before the lease expired")
        self.assertIn("attempt 2 (an earlier worker stopped answering)", log)
        self.assertEqual(log.count("start to run gc"), 2, log)
        self.assertFalse([d for d in orphans if os.path.exists(os.path.join(reg.data_dir, blob_file(d)))],
                         "orphans left after the resumed run")
        self.assertPulls(reg, img)

    def test_sigterm_requeues_running_job(self):
        self.start(CONFIG)
        reg = self.reg
        img = push_image(reg, "lib/term", "v1", [os.urandom(500)])
        orphans = write_orphans(reg, 2000)
        job = trigger(reg, params={"delete_untagged": False})
        wait_job(reg, GC, job, ("Running",) + FINISHED, timeout=30)
        time.sleep(0.5)
        if get_job(reg, GC, job)["job_status"] != "Running":
            self.skipTest("the slow run finished too soon")
        self.assertEqual(reg.restart(signal.SIGTERM), 0, reg.stderr_tail())
        j = wait_job(reg, GC, job, timeout=180)
        log = job_log(reg, GC, job)
        self.assertEqual(j["job_status"], "Success", log)
        self.assertIn("interrupted by shutdown; queued again", log)
        self.assertIn("attempt 2", log)
        self.assertEqual(log.count("start to run gc"), 2, log)
        self.assertFalse([d for d in orphans if os.path.exists(os.path.join(reg.data_dir, blob_file(d)))])
        self.assertPulls(reg, img)
        self.assertGreater(gc_summary(log)[2], 0)


if __name__ == "__main__":
    main()
