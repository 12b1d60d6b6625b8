"""Scale-out: three berthd nodes on one PostgreSQL database and one S3 bucket
(Ceph radosgw, tests/s3/radosgw.py) behind HAProxy balancing round-robin per
request (docs/scale-out.md). The nodes share the bucket prefix, the database,
BERTH_SECRET_KEY and the token signing key (BERTH_TOKEN_KEY_FILE, a copy per
node), and each has its own data directory. Checks:

  * consecutive requests of one client on one connection reach different
    nodes (the nodes' own request logs say which served what);
  * skopeo pushes through the proxy, and a chunked upload whose POST, each
    PATCH, the PUT and the manifest PUT go straight to different nodes works;
    both pull back byte for byte from every node;
  * a token from one node's /service/token is accepted by the two others; a
    token with the same claims and key id signed with another key is not;
  * a tag deleted through one node is gone on the others at once (tag lookups
    always read the database), and an artifact deleted too; a /configurations
    change (read_only) reaches the other nodes within the documented 5 s;
  * a GC run queued through the proxy runs on exactly one node, once;
  * a registry password sealed by one node (BERTH_SECRET_KEY) is opened by
    the others;
  * kill -9 of one node during a stream of pushes: every push whose manifest
    PUT got its 201 pulls back from the survivors.

Needs the "pg" fixture (BERTH_PROTOCOL_POSTGRES_DSN_FILE), haproxy, skopeo,
openssl and the radosgw packages; exits 77 (ctest's skip) when radosgw cannot
start on this machine."""

import base64
import contextlib
import io
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
import uuid

import berth_harness as h

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import e2e_helper  # noqa: E402  (make_layout: OCI layouts of random layers)

