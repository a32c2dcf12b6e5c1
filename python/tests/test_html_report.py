"""report.html in a real browser (Debian's chromium, headless, through its chromedriver): the page
`mbcc check` writes for a real run of MXNet 2.0.0b1 on a few bundles of the corpus (one with a
flipped bit), and the pages `mbcc report` writes from report.json files: several nights, merged
shards, hostile text. A screenshot of a failing check's detail is kept in MBCC_TEST_ARTIFACTS
(default: build/test-artifacts)."""
import json
import os
import re
import textwrap
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import SOURCE_DIR, mxnet_python, run_mbcc
from test_check import copy_store

ARTIFACTS = Path(os.environ.get("MBCC_TEST_ARTIFACTS", SOURCE_DIR / "build" / "test-artifacts"))

BUNDLES = ["0.12.1/lenet-hybrid/gluon-save-params", "1.2.1/mlp/module-checkpoint",
           "1.5.1/lenet-hybrid/gluon-export", "2.0.0a0/lstm/gluon-export",
           "2.0.0a0/lstm/gluon-save-parameters", "1.5.1/lenet/gluon-save-parameters"]
CORRUPT = "v1/1.5.1/lenet/gluon-save-parameters/model/lenet.params"

# One known break, so the run has an XFAIL with its entry beside real LOAD_FAIL and RUN_FAIL.
EXPECTATIONS = textwrap.dedent("""\
    schema = 1

    [[expect]]
    producer = "2.0.0a0"
    model = "lstm"
    save_api = "gluon-save-parameters"
    load_api = "gluon-load-parameters"
    candidate = "2.0.0b1"
    verdict = "LOAD_FAIL"
    reason = "2.0.0b1's Gluon RNN layers keep one fused rnn_param"
    link = "https://github.com/apache/mxnet/pull/20384"
    """)

# What the page's matrices show, read from the DOM as a person reads it: the candidate above
# each table, the producer at the left of each row, the load API and case above each column.
# Columns a filter hid are left out; cells of hidden rows and dimmed cells are not `shown`.
READ_MATRIX = """
const visible = (e) => !e.hidden;
return [...document.querySelectorAll('section.candidate')].flatMap((section) => {
  const candidate = section.querySelector('h2').firstChild.textContent.replace(/^candidate /, '');
  const table = section.querySelector('table.matrix');
  const [groupRow, caseRow] = table.tHead.rows;
  const apis = [];
  for (const th of [...groupRow.cells].slice(1).filter(visible)) {
    for (let k = 0; k < th.colSpan; k++) apis.push(th.textContent);
  }
  const cases = [...caseRow.cells].filter(visible).map((th) => th.textContent);
  return [...table.tBodies[0].rows].flatMap((tr) => [...tr.cells].slice(1).filter(visible).map((td, k) => ({
    candidate, producer: tr.cells[0].textContent, load_api: apis[k], case: cases[k],
    code: td.textContent, element: td,
    shown: !tr.hidden && !td.classList.contains('off')})).filter((c) => c.code !== ''));
});
"""


