#!/usr/bin/env python3
"""Signed-image enforcement on /v2 pulls (docs/signing.md): Harbor's
enable_content_trust_cosign and enable_content_trust (notation; Berth also
reads enable_content_trust_notation) refuse manifest GET/HEAD of an artifact
without a signature accessory of its own with 412 PROJECTPOLICYVIOLATION;
with the project's trusted keys (Berth's /projects/{p}/trusted-keys API),
the cosign signature must verify with one of them and name the pulled
digest. Signatures are made here in cosign's format with the openssl CLI
(ECDSA P-256 over SHA-256, Ed25519) and pushed both by cosign's tag scheme
and as OCI referrers. skopeo pulls as a real client.

Runs on SQLite, and on PostgreSQL as protocol_pg.signing. Python 3 standard
library and the openssl CLI.
"""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import urllib.parse

import berth_harness as bh
from harbor_api import Api

COSIGN_PAYLOAD = "application/vnd.dev.cosign.simplesigning.v1+json"
COSIGN_ARTIFACT = "application/vnd.dev.cosign.artifact.sig.v1+json"
SIG_ANNOTATION = "dev.cosignproject.cosign/signature"
NOTATION = "application/vnd.cncf.notary.signature"
UNSIGNED_COSIGN = "The image is not signed by cosign."
UNSIGNED_NOTATION = "The image is not signed by notation."
UNTRUSTED = "The image's cosign signature is not valid for any trusted key of the project."


