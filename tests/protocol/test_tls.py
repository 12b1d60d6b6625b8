#!/usr/bin/python3
"""HTTPS served by berthd itself (tls.cert / tls.key / tls.ca / tls.client_ca /
tls.redirect_listen), checked with verifying clients against a CA made here
with the openssl CLI:

  * Python's ssl, curl, skopeo and podman (--tls-verify=true with a cert dir
    holding the CA) push, pull, log in and call the API; a 3 MiB blob and a range of it come
    back intact over TLS (no sendfile there);
  * TLS 1.2 and 1.3 are served, TLS 1.1 refused by the server;
  * plain HTTP on the TLS port gets no HTTP answer; the redirect port answers
    308 to the same path on https;
  * /api/v2.0/systeminfo/getcert returns the CA (has_ca_root true);
  * SIGHUP swaps the certificate for new connections while an open keep-alive
    connection goes on; an unreadable replacement keeps the old one;
  * an expired certificate and one for another host name are refused by
    curl, skopeo and Python; with tls.client_ca a client without a
    certificate from that CA is refused, one with it is served.
"""

import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from berth_harness import (  # noqa: E402
    ADMIN_PASSWORD, ADMIN_USER, Registry, dumps, main, sha256, unique)

HERE = os.path.dirname(os.path.abspath(__file__))
HELPER = os.path.join(HERE, "..", "e2e", "e2e_helper.py")


def run(*args, check=True, timeout=180):
    p = subprocess.run(list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (" ".join(args), p.returncode,
                                                     p.stderr.decode(errors="replace")[-2000:]))
    return p


class Pki:
    """A CA and certificates signed by it, in one directory."""

    def __init__(self, root):
        self.dir = root
        os.makedirs(os.path.join(root, "newcerts"))
        open(os.path.join(root, "index.txt"), "w").close()
        with open(os.path.join(root, "serial"), "w") as f:
            f.write("1000\n")
        with open(os.path.join(root, "ca.cnf"), "w") as f:
            f.write("[ca]\ndefault_ca = CA_default\n[CA_default]\n"
                    "dir = %s\ndatabase = $dir/index.txt\nnew_certs_dir = $dir/newcerts\n"
                    "serial = $dir/serial\ndefault_md = sha256\npolicy = any\n"
                    "copy_extensions = copy\nunique_subject = no\n"
                    "[any]\ncommonName = supplied\n" % root)

    def path(self, name):
        return os.path.join(self.dir, name)

    def make_ca(self, name):
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", self.path(name + ".key"), "-out", self.path(name + ".pem"),
            "-days", "3", "-subj", "/CN=Berth test " + name)
        return self.path(name + ".pem")

    def issue(self, name, cn, san=None, ca="ca", start=None, end=None):
        """A certificate for `cn` (SAN `san`) signed by `ca`; `start`/`end`
        as YYYYMMDDHHMMSSZ for a validity in the past."""
        key, csr, pem = self.path(name + ".key"), self.path(name + ".csr"), self.path(name + ".pem")
        req = ["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
               "-keyout", key, "-out", csr, "-subj", "/CN=" + cn]
        if san:
            req += ["-addext", "subjectAltName=" + san]
        run(*req)
        sign = ["openssl", "ca", "-batch", "-notext", "-config", self.path("ca.cnf"),
                "-cert", self.path(ca + ".pem"), "-keyfile", self.path(ca + ".key"),
                "-in", csr, "-out", pem]
        sign += ["-startdate", start, "-enddate", end] if start else ["-days", "2"]
        run(*sign)
        return pem, key


