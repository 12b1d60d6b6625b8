#!/usr/bin/python3
"""Garbage collection and the audit-log purge through Harbor's /system API.

  * GcContent: what a GC run removes (a deleted image's manifest, config and
    layers, orphan files, untagged artifacts, stale uploads) and what it keeps
    (every other image byte-identical, shared blobs, index children,
    referrers, whatever is within the time window), dry runs, the counts in
    the log; each test on its own berthd with gc.time_window_s: 0.
  * GcApi: the /system/gc endpoints (history, one run, stop, log, schedule),
    Harbor's shapes (checked against the swagger definitions), schedules that
    fire, bad input, RBAC (403 for a non-administrator, 401 anonymous, a
    system robot limited to its permissions), one run at a time (409).
  * PurgeAudit: /system/purgeaudit against /api/v2.0/audit-logs.

The helpers at the top are shared with test_jobservice.py and
test_gc_online.py. Python 3 standard library only.
"""

import base64
import hashlib
import json
import os
import re
import sys
import time
import unittest
import uuid as uuidlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from berth_harness import (  # noqa: E402
    OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, Registry, descriptor, dumps,
    location_path, main, sha256)

GC = "/api/v2.0/system/gc"
PURGE = "/api/v2.0/system/purgeaudit"
JOBSERVICE = "/api/v2.0/jobservice"
FINISHED = ("Success", "Error", "Stopped")
# berthd's configuration for tests that want every blob collectable at once.
WINDOW0 = "gc:\n  time_window_s: 0\n  upload_grace_s: 0\njobs:\n  poll_ms: 100\n"
FAST_POLL = "jobs:\n  poll_ms: 100\n"

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SWAGGER = os.path.join(REPO_ROOT, "..", "shared", "reference", "specs",
                       "harbor-api-v2.0-swagger.yaml")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
SUMMARY = re.compile(r"(dry run: )?(\d+) untagged artifacts (?:deleted|would delete), (\d+) blobs "
                     r"(?:deleted|would delete), (\d+) bytes")


# ---------------------------------------------------------------------------
# Harbor's swagger definitions (a reader for the few we compare with)


def load_definitions(path=SWAGGER):
    """{definition: {property: {"type"|"format"|"$ref"|"x-omitempty": str,
    "enum": [..]}}} for every definition in the swagger file, or None when the
    file is absent. Reads the block-style YAML the Harbor spec uses: names at
    indent 2 under "definitions:", properties at 6, their keys at 8."""
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    defs = {}
    start = lines.index("definitions:") + 1
    cur = prop = last_key = None
    in_props = False
    for line in lines[start:]:
        if line and not line.startswith(" "):
            break  # the next top-level key
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if indent == 2:
            cur = stripped.rstrip(":")
            defs[cur] = {}
            in_props, prop = False, None
        elif cur is None:
            continue
        elif indent == 4:
            in_props, prop = stripped == "properties:", None
        elif indent == 6 and in_props:
            prop = stripped.rstrip(":")
            defs[cur][prop] = {}
        elif indent == 8 and in_props and prop:
            key, _, val = stripped.partition(":")
            last_key = key
            val = val.strip().strip("'\"")
            if key == "enum":
                defs[cur][prop]["enum"] = []
            elif key in ("type", "format", "$ref", "x-omitempty", "x-nullable"):
                defs[cur][prop][key] = val
        elif indent >= 10 and in_props and prop and last_key == "enum" and stripped.startswith("- "):
            defs[cur][prop]["enum"].append(stripped[2:].strip().strip("'\""))
    return defs


_DEFS = []


def definitions():
    if not _DEFS:
        _DEFS.append(load_definitions())
    return _DEFS[0]


def shape_problems(obj, name, defs, optional=(), enums=True, where=""):
    """Differences between a JSON value and a swagger definition: fields the
    definition lacks, values of the wrong JSON type, enum violations, and
    defined fields missing from obj (unless x-omitempty or in `optional`;
    optional="*" allows any to be missing, as Harbor's generated models omit
    empty optional fields: used for nested objects)."""
    where = where or name
    if not isinstance(obj, dict):
        return ["%s: not an object: %r" % (where, obj)]
    props = defs[name]
    out = []
    for key, val in obj.items():
        spec = props.get(key)
        if spec is None:
            out.append("%s.%s: not in Harbor's %s" % (where, key, name))
            continue
        ref = spec.get("$ref")
        if ref:
            out += shape_problems(val, ref.rsplit("/", 1)[1], defs, "*", enums, where + "." + key)
            continue
        t = spec.get("type")
        ok = {"integer": isinstance(val, int) and not isinstance(val, bool),
              "number": isinstance(val, (int, float)) and not isinstance(val, bool),
              "string": isinstance(val, str),
              "boolean": isinstance(val, bool),
              "object": isinstance(val, dict),
              "array": isinstance(val, list)}.get(t, True)
        if val is None and spec.get("x-nullable") == "true":
            ok = True
        if not ok:
            out.append("%s.%s: %r is not of type %s" % (where, key, val, t))
        elif spec.get("format") == "date-time" and isinstance(val, str) and not RFC3339.match(val):
            out.append("%s.%s: %r is not an RFC 3339 date-time" % (where, key, val))
        elif enums and "enum" in spec and val not in spec["enum"]:
            out.append("%s.%s: %r is not one of %s" % (where, key, val, spec["enum"]))
    for key, spec in props.items():
        if optional == "*":
            break
        if key not in obj and key not in optional and spec.get("x-omitempty") != "true":
            out.append("%s.%s: missing (Harbor's %s has it)" % (where, key, name))
    return out


class ShapeMixin:
    def assertShape(self, obj, name, optional=(), enums=True):
        defs = definitions()
        if defs is None:
            self.skipTest("Harbor swagger not found at %s: shape check skipped" % SWAGGER)
        self.assertIn(name, defs, "no definition %s in %s" % (name, SWAGGER))
        problems = shape_problems(obj, name, defs, optional, enums)
        self.assertEqual(problems, [], "response differs from Harbor's %s:\n  %s" %
                         (name, "\n  ".join(problems)))