SKIP = 77
NODES = 3
SETTINGS_BOUND_S = 5.0  # docs/scale-out.md: /configurations re-read every 5 s
# (the test allows 2 s more: the re-read itself and its own polling, on a
# loaded 2-core machine)
SKOPEO = "/usr/bin/skopeo"
MIB = 1024 * 1024


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def skopeo(*args):
    r = subprocess.run([SKOPEO, "--insecure-policy"] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    if r.returncode != 0:
        raise AssertionError("skopeo %s failed: %s" % (" ".join(args), r.stderr.decode()))


class Endpoint(h.Registry):
    """The proxy's address, spoken to with the harness's request helpers."""

    def __init__(self, port):
        super().__init__(root=tempfile.mkdtemp(prefix="berth-multinode-proxy-"))
        self.port = port

    def alive(self):
        return True

    def log_records(self):
        return []  # the nodes log; HAProxy's own log is in the cluster's root


class Cluster:
    """radosgw, the database, the nodes and HAProxy, in that order."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="berth-multinode-")
        self.rgw_dir = os.path.join(self.root, "radosgw")
        self.nodes = []
        self.proxy = None
        self.haproxy = None
        self.pg_owner = None

    def start_radosgw(self):
        r = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tests", "s3", "radosgw.py"),
                            "start", self.rgw_dir], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=240)
        if r.returncode != 0:
            return r.stdout.decode(errors="replace")[-3000:]
        with open(os.path.join(self.rgw_dir, "s3.json")) as f:
            self.s3 = json.load(f)
        return None

    def node_config(self, prefix):
        s3 = self.s3
        return ("storage:\n  driver: s3\n  config:\n"
                "    endpoint: %s\n    region: %s\n    bucket: %s\n"
                "    access_key: %s\n    secret_key: %s\n"
                "    force_path_style: true\n    root_prefix: %s\n"
                "    multipart_chunk_size: 5242880\n"
                "jobs:\n  poll_ms: 100\n"
                "http:\n  trusted_proxies: [127.0.0.1]\n" % (s3["endpoint"], s3["region"], s3["bucket"],
                                             s3["access_key"], s3["secret_key"], prefix))

    def start_nodes(self, count=NODES, extra_env=None):
        prefix = "multinode-%s" % uuid.uuid4().hex[:10]
        self.config = self.node_config(prefix)
        self.extra_env = dict(extra_env or {})
        self.secret_key = os.urandom(32).hex()
        key = os.path.join(self.root, "token-key.pem")
        subprocess.run(["openssl", "genrsa", "-out", key, "2048"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.token_key = key
        self.proxy_port = free_port()
        self.proxy_url = "http://127.0.0.1:%d" % self.proxy_port
        self.dsn = None
        for _ in range(count):
            self.add_node()

    def add_node(self):
        """One more node: the shared database, bucket prefix and keys, its
        own data directory (docs/scale-out.md, "Adding a node")."""
        name = "node%d" % (len(self.nodes) + 1)
        root = os.path.join(self.root, name)
        os.makedirs(os.path.join(root, "secrets"))
        own_key = os.path.join(root, "secrets", "token-key.pem")
        shutil.copy(self.token_key, own_key)  # each node its own copy of the one key
        env = {"BERTH_SECRET_KEY": self.secret_key, "BERTH_TOKEN_KEY_FILE": own_key,
               "BERTH_EXTERNAL_URL": self.proxy_url}
        env.update(self.extra_env)
        node = h.Registry(root=root, config=self.config, extra_env=env)
        if self.dsn is not None:
            node.pg_dsn = self.dsn  # the first node's database, dropped once by it
        node.start()
        if self.dsn is None:
            self.dsn = node.postgres_dsn()
            if not self.dsn:
                raise RuntimeError("BERTH_PROTOCOL_POSTGRES_DSN_FILE is not set (the pg fixture)")
        node.name = name
        self.nodes.append(node)
        return node

    def start_proxy(self, nodes=None):
        """HAProxy in front of `nodes` (default: all), replacing a running one."""
        self.stop_proxy()
        nodes = self.nodes if nodes is None else nodes
        cfg = os.path.join(self.root, "haproxy.cfg")
        servers = "".join("  server %s 127.0.0.1:%d check inter 300ms fall 1 rise 2\n" %
                          (n.name, n.port) for n in nodes)
        with open(cfg, "w") as f:
            f.write(HAPROXY_CONFIG % {"port": self.proxy_port, "servers": servers})
        log = open(os.path.join(self.root, "haproxy.log"), "ab")
        self.haproxy = subprocess.Popen(["haproxy", "-db", "-f", cfg], stdin=subprocess.DEVNULL,
                                        stdout=log, stderr=subprocess.STDOUT,
                                        preexec_fn=h._die_with_parent)
        log.close()
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.proxy_port), timeout=1).close()
                break
            except OSError:
                if self.haproxy.poll() is not None or time.monotonic() > deadline:
                    with open(os.path.join(self.root, "haproxy.log"), errors="replace") as f:
                        raise RuntimeError("haproxy did not start:\n" + f.read()[-2000:])
                time.sleep(0.05)
        if self.proxy is None:
            self.proxy = Endpoint(self.proxy_port)

    def stop_proxy(self):
        if self.haproxy is not None and self.haproxy.poll() is None:
            self.haproxy.terminate()
            self.haproxy.wait(10)
        self.haproxy = None

    def stop(self):
        self.stop_proxy()
        errors = []
        # The first node owns the database: it goes last.
        for n in reversed(self.nodes):
            if getattr(n, "killed", False):
                n.proc = None
                h._RUNNING.discard(n)
                n.cleanup()
                continue
            try:
                n.cleanup_checked("the multinode test (%s)" % n.name)
            except AssertionError as e:
                errors.append(str(e))
        if self.proxy is not None:
            shutil.rmtree(self.proxy.root, ignore_errors=True)
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tests", "s3", "radosgw.py"),
                        "stop", self.rgw_dir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if os.environ.get("BERTH_PROTOCOL_KEEP"):
            sys.stderr.write("multinode test files kept in %s\n" % self.root)
        else:
            shutil.rmtree(self.root, ignore_errors=True)
        if errors:
            raise AssertionError("\n".join(errors))


# Round-robin per request: berthd sees one request per connection
# (http-server-close), so consecutive requests of one client connection go to
# consecutive servers. /health is the check; a dead node is out after one
# failed check (300 ms) and a refused connection is retried on another.
HAPROXY_CONFIG = """global
  maxconn 2000
defaults
  mode http
  timeout connect 2s
  timeout client 120s
  timeout server 120s
  option http-server-close
  option forwardfor
  http-reuse never
  retries 3
  option redispatch
frontend registry
  bind 127.0.0.1:%(port)d
  default_backend berthd
backend berthd
  balance roundrobin
  option httpchk GET /health
  http-check expect status 200
%(servers)s"""

CLUSTER = None


def served_by(request_id):
    """The node whose request log has request_id (waits briefly: berthd
    logs a request after its response)."""
    deadline = time.monotonic() + 3
    while True:
        found = [n for n in CLUSTER.nodes if n.alive() and n.log_for(request_id)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


class MultiNode(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.c = CLUSTER
        cls.proxy = CLUSTER.proxy
        cls.nodes = CLUSTER.nodes
        cls.project = h.unique("mn")
        r = cls.proxy.request("POST", "/api/v2.0/projects",
                              json.dumps({"project_name": cls.project}).encode(),
                              {"Content-Type": "application/json"})
        assert r.status == 201, r
        for n in cls.nodes + [cls.proxy]:
            n.projects.add(cls.project)

    def api(self, target, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        return target.request(method, "/api/v2.0" + path, data,
                              {"Content-Type": "application/json"}, check=False)

    # -- the proxy ---------------------------------------------------------

    def test_1_consecutive_requests_hit_different_nodes(self):
        conn = self.proxy.connect()
        ids = []
        try:
            for i in range(9):
                rid = "rr-%s-%d" % (uuid.uuid4().hex[:8], i)
                r = self.proxy.request("GET", "/v2/", headers={"X-Request-Id": rid}, conn=conn)
                self.assertEqual(r.status, 200, r)
                ids.append(rid)
        finally:
            conn.close()
        order = []
        for rid in ids:
            found = served_by(rid)
            self.assertEqual(len(found), 1, "request %s logged by %r" % (rid, found))
            order.append(found[0].name)
        for i in range(len(order) - 2):
            self.assertEqual(len(set(order[i:i + 3])), 3, "not round-robin: %r" % order)

    # -- pushes --------------------------------------------------------------

    def test_2_skopeo_push_through_the_proxy_pulls_from_every_node(self):
        layout = os.path.join(self.c.root, "layout-skopeo")
        with contextlib.redirect_stdout(io.StringIO()):  # it prints the digest
            e2e_helper.make_layout(layout, "v1", [3 * MIB, 200 * 1024, 7 * MIB])
        with open(os.path.join(layout, "e2e-image.json")) as f:
            image = json.load(f)
        creds = "%s:%s" % (h.ADMIN_USER, h.ADMIN_PASSWORD)
        ref = "127.0.0.1:%d/%s/skopeo-img:v1" % (self.proxy.port, self.project)
        skopeo("copy", "--dest-tls-verify=false", "--dest-creds", creds, "oci:%s:v1" % layout,
               "docker://" + ref)
        for n in self.nodes:
            out = os.path.join(self.c.root, "pulled-%s" % n.name)
            skopeo("copy", "--src-tls-verify=false", "--src-creds", creds,
                   "docker://127.0.0.1:%d/%s/skopeo-img:v1" % (n.port, self.project), "dir:" + out)
            for d in image["blobs"]:
                with open(os.path.join(layout, "blobs", "sha256", d[7:]), "rb") as a, \
                        open(os.path.join(out, d[7:]), "rb") as b:
                    self.assertTrue(a.read() == b.read(), "%s differs from %s" % (d, n.name))
            with open(os.path.join(layout, "blobs", "sha256", image["manifest"][7:]), "rb") as a, \
                    open(os.path.join(out, "manifest.json"), "rb") as b:
                self.assertEqual(a.read(), b.read(), "manifest from %s" % n.name)
            shutil.rmtree(out)

    def test_3_chunked_upload_across_nodes(self):
        a, b, c = self.nodes
        repo = "%s/chunked" % self.project
        blob = os.urandom(14 * MIB + 5)
        digest = h.sha256(blob)
        loc = a.start_upload(repo)
        offset, chunks = 0, [(b, 6 * MIB), (c, 3 * MIB), (a, 5 * MIB)]
        for node, n in chunks:
            piece = blob[offset:offset + n]
            rid = "chunk-%s" % uuid.uuid4().hex[:12]
            r = node.request("PATCH", loc, piece, {
                "Content-Type": "application/octet-stream", "X-Request-Id": rid,
                "Content-Range": "%d-%d" % (offset, offset + n - 1)})
            self.assertEqual(r.status, 202, r)
            self.assertEqual([x.name for x in served_by(rid)], [node.name])
            offset += n
            self.assertEqual(r.header("Range"), "0-%d" % (offset - 1))
            loc = h.location_path(r)
            # Every node reports the upload's progress (read from S3).
            for other in self.nodes:
                st = other.request("GET", loc)
                self.assertEqual(st.status, 204, st)
                self.assertEqual(st.header("Range"), "0-%d" % (offset - 1), other.name)
        sep = "&" if "?" in loc else "?"
        r = b.request("PUT", "%s%sdigest=%s" % (loc, sep, digest), blob[offset:],
                      {"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 201, r)
        config = json.dumps({"architecture": "amd64", "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": []}}).encode()
        c.push_blob(repo, config)
        manifest = h.dumps({"schemaVersion": 2, "mediaType": h.OCI_MANIFEST,
                            "config": h.descriptor(h.OCI_CONFIG, config),
                            "layers": [h.descriptor(h.OCI_LAYER, blob)]})
        r = a.put_manifest(repo, "v1", manifest, h.OCI_MANIFEST)
        self.assertEqual(r.status, 201, r)
        for n in self.nodes:
            m = n.request("GET", "/v2/%s/manifests/v1" % repo, headers={"Accept": h.OCI_MANIFEST})
            self.assertEqual(m.status, 200, m)
            self.assertEqual(m.body, manifest, n.name)
            g = n.request("GET", "/v2/%s/blobs/%s" % (repo, digest))
            self.assertEqual(g.status, 200, g)
            self.assertTrue(g.body == blob, "the blob read back from %s differs" % n.name)

    # -- tokens --------------------------------------------------------------

    def test_4_tokens_from_one_node_work_on_the_others(self):
        a, b, c = self.nodes
        repo = "%s/tok" % self.project
        a.push_image(repo, "v1")
        r = a.request("GET", "/service/token?service=harbor-registry&scope=repository:%s:pull" % repo)
        self.assertEqual(r.status, 200, r)
        token = r.json()["token"]
        for n in (b, c):
            t = n.request("GET", "/v2/%s/tags/list" % repo,
                          headers={"Authorization": "Bearer " + token})
            self.assertEqual(t.status, 200, "%s refused %s's token: %r" % (n.name, a.name, t))
            self.assertIn("v1", t.json()["tags"])
        # The same header (kid included) and claims, signed with another key.
        head, payload, _ = token.split(".")
        other = os.path.join(self.c.root, "other-key.pem")
        subprocess.run(["openssl", "genrsa", "-out", other, "2048"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        signed = subprocess.run(["openssl", "dgst", "-sha256", "-sign", other],
                                input=("%s.%s" % (head, payload)).encode(),
                                stdout=subprocess.PIPE, check=True).stdout
        forged = "%s.%s.%s" % (head, payload, b64url(signed))
        self.assertEqual(json.loads(b64url_decode(head))["alg"], "RS256")
        for n in self.nodes:
            t = n.request("GET", "/v2/%s/tags/list" % repo,
                          headers={"Authorization": "Bearer " + forged})
            self.assertEqual(t.status, 401, "%s accepted a token of another key: %r" % (n.name, t))

    # -- caches --------------------------------------------------------------

    def test_5_deleted_tag_is_gone_on_every_node_at_once(self):
        a, b, c = self.nodes
        repo = "%s/cache" % self.project
        _, digest = a.push_image(repo, "gone")
        a.push_image(repo, "kept")
        for n in (b, c):  # served (and cached by digest) on B and C first
            for _ in range(3):
                self.assertEqual(n.request("GET", "/v2/%s/manifests/gone" % repo,
                                           headers={"Accept": h.OCI_MANIFEST}).status, 200)
        r = self.api(a, "DELETE", "/projects/%s/repositories/cache/artifacts/%s/tags/gone" %
                     (self.project, digest))
        self.assertEqual(r.status, 200, r)
        for n in (b, c):  # bound 0: tag -> digest is read from PostgreSQL every time
            g = n.request("GET", "/v2/%s/manifests/gone" % repo, headers={"Accept": h.OCI_MANIFEST})
            self.assertEqual(g.status, 404, "%s still serves a deleted tag: %r" % (n.name, g))
            self.assertNotIn("gone", n.request("GET", "/v2/%s/tags/list" % repo).json()["tags"])
            # Still there by digest (the artifact was only untagged).
            self.assertEqual(n.request("HEAD", "/v2/%s/manifests/%s" % (repo, digest)).status, 200)
        r = a.request("DELETE", "/v2/%s/manifests/%s" % (repo, digest))
        self.assertEqual(r.status, 202, r)
        for n in (b, c):  # the manifest cache is by digest, behind the database's check
            g = n.request("GET", "/v2/%s/manifests/%s" % (repo, digest))
            self.assertEqual(g.status, 404, "%s still serves a deleted manifest: %r" % (n.name, g))

    def test_6_configuration_change_reaches_every_node_within_the_bound(self):
        a, b, c = self.nodes
        repo = "%s/ro" % self.project
        r = self.api(a, "PUT", "/configurations", {"read_only": True})
        self.assertEqual(r.status, 200, r)
        changed = time.monotonic()
        try:
            seen = {}
            while len(seen) < 2 and time.monotonic() - changed < SETTINGS_BOUND_S + 3:
                for n in (b, c):
                    if n.name not in seen:
                        u = n.request("POST", "/v2/%s/blobs/uploads/" % repo, check=False)
                        if u.status == 403:
                            seen[n.name] = time.monotonic() - changed
                time.sleep(0.1)
            self.assertEqual(len(seen), 2, "read_only did not reach %s" % seen)
            sys.stderr.write("read_only seen after %s\n" % (
                ", ".join("%.1f s on %s" % (t, n) for n, t in sorted(seen.items()))))
            for name, t in seen.items():
                self.assertLessEqual(t, SETTINGS_BOUND_S + 2.0, "%s took %.1f s" % (name, t))
        finally:
            r = self.api(a, "PUT", "/configurations", {"read_only": False})
            self.assertEqual(r.status, 200, r)
            deadline = time.monotonic() + SETTINGS_BOUND_S + 3
            pending = {b.name: b, c.name: c}
            while pending and time.monotonic() < deadline:
                for name, n in list(pending.items()):
                    if n.request("POST", "/v2/%s/blobs/uploads/" % repo, check=False).status == 202:
                        del pending[name]
                time.sleep(0.1)
            self.assertFalse(pending, "read_only stayed on %s" % list(pending))

    # -- jobs ----------------------------------------------------------------

    def test_7_a_gc_run_runs_on_exactly_one_node(self):
        before = {x["id"] for x in self.api(self.proxy, "GET", "/system/gc?page_size=100").json()}
        r = self.api(self.proxy, "POST", "/system/gc/schedule",
                     {"schedule": {"type": "Manual"}, "parameters": {"dry_run": True}})
        self.assertEqual(r.status, 201, r)
        run_id = int(r.header("Location").rsplit("/", 1)[1])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            j = self.api(self.proxy, "GET", "/system/gc/%d" % run_id).json()
            if j["job_status"] in ("Success", "Error", "Stopped"):
                break
            time.sleep(0.2)
        self.assertEqual(j["job_status"], "Success", j)
        after = [x for x in self.api(self.proxy, "GET", "/system/gc?page_size=100").json()
                 if x["id"] not in before]
        self.assertEqual([x["id"] for x in after], [run_id], after)
        ran = []
        for n in self.nodes:
            starts = [rec for rec in n.log_records()
                      if rec.get("msg") == "job started" and rec.get("job_id") == run_id]
            if starts:
                ran.append((n.name, len(starts)))
        self.assertEqual(len(ran), 1, "GC run %d started on %r" % (run_id, ran))
        self.assertEqual(ran[0][1], 1, ran)

    # -- sealed secrets ----------------------------------------------------

    def test_8_a_secret_sealed_by_one_node_opens_on_the_others(self):
        # A registry endpoint (this cluster itself, through the proxy) whose
        # password node A seals; B and C must open it to sign in when pinging.
        a, b, c = self.nodes
        body = {"name": h.unique("self"), "type": "docker-registry", "url": self.c.proxy_url,
                "insecure": True, "credential": {"type": "basic", "access_key": h.ADMIN_USER,
                                                 "access_secret": h.ADMIN_PASSWORD}}
        r = self.api(a, "POST", "/registries", body)
        self.assertEqual(r.status, 201, r)
        rid = int(r.header("Location").rsplit("/", 1)[1])
        for n in (b, c):
            r = self.api(n, "POST", "/registries/ping", {"id": rid})
            self.assertEqual(r.status, 200, "%s could not use %s's sealed secret: %r" % (
                n.name, a.name, r))
        # The ping does sign in: a wrong password is refused.
        r = self.api(b, "POST", "/registries/ping", {"id": rid, "access_secret": "wrong"})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(self.api(c, "DELETE", "/registries/%d" % rid).status, 200)

    # -- a node dies ---------------------------------------------------------

    def test_9_kill_9_loses_no_acknowledged_push(self):
        repo = "%s/stream" % self.project
        acked, failures = [], []
        victim = self.nodes[2]
        stop = threading.Event()

        # Each image: a config and a 2 MiB layer, so that requests are in
        # flight when the node dies; a failed attempt pushes it all again.
        images = []
        for i in range(14):
            config = json.dumps({"architecture": "amd64", "os": "linux", "i": i,
                                 "nonce": uuid.uuid4().hex}).encode()
            layer = os.urandom(2 * MIB)
            manifest = h.dumps({"schemaVersion": 2, "mediaType": h.OCI_MANIFEST,
                                "config": h.descriptor(h.OCI_CONFIG, config),
                                "layers": [h.descriptor(h.OCI_LAYER, layer)]})
            images.append(("t%d" % i, [config, layer], manifest))

        def push(tag, blobs, manifest):
            for b in blobs:
                self.proxy.push_blob(repo, b)
            r = self.proxy.put_manifest(repo, tag, manifest, h.OCI_MANIFEST)
            if r.status != 201:
                raise AssertionError("manifest PUT: %r" % r)

        def pusher(mine):
            for tag, blobs, manifest in mine:
                for attempt in range(8):
                    try:
                        push(tag, blobs, manifest)
                        acked.append((tag, manifest, h.sha256(manifest)))
                        break
                    except Exception as e:  # noqa: BLE001 - in flight on the dead node
                        failures.append("%s attempt %d: %s" % (tag, attempt, str(e)[:200]))
                        time.sleep(0.3)
                if stop.is_set():
                    return

        # Three clients at once, so that some request is in flight at the kill.
        threads = [threading.Thread(target=pusher, args=(images[k::3],)) for k in range(3)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(acked) < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        # The victim took its share of the stream before it died.
        served = [r for r in victim.log_records() if "/stream/" in str(r.get("path", ""))]
        self.assertTrue(served, "%s served none of the pushes" % victim.name)
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait()
        victim.killed = True
        for t in threads:
            t.join(90)
        stop.set()
        self.assertFalse(any(t.is_alive() for t in threads), "the pushes did not finish")
        self.assertEqual(len(acked), len(images), "pushes failed for good: %s" % failures[-5:])
        survivors = [n for n in self.nodes if n is not victim]
        for tag, body, digest in acked:
            manifest = json.loads(body)
            for n in survivors:
                m = n.request("GET", "/v2/%s/manifests/%s" % (repo, tag),
                              headers={"Accept": h.OCI_MANIFEST})
                self.assertEqual(m.status, 200, "acknowledged %s lost on %s: %r" % (tag, n.name, m))
                self.assertEqual(m.body, body)
                for d in [manifest["config"]] + manifest["layers"]:
                    g = n.request("GET", "/v2/%s/blobs/%s" % (repo, d["digest"]))
                    self.assertEqual(g.status, 200, g)
                    self.assertEqual(h.sha256(g.body), d["digest"])
        sys.stderr.write("kill -9: %d pushes acknowledged, %d attempts failed and were retried\n" %
                         (len(acked), len(failures)))


def main():
    global CLUSTER
    argv = list(sys.argv)
    if "--berthd" in argv:
        i = argv.index("--berthd")
        h._BERTHD = argv[i + 1]
        del argv[i:i + 2]
    for tool in ("haproxy", "openssl", SKOPEO):
        if shutil.which(tool) is None:
            sys.exit("multinode: %s is missing (scripts/install-deps.sh installs it)" % tool)
    CLUSTER = Cluster()
    why = CLUSTER.start_radosgw()
    if why is not None:
        sys.stderr.write("SKIP: radosgw could not start here:\n%s\n" % why)
        CLUSTER.stop()
        sys.exit(SKIP)
    ok = False
    try:
        CLUSTER.start_nodes()
        CLUSTER.start_proxy()
        prog = unittest.main(argv=argv, verbosity=2, exit=False)
        ok = prog.result.wasSuccessful()
    finally:
        CLUSTER.stop()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
