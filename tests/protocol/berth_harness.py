"""Shared harness for the HTTP-level protocol tests.

Starts a private berthd (temporary data directory, port 0), speaks HTTP to it
with http.client, and checks the invariants every /v2 response must satisfy:

  * an X-Request-Id header (echoed when the client sent one);
  * Docker-Distribution-API-Version: registry/2.0 on every /v2 response;
  * never a 5xx;
  * errors (4xx with a body) are {"errors":[{"code":..,"message":..}]} with a
    code the distribution spec (or distribution 2.8) defines.

Python 3 standard library only. The berthd binary comes from --berthd PATH
(ctest passes it) or the BERTHD_BIN environment variable; suites that load
plugins (tests/plugin_host) also pass --fixtures DIR (<build>/test-plugins,
one directory per fixture plugin) and --plugins DIR (<build>/plugins).

Besides Registry (one serving berthd), it has run_berthd (berthd commands and
starts expected to fail), webhook peers (Receiver, BlackHole) and
ServerTestCase, for suites that start a berthd per test.
"""

import atexit
import ctypes
import base64
import gzip
import hashlib
import io
import http.client
import http.server
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import unittest
import urllib.parse
import uuid as uuidlib

API_VERSION = "registry/2.0"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
COSIGN_PAYLOAD = "application/vnd.dev.cosign.simplesigning.v1+json"
SPDX = "application/spdx+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"

# Error codes of the OCI distribution spec, plus the ones distribution 2.8 adds.
SPEC_ERROR_CODES = {
    "BLOB_UNKNOWN", "BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN", "DIGEST_INVALID",
    "MANIFEST_BLOB_UNKNOWN", "MANIFEST_INVALID", "MANIFEST_UNKNOWN", "NAME_INVALID",
    "NAME_UNKNOWN", "SIZE_INVALID", "UNAUTHORIZED", "DENIED", "UNSUPPORTED",
    "TOOMANYREQUESTS",
    # distribution 2.8
    "TAG_INVALID", "PAGINATION_NUMBER_INVALID", "RANGE_INVALID", "MANIFEST_UNVERIFIED",
}

UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

_BERTHD = None
FIXTURES = None  # --fixtures: <build>/test-plugins
PLUGINS = None   # --plugins: <build>/plugins

# berthd always authenticates /v2: the suite signs in as its administrator
# (BERTH_ADMIN_PASSWORD) unless a test sends its own Authorization header or
# passes auth=False, and creates each repository's project on first use
# (repositories live in projects, as in Harbor).
ADMIN_USER = "admin"
ADMIN_PASSWORD = "Protocol-Admin-1"
_RUNNING = set()  # Registry objects with a live berthd, stopped at exit


def _kill_leftovers():
    for reg in list(_RUNNING):
        try:
            reg.stop(signal.SIGKILL, timeout=10)
        except Exception:  # noqa: BLE001 - best effort at interpreter exit
            pass


atexit.register(_kill_leftovers)


def _die_with_parent():
    """Runs in the child before exec: berthd gets SIGKILL if the test process
    dies (a ctest timeout, a crash), so no registry outlives its test."""
    try:
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except Exception:  # noqa: BLE001 - not Linux: atexit still cleans up
        pass


def berthd_binary():
    global _BERTHD
    if _BERTHD is None:
        _BERTHD = os.environ.get("BERTHD_BIN", "")
    if not _BERTHD or not os.access(_BERTHD, os.X_OK):
        raise RuntimeError("berthd binary not found: pass --berthd PATH or set BERTHD_BIN "
                           "(got %r)" % _BERTHD)
    return _BERTHD


def main():
    """unittest.main() after taking --berthd, --fixtures and --plugins (each
    followed by a path) off the command line."""
    global _BERTHD, FIXTURES, PLUGINS
    argv = list(sys.argv)
    opts = {}
    for name in ("--berthd", "--fixtures", "--plugins"):
        if name in argv:
            i = argv.index(name)
            opts[name] = argv[i + 1]
            del argv[i:i + 2]
    _BERTHD = opts.get("--berthd", _BERTHD)
    FIXTURES = opts.get("--fixtures") or os.environ.get("BERTH_FIXTURE_ROOT")
    PLUGINS = opts.get("--plugins") or os.environ.get("BERTH_PLUGIN_DIR")
    unittest.main(argv=argv, verbosity=2)


