"""The run cache across `mbcc check` runs (src/check/run_cache.hpp) with a real release: a second
run is served the kept answers and finds the same, and one changed byte of the candidate's
libmxnet.so is another candidate, which runs everything again. The whole corpus both ways is in
test_corpus_verdicts.py."""
import json
import os
import shutil
import subprocess

from conftest import mxnet_python, run_mbcc


def checks_of(report_dir):
    return json.loads((report_dir / "report.json").read_text())["checks"]


def findings(checks):
    """What each check found: verdicts, each output's statistics, the first diverging node."""
    return {(c["producer"], c["model"], c["save_api"], c["load_api"]):
            (c["verdict"], c["raw_verdict"], c["outputs"], c["first_divergence"]) for c in checks}


def copied_environment(python, to):
    """A copy of a release's environment whose files are hard links to the original's (none of
    them is changed in place here), so it costs no room and little time."""
    env = os.path.dirname(os.path.dirname(python))
    subprocess.run(["cp", "-al", env, str(to)], check=True)
    return to / "bin" / "python", next(to.glob("lib/python*/site-packages/mxnet/libmxnet.so"))


def change_one_byte(library):
    """Replaces the hard link by a copy with one byte of its .comment section (the compiler's
    name, which nothing reads when the library loads) changed."""
    data = bytearray(library.read_bytes())
    at = data.index(b"GCC: (")
    data[at] = ord("g")
    library.unlink()  # the original's inode is left as it was
    library.write_bytes(bytes(data))


def test_one_changed_byte_of_libmxnet_runs_every_check_again(tmp_path):
    python, library = copied_environment(mxnet_python("1.9.1"), tmp_path / "env")
    run = ["check", "--candidate-python", python, "--producer", "1.[45].1", "--model", "mlp",
           "--cache-dir", tmp_path / "store-cache"]

    run_mbcc(*run, "--report-dir", tmp_path / "first")
    first = checks_of(tmp_path / "first")
    assert {c["load_api"] for c in first} >= {"module-load-checkpoint", "c-predict"}, \
        "the Python and the C API worker both run"
    assert not any(c["from_cache"] for c in first)

    second = run_mbcc(*run, "--report-dir", tmp_path / "second")
    served = checks_of(tmp_path / "second")
    assert all(c["from_cache"] for c in served), [c["load_api"] for c in served
                                                  if not c["from_cache"]]
    assert findings(served) == findings(first)
    assert f"{len(served)} of them from the run cache" in second.stdout
    summary = json.loads((tmp_path / "second" / "report.json").read_text())["summary"]
    assert summary["from_cache"] == len(served)

    change_one_byte(library)
    run_mbcc(*run, "--report-dir", tmp_path / "third")
    again = checks_of(tmp_path / "third")
    assert not any(c["from_cache"] for c in again), "a changed library is another candidate"
    assert findings(again) == findings(first)

    # --no-cache neither serves nor keeps; --repeat runs every attempt
    run_mbcc(*run, "--no-cache", "--report-dir", tmp_path / "off")
    assert not any(c["from_cache"] for c in checks_of(tmp_path / "off"))
    run_mbcc(*run, "--repeat", "2", "--report-dir", tmp_path / "repeat")
    assert not any(c["from_cache"] for c in checks_of(tmp_path / "repeat"))
    shutil.rmtree(tmp_path / "env")


def test_an_old_release_aborting_on_a_newer_file_is_kept_and_a_second_run_says_the_same(tmp_path):
    """1.4.1 aborts (an uncaught exception, SIGABRT) on 1.6's numpy-mode export, the same way
    every time: the second run is served that CRASH, with the candidate's own stderr."""
    mxnet_python("1.4.1")
    run = ["check", "--candidate", "1.4.1", "--producer", "1.6.0", "--model", "bn-eps-axis",
           "--save-api", "gluon-export-np", "--cache-dir", tmp_path / "store-cache"]
    run_mbcc(*run, "--report-dir", tmp_path / "first")
    first = checks_of(tmp_path / "first")
    crashed = [c for c in first if c["raw_verdict"] == "CRASH"]
    assert crashed and all("killed by SIGABRT" in c["detail"] for c in crashed), \
        [(c["load_api"], c["raw_verdict"], c["detail"][:200]) for c in first]
    assert all(c["direction"] == "forward" for c in crashed)

    run_mbcc(*run, "--report-dir", tmp_path / "second")
    served = {c["load_api"]: c for c in checks_of(tmp_path / "second")}
    for c in crashed:
        again = served[c["load_api"]]
        assert again["from_cache"], c["load_api"]
        assert (again["raw_verdict"], again["detail"]) == (c["raw_verdict"], c["detail"])
