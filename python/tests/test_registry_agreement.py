"""How well `mbcc scan` predicts whether a graph loads: over every corpus bundle that carries a
graph, on each release checked, scan's prediction (no fatal finding) against what the release
did when `mbcc check` loaded the bundle through the C API and SymbolBlock.imports.

A bundle's outcome on a release is decided by the graph when a check that reads the graph got
past loading (it loads), or failed with the release naming an operator or argument it refuses,
or refused the JSON itself (it does not). A bundle whose every graph-reading check failed for
another reason (a params file the release cannot read) is left out and counted by reason.

Releases: MBCC_AGREEMENT_RELEASES (comma-separated), else the six the tests install.
Run with -s to see the table and every disagreement (the README lists them).
"""
import collections
import json
import os

from conftest import SOURCE_DIR, mxnet_python, run_mbcc

GRAPH_LOAD_APIS = {"module-load-checkpoint", "gluon-imports", "c-predict", "c-executor",
                   "c-cachedop"}
NOT_RUN = {"UNSUPPORTED", "SKIPPED"}
LOAD_FAILED = {"LOAD_FAIL", "CRASH"}
GRAPH_MESSAGES = {"missing_operator", "operator_argument"}
DEFAULT_RELEASES = "1.9.1,2.0.0b1,2.0.0a0,1.4.1,1.2.1,1.0.0"


def graph_refused(check):
    message = check.get("message") or {}
    text = message.get("text") or check.get("detail") or ""
    return message.get("kind") in GRAPH_MESSAGES or "Unknown field attrs" in text \
        or "Required parameter" in text


def actual_outcomes(report):
    """(candidate, producer, model, save_api) -> True (loads), False (the graph is refused), or
    the reason the graph did not decide it."""
    by_bundle = collections.defaultdict(list)
    for check in json.loads(report.read_text())["checks"]:
        if check["load_api"] in GRAPH_LOAD_APIS and check["raw_verdict"] not in NOT_RUN:
            by_bundle[(check["candidate"], check["producer"], check["model"],
                       check["save_api"])].append(check)
    outcomes = {}
    for key, checks in by_bundle.items():
        if any(c["raw_verdict"] in LOAD_FAILED and graph_refused(c) for c in checks):
            outcomes[key] = False
        elif any(c["raw_verdict"] not in LOAD_FAILED for c in checks):
            outcomes[key] = True
        else:
            first = checks[0]
            outcomes[key] = (first["message"] or {}).get("kind") or first["raw_verdict"]
    return outcomes


def predictions(scan):
    out = {}
    for file in scan["files"]:
        parts = file["file"].split("/v1/")[1].split("/")  # <producer>/<model>/<save-api>/model/…
        for c in file["candidates"]:
            fatal = [f for f in c["findings"] if f["fatal"]]
            out[(c["candidate"], parts[0], parts[1], parts[2])] = (c["loads"], fatal)
    return out


def test_scan_agrees_with_the_releases(tmp_path):
    releases = os.environ.get("MBCC_AGREEMENT_RELEASES", DEFAULT_RELEASES).split(",")
    args = []
    for release in releases:
        mxnet_python(release)
        args += ["--candidate", release]
    scan = run_mbcc("scan", SOURCE_DIR / "corpus", *args, "--json", check=False)
    assert scan.returncode in (0, 1), scan.stderr
    predicted = predictions(json.loads(scan.stdout))
    agree, disagreements, left_out = 0, [], collections.Counter()
    # one run of every release, and only the checks that read a graph
    only_graph_loads = [a for api in sorted(GRAPH_LOAD_APIS) for a in ("--load-api", api)]
    result = run_mbcc("check", *args, *only_graph_loads, "--report-dir", tmp_path, check=False)
    assert result.returncode in (0, 1), result.stdout[-2000:] + result.stderr[-2000:]
    for (release, producer, model, save_api), loads in actual_outcomes(
            tmp_path / "report.json").items():
        key = (release, producer, model, save_api)
        if key not in predicted:
            continue  # a bundle without a graph file (params only)
        if not isinstance(loads, bool):
            left_out[(release, loads)] += 1
            continue
        predicted_loads, fatal = predicted[key]
        if predicted_loads == loads:
            agree += 1
        else:
            disagreements.append((key, loads, [f["kind"] + " " + f["op"] + " "
                                               + f["attribute"] for f in fatal]))
    decided = agree + len(disagreements)
    share = agree / decided
    print(f"\nscan vs the releases: {agree}/{decided} agree ({100 * share:.2f}%) on "
          f"{', '.join(releases)}; left out (not decided by the graph): {dict(left_out)}")
    for key, loads, fatal in disagreements:
        print(f"  {' '.join(key)}: actually {'loads' if loads else 'refused'}, predicted "
              f"{'break: ' + '; '.join(fatal) if fatal else 'loads'}")
    assert decided > 1000
    assert share >= 0.98