def fixture_dir(name):
    """The directory of one fixture plugin (--fixtures DIR/<name>)."""
    d = os.path.join(FIXTURES or "", name)
    if not FIXTURES or not os.path.isdir(d) or not any(f.endswith(".so") for f in os.listdir(d)):
        raise AssertionError("fixture plugin directory %s is missing or empty "
                             "(pass --fixtures; build the fixture targets)" % d)
    return d


def wait_until(fn, timeout, interval=0.02):
    """Polls fn() until it returns something truthy; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


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


def berthd_env():
    """The environment berthd runs in: the caller's without BERTH_* settings
    (a stray BERTH_LISTEN or BERTH_PLUGIN_DIRS would override what a test
    configures), plus the administrator's password."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BERTH_")}
    env["BERTH_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    return env


def write_config(path, cfg):
    """Writes a config dict as berthd's YAML file (YAML is a superset of JSON)."""
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)
    return path


class Result:
    """A finished berthd run."""

    def __init__(self, rc, stdout, stderr, seconds):
        self.rc, self.stdout, self.stderr, self.seconds = rc, stdout, stderr, seconds

    def __repr__(self):
        return "<rc=%r after %.2fs\nstdout:\n%s\nstderr:\n%s>" % (
            self.rc, self.seconds, self.stdout, self.stderr)


def run_berthd(args, timeout=20):
    """Runs berthd to completion: a command (plugins list, ...) or a start
    expected to fail."""
    t0 = time.monotonic()
    p = subprocess.Popen([berthd_binary()] + list(args), env=berthd_env(),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, preexec_fn=_die_with_parent)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError("berthd %s still running after %d s\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(args), timeout, out.decode(errors="replace"), err.decode(errors="replace")))
    return Result(p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
                  time.monotonic() - t0)


# ---------------------------------------------------------------------------
# Content helpers


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sha512(data):
    return "sha512:" + hashlib.sha512(data).hexdigest()


def unique(prefix="r"):
    """A unique, valid repository-name component."""
    return "%s-%s" % (prefix, uuidlib.uuid4().hex[:12])


def descriptor(media_type, data, **extra):
    d = {"mediaType": media_type, "digest": sha256(data), "size": len(data)}
    d.update(extra)
    return d


def dumps(obj):
    """Deliberately non-canonical JSON bytes (indent 3, spaces after ':'), so
    a registry that re-serialises instead of storing the exact bytes is caught."""
    return json.dumps(obj, indent=3).encode() + b"\n"


# ---------------------------------------------------------------------------
# Responses


class Response:
    def __init__(self, method, path, status, reason, headers, body, request_headers):
        self.method = method
        self.path = path
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value)
        self.body = body
        self.request_headers = request_headers

    def header(self, name):
        vals = self.header_all(name)
        return vals[0] if vals else None

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def error_codes(self):
        return [e.get("code") for e in self.json()["errors"]]

    def __repr__(self):
        body = self.body[:600]
        return "<%s %s -> %d %s; headers=%r; body=%r>" % (
            self.method, self.path, self.status, self.reason, self.headers, body)


