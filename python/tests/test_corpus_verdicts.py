"""The whole shipped corpus against the newest 1.x release and against 2.0: the verdict of every
check is committed in corpus/expected/matrix.tsv (a column per candidate), so any change in what
a release does with any bundle (or in how mbcc judges it) shows up as a diff here.

To record a deliberate change: MBCC_UPDATE_EXPECTED=1 pytest python/tests/test_corpus_verdicts.py
"""
import fnmatch
import json
import os

import pytest

from conftest import SOURCE_DIR, mxnet_python, run_mbcc

EXPECTED = SOURCE_DIR / "corpus" / "expected"


MATRIX = EXPECTED / "matrix.tsv"
# matrix.tsv's two-letter codes of the common verdicts; the others are written out
CODES = {"PASS": "ok", "XFAIL": "xf", "UNSUPPORTED": "un", "SKIPPED": "sk"}
VERDICTS = {code: verdict for verdict, code in CODES.items()}


def verdict_lines(report):
    checks = checks_on_the_committed_cpu(report)
    rows = {f"{c['producer']}\t{c['model']}\t{c['save_api']}\t{c['load_api']}\t{c['verdict']}"
            for c in checks}
    return sorted(rows)


def checks_on_the_committed_cpu(report):
    """The report's checks, as matrix.tsv compares them. matrix.tsv holds the verdicts on the
    CPUs that wrote the corpus (Intel); a check that an entry bound to this machine's CPU (by
    its expectation's cpu_vendor or cpu_flags) makes XFAIL takes its committed verdict instead."""
    checks = json.loads(report.read_text())["checks"]
    header, *rows = MATRIX.read_text().splitlines()
    candidates = header.split("\t")
    committed = {tuple(row.split("\t")[:4]): row.split("\t") for row in rows}
    for c in checks:
        key = (c["producer"], c["model"], c["save_api"], c["load_api"])
        entry = c["expectation"]
        if (c["verdict"] != "XFAIL" or key not in committed
                or (entry["cpu_vendor"] == ["*"] and not entry["cpu_flags"])):
            continue
        code = committed[key][candidates.index(c["candidate"])]
        if code != "-":
            c["verdict"] = VERDICTS.get(code, code)
    return checks


def committed_column(candidate):
    """One candidate's committed verdicts, as verdict_lines gives them, from matrix.tsv."""
    header, *rows = MATRIX.read_text().splitlines()
    column = header.split("\t").index(candidate)
    lines = []
    for row in rows:
        cells = row.split("\t")
        if cells[column] != "-":
            lines.append("\t".join([*cells[:4], VERDICTS.get(cells[column], cells[column])]))
    return sorted(lines)


def commit_column(candidate, got):
    """Writes one candidate's verdicts into its column of matrix.tsv ("-" where it has no check)."""
    header, *rows = MATRIX.read_text().splitlines()
    names = header.split("\t")
    column = names.index(candidate)
    table = {tuple(r.split("\t")[:4]): r.split("\t")[4:] for r in rows}
    seen = {tuple(line.split("\t")[:4]): line.split("\t")[4] for line in got}
    for key in seen.keys() - table.keys():
        table[key] = ["-"] * (len(names) - 4)
    for key, cells in table.items():
        cells[column - 4] = CODES.get(seen[key], seen[key]) if key in seen else "-"
    MATRIX.write_text("\n".join([header] + sorted("\t".join([*k, *c]) for k, c in table.items()
                                                   if set(c) != {"-"})) + "\n")