# ---------------------------------------------------------------------------
# API helpers


def api(reg, method, path, body=None, headers=None, **kw):
    """A request with a JSON body (dicts and lists are encoded)."""
    hdrs = {}
    if body is not None:
        hdrs["Content-Type"] = "application/json"
        if not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body).encode()
    hdrs.update(headers or {})
    return reg.request(method, path, body, hdrs, **kw)


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def trigger(reg, base=GC, params=None, expect=201):
    """POSTs a Manual run; returns its id (None when expect is not 201)."""
    body = {"schedule": {"type": "Manual"}}
    if params is not None:
        body["parameters"] = params
    r = api(reg, "POST", base + "/schedule", body)
    if r.status != expect:
        raise AssertionError("manual run: expected %d, got %r" % (expect, r))
    if expect != 201:
        return r
    loc = location_path(r)
    m = re.fullmatch(re.escape(base) + r"/(\d+)", loc)
    if not m:
        raise AssertionError("Location %r is not %s/{id}: %r" % (loc, base, r))
    return int(m.group(1))


def get_job(reg, base, job_id):
    r = reg.request("GET", "%s/%d" % (base, job_id))
    if r.status != 200:
        raise AssertionError("GET run %d: %r" % (job_id, r))
    return r.json()


def wait_job(reg, base, job_id, statuses=FINISHED, timeout=120):
    """Polls one run until its job_status is in `statuses`; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        j = get_job(reg, base, job_id)
        if j["job_status"] in statuses:
            return j
        if time.monotonic() > deadline:
            raise AssertionError("run %d still %s after %d s (want %s); log:\n%s\nberthd:\n%s" % (
                job_id, j["job_status"], timeout, statuses, job_log(reg, base, job_id),
                reg.stderr_tail()))
        time.sleep(0.1)


def job_log(reg, base, job_id):
    r = reg.request("GET", "%s/%d/log" % (base, job_id))
    return r.body.decode("utf-8", "replace") if r.status == 200 else "<log: %d>" % r.status


def run_job(tc, reg, base=GC, params=None, timeout=120):
    """Runs a job to Success; returns (run JSON, log text)."""
    job_id = trigger(reg, base, params)
    j = wait_job(reg, base, job_id, timeout=timeout)
    log = job_log(reg, base, job_id)
    tc.assertEqual(j["job_status"], "Success", "run %d: %r\nlog:\n%s" % (job_id, j, log))
    return j, log


def gc_summary(log):
    """(dry_run, artifacts, blobs, bytes) from a GC log's last line."""
    m = SUMMARY.search(log)
    if not m:
        raise AssertionError("no summary line in the GC log:\n" + log)
    return bool(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4))


def wait_idle(reg, base=GC, timeout=120):
    """Waits until no run of this kind is Pending or Running."""
    deadline = time.monotonic() + timeout
    while True:
        r = reg.request("GET", base + "?page_size=100")
        busy = [j for j in r.json() if j["job_status"] not in FINISHED]
        if not busy:
            return
        if time.monotonic() > deadline:
            raise AssertionError("runs still busy: %r" % busy)
        time.sleep(0.1)


def set_queue(reg, kind, action):
    r = api(reg, "PUT", "%s/queues/%s" % (JOBSERVICE, kind), {"action": action})
    if r.status != 200:
        raise AssertionError("queue %s %s: %r" % (kind, action, r))


# ---------------------------------------------------------------------------
# Content helpers


class Image:
    """What was pushed: enough to pull it again and compare every byte."""

    def __init__(self, repo, tag, body, media_type, blobs, children=()):
        self.repo = repo
        self.tag = tag
        self.body = body
        self.digest = sha256(body)
        self.media_type = media_type
        self.blobs = dict(blobs)  # digest -> bytes (config and layers)
        self.children = list(children)  # Images of an index

    def __repr__(self):
        return "<Image %s:%s@%s>" % (self.repo, self.tag, self.digest[:19])


def push_image(reg, repo, tag, layers, config=None, **extra):
    """Pushes config and layers (monolithic) and the manifest by tag (or by
    digest when tag is None)."""
    config = config or json.dumps({"architecture": "amd64", "os": "linux",
                                   "seed": uuidlib.uuid4().hex}).encode()
    blobs = {reg.push_blob(repo, config): config}
    for layer in layers:
        blobs[reg.push_blob(repo, layer)] = layer
    m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
         "config": descriptor(OCI_CONFIG, config),
         "layers": [descriptor(OCI_LAYER, layer) for layer in layers]}
    m.update(extra)
    body = dumps(m)
    r = reg.put_manifest(repo, tag or sha256(body), body, OCI_MANIFEST)
    if r.status != 201:
        raise AssertionError("manifest push failed: %r" % r)
    return Image(repo, tag, body, OCI_MANIFEST, blobs)


def push_index(reg, repo, tag, children):
    m = {"schemaVersion": 2, "mediaType": OCI_INDEX,
         "manifests": [descriptor(c.media_type, c.body,
                                  platform={"architecture": "arch%d" % i, "os": "linux"})
                       for i, c in enumerate(children)]}
    body = dumps(m)
    r = reg.put_manifest(repo, tag or sha256(body), body, OCI_INDEX)
    if r.status != 201:
        raise AssertionError("index push failed: %r" % r)
    return Image(repo, tag, body, OCI_INDEX, {}, children)


def blob_file(digest):
    """The data-tree path of a blob's bytes (storage-fs layout)."""
    alg, hexd = digest.split(":", 1)
    return os.path.join("storage", "data", "blobs", alg, hexd[:2], hexd, "data")


def blob_files(reg):
    return {p for p in reg.data_tree() if p.startswith(os.path.join("storage", "data", "blobs"))}


def write_orphans(reg, n, age_s=3 * 86400, prefix="orphan"):
    """Stores n files in the blob layout that no metadata knows (what a crash
    between storing bytes and recording them leaves), with an old mtime;
    returns their digests."""
    digests = []
    when = time.time() - age_s
    for i in range(n):
        data = ("%s %d %s" % (prefix, i, uuidlib.uuid4().hex)).encode()
        d = sha256(data)
        path = os.path.join(reg.data_dir, blob_file(d))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (when, when))
        digests.append(d)
    return digests