class Registry:
    """One berthd process on a private data directory."""

    def __init__(self, root=None, config=None, extra_env=None):
        """`config`: optional configuration file berthd reads (BERTH_CONFIG),
        as YAML text or a dict (kept as self.cfg); the harness's environment
        settings (listen address, data directory) still override it.
        `extra_env`: more BERTH_* settings for berthd."""
        self.root = root or tempfile.mkdtemp(prefix="berth-protocol-")
        self.cfg = config if isinstance(config, dict) else None
        self.config = json.dumps(config, indent=2) if isinstance(config, dict) else config
        self.extra_env = dict(extra_env or {})
        self.data_dir = os.path.join(self.root, "data")
        self.proc = None
        self.port = None
        self.generation = 0
        self.stdout_path = None
        self.stderr_path = None
        self.projects = set()
        self.projects_lock = threading.Lock()
        # The ssl.SSLContext connect() uses when berthd serves HTTPS
        # (BERTH_TLS_CERT etc. in extra_env).
        self.ssl_context = None

    # -- process control -------------------------------------------------

    def start(self):
        self.generation += 1
        self.stdout_path = os.path.join(self.root, "stdout.%d.log" % self.generation)
        self.stderr_path = os.path.join(self.root, "stderr.%d.log" % self.generation)
        env = berthd_env()
        dsn = self.postgres_dsn()
        if dsn:
            env.update(BERTH_METADATA_DRIVER="postgres", BERTH_POSTGRES_DSN=dsn)
        env.update(BERTH_LISTEN="127.0.0.1:0", BERTH_DATA_DIR=self.data_dir,
                   BERTH_LOG_LEVEL="info")
        if self.config is not None:
            config_path = os.path.join(self.root, "berth.yml")
            with open(config_path, "w") as f:
                f.write(self.config)
            env["BERTH_CONFIG"] = config_path
        env.update(self.extra_env)
        out = open(self.stdout_path, "wb")
        err = open(self.stderr_path, "wb")
        try:
            self.proc = subprocess.Popen([berthd_binary()], cwd=self.root, env=env,
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         preexec_fn=_die_with_parent)
        finally:
            out.close()
            err.close()
        _RUNNING.add(self)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with open(self.stdout_path, "rb") as f:
                line = f.readline().decode("utf-8", "replace")
            if line.endswith("\n"):
                # berthd 0.1.0 listening on http(s)://127.0.0.1:PORT (data in DIR)
                marker = "listening on %s://127.0.0.1:" % ("https" if self.ssl_context else "http")
                if marker not in line:
                    raise RuntimeError("unexpected first line from berthd: %r" % line)
                self.port = int(line.split(marker, 1)[1].split()[0].rstrip("/"))
                return self
            if self.proc.poll() is not None:
                rc, self.proc = self.proc.returncode, None
                _RUNNING.discard(self)
                raise RuntimeError("berthd exited with %s before listening:\n%s" %
                                   (rc, self.stderr_tail()))
            time.sleep(0.02)
        self.stop(signal.SIGKILL)
        raise RuntimeError("berthd did not report its port within 30 s")

    def postgres_dsn(self):
        """With BERTH_PROTOCOL_POSTGRES_DSN_FILE (a file holding a server DSN,
        as the ctest fixture "pg" writes it), berthd keeps its metadata in
        PostgreSQL: a fresh database per Registry, dropped at cleanup."""
        path = os.environ.get("BERTH_PROTOCOL_POSTGRES_DSN_FILE")
        if not path:
            return None
        if getattr(self, "pg_dsn", None):
            return self.pg_dsn
        with open(path) as f:
            server = f.read().strip()
        base, _, _ = server.rpartition("/")
        self.pg_db = "berth_protocol_%s" % uuidlib.uuid4().hex[:12]
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", server, "-c",
                        "CREATE DATABASE %s" % self.pg_db], check=True,
                       stdout=subprocess.DEVNULL)
        self.pg_server = server
        self.pg_dsn = "%s/%s" % (base, self.pg_db)
        return self.pg_dsn

    def drop_postgres_database(self):
        if getattr(self, "pg_db", None):
            subprocess.run(["psql", "-X", "-q", self.pg_server, "-c",
                            "DROP DATABASE IF EXISTS %s" % self.pg_db],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.pg_db = None

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

    def restart(self, sig=signal.SIGTERM):
        rc = self.stop(sig)
        self.start()
        return rc

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def cleanup(self):
        """Stops berthd with SIGTERM and removes the temporary files; returns
        berthd's exit code (0 for a graceful stop)."""
        try:
            return self.stop()
        finally:
            self.drop_postgres_database()
            if os.environ.get("BERTH_PROTOCOL_KEEP"):
                sys.stderr.write("berth protocol test data kept in %s\n" % self.root)
            else:
                shutil.rmtree(self.root, ignore_errors=True)

    def cleanup_checked(self, what):
        """cleanup(), then fails if berthd had died before it or did not exit
        0 on SIGTERM; `what` names the test class in the message."""
        alive, tail = self.alive(), self.stderr_tail()
        rc = self.cleanup()
        if not alive:
            raise AssertionError("berthd died during %s:\n%s" % (what, tail))
        if rc != 0:
            raise AssertionError("berthd exited with %s after SIGTERM (%s):\n%s" % (rc, what, tail))

    # -- logs ------------------------------------------------------------

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def wait_log(self, pred, count=1, timeout=15):
        """Waits until at least `count` log objects satisfy pred; returns them."""
        found = wait_until(lambda: (lambda m: m if len(m) >= count else None)(
            [r for r in self.log_records() if pred(r)]), timeout)
        if not found:
            have = [r for r in self.log_records() if pred(r)]
            raise AssertionError("expected %d matching log line(s) within %ss, found %d; log:\n%s"
                                 % (count, timeout, len(have), self.stderr_text()[-6000:]))
        return found

    def access_log(self, request_id, timeout=5):
        """The access-log object ("request") of one request; berthd writes it
        after the response is sent, so this waits for it."""
        return self.wait_log(lambda r: r.get("msg") == "request" and
                             r.get("request_id") == request_id, 1, timeout)[0]

    def stderr_tail(self, n=30):
        try:
            with open(self.stderr_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def log_records(self):
        """The JSON log objects of the current berthd process."""
        return json_lines(self.stderr_text())[0]

    def log_for(self, request_id, wait=0.0):
        """Log objects carrying request_id. berthd logs a request after its
        response is sent, so callers that expect a line may wait for it."""
        deadline = time.monotonic() + wait
        while True:
            out = [r for r in self.log_records() if r.get("request_id") == request_id]
            if out or time.monotonic() >= deadline:
                return out
            time.sleep(0.02)

    # -- HTTP ------------------------------------------------------------

    def connect(self, timeout=30):
        if self.ssl_context is not None:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=self.ssl_context)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def auth_header(self):
        token = base64.b64encode(("%s:%s" % (ADMIN_USER, ADMIN_PASSWORD)).encode()).decode()
        return "Basic " + token

    def ensure_project(self, path):
        """Creates the project of a /v2/<project>/... path once (an invalid
        name is simply left for berthd to refuse)."""
        if not path.startswith("/v2/"):
            return
        rest = path[4:].split("?", 1)[0]
        if "/" not in rest or rest.startswith("_catalog"):
            return
        project = rest.split("/", 1)[0]
        with self.projects_lock:
            if project in self.projects:
                return
            self.create_project(project)
            self.projects.add(project)

    def create_project(self, project):
        conn = self.connect()
        try:
            body = json.dumps({"project_name": urllib.parse.unquote(project)})
            conn.request("POST", "/api/v2.0/projects", body=body,
                         headers={"Authorization": self.auth_header(),
                                  "Content-Type": "application/json"})
            conn.getresponse().read()
        except (OSError, http.client.HTTPException, UnicodeDecodeError):
            pass
        finally:
            conn.close()

    def request(self, method, path, body=None, headers=None, conn=None, check=True, auth=True):
        """Sends one request (a fresh connection unless `conn` is given) and
        checks the response invariants. `body` may be bytes or an iterable of
        bytes (sent with Transfer-Encoding: chunked). Signed in as the
        administrator unless auth=False or headers carry Authorization."""
        headers = dict(headers or {})
        if auth and not any(k.lower() == "authorization" for k in headers):
            # First, so an odd header later in the request cannot hide it.
            headers = dict([("Authorization", self.auth_header())] + list(headers.items()))
            self.ensure_project(path)
        own = conn is None
        if own:
            conn = self.connect()
        try:
            kwargs = {}
            if body is not None and not isinstance(body, (bytes, bytearray)):
                kwargs["encode_chunked"] = "Transfer-Encoding" in headers
            conn.request(method, path, body=body, headers=headers, **kwargs)
            r = conn.getresponse()
            data = r.read()
            resp = Response(method, path, r.status, r.reason, r.getheaders(), data, headers)
        finally:
            if own:
                conn.close()
        if check:
            self.check_response(resp)
        return resp

    def raw_request(self, method, path, headers, body=b"", piece=64 * 1024, half_close=False,
                    check=True, auth=True):
        """Hand-built request for what http.client will not send (lying
        headers, bodies the server may refuse before reading). The body is sent
        in pieces; as soon as the server answers, sending stops and the
        response is read. half_close shuts the sending side after the body
        (a client that sent less than it announced)."""
        headers = list(headers)
        if auth and not any(k.lower() == "authorization" for k, _ in headers):
            headers.append(("Authorization", self.auth_header()))
            self.ensure_project(path)
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        try:
            head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % (method, path, self.port)
            for k, v in headers:
                head += "%s: %s\r\n" % (k, v)
            sock.sendall(head.encode("latin-1") + b"\r\n")
            sent = 0
            while sent < len(body):
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break
                try:
                    sock.sendall(body[sent:sent + piece])
                except (BrokenPipeError, ConnectionResetError):
                    break
                sent += piece
            if half_close:
                sock.shutdown(socket.SHUT_WR)
            r = http.client.HTTPResponse(sock, method=method)
            r.begin()
            data = r.read()
            resp = Response(method, path, r.status, r.reason, r.getheaders(), data,
                            dict(headers))
        finally:
            sock.close()
        if check:
            self.check_response(resp)
        return resp

    def check_response(self, resp):
        ctx = "%r" % (resp,)
        rid = resp.header("X-Request-Id")
        if not rid:
            raise AssertionError("response without X-Request-Id: " + ctx)
        sent_id = resp.request_headers.get("X-Request-Id")
        if sent_id and rid != sent_id:
            raise AssertionError("X-Request-Id %r not echoed (got %r): %s" % (sent_id, rid, ctx))
        is_v2 = resp.path.split("?")[0] == "/v2" or resp.path.startswith("/v2/")
        if is_v2 and resp.header("Docker-Distribution-API-Version") != API_VERSION:
            raise AssertionError("missing Docker-Distribution-API-Version: " + ctx)
        if resp.status >= 500:
            logs = "\n".join(json.dumps(r) for r in self.log_for(rid, 2)) or self.stderr_tail()
            raise AssertionError("server error %d (berthd alive: %s): %s\nlog:\n%s" %
                                 (resp.status, self.alive(), ctx, logs))
        if is_v2 and resp.status >= 400 and resp.method != "HEAD":
            ctype = (resp.header("Content-Type") or "").split(";")[0].strip().lower()
            if ctype != "application/json":
                raise AssertionError("error response Content-Type is %r: %s" % (ctype, ctx))
            try:
                doc = resp.json()
            except ValueError:
                raise AssertionError("error response is not JSON: " + ctx)
            errors = doc.get("errors") if isinstance(doc, dict) else None
            if not isinstance(errors, list) or not errors:
                raise AssertionError("error body lacks a non-empty errors array: " + ctx)
            for e in errors:
                if not isinstance(e, dict) or not isinstance(e.get("code"), str) \
                        or not isinstance(e.get("message"), str):
                    raise AssertionError("malformed error object %r: %s" % (e, ctx))
                if e["code"] not in SPEC_ERROR_CODES:
                    raise AssertionError("error code %r is not a distribution-spec code: %s" %
                                         (e["code"], ctx))

    # -- registry operations ----------------------------------------------

    def push_blob(self, repo, data, digest=None):
        """Monolithic upload; returns the digest."""
        digest = digest or sha256(data)
        r = self.request("POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, digest), data,
                         {"Content-Type": "application/octet-stream"})
        if r.status != 201:
            raise AssertionError("blob push failed: %r" % r)
        return digest

    def start_upload(self, repo):
        """POST an upload session; returns its Location path."""
        r = self.request("POST", "/v2/%s/blobs/uploads/" % repo)
        if r.status != 202:
            raise AssertionError("upload start failed: %r" % r)
        return location_path(r)

    def put_manifest(self, repo, ref, body, media_type, request_id=None):
        headers = {"Content-Type": media_type}
        if request_id:
            headers["X-Request-Id"] = request_id
        return self.request("PUT", "/v2/%s/manifests/%s" % (repo, ref), body, headers)

    def push_image(self, repo, tag=None, seed=None, layers=1, manifest_type=OCI_MANIFEST,
                   request_id=None, **manifest_extra):
        """Uploads a config and layers and pushes an image manifest (by tag,
        else by digest; the PUT carries request_id when given). Returns
        (manifest bytes, manifest digest)."""
        seed = seed if seed is not None else uuidlib.uuid4().hex
        docker = manifest_type == DOCKER_MANIFEST
        config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode()
        self.push_blob(repo, config)
        layer_descs = []
        for i in range(layers):
            data = ("layer %d of %s" % (i, seed)).encode() * 7
            self.push_blob(repo, data)
            layer_descs.append(descriptor(DOCKER_LAYER if docker else OCI_LAYER, data))
        m = {"schemaVersion": 2, "mediaType": manifest_type,
             "config": descriptor(DOCKER_CONFIG if docker else OCI_CONFIG, config),
             "layers": layer_descs}
        m.update(manifest_extra)
        body = dumps(m)
        digest = sha256(body)
        r = self.put_manifest(repo, tag or digest, body, manifest_type, request_id)
        if r.status != 201:
            raise AssertionError("manifest push failed: %r" % r)
        return body, digest

    def push_cosign_signature(self, repo, subject_digest):
        """A cosign signature in cosign's tag scheme (sha256-<hex>.sig) for
        `subject_digest`; returns its digest."""
        payload = json.dumps({"critical": {"image": {"docker-manifest-digest": subject_digest},
                                           "type": "cosign container image signature"}}).encode()
        self.push_blob(repo, payload)
        config = json.dumps({"architecture": "", "os": "", "rootfs": {"type": "layers"}}).encode()
        self.push_blob(repo, config)
        m = dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                   "config": descriptor(OCI_CONFIG, config),
                   "layers": [descriptor(COSIGN_PAYLOAD, payload, annotations={
                       "dev.cosignproject.cosign/signature": "MEUCIQ-test"})]})
        tag = subject_digest.replace(":", "-") + ".sig"
        r = self.put_manifest(repo, tag, m, OCI_MANIFEST)
        if r.status != 201:
            raise AssertionError("signature push failed: %r" % r)
        return sha256(m)

    def push_sbom_referrer(self, repo, subject_digest, subject_size,
                           subject_media_type=OCI_MANIFEST):
        """An SPDX SBOM pushed by digest as an OCI 1.1 referrer of the subject;
        returns its digest."""
        sbom = json.dumps({"spdxVersion": "SPDX-2.3", "name": "test",
                           "subject": subject_digest}).encode()
        self.push_blob(repo, sbom)
        empty = b"{}"
        self.push_blob(repo, empty)
        m = dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": SPDX,
                   "config": descriptor(OCI_EMPTY, empty),
                   "layers": [descriptor(SPDX, sbom)],
                   "subject": {"mediaType": subject_media_type, "digest": subject_digest,
                               "size": subject_size}})
        digest = sha256(m)
        r = self.put_manifest(repo, digest, m, OCI_MANIFEST)
        if r.status != 201:
            raise AssertionError("SBOM push failed: %r" % r)
        return digest

    def data_tree(self):
        """Every path under the data directory except the SQLite files."""
        out = set()
        for dirpath, dirnames, filenames in os.walk(self.data_dir):
            rel = os.path.relpath(dirpath, self.data_dir)
            for n in dirnames + filenames:
                p = os.path.normpath(os.path.join(rel, n))
                if p.startswith("berth.db"):
                    continue
                out.add(p)
        return out


