"""The GitHub Actions workflows in examples/ call only commands and options that exist, and the
shard workflow's job matrix has as many shards as it tells `--shard K/N`."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer.main
import yaml

from harness.cli import app as cli

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yml"))
COMMAND = typer.main.get_command(cli.app)


def _gateconform_calls(workflow: dict) -> list[list[str]]:  # type: ignore[type-arg]
    calls = []
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            script = re.sub(r"\\\n\s*", " ", step.get("run", ""))  # join continued lines
            for line in script.splitlines():
                line = line.strip()
                if line.startswith("gateconform "):
                    calls.append(shlex.split(re.sub(r"\$\{\{[^}]*\}\}", "X", line))[1:])
    return calls


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_every_gateconform_call_names_a_command_and_its_options(path: Path) -> None:
    calls = _gateconform_calls(yaml.safe_load(path.read_text()))
    assert calls, f"{path.name} calls gateconform nowhere"
    for call in calls:
        command = COMMAND.commands.get(call[0])  # type: ignore[attr-defined]
        assert command is not None, f"{path.name}: no command {call[0]!r}"
        known = {name for param in command.params for name in param.opts}
        used = {word.split("=")[0] for word in call[1:] if word.startswith("--")}
        assert used <= known, f"{path.name}: gateconform {call[0]} has no {sorted(used - known)}"


def test_the_shard_workflow_runs_as_many_jobs_as_shards() -> None:
    workflow = yaml.safe_load((Path(__file__).parents[2] / "examples/github-actions-matrix-shards.yml").read_text())
    shards = workflow["jobs"]["shard"]["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, int(workflow["env"]["SHARDS"]) + 1))
    assert workflow["jobs"]["merge"]["needs"] == "shard"
