#!/usr/bin/python3
"""Runs the scanner-plugin tests (scanner_plugin_tests, GoogleTest) against
real peers, which this script starts on 127.0.0.1 and describes to the test
binary in a JSON file ($BERTH_SCANNER_ENV):

  * a berthd (tests/protocol/berth_harness.py) with a project holding an
    image pushed by skopeo (two gzip'd layers, an OCI manifest), the
    administrator's Basic credential and a pull-scoped Bearer token from
    berthd's /service/token for it;
  * tests/scanners/fake-trivy behind wrapper scripts (normal, slow, crash,
    garbage) and a Trivy cache directory holding a DB's metadata.json;
  * tests/scanners/adapter_server.py twice, serving Harbor's pluggable
    scanner API v1.2 and v1.1 and validating every request against the spec
    files; after the run, any request that broke the spec fails this test;
  * optionally (--example-build) the out-of-tree example scanner, built from
    plugins/examples/scanner-example against a staging install of the
    plugin-api-dev component, the way a third party builds it.

  run_scanner_tests.py --berthd BIN --tests BIN --plugins DIR --build DIR [--example-build]
                       [gtest args...]
"""
import argparse
import base64
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "protocol"))
import berth_harness  # noqa: E402

SPEC_DIR = os.environ.get("BERTH_SCANNER_SPEC_DIR") or os.path.normpath(
    os.path.join(REPO, "..", "shared", "reference", "specs"))
API_KEY = "adapter-key-" + os.urandom(6).hex()


def die(msg):
    sys.stderr.write("run_scanner_tests: %s\n" % msg)
    sys.exit(1)


def make_image(workdir, reg, repo):
    """Pushes a two-layer OCI image with skopeo; returns its summary."""
    layout = os.path.join(workdir, "layout")
    helper = os.path.join(REPO, "tests", "e2e", "e2e_helper.py")
    digest = subprocess.run([sys.executable, helper, "make-layout", layout, "v1", "3000", "5000"],
                            check=True, capture_output=True, text=True).stdout.strip()
    with open(os.path.join(layout, "e2e-image.json")) as f:
        summary = json.load(f)
    reg.create_project(repo.split("/")[0])
    creds = "%s:%s" % (berth_harness.ADMIN_USER, berth_harness.ADMIN_PASSWORD)
    env = dict(os.environ, HOME=workdir, XDG_RUNTIME_DIR=workdir)
    subprocess.run(["skopeo", "copy", "--retry-times", "0", "--dest-tls-verify=false", "--dest-creds", creds,
                    "oci:%s:v1" % layout, "docker://127.0.0.1:%d/%s:v1" % (reg.port, repo)],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    with open(os.path.join(layout, "blobs", "sha256", summary["config"].split(":")[1])) as f:
        config = json.load(f)
    summary["diff_ids"] = config["rootfs"]["diff_ids"]
    assert digest == summary["manifest"]
    return summary


def push_audit_image(reg, repo):
    """An image whose config the example scanner has something to say about:
    runs as root, a secret in Env, a `curl | sh` build step."""
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2024-06-01T00:00:00Z",
        "config": {"User": "", "Env": ["PATH=/usr/bin:/bin", "DB_PASSWORD=hunter2", "GITHUB_TOKEN="],
                   "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": [{"created": "2024-06-01T00:00:00Z", "created_by": "/bin/sh -c curl -fsSL https://get.example.sh | sh"}],
    }).encode()
    reg.push_blob(repo, config)
    manifest = berth_harness.dumps({"schemaVersion": 2, "mediaType": berth_harness.OCI_MANIFEST,
                                    "config": berth_harness.descriptor(berth_harness.OCI_CONFIG, config),
                                    "layers": []})
    r = reg.put_manifest(repo, "v1", manifest, berth_harness.OCI_MANIFEST)
    if r.status != 201:
        die("pushing the audit image: %r" % r)
    return berth_harness.sha256(manifest)