def location_path(resp):
    """The path of a Location header (absolute URLs are allowed by the spec)."""
    loc = resp.header("Location")
    if not loc:
        raise AssertionError("no Location header: %r" % resp)
    parts = urllib.parse.urlsplit(loc)
    return parts.path + ("?" + parts.query if parts.query else "")


class RegistryTestCase(unittest.TestCase):
    """A test class sharing one berthd (started in setUpClass)."""

    reg = None

    @classmethod
    def setUpClass(cls):
        cls.reg = Registry().start()

    @classmethod
    def tearDownClass(cls):
        if cls.reg is not None:
            cls.reg.cleanup_checked(cls.__name__)

    def setUp(self):
        self.assertTrue(self.reg.alive(), "berthd is not running:\n" + self.reg.stderr_tail())

    # -- assertions --------------------------------------------------------

    def assertStatus(self, resp, status):
        self.assertEqual(resp.status, status, "%r" % resp)

    def assertError(self, resp, status, code):
        """`status` may be an int or a tuple of allowed ints; `code` a string,
        a tuple of allowed codes, or None (any spec code)."""
        allowed = status if isinstance(status, tuple) else (status,)
        self.assertIn(resp.status, allowed, "%r" % resp)
        if resp.method == "HEAD":
            return
        codes = resp.error_codes()
        if code is not None:
            want = code if isinstance(code, tuple) else (code,)
            self.assertTrue(any(c in want for c in codes),
                            "expected error code %s, got %s: %r" % (want, codes, resp))

    def assertHeader(self, resp, name, value):
        self.assertEqual(resp.header(name), value, "header %s: %r" % (name, resp))


