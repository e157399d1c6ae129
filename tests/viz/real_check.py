#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""real_check.py LOCKGRAPH SAMPLES_DIR OUTDIR SAMPLE — viz/ on a real run:
runs a C sample under `lockgraph run`, then draws it with `lockgraph
graph` (.svg .png .pdf .dot) and writes the HTML and SARIF reports, and
checks the pictures by their SVG structure. Run from the source root so
SARIF URIs come out relative. Exits 77 (skip) when the tool is missing."""
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def svg_structure(path):
    """nodes: {title: (shape, text, stroke)}, edges: [(title, stroke, dashed, label)],
    clusters: [label]"""
    root = ET.parse(path).getroot()
    nodes, edges, clusters = {}, [], []
    for g in root.iter(SVG + "g"):
        cls = g.get("class")
        title = g.findtext(SVG + "title")
        texts = [t.text or "" for t in g.iter(SVG + "text")]
        if cls == "node":
            shape = "ellipse" if g.find(SVG + "ellipse") is not None else "box"
            outline = g.find(SVG + "ellipse") if shape == "ellipse" else g.find(SVG + "polygon")
            stroke = outline.get("stroke") if outline is not None else None
            nodes[title] = (shape, "\n".join(texts), stroke)
        elif cls == "edge":
            path_el = g.find(SVG + "path")
            edges.append((title, path_el.get("stroke"), path_el.get("stroke-dasharray") is not None,
                          "\n".join(texts)))
        elif cls == "cluster":
            clusters.append("\n".join(texts))
    return nodes, edges, clusters


def validate_schema(log, out):
    """Against the SARIF 2.1.0 schema when jsonschema and the schema are there."""
    try:
        import jsonschema
    except ImportError:
        print("note: no jsonschema module, schema not checked")
        return
    here = os.path.dirname(os.path.abspath(__file__))
    got = subprocess.run(["sh", os.path.join(here, "sarif_schema.sh"), os.path.join(out, "sarif-schema")],
                         capture_output=True, text=True)
    if got.returncode != 0:
        print("note: no SARIF schema (%s), not checked" % got.stderr.strip())
        return
    with open(got.stdout.strip()) as f:
        errors = list(jsonschema.Draft4Validator(json.load(f)).iter_errors(log))
    for e in errors[:5]:
        print("schema: %s at %s" % (e.message[:300], "/".join(map(str, e.absolute_path))))
    if errors:
        fail("the SARIF log does not follow the 2.1.0 schema")
    print("SARIF valid against the 2.1.0 schema")


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


def main():
    tool, samples, out, sample = sys.argv[1:5]
    if not os.access(tool, os.X_OK):
        print("SKIP: no lockgraph binary at " + tool)
        sys.exit(77)
    os.makedirs(out, exist_ok=True)
    trace = os.path.join(out, sample + ".out")
    r = run([tool, "run", "--out", trace, "--hang-timeout", "3", "--quiet", "--",
             os.path.join(samples, sample)])
    if r.returncode not in (0, 66):
        fail("lockgraph run exited %d: %s" % (r.returncode, r.stderr[-2000:]))
    files = {}
    for ext in ("svg", "png", "pdf", "dot"):
        files[ext] = os.path.join(out, sample + "." + ext)
        g = run([tool, "graph", trace, "-o", files[ext]])
        if g.returncode != 0:
            fail("lockgraph graph -o %s: %s" % (files[ext], g.stderr))
    if open(files["png"], "rb").read(8) != b"\x89PNG\r\n\x1a\n":
        fail("the .png is not a PNG")
    if open(files["pdf"], "rb").read(5) != b"%PDF-":
        fail("the .pdf is not a PDF")
    dot = open(files["dot"]).read()
    if not dot.startswith("digraph") or "->" not in dot:
        fail("the .dot is not a laid-out DOT graph")

    nodes, edges, clusters = svg_structure(files["svg"])
    red = [e for e in edges if e[1] == "red"]
    locks = {t: n for t, n in nodes.items() if n[0] == "box"}
    threads = {t: n for t, n in nodes.items() if n[0] == "ellipse"}
    print("%s: %d nodes (%d threads), %d edges (%d red), clusters %r"
          % (sample, len(nodes), len(threads), len(edges), len(red), clusters))
    if sample in ("abba", "philosophers"):
        want = 2 if sample == "abba" else None
        if want and len(locks) != want:
            fail("expected %d lock boxes, got %r" % (want, sorted(locks)))
        if len(red) != len(locks) or len(red) < 2:
            fail("every lock is on the cycle: %d red edges for %d locks" % (len(red), len(locks)))
        if any(".c:" not in e[3] for e in red):
            fail("cycle edges must carry thread and source line: %r" % [e[3] for e in red])
        if sample == "abba" and not {"mutexA", "mutexB"} <= {n[1] for n in locks.values()}:
            fail("lock names: %r" % [n[1] for n in locks.values()])
    else:
        if not threads or not red:
            fail("a hang draws threads and a red cycle or chain")
        if not any(c.startswith("process ") for c in clusters):
            fail("threads are grouped in a box per process: %r" % clusters)
        labels = " ".join(e[3] for e in edges)
        if "waits for" not in labels:
            fail("no waits-for edge: %r" % labels)
        if any(not e[3].strip() for e in edges):
            fail("every edge is labelled")

    for fmt in ("html", "sarif"):
        r = run([tool, "report", trace, "--format", fmt, "-o", os.path.join(out, sample + "." + fmt)])
        if r.returncode != 0:
            fail("report --format %s: %s" % (fmt, r.stderr))
    html = open(os.path.join(out, sample + ".html")).read()
    if html.count("<svg") < 1 or "lockgraph report" not in html:
        fail("the HTML page has no inline diagram")
    log = json.load(open(os.path.join(out, sample + ".sarif")))
    results = log["runs"][0]["results"]
    if log["version"] != "2.1.0" or not results or results[0]["level"] != "error":
        fail("SARIF: expected an error result")
    loc = results[0]["locations"][0]["physicalLocation"]
    uri = loc["artifactLocation"]["uri"]
    if (not uri.startswith("samples/c/" + sample.split("_")[0]) or loc["region"]["startLine"] < 1
            or loc["artifactLocation"].get("uriBaseId") != "SRCROOT"):
        fail("SARIF location %r is not the sample's source line, relative to the root" % loc)
    base = log["runs"][0]["originalUriBaseIds"]["SRCROOT"]["uri"]
    if base != "file://" + os.getcwd().rstrip("/") + "/":
        fail("SRCROOT is %r, expected the source root %r" % (base, os.getcwd()))
    validate_schema(log, out)
    print("OK: %s" % sample)


main()