class ContentMixin:
    def assertPulls(self, reg, img):
        """The manifest by tag and by digest, and every blob, byte-identical."""
        refs = [img.digest] + ([img.tag] if img.tag else [])
        for ref in refs:
            r = reg.request("GET", "/v2/%s/manifests/%s" % (img.repo, ref),
                            headers={"Accept": img.media_type})
            self.assertEqual(r.status, 200, "%r: %r" % (img, r))
            self.assertEqual(r.body, img.body, "%r: manifest bytes differ" % img)
            self.assertEqual(r.header("Docker-Content-Digest"), img.digest)
        for d, data in img.blobs.items():
            r = reg.request("GET", "/v2/%s/blobs/%s" % (img.repo, d))
            self.assertEqual(r.status, 200, "%r blob %s: %r" % (img, d, r))
            self.assertEqual(sha256(r.body), d, "%r blob %s: wrong bytes" % (img, d))
            self.assertEqual(r.body, data)
        for c in img.children:
            self.assertPulls(reg, c)

    def assertGone(self, reg, img):
        r = reg.request("GET", "/v2/%s/manifests/%s" % (img.repo, img.digest))
        self.assertEqual(r.status, 404, "%r should be gone: %r" % (img, r))
        self.assertIn("MANIFEST_UNKNOWN", r.error_codes())


# ---------------------------------------------------------------------------