# ---------------------------------------------------------------------------
# Webhook peers


class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST and answers with
    the statuses of `script` in turn (the last one repeats)."""

    def __init__(self, script=(200,)):
        self.script = list(script)
        self.requests = []  # dicts: t (unix seconds), method, path, headers (lower-case), body
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                with receiver.lock:
                    i = len(receiver.requests)
                    receiver.requests.append({
                        "t": time.time(), "method": "POST", "path": self.path,
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

    def json(self, path=None):
        """The bodies received (for `path`), parsed."""
        return [json.loads(r["body"]) for r in self.received(path)]

    def wait(self, count, path=None, timeout=20):
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


class ServerTestCase(unittest.TestCase):
    """A berthd per test (rather than per class): started through helpers
    that tear it down, checking it was still alive and stops with exit code
    0; and webhook peers and temporary directories that go with the test."""

    def start_berthd(self, config=None, extra_env=None):
        reg = Registry(config=config, extra_env=extra_env)
        try:
            reg.start()
        except BaseException:
            reg.cleanup()  # no temporary directory outlives a failed start
            raise
        self.addCleanup(reg.cleanup_checked, type(self).__name__)
        return reg

    def receiver(self, script=(200,)):
        r = Receiver(script)
        self.addCleanup(r.close)
        return r

    def black_hole(self):
        h = BlackHole()
        self.addCleanup(h.close)
        return h

    def tmpdir(self):
        d = tempfile.mkdtemp(prefix="berth-test-")
        self.addCleanup(shutil.rmtree, d, True)
        return d


# -- Peers and images for the tests that talk to another registry -----------
# (replication, proxy cache): Debian's docker-registry 2.8 on 127.0.0.1, OCI
# image layouts written here and pushed with skopeo.

DOCKER_REGISTRY = "/usr/bin/docker-registry"
SKOPEO = "/usr/bin/skopeo"
HTPASSWD = "/usr/bin/htpasswd"
PEER_USER, PEER_PASSWORD = "peer", "Peer-Secret-42"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class DockerRegistry:
    """docker-registry 2.8 on a private directory, optionally with htpasswd."""

    def __init__(self, basic_auth=False):
        self.root = tempfile.mkdtemp(prefix="berth-upstream-registry-")
        self.port = free_port()
        cfg = {"version": 0.1, "log": {"level": "warn"},
               "storage": {"filesystem": {"rootdirectory": os.path.join(self.root, "data")},
                           "delete": {"enabled": True}},
               "http": {"addr": "127.0.0.1:%d" % self.port}}
        self.basic_auth = basic_auth
        if basic_auth:
            pw = os.path.join(self.root, "htpasswd")
            subprocess.run([HTPASSWD, "-Bbc", pw, PEER_USER, PEER_PASSWORD], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cfg["auth"] = {"htpasswd": {"realm": "basic-realm", "path": pw}}
        path = os.path.join(self.root, "config.yml")
        with open(path, "w") as f:
            json.dump(cfg, f)  # JSON is YAML
        self.config_path = path
        self.log = open(os.path.join(self.root, "registry.log"), "wb")
        self.resume()

    def resume(self):
        """Starts the registry (again, on the same port and data after halt())."""
        self.proc = subprocess.Popen([DOCKER_REGISTRY, "serve", self.config_path], stdout=self.log,
                                     stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("docker-registry did not start")

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def host(self):
        return "127.0.0.1:%d" % self.port

    def creds(self):
        return ["--creds", "%s:%s" % (PEER_USER, PEER_PASSWORD)] if self.basic_auth else []

    def halt(self):
        """Stops the process, keeping its data (resume() brings it back)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def stop(self):
        self.halt()
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)