def openssl(*args, data=None):
    p = subprocess.run(["openssl"] + list(args), input=data, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    if p.returncode != 0:
        raise AssertionError("openssl %s failed: %s" % (" ".join(args), p.stderr.decode()))
    return p.stdout


class Key:
    """A signing key pair on disk, as `cosign generate-key-pair` makes (EC
    P-256) or an Ed25519 one."""

    def __init__(self, tmp, kind):
        self.kind = kind
        self.path = os.path.join(tmp, bh.unique("key") + ".pem")
        if kind == "ec":
            openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-out", self.path)
        else:
            openssl("genpkey", "-algorithm", "ED25519", "-out", self.path)
        self.public_pem = openssl("pkey", "-in", self.path, "-pubout").decode()

    def sign(self, payload):
        """cosign's signature over the payload bytes, base64 (standard)."""
        src = os.path.join(os.path.dirname(self.path), bh.unique("payload"))
        with open(src, "wb") as f:
            f.write(payload)
        if self.kind == "ec":
            sig = openssl("dgst", "-sha256", "-sign", self.path, src)
        else:
            sig = openssl("pkeyutl", "-sign", "-inkey", self.path, "-rawin", "-in", src)
        return base64.b64encode(sig).decode()


def simple_signing(digest, repo="example"):
    """cosign's simplesigning payload for `digest`."""
    return json.dumps({"critical": {"identity": {"docker-reference": repo},
                                    "image": {"docker-manifest-digest": digest},
                                    "type": "cosign container image signature"},
                       "optional": None}, separators=(",", ":")).encode()


class SigningCase(bh.RegistryTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.api = Api(cls.reg)
        cls.tmp = tempfile.mkdtemp(prefix="berth-signing-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    # -- set-up ------------------------------------------------------------

    def project(self, **metadata):
        name = bh.unique("sig")
        pid = self.api.create_project(name)
        if metadata:
            self.set_policy(name, **metadata)
        return name, pid

    def set_policy(self, project, **metadata):
        md = {k: ("true" if v else "false") for k, v in metadata.items()}
        self.api.ok("PUT", "/projects/" + project, {"metadata": md})

    def push(self, repo, tag="v1"):
        body, digest = self.reg.push_image(repo, tag=tag)
        return digest, len(body)

    def push_signature(self, repo, subject, payload, sig_b64, scheme="tag", subject_size=0):
        """A cosign signature manifest for `subject` holding `payload` signed
        as `sig_b64`: by cosign's tag scheme, or as an OCI 1.1 referrer."""
        self.reg.push_blob(repo, payload)
        layer = bh.descriptor(COSIGN_PAYLOAD, payload, annotations={SIG_ANNOTATION: sig_b64})
        if scheme == "tag":
            config = json.dumps({"architecture": "", "os": "", "config": {},
                                 "rootfs": {"type": "layers", "diff_ids": []}}).encode()
            self.reg.push_blob(repo, config)
            m = bh.dumps({"schemaVersion": 2, "mediaType": bh.OCI_MANIFEST,
                          "config": bh.descriptor(bh.OCI_CONFIG, config), "layers": [layer]})
            ref = subject.replace(":", "-") + ".sig"
        else:
            empty = b"{}"
            self.reg.push_blob(repo, empty)
            m = bh.dumps({"schemaVersion": 2, "mediaType": bh.OCI_MANIFEST,
                          "artifactType": COSIGN_ARTIFACT,
                          "config": bh.descriptor(bh.OCI_EMPTY, empty), "layers": [layer],
                          "subject": {"mediaType": bh.OCI_MANIFEST, "digest": subject,
                                      "size": subject_size}})
            ref = bh.sha256(m)
        self.assertStatus(self.reg.put_manifest(repo, ref, m, bh.OCI_MANIFEST), 201)
        return bh.sha256(m)

    def sign(self, repo, subject, key, scheme="tag", size=0, payload=None):
        payload = payload or simple_signing(subject, repo)
        return self.push_signature(repo, subject, payload, key.sign(payload), scheme, size)

    def push_notation(self, repo, subject, size):
        sig = b'{"payload":"not checked","signatures":[]}'
        self.reg.push_blob(repo, sig)
        empty = b"{}"
        self.reg.push_blob(repo, empty)
        m = bh.dumps({"schemaVersion": 2, "mediaType": bh.OCI_MANIFEST, "artifactType": NOTATION,
                      "config": bh.descriptor(bh.OCI_EMPTY, empty),
                      "layers": [bh.descriptor("application/jose+json", sig)],
                      "subject": {"mediaType": bh.OCI_MANIFEST, "digest": subject, "size": size}})
        self.assertStatus(self.reg.put_manifest(repo, bh.sha256(m), m, bh.OCI_MANIFEST), 201)

    def add_key(self, project, key, auth="admin", description=""):
        r = self.api.call("POST", "/projects/%s/trusted-keys" % project,
                          {"public_key": key.public_pem, "description": description},
                          auth=auth)
        self.assertStatus(r, 201)
        return int(r.header("Location").rsplit("/", 1)[1])

    # -- pulls ---------------------------------------------------------------

    def pull(self, repo, ref, method="GET", headers=None):
        h = {"Accept": ", ".join([bh.OCI_MANIFEST, bh.OCI_INDEX, bh.DOCKER_MANIFEST])}
        h.update(headers or {})
        # Not the harness's check: PROJECTPOLICYVIOLATION is Harbor's code,
        # not the distribution spec's.
        return self.reg.request(method, "/v2/%s/manifests/%s" % (repo, ref), headers=h,
                                check=False)

    def assertPulls(self, repo, ref):
        for method in ("GET", "HEAD"):
            self.assertStatus(self.pull(repo, ref, method), 200)

    def assertRefused(self, repo, ref, message):
        r = self.pull(repo, ref)
        self.assertStatus(r, 412)
        self.assertEqual(r.header("Content-Type").split(";")[0], "application/json")
        self.assertEqual(r.json(), {"errors": [{"code": "PROJECTPOLICYVIOLATION",
                                                "message": message}]})
        self.assertStatus(self.pull(repo, ref, "HEAD"), 412)


class PolicyTest(SigningCase):
    def test_policy_off_pulls_anything(self):
        p, _ = self.project()
        digest, _ = self.push(p + "/app")
        self.assertPulls(p + "/app", "v1")
        self.assertPulls(p + "/app", digest)
        # An explicit false is off too.
        self.set_policy(p, enable_content_trust_cosign=False, enable_content_trust=False)
        self.assertPulls(p + "/app", "v1")

    def test_cosign_required_without_keys(self):
        p, _ = self.project(enable_content_trust_cosign=True)
        repo = p + "/app"
        digest, size = self.push(repo)
        self.assertRefused(repo, "v1", UNSIGNED_COSIGN)
        self.assertRefused(repo, digest, UNSIGNED_COSIGN)
        # Without trusted keys any cosign signature will do, as in Harbor.
        sig = self.push_signature(repo, digest, simple_signing(digest), "bm90IGNoZWNrZWQ=")
        self.assertPulls(repo, "v1")
        self.assertPulls(repo, digest)
        # The signature itself is pullable (clients verify with it).
        self.assertPulls(repo, digest.replace(":", "-") + ".sig")
        self.assertPulls(repo, sig)

        # An OCI 1.1 referrer signature counts too.
        other, osize = self.push(repo, "v2")
        self.assertRefused(repo, "v2", UNSIGNED_COSIGN)
        self.push_signature(repo, other, simple_signing(other), "bm90IGNoZWNrZWQ=",
                            scheme="referrer", subject_size=osize)
        self.assertPulls(repo, "v2")

        # An SBOM or other accessory is no signature.
        third, tsize = self.push(repo, "v3")
        sbom = b'{"spdxVersion":"SPDX-2.3"}'
        self.reg.push_blob(repo, sbom)
        self.reg.push_blob(repo, b"{}")
        m = bh.dumps({"schemaVersion": 2, "mediaType": bh.OCI_MANIFEST,
                      "artifactType": "application/spdx+json",
                      "config": bh.descriptor(bh.OCI_EMPTY, b"{}"),
                      "layers": [bh.descriptor("application/spdx+json", sbom)],
                      "subject": {"mediaType": bh.OCI_MANIFEST, "digest": third, "size": tsize}})
        self.assertStatus(self.reg.put_manifest(repo, bh.sha256(m), m, bh.OCI_MANIFEST), 201)
        self.assertRefused(repo, "v3", UNSIGNED_COSIGN)

        # Turned off: everything pulls again at once.
        self.set_policy(p, enable_content_trust_cosign=False)
        self.assertPulls(repo, "v3")
        # Deleting the metadata key turns it off too.
        self.set_policy(p, enable_content_trust_cosign=True)
        self.assertRefused(repo, "v3", UNSIGNED_COSIGN)
        self.api.ok("DELETE", "/projects/%s/metadatas/enable_content_trust_cosign" % p)
        self.assertPulls(repo, "v3")
        # Blobs are not gated (Harbor checks manifests only).
        self.set_policy(p, enable_content_trust_cosign=True)
        config = json.loads(self.reg.request(
            "GET", "/v2/%s/manifests/v1" % repo,
            headers={"Accept": bh.OCI_MANIFEST}).body)["config"]["digest"]
        self.assertStatus(self.reg.request("GET", "/v2/%s/blobs/%s" % (repo, config)), 200)

    def test_refused_pull_is_not_counted(self):
        p, _ = self.project(enable_content_trust_cosign=True)
        repo = p + "/counted"
        self.push(repo)
        for _ in range(3):
            self.assertStatus(self.pull(repo, "v1"), 412)
        repos = self.api.ok("GET", "/projects/%s/repositories" % p)
        self.assertEqual(repos[0]["pull_count"], 0)

    def test_index_children_need_their_own_signature(self):
        # Harbor checks the pulled digest's own accessories: a signed index
        # does not cover its children (cosign sign --recursive signs them).
        p, _ = self.project(enable_content_trust_cosign=True)
        repo = p + "/multi"
        children = []
        for arch in ("amd64", "arm64"):
            body, d = self.reg.push_image(repo)
            children.append({"mediaType": bh.OCI_MANIFEST, "digest": d, "size": len(body),
                             "platform": {"architecture": arch, "os": "linux"}})
        index = bh.dumps({"schemaVersion": 2, "mediaType": bh.OCI_INDEX, "manifests": children})
        self.assertStatus(self.reg.put_manifest(repo, "v1", index, bh.OCI_INDEX), 201)
        idx = bh.sha256(index)
        self.push_signature(repo, idx, simple_signing(idx), "c2ln")
        self.assertPulls(repo, "v1")
        self.assertRefused(repo, children[0]["digest"], UNSIGNED_COSIGN)
        self.push_signature(repo, children[0]["digest"], simple_signing(children[0]["digest"]),
                            "c2ln")
        self.assertPulls(repo, children[0]["digest"])
        self.assertRefused(repo, children[1]["digest"], UNSIGNED_COSIGN)

    def test_notation_required(self):
        for key in ("enable_content_trust", "enable_content_trust_notation"):
            p, _ = self.project(**{key: True})
            repo = p + "/app"
            digest, size = self.push(repo)
            self.assertRefused(repo, "v1", UNSIGNED_NOTATION)
            # A cosign signature is not a notation one.
            self.push_signature(repo, digest, simple_signing(digest), "c2ln")
            self.assertRefused(repo, "v1", UNSIGNED_NOTATION)
            self.push_notation(repo, digest, size)
            self.assertPulls(repo, "v1")

    def test_both_required(self):
        p, _ = self.project(enable_content_trust_cosign=True, enable_content_trust=True)
        repo = p + "/app"
        digest, size = self.push(repo)
        self.assertRefused(repo, "v1", UNSIGNED_COSIGN)
        self.push_notation(repo, digest, size)
        self.assertRefused(repo, "v1", UNSIGNED_COSIGN)
        self.push_signature(repo, digest, simple_signing(digest), "c2ln")
        self.assertPulls(repo, "v1")

    def test_metadata_values_validated(self):
        p, _ = self.project()
        for key in ("enable_content_trust_cosign", "enable_content_trust_notation"):
            r = self.api.call("PUT", "/projects/" + p, {"metadata": {key: "yes"}})
            self.assertStatus(r, 400)
        md = self.api.ok("GET", "/projects/%s" % p)["metadata"]
        self.assertNotIn("enable_content_trust_notation", md)

    def test_signer_and_scanner_exemptions(self):
        p, pid = self.project(enable_content_trust_cosign=True)
        repo = p + "/app"
        digest, _ = self.push(repo)

        def token(scope, auth):
            r = self.reg.request("GET", "/service/token?service=harbor-registry&scope=" +
                                 urllib.parse.quote(scope), headers={"Authorization": auth},
                                 check=False)
            self.assertStatus(r, 200)
            return "Bearer " + r.json()["token"]

        admin = self.reg.auth_header()
        push_token = token("repository:%s:pull,push" % repo, admin)
        # Tokens carry what the caller may do (as Harbor's): a guest's is pull-only.
        guest = self.api.create_user(bh.unique("guest"))
        self.api.add_member(pid, guest, "guest")
        pull_token = token("repository:%s:pull,push" % repo,
                           "Basic " + base64.b64encode(("%s:%s" % guest).encode()).decode())
        cosign_ua = {"User-Agent": "cosign/v2.4.1 (linux; amd64) go-containerregistry/v0.20.2"}
        # cosign reads the manifest it is about to sign (Harbor's legacy
        # signer pull): a token that may push, and cosign's User-Agent.
        r = self.pull(repo, "v1", headers=dict(cosign_ua, Authorization=push_token))
        self.assertStatus(r, 200)
        notation_ua = {"User-Agent": "notation/v1.2.0"}
        r = self.pull(repo, "v1", headers=dict(notation_ua, Authorization=push_token))
        self.assertStatus(r, 200)
        # Not with a pull-only token, nor with Basic credentials, nor without the agent.
        r = self.pull(repo, "v1", headers=dict(cosign_ua, Authorization=pull_token))
        self.assertStatus(r, 412)
        r = self.pull(repo, "v1", headers=dict(cosign_ua))
        self.assertStatus(r, 412)
        r = self.pull(repo, "v1", headers={"Authorization": push_token})
        self.assertStatus(r, 412)

        # A robot granted scanner-pull (the scanner's credential) is exempt.
        r = self.api.call("POST", "/robots", {
            "name": bh.unique("scanner"), "level": "project", "duration": -1,
            "permissions": [{"kind": "project", "namespace": p, "access": [
                {"resource": "repository", "action": "pull"},
                {"resource": "repository", "action": "scanner-pull"}]}]})
        self.assertStatus(r, 201)
        robot = r.json()
        basic = "Basic " + base64.b64encode(
            ("%s:%s" % (robot["name"], robot["secret"])).encode()).decode()
        scan_token = token("repository:%s:pull,scanner-pull" % repo, basic)
        r = self.pull(repo, "v1", headers={"Authorization": scan_token})
        self.assertStatus(r, 200)
        # ... but not through Basic credentials (Harbor: v2 tokens only).
        r = self.pull(repo, "v1", headers={"Authorization": basic})
        self.assertStatus(r, 412)


class StrictSignerPullTest(SigningCase):
    """Harbor's CONTENT_TRUST_LEGACY_SIGNER_PULL_ENABLED=false: no User-Agent exemption."""

    @classmethod
    def setUpClass(cls):
        cls.reg = bh.Registry(extra_env={"CONTENT_TRUST_LEGACY_SIGNER_PULL_ENABLED": "false"}).start()
        cls.api = Api(cls.reg)
        cls.tmp = tempfile.mkdtemp(prefix="berth-signing-")

    def test_signer_pull_refused(self):
        p, _ = self.project(enable_content_trust_cosign=True)
        repo = p + "/app"
        self.push(repo)
        r = self.reg.request("GET", "/service/token?service=harbor-registry&scope=" +
                             urllib.parse.quote("repository:%s:pull,push" % repo), check=False)
        self.assertStatus(r, 200)
        r = self.pull(repo, "v1", headers={"Authorization": "Bearer " + r.json()["token"],
                                           "User-Agent": "cosign/v2.4.1"})
        self.assertStatus(r, 412)


class TrustedKeyPolicyTest(SigningCase):
    def test_keys_decide(self):
        p, _ = self.project(enable_content_trust_cosign=True)
        repo = p + "/app"
        ec, ed, stranger = Key(self.tmp, "ec"), Key(self.tmp, "ed25519"), Key(self.tmp, "ec")
        good, _ = self.push(repo, "good")
        wrong, _ = self.push(repo, "wrong")
        copied, _ = self.push(repo, "copied")
        tampered, _ = self.push(repo, "tampered")
        referred, rsize = self.push(repo, "referred")
        unsigned, _ = self.push(repo, "unsigned")
        self.sign(repo, good, ec)
        self.sign(repo, wrong, stranger)
        # A valid signature of `good`, attached to `copied`.
        self.push_signature(repo, copied, simple_signing(good, repo),
                            ec.sign(simple_signing(good, repo)))
        # Signed, then the payload changed.
        payload = simple_signing(tampered, repo)
        self.push_signature(repo, tampered, payload.replace(b"cosign container", b"cosign-container"),
                            ec.sign(payload))
        self.sign(repo, referred, ed, scheme="referrer", size=rsize)

        # No keys yet: any signature will do.
        for tag in ("good", "wrong", "copied", "tampered", "referred"):
            self.assertPulls(repo, tag)
        self.assertRefused(repo, "unsigned", UNSIGNED_COSIGN)

        ec_id = self.add_key(p, ec)
        self.assertPulls(repo, "good")
        self.assertPulls(repo, good)
        self.assertRefused(repo, "wrong", UNTRUSTED)
        self.assertRefused(repo, "copied", "The image's cosign signature is for another image: "
                           "the signed payload names %s." % good)
        self.assertRefused(repo, "tampered", UNTRUSTED)
        self.assertRefused(repo, "referred", UNTRUSTED)
        self.assertRefused(repo, "unsigned", UNSIGNED_COSIGN)

        self.add_key(p, ed)
        self.assertPulls(repo, "referred")
        # Removing a key takes effect at once (the cached verdicts name the key set).
        self.api.ok("DELETE", "/projects/%s/trusted-keys/%d" % (p, ec_id))
        self.assertRefused(repo, "good", UNTRUSTED)
        self.assertPulls(repo, "referred")
        # A new signature takes effect at once too.
        self.sign(repo, wrong, ed, scheme="referrer")
        self.assertPulls(repo, "wrong")

        # Keys without the policy enforce nothing.
        self.set_policy(p, enable_content_trust_cosign=False)
        self.assertPulls(repo, "unsigned")
        self.assertPulls(repo, "good")

    def test_malformed_signature(self):
        p, _ = self.project(enable_content_trust_cosign=True)
        repo = p + "/app"
        key = Key(self.tmp, "ec")
        self.add_key(p, key)
        digest, _ = self.push(repo)
        self.push_signature(repo, digest, simple_signing(digest), "***not base64***")
        self.assertRefused(repo, "v1", "The image's cosign signature is malformed: "
                           "the signature is not base64.")
        self.sign(repo, digest, key, scheme="referrer")
        self.assertPulls(repo, "v1")

    def test_skopeo_pull(self):
        if shutil.which("skopeo") is None:
            self.skipTest("skopeo is not installed")
        p, _ = self.project(enable_content_trust_cosign=True)
        repo = p + "/app"
        key = Key(self.tmp, "ec")
        self.add_key(p, key)
        digest, _ = self.push(repo, "v1")
        creds = "%s:%s" % (bh.ADMIN_USER, bh.ADMIN_PASSWORD)
        src = "docker://127.0.0.1:%d/%s:v1" % (self.reg.port, repo)

        def copy():
            dest = os.path.join(self.tmp, bh.unique("pulled"))
            return subprocess.run(["skopeo", "copy", "--retry-times", "0", "--src-tls-verify=false",
                                   "--src-creds", creds, src, "dir:" + dest],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)

        refused = copy()
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn(b"not signed by cosign", refused.stderr)
        self.sign(repo, digest, Key(self.tmp, "ec"))
        refused = copy()
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn(b"not valid for any trusted key", refused.stderr)
        self.sign(repo, digest, key, scheme="referrer")
        ok = copy()
        self.assertEqual(ok.returncode, 0, ok.stderr.decode(errors="replace"))


class TrustedKeyApiTest(SigningCase):
    def test_crud(self):
        p, pid = self.project()
        ec, ed = Key(self.tmp, "ec"), Key(self.tmp, "ed25519")
        self.assertEqual(self.api.ok("GET", "/projects/%s/trusted-keys" % p), [])
        r = self.api.call("POST", "/projects/%s/trusted-keys" % p,
                          {"public_key": ec.public_pem, "description": "release key"})
        self.assertStatus(r, 201)
        self.assertRegex(r.header("Location"),
                         r"^/api/v2\.0/projects/%s/trusted-keys/\d+$" % p)
        ec_id = int(r.header("Location").rsplit("/", 1)[1])
        ed_id = self.add_key(str(pid), ed)  # by id
        keys = self.api.ok("GET", "/projects/%s/trusted-keys" % p)
        self.assertEqual([k["id"] for k in keys], [ec_id, ed_id])
        k = keys[0]
        self.assertEqual(set(k), {"id", "project_id", "description", "algorithm", "fingerprint",
                                  "public_key", "creator", "creation_time"})
        self.assertEqual((k["project_id"], k["description"], k["algorithm"], k["creator"]),
                         (pid, "release key", "ecdsa-p256", "admin"))
        self.assertEqual(k["public_key"], ec.public_pem)
        der = openssl("pkey", "-pubin", "-in", "/dev/stdin", "-outform", "DER",
                      data=ec.public_pem.encode())
        import hashlib
        self.assertEqual(k["fingerprint"], "sha256:" + hashlib.sha256(der).hexdigest())
        self.assertEqual(keys[1]["algorithm"], "ed25519")
        one = self.api.ok("GET", "/projects/%s/trusted-keys/%d" % (p, ed_id))
        self.assertEqual(one, keys[1])
        r = self.api.call("GET", "/projects/%s/trusted-keys" % p)
        self.assertEqual(r.header("X-Total-Count"), "2")
        # By name, as Harbor's X-Is-Resource-Name asks.
        r = self.reg.request("GET", "/api/v2.0/projects/%s/trusted-keys" % p,
                             headers={"X-Is-Resource-Name": "true"}, check=False)
        self.assertStatus(r, 200)

        # The same key twice.
        r = self.api.call("POST", "/projects/%s/trusted-keys" % p, {"public_key": ec.public_pem})
        self.assertStatus(r, 409)
        self.assertEqual(r.error_codes(), ["CONFLICT"])

        self.api.ok("DELETE", "/projects/%s/trusted-keys/%d" % (p, ec_id))
        r = self.api.call("GET", "/projects/%s/trusted-keys/%d" % (p, ec_id))
        self.assertStatus(r, 404)
        r = self.api.call("DELETE", "/projects/%s/trusted-keys/%d" % (p, ec_id))
        self.assertStatus(r, 404)
        self.assertEqual(r.error_codes(), ["NOT_FOUND"])
        # Another project's key is not found through this one.
        q, _ = self.project()
        r = self.api.call("GET", "/projects/%s/trusted-keys/%d" % (q, ed_id))
        self.assertStatus(r, 404)
        r = self.api.call("GET", "/projects/no-such-project-x/trusted-keys")
        self.assertStatus(r, 404)

    def test_bad_keys(self):
        p, _ = self.project()
        priv = Key(self.tmp, "ec")
        with open(priv.path) as f:
            private_pem = f.read()
        rsa = openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048")
        rsa_pub = openssl("pkey", "-pubout", data=rsa).decode()
        p384 = openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384")
        p384_pub = openssl("pkey", "-pubout", data=p384).decode()
        for body in ({"public_key": "garbage"},
                     {"public_key": "-----BEGIN PUBLIC KEY-----\nbm9wZQ==\n-----END PUBLIC KEY-----\n"},
                     {"public_key": private_pem}, {"public_key": rsa_pub},
                     {"public_key": p384_pub}, {"public_key": ""}, {"description": "none"},
                     {"public_key": 42}):
            r = self.api.call("POST", "/projects/%s/trusted-keys" % p, body)
            self.assertStatus(r, 400)
            self.assertEqual(r.error_codes(), ["BAD_REQUEST"], "%r" % r)
        r = self.api.call("POST", "/projects/%s/trusted-keys" % p, raw=b"not json")
        self.assertStatus(r, 400)
        r = self.api.call("DELETE", "/projects/%s/trusted-keys/abc" % p)
        self.assertStatus(r, 400)
        self.assertEqual(self.api.ok("GET", "/projects/%s/trusted-keys" % p), [])

    def test_rbac(self):
        p, pid = self.project()
        key = Key(self.tmp, "ec")
        kid = self.add_key(p, key)
        users = {}
        for role in ("projectAdmin", "maintainer", "developer", "guest", "limitedGuest"):
            users[role] = self.api.create_user(bh.unique("u"))
            self.api.add_member(pid, users[role], role)
        outsider = self.api.create_user(bh.unique("out"))
        other = Key(self.tmp, "ed25519")
        for role, user in users.items():
            # Every member reads them.
            self.assertStatus(self.api.call("GET", "/projects/%s/trusted-keys" % p, auth=user), 200)
            self.assertStatus(self.api.call("GET", "/projects/%s/trusted-keys/%d" % (p, kid),
                                            auth=user), 200)
            if role == "projectAdmin":
                continue
            r = self.api.call("POST", "/projects/%s/trusted-keys" % p,
                              {"public_key": other.public_pem}, auth=user)
            self.assertStatus(r, 403)
            self.assertEqual(r.error_codes(), ["FORBIDDEN"])
            r = self.api.call("DELETE", "/projects/%s/trusted-keys/%d" % (p, kid), auth=user)
            self.assertStatus(r, 403)
        # Project admins write.
        oid = self.add_key(p, other, auth=users["projectAdmin"])
        self.api.ok("DELETE", "/projects/%s/trusted-keys/%d" % (p, oid), auth=users["projectAdmin"])
        # Outsiders and anonymous callers neither read nor write.
        r = self.api.call("GET", "/projects/%s/trusted-keys" % p, auth=outsider)
        self.assertStatus(r, 403)
        r = self.api.call("GET", "/projects/%s/trusted-keys" % p, auth=None)
        self.assertStatus(r, 401)
        self.assertEqual(r.error_codes(), ["UNAUTHORIZED"])
        r = self.api.call("POST", "/projects/%s/trusted-keys" % p,
                          {"public_key": other.public_pem}, auth=None)
        self.assertStatus(r, 401)
        # Public projects do not publish them to non-members either.
        q, _ = self.project()
        self.api.ok("PUT", "/projects/" + q, {"metadata": {"public": "true"}})
        r = self.api.call("GET", "/projects/%s/trusted-keys" % q, auth=outsider)
        self.assertStatus(r, 403)

    def test_keys_go_with_the_project(self):
        p, pid = self.project()
        self.add_key(p, Key(self.tmp, "ec"))
        self.api.ok("DELETE", "/projects/" + p)
        # Re-created under the same name: no key carried over.
        self.api.create_project(p)
        self.assertEqual(self.api.ok("GET", "/projects/%s/trusted-keys?x=1" % p), [])


if __name__ == "__main__":
    bh.main()
