"""Webhook delivery end to end: berthd's notification dispatcher and the
notifier-webhook plugin's "http" provider against small HTTP receivers that
the test runs on 127.0.0.1.

Each test is its own ctest test (see CMakeLists.txt).
"""

import datetime
import json
import os
import re
import signal
import sys
import time
import uuid as uuidlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "protocol"))
import berth_harness as h  # noqa: E402  (path set above)

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
EXTERNAL_HOST = "registry.example.test:8443"


def notifications(endpoints, **opts):
    n = {"max_attempts": 5, "initial_backoff_ms": 100, "max_backoff_ms": 1000,
         "timeout_ms": 5000, "workers": 2}
    n.update(opts)
    n["endpoints"] = endpoints
    return n


def endpoint(name, address, fmt="Default", **extra):
    e = {"name": name, "type": "http", "address": address, "payload_format": fmt}
    e.update(extra)
    return e


def logged(msg, endpoint_name, event=None):
    return lambda r: (r.get("msg") == msg and r.get("endpoint") == endpoint_name and
                      (event is None or r.get("event") == event))


def timed_push(b, repo, tag):
    """Seconds one image push (its config blob and manifest) took."""
    t0 = time.monotonic()
    b.push_image(repo, tag=tag, layers=0)
    return time.monotonic() - t0


def body_json(req):
    return json.loads(req["body"].decode("utf-8"))