def berthd_loads_example(workdir, berthd, plugin_dir, example_dir):
    """berthd started with the example's directory in plugins.dirs loads it
    and lists its provider."""
    p = subprocess.run([berthd, "plugins", "inspect", os.path.join(example_dir, "scanner-example.so")],
                       capture_output=True, text=True)
    if p.returncode != 0 or "provider scanner/config-audit" not in p.stdout:
        die("berthd plugins inspect does not show scanner/config-audit:\n%s%s" % (p.stdout, p.stderr))
    root = os.path.join(workdir, "berthd-example")
    os.makedirs(root)
    reg = berth_harness.Registry(root=root, config="plugins:\n  dirs: [%s, %s]\n" % (plugin_dir, example_dir))
    try:
        reg.start()
        loaded = [r for r in reg.log_records() if r.get("msg") == "plugin loaded"]
        if not any(r.get("name") == "scanner-example" for r in loaded):
            die("berthd did not load the example: %s" % loaded)
    finally:
        reg.cleanup()


def example_swapped_in_by_config(workdir, plugin_dir, example_dir, trivy, cache_dir):
    """The issue's "swap the scanner via config": berthd's scanning.default
    names scanner-trivy (the fake Trivy CLI); a project pins its own Trivy
    registration. Changing scanning.default to the out-of-tree example's
    provider and restarting makes the next scan of every other project come
    from the example, while the pinned project keeps Trivy."""
    from harbor_api import Api

    def config(default):
        return json.dumps({"plugins": {"dirs": [plugin_dir, example_dir]},
                           "scanning": {"timeout_s": 60, "default": default}})

    trivy_config = {"trivy_path": trivy, "cache_dir": cache_dir, "skip_db_update": True,
                    "offline_scan": True, "timeout_seconds": 60}
    root = os.path.join(workdir, "berthd-swap")
    os.makedirs(root)
    reg = berth_harness.Registry(root=root, config=config(
        {"name": "site-default", "provider": "trivy", "config": trivy_config}))
    api = Api(reg)

    def scan(project, digest):
        path = "/projects/%s/repositories/app/artifacts/%s" % (project, digest)
        api.ok("POST", path + "/scan", None, status=202)
        deadline = time.monotonic() + 60
        while True:
            ov = api.ok("GET", path + "?with_scan_overview=true").get("scan_overview") or {}
            summary = next(iter(ov.values()), None)
            if summary and summary["scan_status"] in ("Success", "Error", "Stopped"):
                if summary["scan_status"] != "Success":
                    die("the scan of %s@%s ended %s: %s" % (project, digest, summary["scan_status"],
                                                           api.call("GET", path + "/scan/%s/log" % summary["report_id"]).body))
                return summary
            if time.monotonic() > deadline:
                die("the scan of %s@%s did not finish: %r" % (project, digest, ov))
            time.sleep(0.2)

    try:
        reg.start()
        digests = {}
        for project in ("swap-follows", "swap-pinned"):
            reg.create_project(project)
            digests[project] = push_audit_image(reg, project + "/app")
        r = api.call("POST", "/scanners", {"name": "pinned-trivy", "url": "plugin:trivy",
                                           "config": trivy_config})
        if r.status != 201:
            die("registering pinned-trivy: %r" % r)
        api.ok("PUT", "/projects/swap-pinned/scanner", {"uuid": r.header("Location").rsplit("/", 1)[1]})
        trivy_scanner = {"name": "Trivy", "vendor": "Aqua Security"}
        for project in ("swap-follows", "swap-pinned"):
            got = scan(project, digests[project])["scanner"]
            if {k: got[k] for k in trivy_scanner} != trivy_scanner:
                die("before the swap %s was scanned by %r" % (project, got))

        # One block of berth.yml changes: the default's provider (and its config).
        reg.config = config({"name": "site-default", "provider": "config-audit", "config": {}})
        reg.restart()
        follows = api.ok("GET", "/projects/swap-follows/scanner")
        if (follows["name"], follows["vendor"]) != ("site-default", "Berth examples"):
            die("after the swap swap-follows' scanner is %r" % follows)
        summary = scan("swap-follows", digests["swap-follows"])
        if summary["scanner"] != {"name": "config-audit", "vendor": "Berth examples", "version": "1.0.0"}:
            die("after the swap the report came from %r" % summary["scanner"])
        report = api.ok("GET", "/projects/swap-follows/repositories/app/artifacts/%s/additions/vulnerabilities"
                        % digests["swap-follows"])
        ids = sorted(v["id"] for v in next(iter(report.values()))["vulnerabilities"])
        if ids != ["EXAMPLE-ROOT-USER", "EXAMPLE-SECRET-ENV"]:
            die("the example's report lists %r" % ids)
        pinned = scan("swap-pinned", digests["swap-pinned"])["scanner"]
        if {k: pinned[k] for k in trivy_scanner} != trivy_scanner:
            die("the pinned project lost its scanner: %r" % pinned)
        if not reg.alive():
            die("berthd died: %s" % reg.stderr_tail())
        print("scanning.default swapped from scanner-trivy to the out-of-tree example by a restart")
    finally:
        reg.cleanup()