class GcContent(ContentMixin, unittest.TestCase):
    """Each test on a fresh berthd whose GC keeps nothing for time's sake
    (gc.time_window_s: 0, upload_grace_s: 0)."""

    def setUp(self):
        self.reg = Registry(config=WINDOW0).start()

    def tearDown(self):
        self.reg.cleanup_checked(self.id())

    def test_deleted_image_collected_others_intact(self):
        reg = self.reg
        shared, a1, a2, b1, c1 = (os.urandom(2000 + i) for i in range(5))
        a = push_image(reg, "lib/app", "a", [shared, a1, a2])
        b = push_image(reg, "lib/app", "b", [shared, b1])
        c = push_image(reg, "team/svc", "c", [a2, c1])  # shares a2 across repositories
        r = reg.request("DELETE", "/v2/lib/app/manifests/%s" % a.digest)
        self.assertEqual(r.status, 202, r)
        before = blob_files(reg)
        a_config = [d for d, v in a.blobs.items() if v not in (shared, a1, a2)][0]
        doomed = [a_config, sha256(a1), a.digest]
        for d in doomed:
            self.assertIn(blob_file(d), before)

        _, log = run_job(self, reg, params={"delete_untagged": True, "workers": 4})
        self.assertEqual(gc_summary(log),
                         (False, 0, 3, len(a.blobs[a_config]) + len(a1) + len(a.body)), log)
        after = blob_files(reg)
        gone = {blob_file(d) for d in doomed} | {os.path.dirname(blob_file(d)) for d in doomed}
        self.assertEqual(before - after, gone, "exactly the deleted image's own files go")
        self.assertEqual(after - before, set())
        for d in (a_config, sha256(a1)):
            for method in ("GET", "HEAD"):
                r = reg.request(method, "/v2/lib/app/blobs/%s" % d)
                self.assertEqual(r.status, 404, r)
            self.assertIn("BLOB_UNKNOWN", reg.request("GET", "/v2/lib/app/blobs/%s" % d).error_codes())
        self.assertGone(reg, a)
        r = reg.request("GET", "/v2/lib/app/blobs/%s" % sha256(shared))
        self.assertEqual((r.status, r.body), (200, shared), "a layer B shares stays")
        self.assertPulls(reg, b)
        self.assertPulls(reg, c)

        # Nothing left to collect; the same image can be pushed again.
        _, log = run_job(self, reg, params={"delete_untagged": True})
        self.assertEqual(gc_summary(log), (False, 0, 0, 0), log)
        a2nd = push_image(reg, "lib/app", "a", [shared, a1, a2], config=a.blobs[a_config])
        self.assertEqual(a2nd.body, a.body)
        self.assertPulls(reg, a2nd)
        self.assertPulls(reg, b)

    def test_dry_run_deletes_nothing(self):
        reg = self.reg
        d = push_image(reg, "lib/dry", "gone", [os.urandom(1500)])
        u = push_image(reg, "lib/dry", None, [os.urandom(1700)])  # untagged
        keep = push_image(reg, "lib/dry", "keep", [os.urandom(1900)])
        self.assertEqual(reg.request("DELETE", "/v2/lib/dry/manifests/%s" % d.digest).status, 202)
        before = reg.data_tree()
        _, log = run_job(self, reg, params={"delete_untagged": True, "dry_run": True})
        d_bytes = sum(len(v) for v in d.blobs.values()) + len(d.body)
        # The deleted image's config, layer and manifest; the untagged
        # artifact is only counted (its blobs stay referenced in a dry run).
        self.assertEqual(gc_summary(log), (True, 1, 3, d_bytes), log)
        self.assertIn("dry_run=true", log)
        self.assertIn("untagged artifact lib/dry@%s would be deleted" % u.digest, log)
        self.assertEqual(reg.data_tree(), before, "a dry run changed the data directory")
        self.assertPulls(reg, u)
        self.assertPulls(reg, keep)
        for dg in d.blobs:
            self.assertEqual(reg.request("GET", "/v2/lib/dry/blobs/%s" % dg).status, 200)

        # The real run removes what the dry run announced, and the untagged one.
        _, log = run_job(self, reg, params={"delete_untagged": True})
        u_bytes = sum(len(v) for v in u.blobs.values()) + len(u.body)
        self.assertEqual(gc_summary(log), (False, 1, 6, d_bytes + u_bytes), log)
        self.assertGone(reg, u)
        self.assertPulls(reg, keep)

    def test_delete_untagged_keeps_tagged_children_and_referrers(self):
        reg = self.reg
        repo = "lib/untag"
        t = push_image(reg, repo, "v1", [os.urandom(1000)])
        u = push_image(reg, repo, None, [os.urandom(1000)])
        c1 = push_image(reg, repo, None, [os.urandom(1000)])
        c2 = push_image(reg, repo, None, [os.urandom(1000)])
        idx = push_index(reg, repo, "multi", [c1, c2])
        k = push_image(reg, repo, None, [os.urandom(1000)])
        j = push_index(reg, repo, None, [k])  # untagged index, untagged child
        sig = push_image(reg, repo, None, [os.urandom(300)],
                         artifactType="application/vnd.example.signature",
                         subject=descriptor(OCI_MANIFEST, t.body))

        _, log = run_job(self, reg, params={"delete_untagged": False})
        self.assertEqual(gc_summary(log)[:3], (False, 0, 0), log)
        self.assertPulls(reg, u)
        # Within the time window (a parameter, in hours) untagged artifacts stay.
        _, log = run_job(self, reg, params={"delete_untagged": True, "time_window": 1})
        self.assertIn("time_window=3600s", log)
        self.assertEqual(gc_summary(log)[:3], (False, 0, 0), log)
        self.assertPulls(reg, u)

        _, log = run_job(self, reg, params={"delete_untagged": True})
        self.assertIn("deleted untagged artifact %s@%s" % (repo, u.digest), log)
        self.assertIn("deleted untagged artifact %s@%s" % (repo, j.digest), log)
        gone_blobs = list(u.blobs) + [u.digest, j.digest, k.digest] + list(k.blobs)
        self.assertEqual(gc_summary(log)[:3], (False, 2, len(gone_blobs)), log)
        for img in (u, j, k):
            self.assertGone(reg, img)
        files = blob_files(reg)
        for dg in gone_blobs:
            self.assertNotIn(blob_file(dg), files)
            self.assertEqual(reg.request("GET", "/v2/%s/blobs/%s" % (repo, dg)).status, 404)
        for img in (t, idx, c1, c2, sig):
            self.assertPulls(reg, img)
        r = reg.request("GET", "/v2/%s/referrers/%s" % (repo, t.digest))
        self.assertEqual(r.status, 200, r)
        self.assertEqual([m["digest"] for m in r.json()["manifests"]], [sig.digest])

    def test_orphan_files_and_stale_uploads(self):
        reg = self.reg
        keep = push_image(reg, "lib/orph", "v1", [os.urandom(800)])
        old = write_orphans(reg, 3)
        # A file newer than the run's start is within even a zero window.
        fresh = write_orphans(reg, 1, age_s=-3600, prefix="fresh")
        loc = reg.start_upload("lib/orph")
        r = reg.request("PATCH", loc, b"half an upload", {"Content-Range": "0-13"})
        self.assertEqual(r.status, 202, r)
        _, log = run_job(self, reg, params={"delete_untagged": True})
        self.assertEqual(gc_summary(log)[:3], (False, 0, 3), log)
        self.assertIn("1 abandoned upload sessions removed", log)
        files = blob_files(reg)
        for d in old:
            self.assertNotIn(blob_file(d), files)
        self.assertIn(blob_file(fresh[0]), files)
        r = reg.request("GET", loc)
        self.assertEqual(r.status, 404, r)
        self.assertIn("BLOB_UPLOAD_UNKNOWN", r.error_codes())
        self.assertPulls(reg, keep)

    def test_seen_blobs_stay_within_the_window(self):
        # gc.time_window_s: 6. Blobs no manifest uses, uploaded at T0: the
        # ones a client looked at after half the window (HEAD, GET, a mount
        # into another repository) stay; the one nobody looked at goes.
        reg = self.reg
        reg.stop()
        reg.config = "gc:\n  time_window_s: 6\njobs:\n  poll_ms: 100\n"
        reg.start()
        blobs = {k: os.urandom(700) for k in ("head", "get", "mount", "none")}
        for data in blobs.values():
            reg.push_blob("lib/seen", data)
        # Timed from the end of the pushes: a look refreshes a link only
        # once it is older than half the window (3 s), and then protects it
        # for at least that long.
        t1 = time.monotonic()
        time.sleep(3.5)
        d = {k: sha256(v) for k, v in blobs.items()}
        self.assertEqual(reg.request("HEAD", "/v2/lib/seen/blobs/%s" % d["head"]).status, 200)
        self.assertEqual(reg.request("GET", "/v2/lib/seen/blobs/%s" % d["get"]).status, 200)
        r = reg.request("POST", "/v2/lib/other/blobs/uploads/?mount=%s&from=lib/seen" % d["mount"])
        self.assertEqual(r.status, 201, r)
        if time.monotonic() - t1 > 5.5:
            self.skipTest("too slow to stay within the window's timing")
        # GC at t1 + 7: the cutoff (t1 + 1) is after every push and before
        # every look.
        time.sleep(max(0, t1 + 7 - time.monotonic()))
        _, log = run_job(self, reg, params={"delete_untagged": True})
        self.assertIn("time_window=6s", log)
        self.assertEqual(gc_summary(log)[:3], (False, 0, 1), log)
        files = blob_files(reg)
        for k in ("head", "get", "mount"):
            self.assertIn(blob_file(d[k]), files, k)
        self.assertNotIn(blob_file(d["none"]), files)
        self.assertEqual(reg.request("GET", "/v2/lib/seen/blobs/%s" % d["none"]).status, 404)
        r = reg.request("GET", "/v2/lib/seen/blobs/%s" % d["head"])
        self.assertEqual((r.status, r.body), (200, blobs["head"]))

    def test_time_window_parameter_zero_means_no_window(self):
        # On a berthd with the default 2 h window, parameters.time_window 0
        # asks for no window (as Harbor's GC job honours time_window: 0).
        reg = self.reg
        reg.stop()
        reg.config = FAST_POLL
        reg.start()
        d = push_image(reg, "lib/tw", "x", [os.urandom(500)])
        self.assertEqual(reg.request("DELETE", "/v2/lib/tw/manifests/%s" % d.digest).status, 202)
        _, log = run_job(self, reg, params={"delete_untagged": True})
        self.assertIn("time_window=7200s", log)
        self.assertEqual(gc_summary(log)[:3], (False, 0, 0), log)
        _, log = run_job(self, reg, params={"delete_untagged": True, "time_window": 0})
        self.assertIn("time_window=0s", log)
        self.assertEqual(gc_summary(log)[:3], (False, 0, 3), log)