@pytest.mark.parametrize("candidate", ["1.9.1", "2.0.0b1"])
def test_every_check_of_the_corpus_has_its_committed_verdict(candidate, tmp_path):
    mxnet_python(candidate)  # installed through mbcc env, as a user's run would
    # 1.9.1 keeps its runs in a run cache of its own, which a second run is served from below;
    # 2.0.0b1 keeps none
    cache = ["--cache-dir", tmp_path / "store-cache"] if candidate == "1.9.1" else ["--no-cache"]
    result = run_mbcc("check", "--candidate", candidate, *cache, "--report-dir", tmp_path,
                      check=False)
    assert result.returncode == 0, f"exit {result.returncode}:\n{result.stdout[-4000:]}"
    got = verdict_lines(tmp_path / "report.json")
    if os.environ.get("MBCC_UPDATE_EXPECTED") == "1":
        commit_column(candidate, got)
    expected = committed_column(candidate)
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    assert not missing and not extra, (
        f"{candidate}: {len(missing)} committed verdicts not seen, {len(extra)} new ones\n"
        f"committed, not seen: {missing[:20]}\nseen, not committed: {extra[:20]}")
    if candidate == "1.9.1":
        every_check_runs_alone_the_same(tmp_path)
        a_second_run_is_served_from_the_run_cache_and_finds_the_same(tmp_path, cache)


def judged(check):
    """What a check found: its verdicts, each output's comparison, its first diverging node."""
    return (check["verdict"], check["raw_verdict"], check["outputs"], check["first_divergence"])


def check_key(check):
    return (check["producer"], check["model"], check["save_api"], check["load_api"])


def compare_findings(checks, others):
    """(checks that found something else, checks whose outputs' statistics alone differ while
    every output of both is within tolerance). MXNet 1.9.1 itself is not bit for bit repeatable
    on a few graphs: run alone twice, resnet50-v2's and mobilenet-v1's outputs differ in their
    last bits (69 of 4,155 checks on 2026-12-01), well within tolerance."""
    by_key = {check_key(c): c for c in others}
    differ, jitter = [], []
    for c in checks:
        other = by_key.get(check_key(c))
        if other is None or judged(other) == judged(c):
            if other is None:
                differ.append(check_key(c))
            continue
        same_but_stats = judged(other)[:2] + judged(other)[3:] == judged(c)[:2] + judged(c)[3:]
        within = all(o["outcome"] == "match" for o in c["outputs"] + other["outputs"])
        (jitter if same_but_stats and within else differ).append(check_key(c))
    return differ, jitter


# The producers whose checks run alone again: a third of the corpus, with 627 of its 2,027
# shared checks (2026-12-02), as runs are shared between the save APIs of one producer.
ALONE_PRODUCERS = "1.[6-9].*"


def every_check_runs_alone_the_same(tmp_path):
    """Checks whose worker side is the same share one candidate run; run each on its own
    (--no-reuse) and every verdict, statistic and first diverging node is the same, but for
    the candidate's own last-bit jitter within tolerance."""
    shared = json.loads((tmp_path / "report.json").read_text())["checks"]
    assert sum(1 for c in shared if c["shared_run"]) > 1000, "the corpus has shareable checks"
    run_mbcc("check", "--candidate", "1.9.1", "--no-reuse", "--no-cache", "--producer",
             ALONE_PRODUCERS, "--report-dir", tmp_path / "alone")
    alone = json.loads((tmp_path / "alone" / "report.json").read_text())["checks"]
    assert not any(c["shared_run"] for c in alone)
    shared = [c for c in shared if fnmatch.fnmatch(c["producer"], ALONE_PRODUCERS)]
    assert sum(1 for c in shared if c["shared_run"]) > 500, "the producers have shared checks"
    differ, jitter = compare_findings(shared, alone)
    assert not differ, f"{len(differ)} checks differ when run alone, e.g. {differ[:5]}"
    assert len(jitter) < len(shared) // 20, f"{len(jitter)} checks jitter, e.g. {jitter[:5]}"


def a_second_run_is_served_from_the_run_cache_and_finds_the_same(tmp_path, cache):
    """The first run kept every answer the candidate decided; a second run is served them, and
    every verdict, statistic and first diverging node is exactly what the first found."""
    first = json.loads((tmp_path / "report.json").read_text())["checks"]
    assert not any(c["from_cache"] for c in first)
    run_mbcc("check", "--candidate", "1.9.1", *cache, "--report-dir", tmp_path / "cached")
    cached = json.loads((tmp_path / "cached" / "report.json").read_text())
    ran = [check_key(c) for c in cached["checks"]
           if not c["from_cache"] and c["raw_verdict"] not in ("CRASH", "TIMEOUT")]
    assert not ran, f"{len(ran)} checks ran again, e.g. {ran[:5]}"
    assert cached["summary"]["from_cache"] == sum(1 for c in cached["checks"] if c["from_cache"])
    differ, jitter = compare_findings(first, cached["checks"])
    assert not differ and not jitter, (
        f"{len(differ + jitter)} checks differ when served from the cache, e.g. {differ[:5]}")


