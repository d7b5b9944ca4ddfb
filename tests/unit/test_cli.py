"""The command line as a user meets it: bad input is rejected before anything starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app as cli
from harness.report.terminal import shorten

SEED = Path(__file__).parents[2] / "scenarios/litellm/issue-23850-access-group-limits-service-key.yaml"


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli.app, list(args))


def test_unknown_team_is_reported_with_file_line_and_suggestion(tmp_path: Path, no_target: list[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(SEED.read_text().replace("team: platform\n    service_account: true\n    access_groups",
                                            "team: platfrom\n    service_account: true\n    access_groups"))
    result = invoke("run", str(bad), "--target", "litellm==1.82.3")
    assert result.exit_code == 2
    assert f"{bad}:" in result.output
    assert "keys[0].team: unknown team 'platfrom' (did you mean 'platform'?)" in result.output
    assert no_target == []


def test_yaml_syntax_error_names_the_line(tmp_path: Path, no_target: list[str]) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("id: x\ntitle: y\nmodels: [a, b\n")
    result = invoke("run", str(bad))
    assert result.exit_code == 2
    assert str(bad) in result.output and ":" in result.output
    assert no_target == []


def test_unknown_field_gets_a_suggestion(tmp_path: Path, no_target: list[str]) -> None:
    bad = tmp_path / "typo.yaml"
    bad.write_text(SEED.read_text().replace("    service_account: true\n    access_groups: [limited]",
                                            "    service_acount: true\n    access_groups: [limited]"))
    result = invoke("run", str(bad))
    assert result.exit_code == 2
    assert "service_acount" in result.output and "service_account" in result.output
    assert no_target == []


def test_missing_path_is_an_input_error(tmp_path: Path, no_target: list[str]) -> None:
    result = invoke("run", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert no_target == []


def test_schema_command_prints_a_json_schema() -> None:
    result = invoke("schema")
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert "properties" in schema and "keys" in schema["properties"]


def test_validate_accepts_the_scenario_library() -> None:
    result = invoke("validate", str(SEED.parent))
    assert result.exit_code == 0
    assert "litellm-23850-access-group-limits-service-key" in result.output


def test_a_very_long_listing_is_shortened_in_the_terminal_only() -> None:
    names = ", ".join(f"gpt-model-{n}" for n in range(200))
    shown = shorten(f"[{names}]")
    assert len(shown) < 400 and shown.endswith("in full in the reports)")
    assert shorten("[gpt-4o]") == "[gpt-4o]"


@pytest.mark.parametrize("target", ["litellm==1.82.7", "docker:litellm==1.107.0", "litellm>=1.80"])
def test_a_target_that_can_never_start_is_refused_before_anything(target: str, tmp_path: Path) -> None:
    result = invoke("run", str(SEED), "--target", target, "--report-dir", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert f"--target {target}:" in result.output
    assert not (tmp_path / "out").exists(), "no run happened, so no report may claim one"