class TlsRegistry(Registry):
    """berthd serving HTTPS with `cert`/`key`, trusting `ca` as a client."""

    def __init__(self, pki, cert, key, ca_file, **env):
        super().__init__()
        self.serving_cert = os.path.join(self.root, "serving.pem")
        self.serving_key = os.path.join(self.root, "serving.key")
        shutil.copy(cert, self.serving_cert)
        shutil.copy(key, self.serving_key)
        self.extra_env = {"BERTH_TLS_CERT": self.serving_cert, "BERTH_TLS_KEY": self.serving_key,
                          "BERTH_TLS_CA": pki.path("ca.pem")}
        self.extra_env.update(env)
        self.ssl_context = ssl.create_default_context(cafile=ca_file)
        self.ssl_context.check_hostname = False  # the harness connects to 127.0.0.1 by IP
        self.ssl_context.verify_mode = ssl.CERT_NONE if env.get("_insecure") else ssl.CERT_REQUIRED
        self.extra_env.pop("_insecure", None)


class Tls(unittest.TestCase):
    reg = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="berth-tls-")
        cls.pki = Pki(cls.tmp)
        cls.ca = cls.pki.make_ca("ca")
        cls.cert, cls.key = cls.pki.issue("server", "127.0.0.1", "IP:127.0.0.1,DNS:localhost")
        # skopeo/containers: a cert dir whose *.crt are the CAs to trust.
        cls.certs_d = os.path.join(cls.tmp, "certs.d")
        os.makedirs(cls.certs_d)
        shutil.copy(cls.ca, os.path.join(cls.certs_d, "ca.crt"))
        cls.reg = TlsRegistry(cls.pki, cls.cert, cls.key, cls.ca,
                              BERTH_TLS_REDIRECT_LISTEN="127.0.0.1:0")
        try:
            cls.reg.start()
            with open(cls.reg.stdout_path) as f:
                out = f.read()
            cls.redirect_port = int(out.split("plain HTTP on 127.0.0.1:", 1)[1].split()[0])
        except Exception:
            cls.reg.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.reg is not None:
            cls.reg.cleanup_checked(cls.__name__)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @property
    def host(self):
        return "127.0.0.1:%d" % self.reg.port

    def curl(self, *args, port=None):
        return run("curl", "-sS", "--max-time", "30", *args, check=False)

    def url(self, path, port=None):
        return "https://127.0.0.1:%d%s" % (port or self.reg.port, path)

    # -- basics ------------------------------------------------------------

    def test_api_and_v2_over_verified_https(self):
        r = self.reg.request("GET", "/api/v2.0/ping", auth=False, check=False)
        self.assertEqual((r.status, r.body), (200, b"Pong"))
        r = self.reg.request("GET", "/v2/", check=True)
        self.assertEqual(r.status, 200)
        info = self.reg.request("GET", "/api/v2.0/systeminfo", check=False).json()
        self.assertEqual(info["external_url"], "https://127.0.0.1:%d" % self.reg.port)
        self.assertTrue(info["has_ca_root"])
        # The token realm a registry client is sent to is https too.
        r = self.reg.request("GET", "/v2/", auth=False, check=False)
        self.assertIn('realm="https://', r.header("WWW-Authenticate"))

    def test_curl_verifies_with_the_ca_only(self):
        ok = self.curl("--cacert", self.ca, "-u", "%s:%s" % (ADMIN_USER, ADMIN_PASSWORD),
                       self.url("/api/v2.0/users/current"))
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertEqual(json.loads(ok.stdout)["username"], ADMIN_USER)
        # localhost is in the certificate too.
        ok = self.curl("--cacert", self.ca, "https://localhost:%d/api/v2.0/ping" % self.reg.port)
        self.assertEqual(ok.stdout, b"Pong", ok.stderr)
        bad = self.curl(self.url("/api/v2.0/ping"))  # the system trust store lacks the test CA
        self.assertEqual(bad.returncode, 60, bad.stderr)

    def test_protocol_versions(self):
        for v in ("1.2", "1.3"):
            r = self.curl("--cacert", self.ca, "--tlsv" + v, "--tls-max", v, self.url("/api/v2.0/ping"))
            self.assertEqual(r.stdout, b"Pong", "TLS %s: %s" % (v, r.stderr))
        r = self.curl("--cacert", self.ca, "--tls-max", "1.1", self.url("/api/v2.0/ping"))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"protocol version", r.stderr)  # the server's alert

    def test_plain_http_on_the_tls_port_gets_no_http_answer(self):
        s = socket.create_connection(("127.0.0.1", self.reg.port), timeout=10)
        try:
            s.sendall(b"GET /api/v2.0/ping HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            try:
                while len(data) < 4096:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except (ConnectionResetError, socket.timeout):
                pass
        finally:
            s.close()
        self.assertFalse(data.startswith(b"HTTP/"), data[:100])
        self.assertTrue(self.reg.alive())

    def test_redirect_port(self):
        c = http.client.HTTPConnection("127.0.0.1", self.redirect_port, timeout=10)
        c.request("GET", "/v2/library/x/tags/list?n=1", headers={"Host": "127.0.0.1:%d" % self.redirect_port})
        r = c.getresponse()
        r.read()
        self.assertEqual((r.status, r.reason), (308, "Permanent Redirect"))
        self.assertEqual(r.getheader("Location"),
                         "https://127.0.0.1:%d/v2/library/x/tags/list?n=1" % self.reg.port)
        # curl follows it to the HTTPS port.
        r = self.curl("-L", "--cacert", self.ca, "http://127.0.0.1:%d/api/v2.0/ping" % self.redirect_port)
        self.assertEqual(r.stdout, b"Pong", r.stderr)

    def test_getcert_returns_the_ca(self):
        r = self.reg.request("GET", "/api/v2.0/systeminfo/getcert", auth=False, check=False)
        self.assertEqual(r.status, 200)
        with open(self.ca, "rb") as f:
            self.assertEqual(r.body, f.read())
        self.assertIn("ca.crt", r.header("Content-Disposition"))

    # -- registry clients and large bodies ----------------------------------

    def test_skopeo_push_pull_verified(self):
        layout = os.path.join(self.tmp, unique("layout"))
        digest = run(sys.executable, HELPER, "make-layout", layout, "v1", "4096", "1500000"
                     ).stdout.decode().strip()
        creds = "%s:%s" % (ADMIN_USER, ADMIN_PASSWORD)
        dest = "docker://%s/library/tls:v1" % self.host
        refused = run("skopeo", "copy", "--retry-times", "0", "--dest-creds", creds,
                      "--dest-tls-verify=true", "oci:%s:v1" % layout, dest, check=False)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn(b"x509", refused.stderr)
        digestfile = os.path.join(self.tmp, unique("digest"))
        run("skopeo", "copy", "--retry-times", "0", "--dest-creds", creds, "--dest-tls-verify=true",
            "--dest-cert-dir", self.certs_d, "--digestfile", digestfile, "oci:%s:v1" % layout, dest)
        with open(digestfile) as f:
            self.assertEqual(f.read().strip(), digest)
        pulled = os.path.join(self.tmp, unique("pulled"))
        run("skopeo", "copy", "--retry-times", "0", "--src-creds", creds, "--src-tls-verify=true",
            "--src-cert-dir", self.certs_d, dest, "dir:" + pulled)
        run(sys.executable, HELPER, "verify-dir", pulled, digest, layout)

    def test_podman_login_and_pull_verified(self):
        if shutil.which("podman") is None:
            self.skipTest("podman is not installed (scripts/install-deps.sh)")
        layout = os.path.join(self.tmp, unique("podlayout"))
        digest = run(sys.executable, HELPER, "make-layout", layout, "v1", "2048").stdout.decode().strip()
        creds = "%s:%s" % (ADMIN_USER, ADMIN_PASSWORD)
        ref = "%s/library/podman-tls:v1" % self.host
        run("skopeo", "copy", "--retry-times", "0", "--dest-creds", creds, "--dest-cert-dir",
            self.certs_d, "oci:%s:v1" % layout, "docker://" + ref)
        # podman on a private vfs store, so nothing of the machine's is touched.
        pod = os.path.join(self.tmp, unique("podman"))
        auth = os.path.join(pod, "auth.json")
        os.makedirs(os.path.join(pod, "tmp"))
        with open(auth, "w") as f:
            f.write('{"auths":{}}')
        podman = ["podman", "--storage-driver", "vfs", "--root", os.path.join(pod, "root"),
                  "--runroot", os.path.join(pod, "run"), "--tmpdir", os.path.join(pod, "tmp"),
                  "--events-backend", "none"]
        bad = run(*podman, "login", "--tls-verify=true", "--authfile", auth, "-u", ADMIN_USER,
                  "-p", ADMIN_PASSWORD, self.host, check=False)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn(b"x509", bad.stderr)
        run(*podman, "login", "--tls-verify=true", "--cert-dir", self.certs_d, "--authfile", auth,
            "-u", ADMIN_USER, "-p", ADMIN_PASSWORD, self.host)
        run(*podman, "pull", "--tls-verify=true", "--cert-dir", self.certs_d, "--authfile", auth,
            ref)
        out = run(*podman, "image", "inspect", "--format", "{{.Digest}}", ref).stdout.decode().strip()
        self.assertEqual(out, digest)
        run(*podman, "rmi", "-a", check=False)

    def test_blob_and_range_over_tls(self):
        repo = "library/" + unique("tlsblob")
        data = os.urandom(3 * 1024 * 1024 + 17)
        d = self.reg.push_blob(repo, data)
        r = self.reg.request("GET", "/v2/%s/blobs/%s" % (repo, d))
        self.assertEqual(r.status, 200)
        self.assertEqual(hashlib.sha256(r.body).hexdigest(), hashlib.sha256(data).hexdigest())
        r = self.reg.request("GET", "/v2/%s/blobs/%s" % (repo, d),
                             headers={"Range": "bytes=1000000-1999999"})
        self.assertEqual(r.status, 206)
        self.assertEqual(r.body, data[1000000:2000000])
        r = self.reg.request("HEAD", "/v2/%s/blobs/%s" % (repo, d))
        self.assertEqual((r.status, r.body), (200, b""))

    # -- reload ----------------------------------------------------------------

    def test_sighup_reloads_for_new_connections(self):
        def peer_cn(conn):
            cert = conn.sock.getpeercert()
            return dict(x[0] for x in cert["subject"])["commonName"]

        old = self.reg.connect()
        old.request("GET", "/api/v2.0/ping")
        old.getresponse().read()
        self.assertEqual(peer_cn(old), "127.0.0.1")
        cert, key = self.pki.issue(unique("reloaded"), "reloaded", "IP:127.0.0.1")
        try:
            shutil.copy(cert, self.reg.serving_cert)
            shutil.copy(key, self.reg.serving_key)
            self.reg.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            while True:
                c = self.reg.connect()
                c.request("GET", "/api/v2.0/ping")
                c.getresponse().read()
                cn = peer_cn(c)
                c.close()
                if cn == "reloaded" or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            self.assertEqual(cn, "reloaded")
            # The connection opened before the reload goes on.
            old.request("GET", "/api/v2.0/ping")
            r = old.getresponse()
            self.assertEqual((r.status, r.read()), (200, b"Pong"))
            self.assertEqual(peer_cn(old), "127.0.0.1")
            old.close()
            # A broken replacement is refused; the certificate in service stays.
            with open(self.reg.serving_cert, "w") as f:
                f.write("not a certificate\n")
            self.reg.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            while not any(rec.get("msg", "").startswith("TLS reload failed")
                          for rec in self.reg.log_records()):
                self.assertLess(time.monotonic(), deadline, "no 'TLS reload failed' log")
                time.sleep(0.1)
            c = self.reg.connect()
            c.request("GET", "/api/v2.0/ping")
            self.assertEqual(c.getresponse().read(), b"Pong")
            self.assertEqual(peer_cn(c), "reloaded")
            c.close()
        finally:
            shutil.copy(self.cert, self.reg.serving_cert)
            shutil.copy(self.key, self.reg.serving_key)
            self.reg.proc.send_signal(signal.SIGHUP)
            time.sleep(0.3)

    # -- certificates clients must refuse ------------------------------------------

    def refused_everywhere(self, cert, key, expect):
        reg = TlsRegistry(self.pki, cert, key, self.ca, _insecure="1")
        try:
            reg.start()
            r = self.curl("--cacert", self.ca, self.url("/api/v2.0/ping", reg.port))
            self.assertEqual(r.returncode, 60, r.stderr)
            self.assertIn(expect["curl"], r.stderr)
            s = run("skopeo", "inspect", "--retry-times", "0", "--tls-verify=true", "--cert-dir",
                    self.certs_d, "--creds", "%s:%s" % (ADMIN_USER, ADMIN_PASSWORD),
                    "docker://127.0.0.1:%d/library/none:v1" % reg.port, check=False)
            self.assertNotEqual(s.returncode, 0)
            self.assertIn(expect["skopeo"], s.stderr)
            ctx = ssl.create_default_context(cafile=self.ca)
            with self.assertRaises(ssl.SSLCertVerificationError):
                with socket.create_connection(("127.0.0.1", reg.port), timeout=10) as raw:
                    with ctx.wrap_socket(raw, server_hostname="127.0.0.1"):
                        pass
            # berthd serves it anyway (clients decide) and says why it should not.
            self.assertTrue(any("refuse" in rec.get("warning", "") or rec.get("level") == "warn"
                                for rec in reg.log_records()) or expect.get("no_warning"))
        finally:
            reg.cleanup()

    def test_expired_certificate_refused_by_clients(self):
        cert, key = self.pki.issue("expired", "127.0.0.1", "IP:127.0.0.1",
                                   start="20200101000000Z", end="20200102000000Z")
        self.refused_everywhere(cert, key, {"curl": b"expired", "skopeo": b"expired"})

    def test_wrong_host_certificate_refused_by_clients(self):
        cert, key = self.pki.issue("wronghost", "wrong.example", "DNS:wrong.example")
        self.refused_everywhere(cert, key, {"curl": b"subject name", "skopeo": b"x509",
                                            "no_warning": True})

    # -- client certificates ---------------------------------------------------------

    def test_client_ca_requires_a_client_certificate(self):
        client_ca = self.pki.make_ca("clientca")
        ccert, ckey = self.pki.issue("client", "ci-runner", ca="clientca")
        other_ca = self.pki.make_ca("otherca")
        ocert, okey = self.pki.issue("otherclient", "intruder", ca="otherca")
        reg = TlsRegistry(self.pki, self.cert, self.key, self.ca, BERTH_TLS_CLIENT_CA=client_ca)
        try:
            reg.extra_env["BERTH_TLS_CLIENT_CA"] = client_ca
            reg.ssl_context.load_cert_chain(ccert, ckey)  # the harness's own requests
            reg.start()
            url = self.url("/api/v2.0/ping", reg.port)
            none = self.curl("--cacert", self.ca, url)
            self.assertNotEqual(none.returncode, 0, none.stdout)
            wrong = self.curl("--cacert", self.ca, "--cert", ocert, "--key", okey, url)
            self.assertNotEqual(wrong.returncode, 0, wrong.stdout)
            ok = self.curl("--cacert", self.ca, "--cert", ccert, "--key", ckey, url)
            self.assertEqual(ok.stdout, b"Pong", ok.stderr)
            # skopeo: the client pair sits in the cert dir as *.cert / *.key.
            d = os.path.join(self.tmp, unique("clientcerts"))
            os.makedirs(d)
            shutil.copy(self.ca, os.path.join(d, "ca.crt"))
            shutil.copy(ccert, os.path.join(d, "client.cert"))
            shutil.copy(ckey, os.path.join(d, "client.key"))
            s = run("skopeo", "list-tags", "--retry-times", "0", "--tls-verify=true", "--cert-dir", d,
                    "--creds", "%s:%s" % (ADMIN_USER, ADMIN_PASSWORD),
                    "docker://127.0.0.1:%d/library/none" % reg.port, check=False)
            # Through TLS to the API: the unknown repository's 404, not a handshake error.
            self.assertIn(b"404", s.stderr, s.stderr)
        finally:
            reg.cleanup()


if __name__ == "__main__":
    main()