def bearer_token(reg, repo):
    """A pull-scoped token from berthd's token service (what Docker clients get)."""
    conn = reg.connect()
    conn.request("GET", "/v2/")
    r = conn.getresponse()
    r.read()
    challenge = r.getheader("WWW-Authenticate") or ""
    conn.close()
    attrs = dict(p.strip().split("=", 1) for p in challenge.split(" ", 1)[1].split(","))
    attrs = {k: v.strip('"') for k, v in attrs.items()}
    realm = urllib.parse.urlsplit(attrs["realm"])
    q = urllib.parse.urlencode({"service": attrs.get("service", ""), "scope": "repository:%s:pull" % repo})
    conn = reg.connect()
    conn.request("GET", realm.path + "?" + q, headers={"Authorization": reg.auth_header()})
    r = conn.getresponse()
    body = json.loads(r.read())
    conn.close()
    return body["token"]


def write_wrappers(workdir, fake):
    """trivy, trivy-slow, trivy-crash, trivy-garbage: the fake in each mode."""
    paths = {}
    for mode in ("", "slow", "crash", "garbage"):
        name = "trivy" + ("-" + mode if mode else "")
        p = os.path.join(workdir, "bin", name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write("#!/bin/sh\n")
            if mode:
                f.write("FAKE_TRIVY_MODE=%s\nexport FAKE_TRIVY_MODE\n" % mode)
            f.write('exec %s "$@"\n' % fake)
        os.chmod(p, 0o755)
        paths[mode or "normal"] = p
    return paths


def start_adapter(workdir, version, fake_trivy, cache_dir):
    port_file = os.path.join(workdir, "adapter-%s.port" % version)
    record = os.path.join(workdir, "adapter-%s.json" % version)
    log = open(os.path.join(workdir, "adapter-%s.log" % version), "wb")
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "adapter_server.py"),
                             "--spec", os.path.join(SPEC_DIR, "scanner-adapter-openapi-v%s.yaml" % version),
                             "--port", "0", "--port-file", port_file, "--api-key", API_KEY, "--record", record,
                             "--trivy", fake_trivy, "--cache-dir", cache_dir, "--not-ready-polls", "2",
                             # The spec's Refresh-After on v1.2, HTTP's Retry-After on v1.1.
                             "--retry-header", "Refresh-After" if version == "1.2" else "Retry-After"],
                            stdout=log, stderr=subprocess.STDOUT, preexec_fn=berth_harness._die_with_parent)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if os.path.exists(port_file):
            with open(port_file) as f:
                return proc, "http://127.0.0.1:%s" % f.read().strip(), record
        if proc.poll() is not None:
            die("adapter_server v%s exited: %s" % (version, open(log.name).read()))
        time.sleep(0.05)
    die("adapter_server v%s did not listen" % version)