# 2.0 has no executor: its C API check is the cached op's.
@pytest.mark.parametrize("candidate,load_api", [("1.9.1", "c-executor"), ("2.0.0b1", "c-cachedop")])
def test_global_pooling_drift_names_the_pooling_node(candidate, load_api, tmp_path):
    """MXNet #9730: 1.0.0 pooled the padded window of a global pooling, 1.2.0 and later ignore
    pad. The corpus's 1.0.0 file on 1.9.1 and 2.0.0b1 is a real NUMERIC_DRIFT (an expectation,
    so XFAIL), and the first node whose output diverges is that pooling. Its registry
    explanation names exactly the changed defaults `mbcc scan` finds at that node: none, as no
    default of Pooling changed from 1.0.0 to either (the shipped dumps)."""
    mxnet_python(candidate)
    result = run_mbcc("check", "--candidate", candidate, "--producer", "1.0.0", "--model",
                      "global-pool-pad", "--load-api", load_api, "--report-dir", tmp_path)
    (check,) = json.loads((tmp_path / "report.json").read_text())["checks"]
    assert (check["verdict"], check["raw_verdict"]) == ("XFAIL", "NUMERIC_DRIFT"), result.stdout
    divergence = check["first_divergence"]
    assert (divergence["node"], divergence["op"]) == ("gavg", "Pooling")
    assert "9730" in check["expectation"]["link"]
    bundle = SOURCE_DIR / "corpus" / "v1" / "1.0.0" / "global-pool-pad" / check["save_api"]
    scan = json.loads(run_mbcc("scan", bundle, "--candidate", candidate, "--json",
                               check=False).stdout)
    changed = [f"{f['op']}.{f['attribute']} {f['detail']}" for file in scan["files"]
               for c in file["candidates"] for f in c["findings"]
               if f["kind"] == "default_changed" and f["node"] == "gavg"]
    expected = "relies on a changed default: " + "; ".join(changed) if changed else ""
    assert divergence["explanation"] == expected


def matrix_lines(report):
    """corpus/expected/matrix.tsv: a row per case and load API, a column per candidate in
    release order, each cell the verdict's two-letter code ("-" where there is no check)."""
    candidates = json.loads(report.read_text())["run"]["candidates"]
    rows = {}
    for c in checks_on_the_committed_cpu(report):
        key = (c["producer"], c["model"], c["save_api"], c["load_api"])
        rows.setdefault(key, ["-"] * len(candidates))[candidates.index(c["candidate"])] = \
            CODES.get(c["verdict"], c["verdict"])
    header = "\t".join(["producer", "model", "save_api", "load_api", *candidates])
    return [header] + sorted("\t".join([*key, *cells]) for key, cells in rows.items())


@pytest.mark.skipif(os.environ.get("MBCC_FULL_MATRIX") != "1",
                    reason="the full release matrix takes ten minutes and every release: "
                           "MBCC_FULL_MATRIX=1 runs it")
def test_the_full_release_matrix_has_its_committed_verdicts(tmp_path):
    """Every release on every release's files (`--candidate all`): the run is clean, so every
    backward failure is a recorded expectation, and every verdict is the committed one."""
    result = run_mbcc("check", "--candidate", "all", "--report-dir", tmp_path, check=False)
    assert result.returncode == 0, f"exit {result.returncode}:\n{result.stdout[-6000:]}"
    got = matrix_lines(tmp_path / "report.json")
    if os.environ.get("MBCC_UPDATE_EXPECTED") == "1":
        MATRIX.write_text("\n".join(got) + "\n")
    expected = MATRIX.read_text().splitlines()
    assert got[0] == expected[0], "the candidates differ"
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    assert not missing and not extra, (
        f"{len(missing)} committed rows not seen, {len(extra)} new ones\n"
        f"committed, not seen: {missing[:10]}\nseen, not committed: {extra[:10]}")