class Webhooks(h.ServerTestCase):

    def berthd(self, endpoints, **opts):
        return self.start_berthd({"external_url": "https://" + EXTERNAL_HOST,
                                  "notifications": notifications(endpoints, **opts)})

    # (a) ------------------------------------------------------------------

    def test_retry_until_delivered(self):
        """500, 500, then 200: exactly three POSTs of the same bytes, spaced by
        the exponential backoff, then "notification delivered" at attempt 3."""
        recv = {fmt: self.receiver([500, 500, 200]) for fmt in ("Default", "CloudEvents")}
        b = self.berthd([endpoint("flaky-" + fmt, recv[fmt].url(), fmt,
                                  auth_header="Bearer retry-token") for fmt in recv])
        b.push_image("library/retry", tag="v1", layers=0)
        for fmt, r in recv.items():
            with self.subTest(fmt=fmt):
                name = "flaky-" + fmt
                done = b.wait_log(logged("notification delivered", name), timeout=15)
                self.assertEqual(len(done), 1, done)
                self.assertEqual(done[0]["attempt"], 3, done)
                self.assertEqual(done[0]["event"], "PUSH_ARTIFACT", done)
                retries = [x for x in b.log_records() if logged("notification failed; will retry", name)(x)]
                self.assertEqual([x["attempt"] for x in retries], [1, 2], retries)
                self.assertEqual([x["retry_in_ms"] for x in retries], [100, 200], retries)
                for x in retries:
                    self.assertIn("answered 500", x["error"], x)
                posts = r.received()
                self.assertEqual(len(posts), 3, posts)
                # The same payload every time (a CloudEvent keeps its id, so a
                # receiver can deduplicate), with the same headers.
                self.assertEqual(len({p["body"] for p in posts}), 1, posts)
                for p in posts:
                    self.assertEqual(p["headers"]["authorization"], "Bearer retry-token")
                    self.assertEqual(p["headers"]["content-type"], posts[0]["headers"]["content-type"])
                self.assertEqual(body_json(posts[0]).get("type"),
                                 "PUSH_ARTIFACT" if fmt == "Default" else "harbor.artifact.pushed")
                # Backoff: 100 ms, then 200 ms (lower bounds only: a loaded
                # machine may be later, never earlier).
                self.assertGreaterEqual(posts[1]["t"] - posts[0]["t"], 0.09, posts)
                self.assertGreaterEqual(posts[2]["t"] - posts[1]["t"], 0.19, posts)
        time.sleep(0.5)
        for r in recv.values():
            self.assertEqual(len(r.received()), 3, "a delivered notification was sent again")
        self.assertEqual([x for x in b.log_records() if "giving up" in x.get("msg", "")], [])

    # (b) ------------------------------------------------------------------

    def test_hanging_receiver_does_not_slow_pushes(self):
        """A receiver that accepts and never answers: manifest pushes take as
        long as without any endpoint, and every delivery gives up after
        max_attempts attempts that each time out."""
        timeout_ms, pushes = 3000, 10
        base = self.start_berthd({})
        baseline = [timed_push(base, "library/hang", "t%d" % i) for i in range(pushes)]

        hole = self.black_hole()
        # workers == pushes: all deliveries time out in parallel, so the
        # test waits ~2 timeouts, not 20.
        b = self.berthd([endpoint("hole", hole.url())], max_attempts=2, timeout_ms=timeout_ms,
                        workers=pushes)
        timed = [timed_push(b, "library/hang", "t%d" % i) for i in range(pushes)]
        msg = "push seconds with a hanging receiver %s vs. none %s" % (
            ["%.3f" % t for t in timed], ["%.3f" % t for t in baseline])
        # A push that waited for delivery would take >= timeout_ms.
        self.assertLess(max(timed), timeout_ms / 1000.0 / 2, msg)
        self.assertLess(sum(timed), sum(baseline) + timeout_ms / 1000.0 / 2, msg)

        gave_up = b.wait_log(logged("notification failed; giving up", "hole"), count=pushes,
                             timeout=30)
        self.assertEqual(len(gave_up), pushes, gave_up)
        for x in gave_up:
            self.assertEqual(x["attempt"], 2, x)
            self.assertEqual(x["event"], "PUSH_ARTIFACT", x)
            self.assertIn("timed out", x["error"], x)
        retried = [x for x in b.log_records() if logged("notification failed; will retry", "hole")(x)]
        self.assertEqual(sorted(x["attempt"] for x in retried), [1] * pushes, retried)
        self.assertEqual(hole.accepted, 2 * pushes)
        self.assertEqual([x for x in b.log_records() if logged("notification delivered", "hole")(x)], [])
        st = b.request("GET", "/health", check=False).status
        self.assertEqual(st, 200)

    # (c) ------------------------------------------------------------------

    def test_payload_shapes_and_headers(self):
        """Harbor's Default and CloudEvents payloads for PUSH_ARTIFACT (by tag)
        and DELETE_ARTIFACT (by digest), field by field, with their headers."""
        recv = self.receiver([200])
        b = self.berthd([
            endpoint("harbor-default", recv.url("/default"), "Default",
                     auth_header="Basic dXNlcjpwYXNz"),
            endpoint("harbor-ce", recv.url("/ce"), "CloudEvents", auth_header="Bearer s3cr3t"),
        ])
        repo, tag = "library/payloads", "v1.2"
        push_rid = "push-" + uuidlib.uuid4().hex
        t0 = time.time()
        _, digest = b.push_image(repo, tag=tag, request_id=push_rid, layers=0)
        t1 = time.time()
        d_push = body_json(recv.wait(1, "/default")[0])
        ce_push = body_json(recv.wait(1, "/ce")[0])

        delete_rid = "delete-" + uuidlib.uuid4().hex
        t2 = time.time()
        r = b.request("DELETE", "/v2/%s/manifests/%s" % (repo, digest),
                      headers={"X-Request-Id": delete_rid})
        st, body = r.status, r.body
        t3 = time.time()
        self.assertEqual(st, 202, body)
        d_posts, ce_posts = recv.wait(2, "/default"), recv.wait(2, "/ce")
        d_del, ce_del = body_json(d_posts[1]), body_json(ce_posts[1])

        # Headers.
        for p in d_posts:
            self.assertEqual(p["headers"]["content-type"], "application/json")
            self.assertEqual(p["headers"]["authorization"], "Basic dXNlcjpwYXNz")
            self.assertEqual(p["headers"]["user-agent"], "berth-webhook/1.0")
        for p in ce_posts:
            self.assertEqual(p["headers"]["content-type"], "application/cloudevents+json")
            self.assertEqual(p["headers"]["authorization"], "Bearer s3cr3t")

        # Default, push by tag.
        self.assertEqual(set(d_push), {"type", "occur_at", "operator", "event_data"}, d_push)
        self.assertEqual(d_push["type"], "PUSH_ARTIFACT")
        self.assertIsInstance(d_push["occur_at"], int)
        self.assertTrue(int(t0) - 1 <= d_push["occur_at"] <= t1 + 1, (t0, d_push))
        # Who pushed: the administrator the harness authenticates as, or ""
        # from a berthd that does not authenticate /v2 requests.
        self.assertIn(d_push["operator"], (h.ADMIN_USER, ""), d_push)
        ed = d_push["event_data"]
        self.assertEqual(set(ed), {"resources", "repository"}, ed)
        self.assertEqual(ed["resources"], [{
            "digest": digest, "tag": tag,
            "resource_url": "%s/%s:%s" % (EXTERNAL_HOST, repo, tag)}])
        created = ed["repository"]["date_created"]
        self.assertIsInstance(created, int)
        self.assertTrue(int(t0) - 60 <= created <= t1 + 1, (t0, created))
        self.assertEqual(ed["repository"], {
            "date_created": created, "name": "payloads", "namespace": "library",
            "repo_full_name": repo, "repo_type": "private"})

        # Default, delete by digest: no tag, the URL names the digest.
        self.assertEqual(set(d_del), {"type", "occur_at", "operator", "event_data"}, d_del)
        self.assertEqual(d_del["type"], "DELETE_ARTIFACT")
        self.assertEqual(d_del["operator"], d_push["operator"])
        self.assertTrue(int(t2) - 1 <= d_del["occur_at"] <= t3 + 1, (t2, d_del))
        self.assertEqual(d_del["event_data"]["resources"], [{
            "digest": digest, "resource_url": "%s/%s@%s" % (EXTERNAL_HOST, repo, digest)}])
        self.assertEqual(d_del["event_data"]["repository"], ed["repository"])

        # CloudEvents 1.0, structured mode: data is the Default event_data.
        for ev, dflt, rid, ce_type, lo, hi in (
                (ce_push, d_push, push_rid, "harbor.artifact.pushed", t0, t1),
                (ce_del, d_del, delete_rid, "harbor.artifact.deleted", t2, t3)):
            with self.subTest(ce_type=ce_type):
                self.assertEqual(set(ev), {"specversion", "id", "source", "type",
                                           "datacontenttype", "time", "data", "operator",
                                           "requestid"}, ev)
                self.assertEqual(ev["specversion"], "1.0")
                self.assertRegex(ev["id"], UUID_RE)
                self.assertEqual(ev["source"], "/berth/notifications/harbor-ce")
                self.assertEqual(ev["type"], ce_type)
                self.assertEqual(ev["datacontenttype"], "application/json")
                when = datetime.datetime.strptime(ev["time"], "%Y-%m-%dT%H:%M:%SZ").replace(
                    tzinfo=datetime.timezone.utc).timestamp()
                self.assertTrue(int(lo) - 1 <= when <= hi + 1, (lo, ev["time"]))
                self.assertEqual(ev["data"], dflt["event_data"])
                self.assertEqual(ev["operator"], dflt["operator"])
                self.assertEqual(ev["requestid"], rid)
        self.assertNotEqual(ce_push["id"], ce_del["id"])

        for name in ("harbor-default", "harbor-ce"):
            for event in ("PUSH_ARTIFACT", "DELETE_ARTIFACT"):
                done = b.wait_log(logged("notification delivered", name, event))
                self.assertEqual(done[0]["attempt"], 1)

    # (d) ------------------------------------------------------------------

    def test_event_filter(self):
        """An endpoint subscribed to DELETE_ARTIFACT only never sees a push;
        one subscribed to PUSH_ARTIFACT only never sees a delete."""
        r_all, r_del, r_push = self.receiver(), self.receiver(), self.receiver()
        b = self.berthd([
            endpoint("all", r_all.url()),
            endpoint("deletes-only", r_del.url(), events=["DELETE_ARTIFACT"]),
            endpoint("pushes-only", r_push.url(), events=["PUSH_ARTIFACT"]),
        ])
        repo = "library/filtered"
        _, digest = b.push_image(repo, tag="v1", layers=0)
        b.push_image(repo, tag="v2", layers=0)
        r_all.wait(2)
        r_push.wait(2)
        r = b.request("DELETE", "/v2/%s/manifests/%s" % (repo, digest), check=False)
        st, body = r.status, r.body
        self.assertEqual(st, 202, body)
        # Events are queued for every endpoint when they happen, so once the
        # delete reached "deletes-only" the pushes would have been delivered
        # (or queued ahead of it) had the filter let them through.
        r_del.wait(1)
        r_all.wait(3)
        time.sleep(0.3)
        got = r_del.received()
        self.assertEqual([body_json(p)["type"] for p in got], ["DELETE_ARTIFACT"], got)
        self.assertEqual(body_json(got[0])["event_data"]["resources"][0]["digest"], digest)
        self.assertEqual(sorted(body_json(p)["type"] for p in r_push.received()),
                         ["PUSH_ARTIFACT", "PUSH_ARTIFACT"])
        self.assertEqual(sorted(body_json(p)["type"] for p in r_all.received()),
                         ["DELETE_ARTIFACT", "PUSH_ARTIFACT", "PUSH_ARTIFACT"])
        self.assertEqual([x for x in b.log_records()
                          if logged("notification delivered", "deletes-only", "PUSH_ARTIFACT")(x)],
                         [])

    # (e) ------------------------------------------------------------------

    def test_client_errors_are_not_retried(self):
        """400 and 404 are final (one POST, "giving up" at attempt 1); 408 and
        429 are transient like 5xx (retried, then delivered)."""
        recv = {400: self.receiver([400]), 404: self.receiver([404]),
                408: self.receiver([408, 200]), 429: self.receiver([429, 200])}
        b = self.berthd([endpoint("answers-%d" % c, r.url()) for c, r in recv.items()])
        b.push_image("library/rejected", tag="v1", layers=0)
        for code in (400, 404):
            with self.subTest(code=code):
                name = "answers-%d" % code
                gave_up = b.wait_log(logged("notification failed; giving up", name))
                self.assertEqual(gave_up[0]["attempt"], 1, gave_up)
                self.assertIn("answered %d" % code, gave_up[0]["error"], gave_up)
                self.assertEqual([x for x in b.log_records()
                                  if logged("notification failed; will retry", name)(x)], [])
        for code in (408, 429):
            with self.subTest(code=code):
                done = b.wait_log(logged("notification delivered", "answers-%d" % code))
                self.assertEqual(done[0]["attempt"], 2, done)
                self.assertEqual(len(recv[code].received()), 2)
        # A retry would come 100 ms after the first attempt (initial_backoff_ms).
        time.sleep(0.6)
        for code in (400, 404):
            self.assertEqual(len(recv[code].received()), 1, "HTTP %d was retried" % code)


    # (d) ------------------------------------------------------------------

    def test_pending_delivery_survives_a_restart(self):
        """Deliveries are jobs in the metadata store: one waiting for its
        retry when berthd stops (SIGTERM, or SIGKILL) is sent after berthd
        starts again, with the same payload."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with self.subTest(signal=sig):
                recv = self.receiver([503, 200])
                b = self.berthd([endpoint("later", recv.url())], initial_backoff_ms=3000,
                                max_backoff_ms=3000)
                b.push_image("library/durable", tag="v%d" % sig, layers=0)
                b.wait_log(logged("notification failed; will retry", "later"))
                self.assertEqual(len(recv.received()), 1)
                b.stop(sig)
                time.sleep(3.5)  # the retry falls due while berthd is down
                self.assertEqual(len(recv.received()), 1)
                b.start()
                got = recv.wait(2, timeout=30)
                self.assertEqual(got[1]["body"], got[0]["body"], "the same payload, resent")
                done = b.wait_log(logged("notification delivered", "later"), timeout=15)
                self.assertEqual(done[0]["attempt"], 2, done)


if __name__ == "__main__":
    h.main()
