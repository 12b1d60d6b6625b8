#!/usr/bin/env python3
"""A Dragonfly 2 manager for berthd's preheat tests: the open API Harbor's
dragonfly driver (src/pkg/p2p/preheat/provider/dragonfly.go) speaks, field
for field, on 127.0.0.1. Dragonfly itself cannot run on the test machines.

  GET  /healthy                 200 "OK"
  POST /oapi/v1/jobs            a preheat job: {"type":"preheat",
                                "args":{type,url,tag,filtered_query_params,headers,
                                scope,concurrent_count,timeout},
                                "scheduler_cluster_ids": null | [ids]}
  GET  /oapi/v1/jobs/{id}       the job: {"id","created_at","updated_at","state":
                                PENDING|SUCCESS|FAILURE,"result":{"job_states":[...]},...}

Every request is validated (method, path, auth, content type, JSON members
and their types); a bad one gets Dragonfly's {"message": ...} with 400 (or
401 for credentials) and is recorded in `rejected`. A job's seed peer really
fetches the manifest at args.url with args.headers from berthd, and each
blob it names, before the job turns SUCCESS: a credential that does not work
makes the job FAILURE with the registry's status in job_states[].error.

Modes (set `mode`): "ok"; "slow" (PENDING for `slow_s` seconds first);
"fail" (the seed peer reports an error); "stuck" (PENDING forever);
"down" (every endpoint answers 503). Auth (set `auth`): None, ("basic",
user, password), ("bearer", token) or ("header", name, value).

Run alone: dragonfly_server.py [--port N] [--mode M] prints its URL.
Python 3 standard library only.
"""

import argparse
import base64
import datetime
import hashlib
import http.server
import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid

JOB_MEMBERS = {"type", "args", "scheduler_cluster_ids"}
ARGS_MEMBERS = {"type", "url", "tag", "filtered_query_params", "headers", "scope",
                "concurrent_count", "timeout"}
