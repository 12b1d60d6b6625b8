"""Harness for the plugin-host tests: berthd started from a YAML config file,
small HTTP receivers for webhooks, and helpers to push content and read
berthd's JSON log.

Python 3 standard library only. The command line of every test script is

    test_x.py --berthd PATH --fixtures DIR --plugins DIR [unittest args]

where DIR for --fixtures is <build>/test-plugins (one directory per fixture
plugin) and --plugins is <build>/plugins (storage-fs.so, notifier-webhook.so).
BERTH_PLUGIN_HOST_KEEP=1 keeps temporary directories and berthd logs.
"""

import atexit
import base64
import ctypes
import hashlib
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid as uuidlib

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

BERTHD = None
FIXTURES = None
PLUGINS = None

_RUNNING = set()  # Berthd objects with a live process, killed at exit


def _kill_leftovers():
    for b in list(_RUNNING):
        try:
            b.stop(signal.SIGKILL, timeout=10)
        except Exception:  # noqa: BLE001 - best effort at interpreter exit
            pass


atexit.register(_kill_leftovers)


def _die_with_parent():
    """In the child before exec: berthd gets SIGKILL when the test dies."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001
        pass


def main():
    """unittest.main() after taking --berthd, --fixtures and --plugins."""
    global BERTHD, FIXTURES, PLUGINS
    argv = list(sys.argv)
    opts = {}
    for name in ("--berthd", "--fixtures", "--plugins"):
        if name in argv:
            i = argv.index(name)
            opts[name] = argv[i + 1]
            del argv[i:i + 2]
    BERTHD = opts.get("--berthd") or os.environ.get("BERTHD_BIN")
    FIXTURES = opts.get("--fixtures") or os.environ.get("BERTH_FIXTURE_ROOT")
    PLUGINS = opts.get("--plugins") or os.environ.get("BERTH_PLUGIN_DIR")
    for what, v in (("--berthd", BERTHD), ("--fixtures", FIXTURES), ("--plugins", PLUGINS)):
        if not v or not os.path.exists(v):
            sys.exit("missing or wrong %s (got %r)" % (what, v))
    unittest.main(argv=argv, verbosity=2)


def fixture_dir(name):
    d = os.path.join(FIXTURES, name)
    if not os.path.isdir(d) or not any(f.endswith(".so") for f in os.listdir(d)):
        raise AssertionError("fixture plugin directory %s is missing or empty "
                             "(build the fixture targets)" % d)
    return d


# The administrator's password, for a berthd that authenticates /v2 requests
# (through the environment, which a berthd without authentication ignores).
ADMIN_USER = "admin"
ADMIN_PASSWORD = "Plugin-Host-Test-1"
ADMIN_AUTH = "Basic " + base64.b64encode(
    ("%s:%s" % (ADMIN_USER, ADMIN_PASSWORD)).encode()).decode()


def clean_env():
    """The environment without BERTH_* variables (BERTH_PLUGIN_DIRS or
    BERTH_LISTEN would override what the test's config file says), plus the
    administrator's password."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BERTH_")}
    env["BERTH_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    return env


def json_lines(text):
    """(JSON log objects, other lines) of berthd's stderr."""
    objs, other = [], []
    for line in text.splitlines():
        s = line.strip()
        if not s:
            continue
        if s.startswith("{"):
            try:
                objs.append(json.loads(s))
                continue
            except ValueError:
                pass
        other.append(line)
    return objs, other


def wait_until(fn, timeout, interval=0.02):
    """Polls fn() until it returns something truthy; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


# ---------------------------------------------------------------------------
# Config files (YAML is a superset of JSON: configs are written as JSON)


def write_config(path, cfg):
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)
    return path


# ---------------------------------------------------------------------------
# berthd


class Result:
    """A finished berthd run."""

    def __init__(self, rc, stdout, stderr, seconds):
        self.rc, self.stdout, self.stderr, self.seconds = rc, stdout, stderr, seconds

    def __repr__(self):
        return "<rc=%r after %.2fs\nstdout:\n%s\nstderr:\n%s>" % (
            self.rc, self.seconds, self.stdout, self.stderr)


def run_berthd(args, timeout=20):
    """Runs berthd to completion (a command, or a start expected to fail)."""
    t0 = time.monotonic()
    p = subprocess.Popen([BERTHD] + list(args), env=clean_env(), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         preexec_fn=_die_with_parent)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError("berthd %s still running after %d s\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(args), timeout, out.decode(errors="replace"), err.decode(errors="replace")))
    return Result(p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
                  time.monotonic() - t0)


class Berthd:
    """One serving berthd on a private temporary directory and config file."""

    def __init__(self, cfg, root=None):
        self.root = root or tempfile.mkdtemp(prefix="berth-plugin-host-")
        self.cfg = dict(cfg)
        self.cfg.setdefault("listen", "127.0.0.1:0")
        self.cfg.setdefault("data_dir", os.path.join(self.root, "data"))
        self.config_path = write_config(os.path.join(self.root, "berth.yml"), self.cfg)
        self.proc = None
        self.port = None
        self.generation = 0
        self.stderr_path = None

    def start(self):
        self.generation += 1
        out_path = os.path.join(self.root, "stdout.%d.log" % self.generation)
        self.stderr_path = os.path.join(self.root, "stderr.%d.log" % self.generation)
        with open(out_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen([BERTHD, "--config", self.config_path], cwd=self.root,
                                         env=clean_env(), stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, preexec_fn=_die_with_parent)
        _RUNNING.add(self)
        marker = "listening on http://127.0.0.1:"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with open(out_path, "rb") as f:
                line = f.readline().decode("utf-8", "replace")
            if line.endswith("\n"):
                if marker not in line:
                    raise RuntimeError("unexpected first line from berthd: %r" % line)
                self.port = int(line.split(marker, 1)[1].split()[0].rstrip("/"))
                return self
            if self.proc.poll() is not None:
                rc, self.proc = self.proc.returncode, None
                _RUNNING.discard(self)
                raise RuntimeError("berthd exited with %s before listening:\n%s" %
                                   (rc, self.stderr_text()))
            time.sleep(0.02)
        self.stop(signal.SIGKILL)
        raise RuntimeError("berthd did not report its port within 30 s")

    def stop(self, sig=signal.SIGTERM, timeout=40):
        """Stops berthd; returns its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.proc = None
                _RUNNING.discard(self)
                raise AssertionError("berthd did not stop within %d s of signal %d" %
                                     (timeout, sig))
        rc = self.proc.returncode
        self.proc = None
        _RUNNING.discard(self)
        return rc

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def cleanup(self):
        """SIGTERM, then removes the temporary directory; returns the exit code."""
        try:
            return self.stop()
        finally:
            if os.environ.get("BERTH_PLUGIN_HOST_KEEP"):
                sys.stderr.write("berth plugin-host test data kept in %s\n" % self.root)
            else:
                shutil.rmtree(self.root, ignore_errors=True)

    # -- log ---------------------------------------------------------------

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log(self):
        return json_lines(self.stderr_text())[0]

    def wait_log(self, pred, count=1, timeout=15):
        """Waits until at least `count` log objects satisfy pred; returns them."""
        found = wait_until(lambda: (lambda m: m if len(m) >= count else None)(
            [r for r in self.log() if pred(r)]), timeout)
        if not found:
            have = [r for r in self.log() if pred(r)]
            raise AssertionError("expected %d matching log line(s) within %ss, found %d; log:\n%s"
                                 % (count, timeout, len(have), self.stderr_text()[-6000:]))
        return found

    def access_log(self, request_id, timeout=5):
        """The access-log object ("request") of one request; berthd writes it
        after the response is sent, so this waits for it."""
        return self.wait_log(lambda r: r.get("msg") == "request" and
                             r.get("request_id") == request_id, 1, timeout)[0]

    # -- HTTP --------------------------------------------------------------

    def request(self, method, path, body=None, headers=None, timeout=30):
        """One request on a fresh connection, as the administrator: (status,
        headers dict with lower-case names, body bytes, request id)."""
        headers = dict(headers or {})
        rid = headers.setdefault("X-Request-Id", "ph-" + uuidlib.uuid4().hex)
        headers.setdefault("Authorization", ADMIN_AUTH)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            return r.status, hdrs, data, rid
        finally:
            conn.close()

    def push_blob(self, repo, data):
        digest = sha256(data)
        st, _, body, _ = self.request("POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, digest),
                                      data, {"Content-Type": "application/octet-stream"})
        if st != 201:
            raise AssertionError("blob push to %s failed: %d %r" % (repo, st, body))
        return digest

    def push_image(self, repo, tag=None, request_id=None):
        """A config blob and an OCI manifest referencing it, pushed by tag (or
        by digest). Returns (manifest digest, manifest bytes, PUT seconds)."""
        config = json.dumps({"architecture": "amd64", "os": "linux",
                             "seed": uuidlib.uuid4().hex}).encode()
        self.push_blob(repo, config)
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
            "layers": []}).encode()
        digest = sha256(manifest)
        headers = {"Content-Type": OCI_MANIFEST}
        if request_id:
            headers["X-Request-Id"] = request_id
        t0 = time.monotonic()
        st, _, body, _ = self.request("PUT", "/v2/%s/manifests/%s" % (repo, tag or digest),
                                      manifest, headers)
        took = time.monotonic() - t0
        if st != 201:
            raise AssertionError("manifest push to %s failed: %d %r" % (repo, st, body))
        return digest, manifest, took


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------
# Webhook receivers