def version_key(version):
    """PEP 440 order for the releases in the corpus: 2.0.0a0 < 2.0.0b1 < 2.0.0."""
    release, tag, number = re.fullmatch(r"([\d.]+?)(?:(a|b|rc)(\d+))?", version).groups()
    return [int(p) for p in release.split(".")], (tag or "z", int(number or 0))


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    """mbcc check of 2.0.0b1 on a few bundles: (its stdout, report folder, report.json)."""
    mxnet_python("2.0.0b1")
    tmp = tmp_path_factory.mktemp("html")
    store = copy_store(tmp, BUNDLES)
    corrupt = store / CORRUPT
    data = bytearray(corrupt.read_bytes())
    data[len(data) // 2] ^= 0x10
    corrupt.write_bytes(bytes(data))
    expectations = tmp / "expectations.toml"
    expectations.write_text(EXPECTATIONS)
    report_dir = tmp / "report"
    # A run cache of its own: answers served from the user's would change the summary line.
    # Exact match asked of lenet-hybrid: 2.0.0b1's convolutions round differently from 1.5.1's,
    # so its checks are real NUMERIC_DRIFTs with a first diverging node.
    result = run_mbcc("check", "--store", store, "--candidate", "2.0.0b1", "--expectations",
                      expectations, "--tolerance", "lenet-hybrid/*:rtol=0,atol=0",
                      "--cache-dir", tmp / "store-cache", "--report-dir", report_dir, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    return result.stdout, report_dir, json.loads((report_dir / "report.json").read_text())


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1600,1000"]:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def load(browser, page):
    browser.get(Path(page).resolve().as_uri())
    WebDriverWait(browser, 30).until(lambda b: b.execute_script("return window.mbccRenderMs"))
    return browser.execute_script(READ_MATRIX)


def legend(browser):
    """{code: verdict name} as the legend says."""
    return {item.find_element(By.CSS_SELECTOR, ".code").text: item.text.split()[-1]
            for item in browser.find_elements(By.CSS_SELECTOR, "#legend .legend-item")}


def key(check):
    """Where a check of report.json belongs in the matrix."""
    return (check["candidate"], check["producer"], f'{check["model"]}/{check["save_api"]}',
            check["load_api"])


def key_of(cell):
    """Where a cell of the page is, as READ_MATRIX read it."""
    return cell["candidate"], cell["producer"], cell["case"], cell["load_api"]


def cell_of(cells, check):
    return next(c for c in cells if key_of(c) == key(check))


def open_detail(browser, cell):
    """A real click on a cell, as a person makes it; returns the detail panel."""
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", cell["element"])
    cell["element"].click()
    detail = browser.find_element(By.ID, "detail")
    WebDriverWait(browser, 10).until(lambda b: detail.is_displayed())
    return detail


def write_report(path, report):
    path.write_text(json.dumps(report, ensure_ascii=False))
    return path


def test_check_writes_the_page_and_its_matrix_is_report_json(browser, real_run):
    _, report_dir, report = real_run
    cells = load(browser, report_dir / "report.html")
    names = legend(browser)
    assert len(cells) == len(report["checks"])
    assert {key_of(c): names[c["code"]] for c in cells} == {
        key(c): c["verdict"] for c in report["checks"]}
    verdicts = {c["verdict"] for c in report["checks"]}
    assert {"PASS", "UNSUPPORTED", "XFAIL", "LOAD_FAIL", "RUN_FAIL", "NUMERIC_DRIFT",
            "ARTIFACT_CORRUPT"} <= verdicts
    producers = [p.text for p in browser.find_elements(By.CSS_SELECTOR, "th.producer")]
    assert producers == sorted({c["producer"] for c in report["checks"]}, key=version_key)


def test_summary_is_the_terminals_and_report_jsons(browser, real_run):
    stdout, report_dir, report = real_run
    load(browser, report_dir / "report.html")
    lines = [line.text for line in browser.find_elements(By.CSS_SELECTOR, "#summary span")]
    assert len(lines) == 2
    assert "\n".join(lines) + "\n" in stdout
    counts, exit_line = lines
    total, tally = re.fullmatch(r"(\d+) checks: (.*)", counts).groups()
    assert int(total) == report["summary"]["checks"]
    assert {name: int(n) for n, name in (part.split() for part in tally.split(", "))} == {
        name: n for name, n in report["summary"]["verdicts"].items() if n}
    assert exit_line.startswith(f'exit {report["summary"]["exit_code"]}: ')


def test_a_failing_checks_detail_opens_with_a_click(browser, real_run):
    _, report_dir, report = real_run
    cells = load(browser, report_dir / "report.html")
    corrupt = next(c for c in report["checks"] if c["verdict"] == "ARTIFACT_CORRUPT")
    detail = open_detail(browser, cell_of(cells, corrupt))
    text = detail.text
    assert detail.find_element(By.CSS_SELECTOR, "h2").text.endswith("ARTIFACT_CORRUPT")
    assert detail.find_element(By.CSS_SELECTOR, ".title").text == (
        f'{corrupt["producer"]} {corrupt["model"]}/{corrupt["save_api"]} -> '
        f'{corrupt["load_api"]} @ {corrupt["candidate"]}')
    # the sha256 the manifest wants and the one found
    manifest = json.loads((SOURCE_DIR / "corpus" / CORRUPT).parent.parent.joinpath(
        "manifest.json").read_text())
    params = next(f for f in manifest["files"] if f["path"].endswith("lenet.params"))
    assert params["sha256"] in corrupt["detail"] and corrupt["detail"] in text

    load_fail = next(c for c in report["checks"] if c["verdict"] == "LOAD_FAIL")
    detail = open_detail(browser, cell_of(load(browser, report_dir / "report.html"), load_fail))
    message = detail.find_element(By.CSS_SELECTOR, ".message pre").get_property("textContent")
    assert message == load_fail["message"]["text"]
    assert browser.save_screenshot(str(ARTIFACTS / "html-report-load-fail.png"))

    xfail = next(c for c in report["checks"] if c["verdict"] == "XFAIL")
    detail = open_detail(browser, cell_of(load(browser, report_dir / "report.html"), xfail))
    assert xfail["expectation"]["link"] in detail.text
    assert detail.find_element(By.LINK_TEXT, xfail["expectation"]["link"])

    drift = next(c for c in report["checks"] if c["verdict"] == "NUMERIC_DRIFT")
    detail = open_detail(browser, cell_of(load(browser, report_dir / "report.html"), drift))
    node = drift["first_divergence"]
    assert f'{node["node"]} ({node["op"]})' in detail.text
    worst = drift["outputs"][0]["stats"]["worst"]
    assert f'({worst["actual_bits"]}), golden' in detail.text
    # one histogram per output, and one for the diverging node
    assert len(detail.find_elements(By.CSS_SELECTOR, "svg.histogram")) == len(drift["outputs"]) + 1
    assert browser.save_screenshot(str(ARTIFACTS / "html-report-numeric-drift.png"))

    passed = next(c for c in report["checks"] if c["verdict"] == "PASS" and c["outputs"])
    detail = open_detail(browser, cell_of(load(browser, report_dir / "report.html"), passed))
    histograms = detail.find_elements(By.CSS_SELECTOR, "svg.histogram")
    assert len(histograms) == len(passed["outputs"])
    bars = histograms[0].find_elements(By.CSS_SELECTOR, "rect.bar")
    assert len(bars) == len(passed["outputs"][0]["stats"]["abs_error_histogram"]["counts"])
    # the bundle's manifest facts: its producer build, seeds and every model file's sha256
    facts = detail.find_element(By.CSS_SELECTOR, ".bundle").text
    manifest = json.loads((SOURCE_DIR / "corpus" / "v1" / passed["producer"] / passed["model"] /
                           passed["save_api"] / "manifest.json").read_text())
    assert manifest["producer"]["platform"] in facts
    for seed in manifest["seeds"]:
        assert seed in facts
    for f in manifest["files"]:
        if f["role"] != "internal":
            assert f["sha256"] in facts
    assert browser.save_screenshot(str(ARTIFACTS / "html-report-pass.png"))


def test_filters_and_search(browser, real_run):
    _, report_dir, report = real_run
    load(browser, report_dir / "report.html")
    Select(browser.find_element(By.ID, "filter-verdict")).select_by_value("UNSUPPORTED")
    cells = browser.execute_script(READ_MATRIX)
    assert sorted(key_of(c) for c in cells if c["shown"]) == sorted(
        key(c) for c in report["checks"] if c["verdict"] == "UNSUPPORTED")
    Select(browser.find_element(By.ID, "filter-producer")).select_by_value("1.2.1")
    Select(browser.find_element(By.ID, "filter-load_api")).select_by_value("c-predict")
    cells = browser.execute_script(READ_MATRIX)
    assert [key_of(c) for c in cells if c["shown"]] == [
        key(c) for c in report["checks"]
        if (c["verdict"], c["producer"], c["load_api"]) == ("UNSUPPORTED", "1.2.1", "c-predict")]
    assert browser.find_element(By.ID, "shown").text == f'1 of {len(report["checks"])} checks shown'

    load(browser, report_dir / "report.html")
    Select(browser.find_element(By.ID, "filter-model")).select_by_value("lstm")
    Select(browser.find_element(By.ID, "filter-save_api")).select_by_value("gluon-export")
    browser.find_element(By.ID, "search").send_keys("Shape inconsistent")
    cells = browser.execute_script(READ_MATRIX)
    wanted = [key(c) for c in report["checks"] if c["model"] == "lstm" and c["save_api"] == "gluon-export"
              and c["message"] and "shape inconsistent" in c["message"]["text"].lower()]
    assert wanted
    assert [key_of(c) for c in cells if c["shown"]] == wanted


def test_the_keyboard_moves_over_the_checks_and_opens_one(browser, real_run):
    _, report_dir, _ = real_run
    cells = load(browser, report_dir / "report.html")
    assert cells[0]["producer"] == cells[1]["producer"]  # the first row holds two checks
    table = browser.find_element(By.CSS_SELECTOR, "table.matrix")
    table.send_keys(Keys.ARROW_DOWN)  # the cursor appears on the first check
    assert browser.find_element(By.CSS_SELECTOR, "td.cursor") == cells[0]["element"]
    table.send_keys(Keys.ARROW_RIGHT)  # and moves to the next one in its row
    assert browser.find_element(By.CSS_SELECTOR, "td.cursor") == cells[1]["element"]
    table.send_keys(Keys.ENTER)
    detail = browser.find_element(By.ID, "detail")
    assert detail.is_displayed()
    candidate, producer, case, load_api = key_of(cells[1])
    assert detail.find_element(By.CSS_SELECTOR, ".title").text == (
        f"{producer} {case} -> {load_api} @ {candidate}")


def test_hostile_text_is_shown_as_text(browser, real_run, tmp_path):
    _, _, report = real_run
    hostile = ('</script><script>window.injected = 1</script><img src=x onerror="window.injected = 2">'
               '<b>bold?</b> &amp; \ufffd\ufffd replaced bytes')
    report = json.loads(json.dumps(report))
    target = next(c for c in report["checks"] if c["verdict"] == "LOAD_FAIL")
    target["message"]["text"] = hostile
    target["detail"] = "<i>detail</i>"
    page = tmp_path / "hostile.html"
    run_mbcc("report", write_report(tmp_path / "hostile.json", report), "--html", page)
    detail = open_detail(browser, cell_of(load(browser, page), target))
    assert detail.find_element(By.CSS_SELECTOR, ".message pre").get_property("textContent") == hostile
    assert "<i>detail</i>" in detail.text
    assert browser.execute_script("return window.injected") is None
    assert browser.find_elements(By.CSS_SELECTOR, "img, b, i, #detail script") == []


def test_several_nights_give_each_check_its_history(browser, real_run, tmp_path):
    _, _, report = real_run
    failing = next(c for c in report["checks"] if c["verdict"] == "LOAD_FAIL")
    times = ["2026-01-01T02:00:00Z", "2026-01-02T02:00:00Z", "2026-01-03T02:00:00Z"]
    nights = []
    for n, started in enumerate(times):
        night = json.loads(json.dumps(report))
        night["run"]["started_at"] = night["run"]["finished_at"] = started
        if n == 0:  # the first night it passed
            passed = next(c for c in night["checks"] if key(c) == key(failing))
            passed.update(verdict="PASS", raw_verdict="PASS", attempts=["PASS"], message=None)
        nights.append(write_report(tmp_path / f"night-{n}.json", night))
    page = tmp_path / "nights.html"
    run_mbcc("report", nights[2], nights[0], nights[1], "--html", page)  # any order
    cells = load(browser, page)
    names = legend(browser)
    assert {key_of(c): names[c["code"]] for c in cells} == {key(c): c["verdict"] for c in report["checks"]}
    detail = open_detail(browser, cell_of(cells, failing))
    strip = [e.text for e in detail.find_elements(By.CSS_SELECTOR, ".history .code")]
    assert strip == ["ok", "LF", "LF"]
    assert f"last passed {times[0]}" in detail.text
    assert f"failing since {times[1]}" in detail.text
    assert browser.save_screenshot(str(ARTIFACTS / "html-report-history.png"))


def test_merge_joins_shards_into_one_page(browser, real_run, tmp_path):
    _, _, report = real_run
    half = len(report["checks"]) // 2
    shards = []
    for n, checks in enumerate([report["checks"][:half], report["checks"][half:]]):
        shard = dict(report, checks=checks)
        shards.append(write_report(tmp_path / f"shard-{n}.json", shard))
    merged, page = tmp_path / "merged.json", tmp_path / "merged.html"
    run_mbcc("report", "merge", *shards, "-o", merged, "--html", page)
    assert json.loads(merged.read_text())["checks"] == report["checks"]
    cells = load(browser, page)
    assert len(cells) == len(report["checks"])


@pytest.mark.parametrize("content, complaint", [
    (None, "No such file"),
    ("{not json", "not valid JSON"),
    ('{"schema": "mbcc-report/0"}', "$.schema"),
    ('{"schema": "mbcc-report/1", "run": {}}', "$.run"),
])
def test_bad_reports_are_refused_naming_the_file(tmp_path, content, complaint):
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    result = run_mbcc("report", bad, "--html", tmp_path / "out.html", check=False)
    assert result.returncode == 2
    assert str(bad) in result.stderr and complaint in result.stderr, result.stderr
    assert not (tmp_path / "out.html").exists()
