#!/usr/bin/env python3
"""A Kraken origin/build-index for berthd's preheat tests: the two endpoints
Harbor's kraken driver (src/pkg/p2p/preheat/provider/kraken.go) uses, on
127.0.0.1. Kraken cannot run on the test machines.

  GET  /health                  200 "OK"
  POST /registry/notifications  Harbor's notification.Notification as Go marshals
                                it: {"Events":[{"Id","TimeStamp","Action":"push",
                                "Target":{"MediaType","Digest","Repository","Url","Tag"},
                                "Request":null,"Actor":null}]}

Every request is validated (method, path, auth, JSON members and types); a
bad one gets 400 (401 for credentials) and is recorded in `rejected`.
Accepted events are in `events`. Modes: "ok", "down" (503 everywhere),
"fail" (notifications answer 500). Auth: None or ("basic", user, password),
("bearer", token), ("header", name, value).

Run alone: kraken_server.py [--port N] [--mode M] prints its URL.
Python 3 standard library only.
"""

import argparse
import base64
import http.server
import json
import re
import threading
import time

EVENT_MEMBERS = {"Id", "TimeStamp", "Action", "Target", "Request", "Actor"}
TARGET_MEMBERS = {"MediaType", "Digest", "Repository", "Url", "Tag"}
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


class KrakenServer:
    def __init__(self, mode="ok", auth=None):
        self.mode = mode
        self.auth = auth
        self.lock = threading.Lock()
        self.requests = []
        self.rejected = []
        self.events = []
        self.server = None

    def start(self, port=0):
        kraken = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                kraken.handle(self, "GET")

            def do_POST(self):
                kraken.handle(self, "POST")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def reply(self, h, status, text):
        data = text.encode()
        h.send_response(status)
        h.send_header("Content-Type", "text/plain")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def reject(self, h, method, path, status, message):
        with self.lock:
            self.rejected.append((method, path, status, message))
        self.reply(h, status, message)

    def authorized(self, h):
        if self.auth is None:
            return True
        got = h.headers.get("Authorization", "")
        if self.auth[0] == "basic":
            return got == "Basic " + base64.b64encode(("%s:%s" % self.auth[1:]).encode()).decode()
        if self.auth[0] == "bearer":
            return got == "Bearer " + self.auth[1]
        if self.auth[0] == "header":
            return h.headers.get(self.auth[1]) == self.auth[2]
        return False

    def handle(self, h, method):
        path = h.path
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        with self.lock:
            self.requests.append((method, path, dict(h.headers), raw))
        if self.mode == "down":
            return self.reply(h, 503, "unavailable")
        if not self.authorized(h):
            return self.reject(h, method, path, 401, "unauthorized")
        if path == "/health":
            if method != "GET":
                return self.reject(h, method, path, 405, "method not allowed")
            return self.reply(h, 200, "OK")
        if path == "/registry/notifications":
            if method != "POST":
                return self.reject(h, method, path, 405, "method not allowed")
            if self.mode == "fail":
                return self.reply(h, 500, "origin cannot reach the registry")
            try:
                body = json.loads(raw)
            except ValueError:
                return self.reject(h, method, path, 400, "invalid JSON")
            problems = self.validate(h, body)
            if problems:
                return self.reject(h, method, path, 400, "; ".join(problems))
            with self.lock:
                self.events.extend(body["Events"])
            return self.reply(h, 200, "")
        return self.reject(h, method, path, 404, "not found")

    def validate(self, h, body):
        p = []
        if not h.headers.get("Content-Type", "").startswith("application/json"):
            p.append("Content-Type must be application/json")
        if not isinstance(body, dict) or set(body) != {"Events"} or not isinstance(body["Events"], list):
            return p + ["body must be {\"Events\": [...]}"]
        if len(body["Events"]) != 1:
            p.append("Harbor sends one event per notification")
        for e in body["Events"]:
            if not isinstance(e, dict) or set(e) != EVENT_MEMBERS:
                p.append("event members %s, want %s" % (sorted(e) if isinstance(e, dict) else e,
                                                        sorted(EVENT_MEMBERS)))
                continue
            if not re.match(r"^[A-Za-z0-9]{32}$", str(e["Id"])):
                p.append("Id must be 32 alphanumerics")
            if not RFC3339.match(str(e["TimeStamp"])):
                p.append("TimeStamp must be RFC 3339")
            if e["Action"] != "push":
                p.append("Action must be push")
            if e["Request"] is not None or e["Actor"] is not None:
                p.append("Request and Actor are null")
            t = e["Target"]
            if not isinstance(t, dict) or set(t) != TARGET_MEMBERS:
                p.append("target members %s, want %s" % (sorted(t) if isinstance(t, dict) else t,
                                                         sorted(TARGET_MEMBERS)))
                continue
            if t["MediaType"] != "application/vnd.docker.distribution.manifest.v2+json":
                p.append("Target.MediaType must be schema2's")
            if not re.match(r"^sha256:[0-9a-f]{64}$", str(t["Digest"])):
                p.append("Target.Digest must be a sha256 digest")
            if not t["Repository"] or not t["Tag"]:
                p.append("Target.Repository and Target.Tag are required")
            if not re.match(r"^https?://[^/]+/v2/%s/manifests/%s$" %
                            (re.escape(str(t["Repository"])), re.escape(str(t["Tag"]))),
                            str(t["Url"])):
                p.append("Target.Url must be the manifest URL of Repository:Tag")
        return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--mode", default="ok")
    a = ap.parse_args()
    k = KrakenServer(mode=a.mode).start(a.port)
    print(k.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        k.stop()


if __name__ == "__main__":
    main()