def probe_validator(url, record, before):
    """The server's validator must be able to fail: a ScanRequest without
    its required registry, sent with a Content-Type the spec does not list,
    is answered 400 with an ErrorResponse and recorded."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    conn.request("POST", "/api/v1/scan", body=json.dumps({"artifact": {"repository": 7}}),
                 headers={"Content-Type": "application/json", "X-ScannerAdapter-API-Key": API_KEY})
    r = conn.getresponse()
    body = json.loads(r.read())
    conn.close()
    with open(record) as f:
        rec = json.load(f)
    problems = rec["violations"][-1]["problems"] if len(rec["violations"]) == before + 1 else []
    text = " ".join(problems)
    ok = (r.status == 400 and "message" in body.get("error", {}) and "Content-Type" in text)
    if not ok:
        sys.stderr.write("FAIL: the adapter server at %s did not catch a bad request: %d %r %r\n"
                         % (url, r.status, body, problems))
    return ok


def build_example(workdir, build_dir):
    """The out-of-tree example, as a third party builds it: install the
    plugin-api-dev component to a staging prefix, configure and build the
    example as its own CMake project against it. Both live under the build
    tree (tests/scanners/example-*), so a re-run rebuilds nothing and ccache
    serves the first build on a warm machine."""
    base = os.path.join(build_dir, "tests", "scanners")
    stage = os.path.join(base, "example-stage")
    subprocess.run(["cmake", "--install", build_dir, "--prefix", stage, "--component", "plugin-api-dev"],
                   check=True, stdout=subprocess.DEVNULL)
    src = os.path.join(REPO, "plugins", "examples", "scanner-example")
    out = os.path.join(base, "example-build")
    configure = ["cmake", "-S", src, "-B", out, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
                 "-DCMAKE_PREFIX_PATH=" + stage]
    if shutil.which("ccache"):
        configure.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
    subprocess.run(configure, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", out], check=True, stdout=subprocess.DEVNULL)
    so = os.path.join(out, "scanner-example.so")
    exports = subprocess.run(["nm", "-D", "--defined-only", so], capture_output=True, text=True).stdout.split()
    if [e for e in exports if len(e) > 1 and not e[0].isdigit() and e not in ("T",)] != ["berth_plugin_entry"]:
        die("the example exports more than berth_plugin_entry: %s" % exports)
    plugin_dir = os.path.join(workdir, "example-plugins")
    os.makedirs(plugin_dir)
    shutil.copy(so, plugin_dir)
    return plugin_dir


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--berthd", required=True)
    ap.add_argument("--tests", required=True)
    ap.add_argument("--plugins", required=True)
    ap.add_argument("--build", default="")
    ap.add_argument("--example-build", action="store_true")
    args, gtest_args = ap.parse_known_args()
    berth_harness._BERTHD = args.berthd
    for tool in ("skopeo",):
        if shutil.which(tool) is None:
            die("required tool %s is missing" % tool)

    workdir = tempfile.mkdtemp(prefix="berth-scanners-")
    os.makedirs(os.path.join(workdir, "berthd"))
    reg = berth_harness.Registry(root=os.path.join(workdir, "berthd"))
    adapters = []
    rc = 1
    try:
        reg.start()
        repo = "scans/checkout"
        image = make_image(workdir, reg, repo)
        token = bearer_token(reg, repo)
        audit_digest = push_audit_image(reg, "scans/audit")
        cache_dir = os.path.join(workdir, "trivy-cache")
        os.makedirs(os.path.join(cache_dir, "db"))
        shutil.copy(os.path.join(HERE, "fixtures", "db-metadata.json"), os.path.join(cache_dir, "db", "metadata.json"))
        with open(os.path.join(cache_dir, "db", "trivy.db"), "wb") as f:
            f.write(b"bolt db stand-in\n")
        empty_cache = os.path.join(workdir, "trivy-cache-empty")
        os.makedirs(empty_cache)
        fake = os.path.join(HERE, "fake-trivy")
        wrappers = write_wrappers(workdir, fake)

        env_doc = {
            "registry_url": "http://127.0.0.1:%d" % reg.port,
            "basic_auth": reg.auth_header(),
            "wrong_basic_auth": "Basic " + base64.b64encode(b"admin:not-the-password").decode(),
            "bearer_auth": "Bearer " + token,
            "repository": repo,
            "tag": "v1",
            "digest": image["manifest"],
            "layers": image["layers"],
            "diff_ids": image["diff_ids"],
            "fixtures": os.path.join(HERE, "fixtures"),
            "trivy": wrappers,
            "cache_dir": cache_dir,
            "empty_cache_dir": empty_cache,
            "work_dir": workdir,
            "plugin_dir": args.plugins,
            "api_key": API_KEY,
            "audit_repository": "scans/audit",
            "audit_digest": audit_digest,
        }
        if os.path.exists(os.path.join(SPEC_DIR, "scanner-adapter-openapi-v1.2.yaml")) and \
                os.path.exists(os.path.join(HERE, "adapter_server.py")):
            for version in ("1.2", "1.1"):
                proc, url, record = start_adapter(workdir, version, wrappers["normal"], cache_dir)
                adapters.append((version, proc, record))
                env_doc["adapter_v" + version.replace(".", "")] = url
        else:
            sys.stderr.write("scanner adapter specs not found in %s (set BERTH_SCANNER_SPEC_DIR): "
                             "the adapter tests skip\n" % SPEC_DIR)
        if args.example_build:
            env_doc["example_plugin_dir"] = build_example(workdir, args.build)
            berthd_loads_example(workdir, args.berthd, args.plugins, env_doc["example_plugin_dir"])
            example_swapped_in_by_config(workdir, args.plugins, env_doc["example_plugin_dir"],
                                         wrappers["normal"], cache_dir)
            deny = os.path.join(workdir, "deny.txt")
            with open(deny, "w") as f:
                f.write("# build steps we refuse\n| sh\nwget -O- \n")
            env_doc["example_deny_list"] = deny
        env_path = os.path.join(workdir, "env.json")
        with open(env_path, "w") as f:
            json.dump(env_doc, f, indent=2)

        rc = subprocess.run([args.tests] + gtest_args,
                            env=dict(os.environ, BERTH_SCANNER_ENV=env_path)).returncode

        # The adapter servers' verdict on every request the plugin sent.
        for version, proc, record in adapters:
            with open(record) as f:
                rec = json.load(f)
            if not probe_validator(env_doc["adapter_v" + version.replace(".", "")], record, len(rec["violations"])):
                rc = rc or 1
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
            if rec["violations"]:
                sys.stderr.write("FAIL: %d request(s) broke the scanner API v%s spec:\n%s\n" %
                                 (len(rec["violations"]), version, json.dumps(rec["violations"], indent=2)))
                rc = rc or 1
            elif rec["requests"] == 0:
                sys.stderr.write("FAIL: the v%s adapter server saw no request\n" % version)
                rc = rc or 1
            else:
                print("adapter server v%s: %d requests, 0 spec violations" % (version, rec["requests"]))
        if not reg.alive():
            sys.stderr.write("FAIL: berthd died during the scanner tests:\n%s\n" % reg.stderr_tail())
            rc = rc or 1
    finally:
        for _, proc, _ in adapters:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        reg.cleanup()
        if rc == 0 and not os.environ.get("BERTH_SCANNER_KEEP"):
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            sys.stderr.write("scanner test files kept in %s\n" % workdir)
    sys.exit(rc)


if __name__ == "__main__":
    main()
