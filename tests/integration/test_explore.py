"""`gateconform explore` on a real LiteLLM 1.82.3, as a user runs it: the seed's class is found.

A fixed seed and a fixed number of worlds (`--worlds`), so the run is the same every time; the
budget bounds the shrinking. Asserted: the access group that does not narrow a key of an
`all-proxy-models` team (BerriAI/litellm#23850) comes out as a finding, shrunk to a small world,
written as a scenario that `validate` accepts and that fails on its own on the same release,
with a report draft citing the docs; nothing is left running, no secret is written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.integration.test_seed_scenario import KEY_PATTERN, assert_no_secrets_in, gateconform, run

pytestmark = pytest.mark.integration

TARGET = "litellm==1.82.3"
SEED, WORLDS, BUDGET = "1", "6", "3m"


def is_seed_class(finding: dict) -> bool:
    """A call the docs deny because of the key's access group (it narrows a team holding every model)
    that the proxy allows. A finding's rules are those that decide it: the key's access group."""
    return (finding["probe"] == "chat" and finding["expected"] == "denied" and finding["observed"] == "allowed"
            and "key-access-group" in finding["rules"])


def grants_every_model(team: dict | None) -> bool:
    """`all-proxy-models`, or no models at all: the docs treat both the same on a team."""
    return team is not None and team.get("models") in (["all-proxy-models"], [], None)


def test_explore_finds_the_seed_class_on_1_82_3(tmp_path: Path) -> None:
    out = tmp_path / "explore"
    done = run(gateconform("explore", "--target", TARGET, "--seed", SEED, "--worlds", WORLDS, "--budget", BUDGET,
                           "--out", str(out)), timeout=600)
    assert done.returncode == 1, done.stdout + done.stderr  # 1 = findings
    summary = json.loads((out / "summary.json").read_text())
    assert summary["proxy_version"] == "1.82.3" and summary["worlds"] == int(WORLDS)
    assert summary["worlds_per_minute"] > 0
    print(f"explore: {summary['worlds']} worlds, {summary['worlds_per_minute']} worlds/min, "
          f"{len(summary['findings'])} findings, {len(summary['errors'])} worlds with errors")

    found = [finding for finding in summary["findings"] if is_seed_class(finding)]
    assert found, [(f["rules"], f["probe"], f["expected"], f["observed"]) for f in summary["findings"]]
    finding = found[0]
    world = finding["minimal_world"]
    # Shrunk: one team holding every model, and a key of it carrying an access group.
    teams = {team["name"]: team for team in world.get("teams", ())}
    assert any(grants_every_model(teams.get(key.get("team"))) and key.get("access_groups")
               for key in world["keys"]), world
    assert len(world["keys"]) <= 2 and len(world.get("teams", ())) <= 2, world

    scenario_file = out / finding["scenario"]
    scenario = yaml.safe_load(scenario_file.read_text())
    assert scenario["oracle"] == "explicit"
    assert "https://docs.litellm.ai/docs/proxy/access_groups" in scenario["description"]
    assert any(entry.get("cannot_call") for entry in scenario["expect"].values())
    validated = run(gateconform("validate", str(scenario_file)))
    assert validated.returncode == 0, validated.stdout + validated.stderr

    report = (out / finding["report"]).read_text()
    assert "## What the docs say" in report and "expected denied, observed allowed" in report
    assert "upstream hits: 1" in report and f"--target {TARGET}" in report

    # The written scenario is the bug report's reproduction: it fails on its own, on the same release.
    rerun = run(gateconform("run", str(scenario_file), "--target", TARGET, "--report-dir", str(tmp_path / "rerun")))
    assert rerun.returncode == 1, rerun.stdout + rerun.stderr
    assert "expected denied, observed allowed" in " ".join(rerun.stdout.split())

    assert_no_secrets_in(out)
    assert KEY_PATTERN.findall(done.stdout + done.stderr) == []
    assert str(tmp_path) not in (out / "summary.md").read_text() + report  # shareable: no machine paths