SCOPES = {"single_peer", "all_peers", "single_seed_peer", "all_seed_peers"}
MANIFEST_ACCEPT = ", ".join([
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json"])


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class DragonflyManager:
    def __init__(self, mode="ok", auth=None, slow_s=2.0):
        self.mode = mode
        self.auth = auth
        self.slow_s = slow_s
        self.lock = threading.Lock()
        self.jobs = {}          # id -> job dict (as served)
        self.requests = []      # (method, path, headers dict, parsed body or None)
        self.rejected = []      # (method, path, status, message)
        self.fetches = []       # (job id, url, status, digest) of the seed peer's pulls
        self.next_id = 1
        self.server = None
        self.thread = None

    # -- lifecycle ----------------------------------------------------------

    def start(self, port=0):
        manager = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                manager.handle(self, "GET")

            def do_POST(self):
                manager.handle(self, "POST")

            def do_PUT(self):
                manager.handle(self, "PUT")

            def do_DELETE(self):
                manager.handle(self, "DELETE")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    # -- HTTP ---------------------------------------------------------------

    def reply(self, h, status, obj=None, text=None):
        data = (json.dumps(obj) if obj is not None else (text or "")).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json" if obj is not None else "text/plain")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def reject(self, h, method, path, status, message):
        with self.lock:
            self.rejected.append((method, path, status, message))
        self.reply(h, status, {"message": message})

    def authorized(self, h):
        if self.auth is None:
            return True
        kind = self.auth[0]
        got = h.headers.get("Authorization", "")
        if kind == "basic":
            want = "Basic " + base64.b64encode(("%s:%s" % self.auth[1:]).encode()).decode()
            return got == want
        if kind == "bearer":
            return got == "Bearer " + self.auth[1]
        if kind == "header":
            return h.headers.get(self.auth[1]) == self.auth[2]
        return False

    def handle(self, h, method):
        path = h.path
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                return self.reject(h, method, path, 400, "invalid JSON body")
        with self.lock:
            self.requests.append((method, path, dict(h.headers), body))
        if self.mode == "down":
            return self.reply(h, 503, {"message": "manager is unavailable"})
        if not self.authorized(h):
            return self.reject(h, method, path, 401, "unauthorized")
        if path == "/healthy":
            if method != "GET":
                return self.reject(h, method, path, 405, "method not allowed")
            return self.reply(h, 200, text="OK")
        if path == "/oapi/v1/jobs":
            if method != "POST":
                return self.reject(h, method, path, 405, "method not allowed")
            return self.create_job(h, path, body)
        m = re.match(r"^/oapi/v1/jobs/(\d+)$", path)
        if m:
            if method != "GET":
                return self.reject(h, method, path, 405, "method not allowed")
            with self.lock:
                job = self.jobs.get(int(m.group(1)))
                job = json.loads(json.dumps(job)) if job else None
            if job is None:
                return self.reject(h, method, path, 404, "job not found")
            return self.reply(h, 200, job)
        return self.reject(h, method, path, 404, "not found")

    def create_job(self, h, path, body):
        problems = self.validate(h, body)
        if problems:
            return self.reject(h, "POST", path, 400, "; ".join(problems))
        with self.lock:
            job_id = self.next_id
            self.next_id += 1
            now = now_rfc3339()
            job = {"id": job_id, "created_at": now, "updated_at": now, "is_del": 0,
                   "task_id": "group_" + str(uuid.uuid4()), "bio": "", "type": "preheat",
                   "state": "PENDING", "args": body["args"], "result": None, "user_id": 0,
                   "scheduler_clusters": [{"id": c} for c in (body["scheduler_cluster_ids"] or [1])]}
            self.jobs[job_id] = job
            served = json.loads(json.dumps(job))
        threading.Thread(target=self.run_job, args=(job_id, body["args"]), daemon=True).start()
        self.reply(h, 200, served)

    def validate(self, h, body):
        p = []
        if not h.headers.get("Content-Type", "").startswith("application/json"):
            p.append("Content-Type must be application/json")
        if not isinstance(body, dict):
            return p + ["body must be a JSON object"]
        if set(body) != JOB_MEMBERS:
            p.append("job members %s, want %s" % (sorted(body), sorted(JOB_MEMBERS)))
        if body.get("type") != "preheat":
            p.append("type must be preheat")
        ids = body.get("scheduler_cluster_ids")
        if ids is not None and (not isinstance(ids, list) or
                                not all(isinstance(i, int) and i > 0 for i in ids)):
            p.append("scheduler_cluster_ids must be null or positive integers")
        args = body.get("args")
        if not isinstance(args, dict):
            return p + ["args must be an object"]
        if set(args) != ARGS_MEMBERS:
            p.append("args members %s, want %s" % (sorted(args), sorted(ARGS_MEMBERS)))
        if args.get("type") != "image":
            p.append("args.type must be image")
        if not re.match(r"^https?://[^/]+/v2/.+/manifests/[^/]+$", str(args.get("url", ""))):
            p.append("args.url must be a registry manifest URL")
        headers = args.get("headers")
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            p.append("args.headers must be an object of strings")
        elif not str(headers.get("Authorization", "")).startswith("Bearer "):
            p.append("args.headers must carry a Bearer Authorization")
        if args.get("scope") not in SCOPES:
            p.append("args.scope %r is not one of %s" % (args.get("scope"), sorted(SCOPES)))
        for k in ("tag", "filtered_query_params"):
            if not isinstance(args.get(k), str):
                p.append("args.%s must be a string" % k)
        for k in ("concurrent_count", "timeout"):
            if not isinstance(args.get(k), int) or isinstance(args.get(k), bool):
                p.append("args.%s must be an integer" % k)
        return p

    # -- the seed peer --------------------------------------------------------

    def fetch(self, job_id, url, headers, accept):
        req = urllib.request.Request(url, headers=dict(headers, Accept=accept))
        try:
            with urllib.request.urlopen(req, timeout=20) as r:
                data = r.read()
                status = r.status
        except urllib.error.HTTPError as e:
            data, status = e.read(), e.code
        except OSError as e:
            data, status = str(e).encode(), 0
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        with self.lock:
            self.fetches.append((job_id, url, status, digest))
        return status, data, digest

    def finish(self, job_id, state, result):
        with self.lock:
            job = self.jobs[job_id]
            job["state"] = state
            job["result"] = result
            job["updated_at"] = now_rfc3339()

    def run_job(self, job_id, args):
        if self.mode == "slow":
            time.sleep(self.slow_s)
        if self.mode == "stuck":
            return
        if self.mode == "fail":
            return self.finish(job_id, "FAILURE", {"job_states": [
                {"error": "seed peer 127.0.0.1 failed: download %s: connection reset by peer" %
                          args["url"], "results": []}]})
        status, data, digest = self.fetch(job_id, args["url"], args["headers"], MANIFEST_ACCEPT)
        if status != 200:
            return self.finish(job_id, "FAILURE", {"job_states": [
                {"error": "fetch manifest %s: registry answered %d" % (args["url"], status),
                 "results": []}]})
        urls = [args["url"]]
        try:
            manifest = json.loads(data)
        except ValueError:
            manifest = {}
        base = args["url"].rsplit("/manifests/", 1)[0]
        for d in [manifest.get("config", {})] + manifest.get("layers", []):
            if not isinstance(d, dict) or "digest" not in d:
                continue
            blob_url = base + "/blobs/" + d["digest"]
            s, _, got = self.fetch(job_id, blob_url, args["headers"], "*/*")
            if s != 200 or got != d["digest"]:
                return self.finish(job_id, "FAILURE", {"job_states": [
                    {"error": "fetch blob %s: registry answered %d" % (blob_url, s),
                     "results": []}]})
            urls.append(blob_url)
        self.finish(job_id, "SUCCESS", {"job_states": [{"error": "", "results": [
            {"success_tasks": [{"url": u, "hostname": "seed-peer-1", "ip": "127.0.0.1"}
                               for u in urls],
             "failure_tasks": [], "scheduler_cluster_id": 1}]}]})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--mode", default="ok")
    a = ap.parse_args()
    m = DragonflyManager(mode=a.mode).start(a.port)
    print(m.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        m.stop()


if __name__ == "__main__":
    main()
