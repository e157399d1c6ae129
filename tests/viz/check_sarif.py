#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check_sarif.py FILE LEVELS [--relative] [--flows=N] [--schema] — checks a SARIF log written by
lg_report_sarif: valid JSON, version 2.1.0, the lockgraph driver with one
rule per finding kind, one result per expected level (in order), relative
artifact URIs with start lines, codeFlows on cycles. With --schema it also
validates against the SARIF 2.1.0 JSON schema (jsonschema + the schema
fetched by sarif_schema.sh); exits 77 (skip) when either is missing."""
import json
import os
import subprocess
import sys

KINDS = ["lock-order-cycle", "deadlock", "hang", "join-before-drain",
         "join-before-drain-risk", "unreleased-lock", "unlock-not-owner",
         "unlock-unlocked", "self-deadlock", "destroy-locked", "cond-wait-misuse",
         "semaphore-overpost", "lock-discipline-race"]


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def check_location(loc, where, relative):
    pl = loc.get("physicalLocation")
    if not pl:
        fail(where + ": no physicalLocation")
    art = pl["artifactLocation"]
    uri = art["uri"]
    if relative:
        if art.get("uriBaseId") != "SRCROOT" or uri.startswith("/") or ":" in uri:
            fail(where + ": expected a path relative to SRCROOT, got %r" % art)
    elif not uri.startswith("file:///"):
        fail(where + ": expected an absolute file URI, got %r" % uri)
    if pl["region"]["startLine"] < 1:
        fail(where + ": startLine < 1")


def main():
    path, levels = sys.argv[1], [x for x in sys.argv[2].split(",") if x]
    relative = "--relative" in sys.argv
    flows_wanted = None
    for a in sys.argv:
        if a.startswith("--flows="):
            flows_wanted = int(a.split("=", 1)[1])
    with open(path) as f:
        log = json.load(f)
    if log.get("version") != "2.1.0":
        fail("version is %r" % log.get("version"))
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    if driver["name"] != "lockgraph":
        fail("driver name")
    ids = [r["id"] for r in driver["rules"]]
    if ids != KINDS:
        fail("rules %r" % ids)
    for r in driver["rules"]:
        if not r["shortDescription"]["text"] or not r["help"]["text"]:
            fail("rule %s has no text" % r["id"])
    results = run["results"]
    if [r["level"] for r in results] != levels:
        fail("levels %r, expected %r" % ([r["level"] for r in results], levels))
    for i, r in enumerate(results):
        if r["ruleId"] not in KINDS or ids[r["ruleIndex"]] != r["ruleId"]:
            fail("result %d rule" % i)
        if not r["message"]["text"]:
            fail("result %d message" % i)
        check_location(r["locations"][0], "result %d" % i, relative)
        for j, rl in enumerate(r.get("relatedLocations", [])):
            check_location(rl, "result %d related %d" % (i, j), relative)
        if r["ruleId"] == "lock-order-cycle":
            flows = r["codeFlows"][0]["threadFlows"]
            if not flows or any(not tf["locations"] for tf in flows):
                fail("result %d: empty threadFlows" % i)
            names = [tf["message"]["text"] for tf in flows]
            if len(set(names)) != len(names):
                fail("result %d: one threadFlow per thread, got %r" % (i, names))
            if i == 0 and flows_wanted is not None and len(flows) != flows_wanted:
                fail("result 0: %d threadFlows, expected %d" % (len(flows), flows_wanted))
    if relative:
        base = run["originalUriBaseIds"]["SRCROOT"]["uri"]
        if not (base.startswith("file:///") and base.endswith("/")):
            fail("SRCROOT base %r" % base)
    if "--schema" in sys.argv:
        try:
            import jsonschema
        except ImportError:
            print("SKIP: python3 has no jsonschema module (apt-get install python3-jsonschema)")
            sys.exit(77)
        here = os.path.dirname(os.path.abspath(__file__))
        cache = os.path.join(os.path.dirname(os.path.abspath(path)), "sarif-schema")
        got = subprocess.run(["sh", os.path.join(here, "sarif_schema.sh"), cache],
                             capture_output=True, text=True)
        if got.returncode != 0:
            print("SKIP: no SARIF 2.1.0 schema: " + got.stderr.strip())
            sys.exit(77)
        with open(got.stdout.strip()) as f:
            schema = json.load(f)
        errors = list(jsonschema.Draft4Validator(schema).iter_errors(log))
        for e in errors[:10]:
            print("schema: %s at %s" % (e.message, "/".join(map(str, e.absolute_path))))
        if errors:
            fail("%d schema errors" % len(errors))
        print("valid against " + schema.get("title", "the schema"))
    print("OK: %d results" % len(results))


main()
