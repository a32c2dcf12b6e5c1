"""The CI examples (ci-examples/) stay runnable: every mbcc command line in them names a real
subcommand and only options that subcommand has, and the workflow is valid YAML."""
import re

import pytest

from conftest import SOURCE_DIR, run_mbcc

EXAMPLES = SOURCE_DIR / "ci-examples"


def mbcc_command_lines(text):
    """Each `build/dev/mbcc …` invocation, continuation lines joined."""
    joined = re.sub(r"\\\s*\n\s*", " ", text)
    return re.findall(r"build/dev/mbcc ([^\n'\"|]*)", joined)


@pytest.mark.parametrize("name", ["github-actions-nightly.yml", "Jenkinsfile"])
def test_every_mbcc_command_in_the_examples_exists_with_its_options(name):
    lines = mbcc_command_lines((EXAMPLES / name).read_text())
    assert len(lines) >= 3, lines
    for line in lines:
        words = line.split()
        command = words[:2] if words[:2] == ["report", "merge"] else words[:1]
        helptext = run_mbcc(*command, "--help").stdout
        for option in re.findall(r"(--[a-z][a-z0-9-]*)", line):
            assert option in helptext, f"mbcc {' '.join(command)} has no {option} ({name})"


def test_the_workflow_is_valid_yaml_with_a_shard_matrix():
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((EXAMPLES / "github-actions-nightly.yml").read_text())
    jobs = workflow["jobs"]
    assert set(jobs) == {"generate", "check", "report"}
    shards = jobs["check"]["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, len(shards) + 1))
    assert str(len(shards)) == str(workflow["env"]["SHARDS"])
