"""Shared helpers for the identity-and-access (iam) suite.

Builds on tests/protocol/berth_harness.py (which starts and stops berthd and
checks the /v2 response invariants) and adds:

  * Berth: requests as any identity (Basic header, bearer token, session
    cookie or nothing), from any loopback source address, with the
    /api/v2.0 error-shape checks;
  * JWT helpers: decode, forge (RS256 through the `openssl` CLI, HS256
    through hmac), the libtrust key id;
  * AddressPool: loopback source addresses for requests that are meant to
    fail authentication, so the per-address sign-in limit (30 failures in 5
    minutes from one address) is never reached by accident;
  * the grid parser for the expectation tables of the matrix tests.

Python 3 standard library only; `openssl` for RSA.
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "protocol"))

import berth_harness as bh  # noqa: E402  (path set above)

API = "/api/v2.0"
PASSWORD = "Iam-Passw0rd"  # Harbor's rule: 8-128, upper, lower, digit
ADMIN = bh.ADMIN_USER
ADMIN_PASSWORD = bh.ADMIN_PASSWORD

# Harbor's API error codes per status (src/lib/errors/const.go).
API_CODE_FOR_STATUS = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN",
                       404: "NOT_FOUND", 409: "CONFLICT", 412: "PRECONDITION",
                       429: "TOO_MANY_REQUEST"}


def uid(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def q(value):
    """Percent-encodes a query-parameter value completely (';' ',' '=' too)."""
    return urllib.parse.quote(value, safe="")


# ---------------------------------------------------------------------------
# Source addresses


class AddressPool:
    """Loopback source addresses (127.<block>.x.y), each pool its own block.
    berthd counts failed sign-ins per client address (30 in 5 minutes lock
    the address out); requests that are meant to fail take a fresh address
    from here so they never add up."""

    _next_block = [10]
    _lock = threading.Lock()

    def __init__(self):
        with AddressPool._lock:
            self.block = AddressPool._next_block[0]
            AddressPool._next_block[0] += 1
        self.i = 0

    def fresh(self):
        """An address nobody has used yet."""
        self.i += 1
        if self.i >= 250 * 250:
            raise RuntimeError("address pool exhausted")
        return "127.%d.%d.%d" % (self.block, self.i // 250 + 1, self.i % 250 + 1)


# ---------------------------------------------------------------------------
# HTTP


class Berth:
    """Requests against one berthd as any identity."""

    def __init__(self, reg):
        self.reg = reg

    def call(self, method, path, body=None, auth=None, headers=None, source=None, check=True,
             cookie=None):
        """One request. `auth` is a complete Authorization value (or None:
        no header). `body` may be bytes, str (sent as is) or a JSON value.
        `source` picks the client's loopback address."""
        h = dict(headers or {})
        if auth is not None:
            h["Authorization"] = auth
        if cookie is not None:
            h["Cookie"] = cookie
        if body is not None and not isinstance(body, (bytes, bytearray, str)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode()
        conn = http.client.HTTPConnection("127.0.0.1", self.reg.port, timeout=60,
                                          source_address=(source, 0) if source else None)
        try:
            resp = self.reg.request(method, path, body, h, conn=conn, check=check, auth=False)
        finally:
            conn.close()
        if check:
            check_api_error(resp)
        return resp

    def admin(self, method, path, body=None, expect=None, headers=None):
        """As the initial administrator; `expect` (int or tuple) is asserted."""
        resp = self.call(method, path, body, auth=basic(ADMIN, ADMIN_PASSWORD), headers=headers)
        if expect is not None:
            allowed = expect if isinstance(expect, tuple) else (expect,)
            if resp.status not in allowed:
                raise AssertionError("setup request failed (wanted %s): %r" % (allowed, resp))
        return resp

    # -- tokens ----------------------------------------------------------

    def token(self, scopes, auth=None, source=None, service="harbor-registry"):
        """GET /service/token; returns (response, token or None)."""
        qs = "service=" + q(service) + "".join("&scope=" + q(s) for s in scopes)
        resp = self.call("GET", "/service/token?" + qs, auth=auth, source=source)
        tok = None
        if resp.status == 200:
            tok = resp.json()["token"]
        return resp, tok

    # -- data ------------------------------------------------------------

    def db(self):
        """A connection to berthd's SQLite database (WAL: safe while it runs)."""
        return sqlite3.connect(os.path.join(self.reg.data_dir, "berth.db"), timeout=30)

    def key_path(self):
        return os.path.join(self.reg.data_dir, "token", "private_key.pem")


def check_api_error(resp):
    """/api, /c and /service errors carry Harbor's {"errors":[{code,message}]}."""
    path = resp.path.split("?")[0]
    if path == "/v2" or path.startswith("/v2/"):
        return  # berth_harness checked it
    if resp.status < 400 or resp.method == "HEAD" or not resp.body:
        return
    try:
        doc = resp.json()
        errors = doc["errors"]
        assert isinstance(errors, list) and errors
        for e in errors:
            assert isinstance(e.get("code"), str) and isinstance(e.get("message"), str)
    except (ValueError, KeyError, AssertionError, TypeError):
        raise AssertionError("API error without Harbor's errors body: %r" % resp)
    want = API_CODE_FOR_STATUS.get(resp.status)
    if want and errors[0]["code"] != want:
        raise AssertionError("status %d should carry code %s: %r" % (resp.status, want, resp))


def api_code(resp):
    try:
        return resp.json()["errors"][0]["code"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None


# ---------------------------------------------------------------------------
# JWT


def b64u(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_decode(token):
    """(header, claims, signature bytes) without verifying anything."""
    h, c, s = token.split(".")
    return json.loads(b64u_decode(h)), json.loads(b64u_decode(c)), b64u_decode(s)


def jwt_forge(header, claims, signer):
    """Compact JWS over the JSON of header and claims; `signer(bytes) ->
    bytes` (or None for an empty signature)."""
    signing_input = b64u(json.dumps(header, separators=(",", ":"))) + "." + \
        b64u(json.dumps(claims, separators=(",", ":")))
    sig = signer(signing_input.encode()) if signer else b""
    return signing_input + "." + b64u(sig)


def openssl(*args, data=None):
    r = subprocess.run(["openssl"] + list(args), input=data, capture_output=True)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (" ".join(args), r.stderr.decode()))
    return r.stdout


def rs256_signer(key_path):
    return lambda data: openssl("dgst", "-sha256", "-sign", key_path, data=data)


def hs256_signer(key):
    return lambda data: hmac.new(key, data, hashlib.sha256).digest()


def public_pem(key_path):
    return openssl("pkey", "-in", key_path, "-pubout")


def public_der(key_path):
    return openssl("pkey", "-in", key_path, "-pubout", "-outform", "DER")


def new_rsa_key(directory):
    path = os.path.join(directory, "other-%s.pem" % uuid.uuid4().hex[:8])
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path)
    return path


def libtrust_kid(der):
    """docker/libtrust key id: base32 of the first 240 bits of SHA-256(DER),
    in 12 groups of 4 joined by ':'."""
    b = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(b[i:i + 4] for i in range(0, len(b), 4))


# ---------------------------------------------------------------------------
# Expectation grids


def parse_grid(text, columns):
    """Rows "<operation>  <cell> <cell> ..." with one cell per column; the
    operation name is everything before two or more spaces. Cells: an
    integer status, Y/N, alternatives joined by '|', or '-' (not
    applicable). Returns [(operation, {column: cell})]."""
    rows = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = re.match(r"^(\S.*?)\s{2,}(\S.*)$", line)
        if not m:
            raise ValueError("bad grid line: %r" % line)
        op, cells = m.group(1), m.group(2).split()
        if len(cells) != len(columns):
            raise ValueError("grid line %r has %d cells for %d columns" %
                             (op, len(cells), len(columns)))
        rows.append((op, dict(zip(columns, cells))))
    return rows


def main(grids=(), columns=()):
    """berth_harness.main(); with --table instead, prints the expectation
    grids one line per identity x operation (grid, identity, operation,
    expected) for auditing against Harbor's matrix."""
    if "--table" in sys.argv:
        for title, grid in grids:
            for op, cells in parse_grid(grid, columns):
                for who in columns:
                    print("%s\t%s\t%s\t%s" % (title, who, op, cells[who]))
        return
    bh.main()


def matches(expected, got):
    return str(got) in expected.split("|")


class Mismatches:
    """Collects grid mismatches so one run reports all of them."""

    def __init__(self, title):
        self.title = title
        self.items = []
        self.checked = 0

    def check(self, op, who, expected, got, detail=""):
        self.checked += 1
        if not matches(expected, got):
            self.items.append("%-44s %-5s expected %-8s got %-6s %s" %
                              (op, who, expected, got, detail[:400]))

    def report(self):
        if not self.items:
            return None
        return "%s: %d of %d cells differ:\n  %s" % (self.title, len(self.items), self.checked,
                                                    "\n  ".join(self.items))


def short(resp):
    body = resp.body[:200].decode("utf-8", "replace")
    return "%s %s -> %d %s" % (resp.method, resp.path[:90], resp.status, body)


def wait_until(pred, timeout=5.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def tmpdir():
    return tempfile.mkdtemp(prefix="berth-iam-")