class GcApi(ShapeMixin, ContentMixin, unittest.TestCase):
    """The /system/gc endpoints on one berthd (default 2 h window)."""

    reg = None

    @classmethod
    def setUpClass(cls):
        cls.reg = Registry(config=FAST_POLL).start()
        cls.user_pw = "User-Passw0rd-1"
        r = api(cls.reg, "POST", "/api/v2.0/users",
                {"username": "gcuser", "password": cls.user_pw, "email": "gcuser@example.com",
                 "realname": "GC User"})
        if r.status != 201:
            raise AssertionError("creating a user: %r" % r)
        cls.user = basic("gcuser", cls.user_pw)

    @classmethod
    def tearDownClass(cls):
        if cls.reg is not None:
            cls.reg.cleanup_checked(cls.__name__)

    def setUp(self):
        self.assertTrue(self.reg.alive(), self.reg.stderr_tail())
        wait_idle(self.reg)

    def tearDown(self):
        api(self.reg, "PUT", GC + "/schedule", {"schedule": {"type": "None"}})
        set_queue(self.reg, "GARBAGE_COLLECTION", "resume")

    def test_history_run_and_log_shapes(self):
        reg = self.reg
        first, log1 = run_job(self, reg, params={"delete_untagged": False, "dry_run": True,
                                                 "workers": 3})
        second, _ = run_job(self, reg, params={"delete_untagged": True})
        for j in (first, second):
            self.assertShape(j, "GCHistory")
            self.assertEqual(j["job_name"], "GARBAGE_COLLECTION")
            self.assertEqual(j["job_kind"], "MANUAL")
            self.assertFalse(j["deleted"])
        self.assertEqual(json.loads(first["job_parameters"]),
                         {"delete_untagged": False, "dry_run": True, "workers": 3})
        r = reg.request("GET", GC + "?page=1&page_size=1")
        self.assertEqual(r.status, 200, r)
        total = int(r.header("X-Total-Count"))
        self.assertGreaterEqual(total, 2)
        self.assertEqual([j["id"] for j in r.json()], [second["id"]], "newest first")
        self.assertIn('rel="next"', r.header("Link") or "", r)
        r = reg.request("GET", GC + "?page_size=100")
        hist = r.json()
        self.assertEqual(len(hist), total)
        for j in hist:
            self.assertShape(j, "GCHistory")
        self.assertEqual([j["id"] for j in hist], sorted((j["id"] for j in hist), reverse=True))
        self.assertIn(first, hist)

        r = reg.request("GET", "%s/%d/log" % (GC, first["id"]))
        self.assertEqual(r.status, 200, r)
        self.assertTrue((r.header("Content-Type") or "").startswith("text/plain"), r)
        lines = r.body.decode().splitlines()
        self.assertGreaterEqual(len(lines), 2, r.body)
        for line in lines:
            ts, level = line.split(" ")[:2]
            self.assertRegex(ts, RFC3339)
            self.assertIn(level, ("[INFO]", "[WARNING]", "[ERROR]"), line)
        self.assertIn("dry_run=true", lines[0])
        self.assertIn("workers=3", lines[0])
        self.assertTrue(gc_summary(log1)[0])
        # The same log through the job service.
        r2 = reg.request("GET", "%s/jobs/%d/log" % (JOBSERVICE, first["id"]))
        self.assertEqual((r2.status, r2.body), (200, r.body))

        for path, status in (("%s/999999" % GC, 404), ("%s/999999/log" % GC, 404),
                             ("%s/abc" % GC, 400), ("%s/0/log" % GC, 400),
                             ("%s/-1" % GC, 400)):
            r = reg.request("GET", path)
            self.assertEqual(r.status, status, r)
            self.assertErrorBody(r)
        # A purge run is not a GC run.
        pid, _ = run_job(self, reg, PURGE, {"audit_retention_hour": 10000, "dry_run": True})
        for path in ("%s/%d" % (GC, pid["id"]), "%s/%d/log" % (GC, pid["id"])):
            self.assertEqual(reg.request("GET", path).status, 404)
        r = api(reg, "PUT", "%s/%d" % (GC, pid["id"]))
        self.assertEqual(r.status, 404, r)
        self.assertEqual(get_job(reg, PURGE, pid["id"])["job_status"], "Success")

    def assertErrorBody(self, r, code=None):
        """Harbor's {"errors":[{"code","message"}]}."""
        doc = r.json()
        self.assertIsInstance(doc.get("errors"), list, r)
        self.assertTrue(doc["errors"], r)
        for e in doc["errors"]:
            self.assertIsInstance(e.get("code"), str, r)
            self.assertIsInstance(e.get("message"), str, r)
            self.assertTrue(e["message"], r)
        if code:
            self.assertIn(code, [e["code"] for e in doc["errors"]], r)

    def test_schedule_custom_fires_and_none_removes(self):
        reg = self.reg
        r = reg.request("GET", GC + "/schedule")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["schedule"]["type"], "None")
        start = time.time()
        params = {"delete_untagged": False, "dry_run": True}
        r = api(reg, "POST", GC + "/schedule",
                {"schedule": {"type": "Custom", "cron": "*/2 * * * * *"}, "parameters": params})
        self.assertEqual(r.status, 201, r)
        s = reg.request("GET", GC + "/schedule").json()
        self.assertShape(s, "GCHistory", optional=("job_status",))
        self.assertEqual(s["schedule"]["type"], "Custom")
        self.assertEqual(s["schedule"]["cron"], "*/2 * * * * *")
        self.assertEqual(json.loads(s["job_parameters"]), params)
        nxt = parse_time(s["schedule"]["next_scheduled_time"])
        self.assertGreater(nxt, start - 1)
        self.assertLessEqual(nxt, start + 3)
        tasks = reg.request("GET", "/api/v2.0/schedules").json()
        mine = [t for t in tasks if t["vendor_type"] == "GARBAGE_COLLECTION"]
        self.assertEqual(len(mine), 1, tasks)
        self.assertEqual(mine[0]["cron"], "*/2 * * * * *")
        self.assertShape(mine[0], "ScheduleTask")

        deadline = time.monotonic() + 20
        runs = []
        while time.monotonic() < deadline and len(runs) < 2:
            runs = [j for j in reg.request("GET", GC + "?page_size=100").json()
                    if j["job_kind"] == "SCHEDULE" and parse_time(j["creation_time"]) >= start - 1]
            time.sleep(0.2)
        self.assertGreaterEqual(len(runs), 2, "a */2 s schedule fired %d times in 20 s" % len(runs))
        for j in runs:
            self.assertShape(j, "GCHistory")
            self.assertEqual(json.loads(j["job_parameters"]), params)
        times = sorted(parse_time(j["creation_time"]) for j in runs)
        self.assertGreaterEqual(times[-1] - times[-2], 1.0, "fired more often than every 2 s")
        wait_job(reg, GC, max(j["id"] for j in runs))
        self.assertIn("dry run:", job_log(reg, GC, max(j["id"] for j in runs)))

        r = api(reg, "PUT", GC + "/schedule", {"schedule": {"type": "None"}})
        self.assertEqual(r.status, 200, r)
        s = reg.request("GET", GC + "/schedule").json()
        self.assertEqual(s["schedule"]["type"], "None")
        self.assertNotIn("GARBAGE_COLLECTION",
                         [t["vendor_type"] for t in reg.request("GET", "/api/v2.0/schedules").json()])
        wait_idle(reg)
        count = int(reg.request("GET", GC).header("X-Total-Count"))
        time.sleep(4.5)
        self.assertEqual(int(reg.request("GET", GC).header("X-Total-Count")), count,
                         "a removed schedule still fires")
        # None again (nothing to remove) is fine.
        self.assertEqual(api(reg, "PUT", GC + "/schedule", {"schedule": {"type": "None"}}).status, 200)

    def test_schedule_types(self):
        reg = self.reg
        for typ, cron in (("Hourly", "0 0 * * * *"), ("Daily", "0 0 0 * * *"),
                          ("Weekly", "0 0 0 * * 0"), ("Custom", "0 30 4 1 * *")):
            for method, status in (("POST", 201), ("PUT", 200)):
                body = {"schedule": {"type": typ}, "parameters": {"delete_untagged": True}}
                if typ == "Custom":
                    body["schedule"]["cron"] = cron
                r = api(reg, method, GC + "/schedule", body)
                self.assertEqual(r.status, status, r)
                s = reg.request("GET", GC + "/schedule").json()
                self.assertShape(s, "GCHistory", optional=("job_status",))
                self.assertEqual((s["schedule"]["type"], s["schedule"]["cron"]), (typ, cron))
                nxt = time.gmtime(parse_time(s["schedule"]["next_scheduled_time"]))
                self.assertGreater(parse_time(s["schedule"]["next_scheduled_time"]), time.time())
                self.assertEqual((nxt.tm_sec, nxt.tm_min), (0, 30 if typ == "Custom" else 0))
                if typ in ("Daily", "Weekly"):
                    self.assertEqual(nxt.tm_hour, 0)
                if typ == "Weekly":
                    self.assertEqual(nxt.tm_wday, 6, "Sunday")
                if typ == "Custom":
                    self.assertEqual((nxt.tm_hour, nxt.tm_mday), (4, 1))
        self.assertEqual(api(reg, "PUT", GC + "/schedule", {"schedule": {"type": "None"}}).status, 200)
        self.assertEqual(reg.request("GET", GC + "/schedule").json()["schedule"]["type"], "None")

    def test_bad_input(self):
        reg = self.reg
        api(reg, "POST", GC + "/schedule", {"schedule": {"type": "Daily"}})
        before = reg.request("GET", GC + "/schedule").json()
        runs = int(reg.request("GET", GC).header("X-Total-Count"))
        manual = {"type": "Manual"}
        bodies = [
            b"not json", b"[]", b'"x"', {}, {"schedule": "Daily"}, {"schedule": {}},
            {"schedule": {"type": 5}}, {"schedule": {"type": "Monthly"}},
            {"schedule": {"type": "daily"}},
            {"schedule": {"type": "Custom"}}, {"schedule": {"type": "Custom", "cron": ""}},
            {"schedule": {"type": "Custom", "cron": 7}},
            {"schedule": {"type": "Custom", "cron": "* * * * *"}},  # 5 fields
            {"schedule": {"type": "Custom", "cron": "* * * * * * *"}},
            {"schedule": {"type": "Custom", "cron": "bad cron here x y z"}},
            {"schedule": {"type": "Custom", "cron": "61 * * * * *"}},
            {"schedule": {"type": "Custom", "cron": "0 0 25 * * *"}},
            {"schedule": {"type": "Custom", "cron": "0 0 0 30 2 *"}},  # never fires
            {"schedule": {"type": "Custom", "cron": "*/0 * * * * *"}},
            {"schedule": manual, "parameters": "x"},
            {"schedule": manual, "parameters": [1]},
            {"schedule": manual, "parameters": {"workers": 0}},
            {"schedule": manual, "parameters": {"workers": 11}},
            {"schedule": manual, "parameters": {"workers": "2"}},
            {"schedule": manual, "parameters": {"workers": 1.5}},
            {"schedule": manual, "parameters": {"workers": True}},
            {"schedule": manual, "parameters": {"delete_untagged": "yes"}},
            {"schedule": manual, "parameters": {"delete_untagged": 1}},
            {"schedule": manual, "parameters": {"dry_run": "false"}},
            {"schedule": manual, "parameters": {"time_window": -1}},
            {"schedule": manual, "parameters": {"time_window": "2"}},
            {"schedule": {"type": "Daily"}, "parameters": {"workers": 99}},
        ]
        for method in ("POST", "PUT"):
            for body in bodies:
                r = api(reg, method, GC + "/schedule", body)
                self.assertEqual(r.status, 400, "%s %r: %r" % (method, body, r))
                self.assertErrorBody(r)
        r = api(reg, "PUT", GC + "/schedule", {"schedule": manual})
        self.assertEqual(r.status, 400, "Manual is started with POST: %r" % r)
        self.assertErrorBody(r)
        for body in ({"audit_retention_hour": -1}, {"audit_retention_hour": "1"},
                     {"audit_retention_hour": 1.5}, {"include_operations": 5},
                     {"include_operations": "push;rm -rf"}, {"dry_run": "no"}):
            r = api(reg, "POST", PURGE + "/schedule", {"schedule": manual, "parameters": body})
            self.assertEqual(r.status, 400, "%r: %r" % (body, r))
            self.assertErrorBody(r)
        self.assertEqual(reg.request("GET", GC + "/schedule").json(), before,
                         "a refused request changed the schedule")
        self.assertEqual(int(reg.request("GET", GC).header("X-Total-Count")), runs,
                         "a refused request started a run")
        # Boundaries that are fine.
        for params in ({"workers": 1}, {"workers": 10}, {"time_window": 0.5},
                       {"delete_untagged": None}):
            run_job(self, reg, params=dict(params, dry_run=True))

    def test_rbac(self):
        reg = self.reg
        gc_id = trigger(reg, params={"dry_run": True})
        wait_job(reg, GC, gc_id)
        purge_id = trigger(reg, PURGE, {"audit_retention_hour": 10000, "dry_run": True})
        wait_job(reg, PURGE, purge_id)
        api(reg, "POST", GC + "/schedule", {"schedule": {"type": "Daily"}})
        sched = reg.request("GET", GC + "/schedule").json()
        runs = int(reg.request("GET", GC).header("X-Total-Count"))
        manual = {"schedule": {"type": "Manual"}, "parameters": {"dry_run": True}}
        none = {"schedule": {"type": "None"}}
        endpoints = []
        for base, jid in ((GC, gc_id), (PURGE, purge_id)):
            endpoints += [("GET", base, None), ("GET", "%s/%d" % (base, jid), None),
                          ("PUT", "%s/%d" % (base, jid), None),
                          ("GET", "%s/%d/log" % (base, jid), None),
                          ("GET", base + "/schedule", None), ("POST", base + "/schedule", manual),
                          ("PUT", base + "/schedule", none)]
        endpoints += [("GET", JOBSERVICE + "/pools", None),
                      ("GET", JOBSERVICE + "/pools/all/workers", None),
                      ("PUT", "%s/jobs/%d" % (JOBSERVICE, gc_id), {"action": "stop"}),
                      ("GET", "%s/jobs/%d/log" % (JOBSERVICE, gc_id), None),
                      ("GET", JOBSERVICE + "/queues", None),
                      ("PUT", JOBSERVICE + "/queues/GARBAGE_COLLECTION", {"action": "pause"}),
                      ("PUT", JOBSERVICE + "/queues/all", {"action": "stop"}),
                      ("GET", "/api/v2.0/schedules", None),
                      ("GET", "/api/v2.0/schedules/all/paused", None)]
        for method, path, body in endpoints:
            r = api(reg, method, path, body, {"Authorization": self.user})
            self.assertEqual(r.status, 403, "non-admin %s %s: %r" % (method, path, r))
            self.assertErrorBody(r, "FORBIDDEN")
            r = api(reg, method, path, body, auth=False)
            self.assertEqual(r.status, 401, "anonymous %s %s: %r" % (method, path, r))
            self.assertErrorBody(r, "UNAUTHORIZED")
        # (Once: repeated failed sign-ins lock the name out with 429.)
        r = api(reg, "GET", GC, None, {"Authorization": basic("nosuchuser", "wrong-password")})
        self.assertEqual(r.status, 401, r)
        self.assertEqual(reg.request("GET", GC + "/schedule").json(), sched)
        self.assertEqual(int(reg.request("GET", GC).header("X-Total-Count")), runs)
        queues = {q["job_type"]: q for q in reg.request("GET", JOBSERVICE + "/queues").json()}
        self.assertFalse(queues["GARBAGE_COLLECTION"]["paused"])

        # A system robot gets exactly what its permissions grant.
        r = api(reg, "POST", "/api/v2.0/robots", {
            "name": "gcwatch", "level": "system", "duration": -1, "permissions": [{
                "kind": "system", "namespace": "/", "access": [
                    {"resource": "garbage-collection", "action": "list"},
                    {"resource": "garbage-collection", "action": "read"},
                    {"resource": "jobservice-monitor", "action": "list"}]}]})
        self.assertEqual(r.status, 201, r)
        robot = basic(r.json()["name"], r.json()["secret"])
        for method, path, body, status in (
                ("GET", GC, None, 200), ("GET", "%s/%d" % (GC, gc_id), None, 200),
                ("GET", "%s/%d/log" % (GC, gc_id), None, 200), ("GET", GC + "/schedule", None, 200),
                ("POST", GC + "/schedule", manual, 403), ("PUT", GC + "/schedule", none, 403),
                ("PUT", "%s/%d" % (GC, gc_id), None, 403), ("GET", PURGE, None, 403),
                ("GET", JOBSERVICE + "/pools", None, 200), ("GET", JOBSERVICE + "/queues", None, 200),
                ("PUT", JOBSERVICE + "/queues/all", {"action": "pause"}, 403)):
            r = api(reg, method, path, body, {"Authorization": robot})
            self.assertEqual(r.status, status, "robot %s %s: %r" % (method, path, r))
        self.assertEqual(reg.request("GET", GC + "/schedule").json(), sched)

    def test_one_run_at_a_time(self):
        reg = self.reg
        # Pending: the queue is paused.
        set_queue(reg, "GARBAGE_COLLECTION", "pause")
        first = trigger(reg, params={"dry_run": True})
        r = trigger(reg, params={"dry_run": True}, expect=409)
        self.assertErrorBody(r, "CONFLICT")
        self.assertEqual(get_job(reg, GC, first)["job_status"], "Pending")
        set_queue(reg, "GARBAGE_COLLECTION", "resume")
        wait_job(reg, GC, first)

        # Running: a run over a few thousand orphan files takes seconds.
        orphans = write_orphans(reg, 3000)
        running = trigger(reg, params={"delete_untagged": False})
        wait_job(reg, GC, running, ("Running",) + FINISHED, timeout=30)
        r = trigger(reg, params={"dry_run": True}, expect=409)
        self.assertErrorBody(r, "CONFLICT")
        j = get_job(reg, GC, running)
        if j["job_status"] != "Running":
            self.skipTest("the slow run finished before the second request (%s)" % j["job_status"])
        # Stop it (Harbor's PUT /system/gc/{id}).
        r = api(reg, "PUT", "%s/%d" % (GC, running))
        self.assertEqual(r.status, 200, r)
        j = wait_job(reg, GC, running, timeout=30)
        log = job_log(reg, GC, running)
        if j["job_status"] == "Success" and "stopped on request" not in log:
            # The walk ended between the check above and the stop (a loaded
            # machine can stall this client for longer than the run lasts).
            self.skipTest("the slow run finished before the stop arrived")
        self.assertEqual(j["job_status"], "Stopped", log)
        self.assertIn("stopped on request", log)
        left = sum(os.path.exists(os.path.join(reg.data_dir, blob_file(d))) for d in orphans)
        self.assertGreater(left, 0, "the stopped run removed every orphan")
        # Stopping a finished run changes nothing.
        self.assertEqual(api(reg, "PUT", "%s/%d" % (GC, running)).status, 200)
        self.assertEqual(get_job(reg, GC, running)["job_status"], "Stopped")
        self.assertEqual(api(reg, "PUT", "%s/999999" % GC).status, 404)
        _, log = run_job(self, reg, params={"delete_untagged": False}, timeout=180)
        self.assertEqual(gc_summary(log)[2], left, log)
        self.assertFalse(any(os.path.exists(os.path.join(reg.data_dir, blob_file(d)))
                             for d in orphans))


