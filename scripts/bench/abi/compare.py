#!/usr/bin/env python3
"""Prints the plugin-vs-direct comparison from abi_bench's JSON output.

    compare.py ABI_BENCH.json [E2E.json]

For each operation: the medians over the repetitions of real (wall) time and
CPU time per operation, for the plugin and the direct call, their difference
in ns and in % of the direct call, and the coefficient of variation of the
repetitions (how much to trust a small difference). With E2E.json (from
e2e.py) it also relates the per-call difference to whole HTTP round trips.
"""

import json
import sys

OPS = [
    ("manifest_get/GetContent_2KiB", "manifest GET: GetContent 2 KiB"),
    ("blob_get_fd/OpenFd_1KiB+close", "blob GET: OpenFd + close"),
    ("blob_get_read/OpenReader+Read_1KiB+close", "blob GET: OpenReader + Read 1 KiB + close"),
    ("stat/Stat_1KiB", "Stat"),
]


def aggregates(doc):
    """{(benchmark, aggregate): entry} for the aggregate rows."""
    out = {}
    for b in doc["benchmarks"]:
        if b.get("run_type") != "aggregate":
            continue
        out[(b["run_name"], b["aggregate_name"])] = b
    return out


def ns(entry, key):
    unit = entry.get("time_unit", "ns")
    scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[unit]
    return entry[key] * scale


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        doc = json.load(f)
    agg = aggregates(doc)
    reps = {b["repetitions"] for b in doc["benchmarks"] if "repetitions" in b}
    ctx = doc.get("context", {})
    print("abi_bench: %s repetitions, medians; %d CPUs at %s MHz; load average %s" % (
        "/".join(str(r) for r in sorted(reps)), ctx.get("num_cpus", 0), ctx.get("mhz_per_cpu", "?"),
        ", ".join("%.2f" % x for x in ctx.get("load_avg", []))))
    print()
    print("| operation | plugin ns/op | direct ns/op | difference | plugin CPU ns/op | "
          "direct CPU ns/op | CPU difference | CV plugin / direct |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    diffs = {}
    for key, label in OPS:
        try:
            p = agg[(key + "/plugin", "median")]
            d = agg[(key + "/direct", "median")]
        except KeyError:
            print("| %s | (not run) |" % label)
            continue
        pr, dr = ns(p, "real_time"), ns(d, "real_time")
        pc, dc = ns(p, "cpu_time"), ns(d, "cpu_time")
        cv = []
        for side in ("plugin", "direct"):
            e = agg.get((key + "/" + side, "cv"))
            cv.append("%.1f%%" % (100 * e["real_time"]) if e else "?")
        diffs[key] = (pr - dr, pc - dc)
        print("| %s | %.0f | %.0f | %+.0f ns (%+.1f%%) | %.0f | %.0f | %+.0f ns (%+.1f%%) | %s |" % (
            label, pr, dr, pr - dr, 100 * (pr - dr) / dr, pc, dc, pc - dc, 100 * (pc - dc) / dc,
            " / ".join(cv)))

    parts = [(label, agg.get((key, "median"))) for key, label in (
        ("parts/IsValidStoragePath", "the host's path check (blob path)"),
        ("parts/NowUnixNanos", "one clock read (two per call)"))]
    if any(e for _, e in parts):
        print()
        print("Parts of the per-call difference (CPU ns, median): " + "; ".join(
            "%s %.1f ns" % (label, ns(e, "cpu_time")) for label, e in parts if e))

    if len(sys.argv) == 3:
        with open(sys.argv[2]) as f:
            e2e = json.load(f)
        rt = e2e["round_trip_us"]
        print()
        print("End to end (%s against berthd on storage-fs, %s on each request):" % (
            e2e["tool"], e2e["auth"]))
        print()
        print("| request | round trip (median) | storage calls through the plugin | "
              "ABI cost per request (CPU difference above) |")
        print("|---|---:|---|---:|")
        rows = []
        if "manifest_get" in rt:
            rows.append(("manifest GET by tag (manifest cache hit: the usual case)",
                         rt["manifest_get"], "none", None))
            get = agg.get(("manifest_get/GetContent_2KiB/plugin", "median"))
            if get and "manifest_get/GetContent_2KiB" in diffs:
                # Not measurable with wrk (the cache fills on the first GET):
                # the cache-hit round trip plus one plugin GetContent.
                rows.append(("manifest GET, cache miss (estimated: hit + one GetContent)",
                             rt["manifest_get"] + ns(get, "cpu_time") / 1000,
                             "GetContent 2 KiB", diffs["manifest_get/GetContent_2KiB"][1]))
        if "blob_get" in rt and "blob_get_fd/OpenFd_1KiB+close" in diffs:
            rows.append(("1 KiB blob GET", rt["blob_get"], "OpenFd",
                         diffs["blob_get_fd/OpenFd_1KiB+close"][1]))
        for label, us, calls, extra in rows:
            cost = "0" if extra is None else "%+.0f ns = %+.2f%% of the round trip" % (
                extra, 100 * extra / (us * 1000))
            print("| %s | %.1f us | %s | %s |" % (label, us, calls, cost))

if __name__ == "__main__":
    main()