class Receiver:
    """An HTTP server on 127.0.0.1 that records every request and answers
    with the statuses of `script` in turn (the last one repeats)."""

    def __init__(self, script=(200,)):
        self.script = list(script)
        self.requests = []  # dicts: t, method, path, headers (lower-case names), body
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                with receiver.lock:
                    i = len(receiver.requests)
                    receiver.requests.append({
                        "t": time.monotonic(), "method": "POST", "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body})
                    status = receiver.script[min(i, len(receiver.script) - 1)]
                reply = b'{"ok":true}' if status < 300 else b'{"error":"scripted"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self):
        return self.server.server_address[1]

    def url(self, path="/hook"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def received(self, path=None):
        with self.lock:
            return [r for r in self.requests if path is None or r["path"] == path]

    def wait(self, count, path=None, timeout=15):
        got = wait_until(lambda: len(self.received(path)) >= count, timeout)
        if not got:
            raise AssertionError("receiver on port %d got %d request(s) for %s within %ss, "
                                 "expected %d" % (self.port, len(self.received(path)), path,
                                                  timeout, count))
        return self.received(path)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


class BlackHole:
    """Accepts connections and reads what comes, but never answers."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.sock.settimeout(0.2)
        self.conns = []
        self.accepted = 0
        self.stopping = False
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
                c.setblocking(False)
                with self.lock:
                    self.conns.append(c)
                    self.accepted += 1
            except socket.timeout:
                pass
            except OSError:
                return
            # Drain what clients send (their requests are fully written and
            # then wait for an answer that never comes).
            with self.lock:
                conns = list(self.conns)
            for conn in conns:
                try:
                    conn.recv(65536)
                except OSError:
                    pass

    @property
    def port(self):
        return self.sock.getsockname()[1]

    def url(self, path="/hook"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def close(self):
        self.stopping = True
        self.thread.join(10)
        self.sock.close()
        with self.lock:
            for c in self.conns:
                c.close()
            self.conns = []


class BerthdTestCase(unittest.TestCase):
    """Starts berthds and receivers through helpers that tear them down,
    checking that every berthd was still alive and stops with exit code 0."""

    def start_berthd(self, cfg):
        b = Berthd(cfg)
        try:
            b.start()
        except BaseException:
            b.cleanup()  # no temporary directory outlives a failed start
            raise
        self.addCleanup(self._finish, b)
        return b

    def _finish(self, b):
        alive = b.alive()
        text = b.stderr_text()
        rc = b.cleanup()
        if not alive:
            raise AssertionError("berthd died during the test:\n" + text[-6000:])
        if rc != 0:
            raise AssertionError("berthd exited with %s after SIGTERM:\n%s" % (rc, text[-6000:]))

    def receiver(self, script=(200,)):
        r = Receiver(script)
        self.addCleanup(r.close)
        return r

    def black_hole(self):
        h = BlackHole()
        self.addCleanup(h.close)
        return h

    def tmpdir(self):
        d = tempfile.mkdtemp(prefix="berth-plugin-host-")
        self.addCleanup(shutil.rmtree, d, True)
        return d