def parse_time(s):
    """Unix seconds of an RFC 3339 UTC time with optional fraction."""
    m = re.match(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?Z$", s)
    if not m:
        raise AssertionError("not an RFC 3339 UTC time: %r" % s)
    import calendar
    secs = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
    return secs + (float(m.group(2)) if m.group(2) else 0.0)


class PurgeAudit(ShapeMixin, unittest.TestCase):
    """/system/purgeaudit against what /api/v2.0/audit-logs lists."""

    def setUp(self):
        self.reg = Registry(config=FAST_POLL).start()

    def tearDown(self):
        self.reg.cleanup_checked(self.id())

    def audit(self):
        out, page = [], 1
        while True:
            r = self.reg.request("GET", "/api/v2.0/audit-logs?page=%d&page_size=100" % page)
            self.assertEqual(r.status, 200, r)
            out += r.json()
            if len(out) >= int(r.header("X-Total-Count")) or not r.json():
                return out
            page += 1

    def test_purge(self):
        reg = self.reg
        for i in range(3):
            img = push_image(reg, "audited/app", "v%d" % i, [os.urandom(100)])
            reg.request("GET", "/v2/audited/app/manifests/v%d" % i,
                        headers={"Accept": OCI_MANIFEST})
        reg.request("DELETE", "/v2/audited/app/manifests/%s" % img.digest)
        entries = self.audit()
        ops = {}
        for e in entries:
            ops[e["operation"]] = ops.get(e["operation"], 0) + 1
        self.assertGreaterEqual(ops.get("push", 0), 3, entries)
        self.assertGreaterEqual(ops.get("create", 0), 1, entries)

        every = ",".join(sorted(ops))
        j, log = run_job(self, reg, PURGE, {"audit_retention_hour": 0,
                                            "include_operations": every, "dry_run": True})
        self.assertShape(j, "ExecHistory")
        self.assertEqual(j["job_name"], "PURGE_AUDIT_LOG")
        self.assertEqual(json.loads(j["job_parameters"]),
                         {"audit_retention_hour": 0, "include_operations": every, "dry_run": True})
        self.assertIn("%d entries would be purged" % len(entries), log)
        self.assertEqual(len(self.audit()), len(entries), "a dry run purged entries")

        # Only the operations named; nothing younger than the retention.
        _, log = run_job(self, reg, PURGE, {"audit_retention_hour": 1, "include_operations": every})
        self.assertIn("0 entries purged", log)
        _, log = run_job(self, reg, PURGE, {"audit_retention_hour": 0, "include_operations": "push"})
        self.assertIn("%d entries purged" % ops["push"], log)
        left = self.audit()
        self.assertNotIn("push", [e["operation"] for e in left])
        self.assertEqual(len(left), len(entries) - ops["push"])

        j, log = run_job(self, reg, PURGE, {"audit_retention_hour": 0, "include_operations": every})
        started = parse_time(j["creation_time"])
        self.assertIn("%d entries purged" % len(left), log)
        for e in self.audit():
            self.assertGreaterEqual(parse_time(e["op_time"]), started - 0.001, e)

        hist = reg.request("GET", PURGE).json()
        self.assertEqual(len(hist), 4)
        for h in hist:
            self.assertShape(h, "ExecHistory")
            self.assertEqual(h["job_status"], "Success")
        self.assertShape(get_job(reg, PURGE, hist[0]["id"]), "ExecHistory")
        self.assertEqual(reg.request("GET", PURGE + "/schedule").json()["schedule"]["type"], "None")
        r = api(reg, "POST", PURGE + "/schedule",
                {"schedule": {"type": "Daily"}, "parameters": {"audit_retention_hour": 48}})
        self.assertEqual(r.status, 201, r)
        s = reg.request("GET", PURGE + "/schedule").json()
        self.assertEqual(s["schedule"]["type"], "Daily")
        self.assertEqual(json.loads(s["job_parameters"])["audit_retention_hour"], 48)
        self.assertIn("PURGE_AUDIT_LOG",
                      [t["vendor_type"] for t in reg.request("GET", "/api/v2.0/schedules").json()])


if __name__ == "__main__":
    main()