def skopeo(*args, check=True):
    r = subprocess.run([SKOPEO, "--insecure-policy"] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    if check and r.returncode != 0:
        raise AssertionError("skopeo %s failed: %s" % (" ".join(args), r.stderr.decode()))
    return r


class Layout:
    """An OCI image layout written here, pushed with skopeo."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="berth-oci-layout-")
        os.makedirs(os.path.join(self.dir, "blobs", "sha256"))
        with open(os.path.join(self.dir, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)
        self.refs = []

    def blob(self, data):
        d = sha256(data)
        with open(os.path.join(self.dir, "blobs", "sha256", d[7:]), "wb") as f:
            f.write(data)
        return d

    def layer(self, size, seed=None):
        payload = (seed or os.urandom(16)) * (size // 16 + 1)
        payload = payload[:size] if seed else os.urandom(size)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo("f.bin")
            info.size = len(payload)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(payload))
        gz = gzip.compress(buf.getvalue(), compresslevel=1, mtime=0)
        return {"mediaType": OCI_LAYER, "digest": self.blob(gz), "size": len(gz)}, sha256(buf.getvalue())

    def image(self, layers, arch="amd64", config_type=OCI_CONFIG):
        descs, diff_ids = zip(*layers) if layers else ((), ())
        cfg = json.dumps({"architecture": arch, "os": "linux",
                          "config": {"Labels": {"nonce": os.urandom(6).hex()}},
                          "rootfs": {"type": "layers", "diff_ids": list(diff_ids)}}).encode()
        m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
             "config": {"mediaType": config_type, "digest": self.blob(cfg), "size": len(cfg)},
             "layers": list(descs)}
        body = json.dumps(m).encode()
        return {"mediaType": OCI_MANIFEST, "digest": self.blob(body), "size": len(body)}

    def index(self, children):
        idx = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}
        body = json.dumps(idx).encode()
        return {"mediaType": OCI_INDEX, "digest": self.blob(body), "size": len(body)}

    def tag(self, desc, name):
        d = dict(desc)
        d["annotations"] = {"org.opencontainers.image.ref.name": name}
        self.refs.append(d)
        with open(os.path.join(self.dir, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "manifests": self.refs}, f)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def push_layout(layout, tag, dest, creds, fmt=None):
    skopeo("copy", "--all", "--dest-tls-verify=false", *(["--dest-creds", creds] if creds else []),
           *(["--format", fmt] if fmt else []), "oci:%s:%s" % (layout.dir, tag), "docker://" + dest)


def remote_digest(ref, creds=None):
    r = skopeo("inspect", "--raw", "--tls-verify=false", *(["--creds", creds] if creds else []),
               "docker://" + ref, check=False)
    if r.returncode != 0:
        return None
    return sha256(r.stdout)
