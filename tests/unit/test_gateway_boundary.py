"""The gateway boundary holds: LiteLLM lives in `harness/gateways/litellm/`, and another gateway is
one registration away (`harness.gateways.base.Gateway`, found through `harness.gateways.registry`).

The core never names LiteLLM in its code or strings (docs, scenarios and tests aside); a second
gateway's target specs, vocabulary and refusals flow through the same paths LiteLLM's do.
"""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import tokenize
from importlib import metadata
from pathlib import Path

import pytest

from harness.engine.runner import ScenarioRunner
from harness.gateways import registry
from harness.gateways.base import KEY, TEAM, Gateway, SpecialName, Vocabulary
from harness.gateways.registry import ENTRY_POINT_GROUP, GatewayRegistry
from harness.model.reasons import NotRunReason
from harness.model.refusal import Refusal
from harness.model.target import DOCKER, LOCAL
from harness.model.verdict import Outcome
from harness.scenario.loader import ScenarioError, parse_scenario
from harness.targets.errors import ReleaseError, TargetError
from harness.targets.spec import CheckedTarget, ParsedImage, parse_target_spec

HARNESS = Path(__file__).parents[2] / "harness"
LITELLM_FOLDER = HARNESS / "gateways" / "litellm"

#: Where the core may still name LiteLLM, and why. Keep it short: make code neutral instead.
ALLOWED = {
    # The one config place: the gateway a spec or scenario means when it names none.
    ("gateways/registry.py", '"litellm"'),
}


def _words_naming_litellm(source: str) -> list[str]:
    """Identifiers and string literals (docstrings included) that contain `litellm`; comments aside."""
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in (tokenize.NAME, tokenize.STRING) and "litellm" in token.string.lower():
            found.append(token.string)
    return found


def test_nothing_outside_the_litellm_folder_names_litellm() -> None:
    named = []
    for path in sorted(HARNESS.rglob("*.py")):
        if LITELLM_FOLDER in path.parents:
            continue
        where = path.relative_to(HARNESS).as_posix()
        words = _words_naming_litellm(path.read_text())
        named += [f"{where}: {word}" for word in words if (where, word) not in ALLOWED]
    for path in sorted((HARNESS / "report" / "templates").iterdir()):
        if "litellm" in path.read_text().lower():
            named.append(f"{path.relative_to(HARNESS).as_posix()}: (template text)")
    assert named == [], "LiteLLM belongs in harness/gateways/litellm/ (ask the gateway instead):\n" + "\n".join(named)


def test_litellm_is_registered_through_the_entry_point_group() -> None:
    declared = {entry.name: entry for entry in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    assert "litellm" in declared, "pyproject.toml declares it (reinstall the package if this fails)"
    gateway = declared["litellm"].load()
    assert isinstance(gateway, Gateway) and gateway.name == "litellm"
    assert registry.gateway("litellm") is gateway


def test_a_bundled_gateway_is_found_even_where_the_installed_metadata_predates_its_entry_point() -> None:
    bundled = GatewayRegistry(registry.bundled_loaders())
    assert bundled.names() == ("litellm",)
    assert bundled.gateway("litellm") is registry.gateway("litellm")


@pytest.mark.slow  # a Python subprocess
def test_finding_a_gateway_loads_no_http_client_and_no_docker_sdk() -> None:
    """`gateconform validate` reads the gateway's vocabulary: that must stay cheap."""
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from harness.gateways import registry; "
         "registry.default_gateway().vocabulary; print(sorted({'httpx', 'docker'} & set(sys.modules)))"],
        capture_output=True, text=True, timeout=60, cwd=HARNESS.parent,
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


# --------------------------------------------------------------------------- a second gateway


class Toy(Gateway):
    """A gateway that exists only here: what a second gateway has to provide, and no more."""

    name = "toy"
    title = "Toy"
    default_target = "toy==2.0"
    example_version = "2.0"
    vocabulary = Vocabulary("Toy", (SpecialName("every-model", "every model", frozenset({TEAM, KEY})),))
    refusals = (Refusal(403),)
    liveness_path = "/alive"
    deps_modes = ("today",)

    def admin(self, endpoint, redactor, log=None, *, transport=None):  # type: ignore[no-untyped-def]
        raise AssertionError("no proxy in this test")

    def proxy_config(self, models, upstream_url):  # type: ignore[no-untyped-def]
        return ""

    def readiness(self, client, base_url):  # type: ignore[no-untyped-def]
        return True, "ready"

    def parse_version(self, text: str, spec: str) -> str:
        if not text.replace(".", "").isdigit():
            raise ReleaseError(f"target spec {spec!r}: not a toy version")
        return text

    def refuse_for_local(self, version: str) -> None:
        if version == "0.1":
            raise ReleaseError("toy 0.1 cannot run locally")

    def parse_image(self, text: str) -> ParsedImage:
        name, _, version = text.strip().partition("==")
        return ParsedImage(text.strip(), version or None)

    def check_release(self, spec, cache_root):  # type: ignore[no-untyped-def]
        return CheckedTarget(spec.normalised)

    @property
    def releases(self):  # type: ignore[no-untyped-def]
        raise AssertionError("not listed here")

    def launch(self, spec, log):  # type: ignore[no-untyped-def]
        raise AssertionError("no proxy in this test")


def with_toy() -> GatewayRegistry:
    """The installed gateways plus `toy`, as a separate package would add it."""
    loaders = dict(registry.registry().loaders)
    loaders["toy"] = Toy
    return GatewayRegistry(loaders)


def test_a_second_gateway_is_named_in_target_specs_like_litellm() -> None:
    gateways = with_toy()
    toy = parse_target_spec("toy==2.0", gateways)
    assert (toy.kind, toy.gateway, toy.version, toy.normalised) == (LOCAL, "toy", "2.0", "toy==2.0")
    assert parse_target_spec("toy", gateways).normalised == "toy==latest"  # `latest` alone is the default's
    assert parse_target_spec("latest", gateways).gateway == "litellm"
    assert parse_target_spec("1.82.3", gateways).normalised == "litellm==1.82.3"
    image = parse_target_spec("docker:toy==2.0", gateways)
    assert (image.kind, image.gateway, image.version) == (DOCKER, "toy", "2.0")
    with pytest.raises(TargetError, match="toy 0.1 cannot run locally"):
        parse_target_spec("toy==0.1", gateways)
    with pytest.raises(TargetError, match="only litellm or toy are supported, got 'tyo'"):
        parse_target_spec("tyo==2.0", gateways)
    with pytest.raises(TargetError, match=r"unknown dependency mode 'as-released' after '@' \(use today\)"):
        parse_target_spec("toy==2.0@as-released", gateways)


TOY_SCENARIO = """\
id: toy
title: a scenario in the toy gateway's words
models: [m1, m2]
teams:
  - name: t
    models: every-model
keys:
  - name: k
    team: t
expect:
  k:
    can_call: [m1]
"""


def test_a_scenario_is_read_with_the_words_of_its_gateway() -> None:
    toy = parse_scenario(TOY_SCENARIO, "toy.yaml", Toy.vocabulary)
    assert toy.teams[0].models == ["every-model"]

    with pytest.raises(ScenarioError) as caught:
        parse_scenario(TOY_SCENARIO, "toy.yaml")  # LiteLLM's words (the default gateway)
    assert str(caught.value).startswith(
        "toy.yaml:6: teams[0].models: expected a list of model names, e.g. [every-model] "
        "(a single name is only accepted for all-proxy-models, all-team-models, no-default-models)"
    )

    litellm_words = TOY_SCENARIO.replace("models: every-model", "models: [all-proxy-models]")
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(litellm_words, "toy.yaml", Toy.vocabulary)
    assert "unknown model or access group 'all-proxy-models'" in str(caught.value)


def test_a_scenario_may_name_its_gateway() -> None:
    named = parse_scenario("gateway: litellm\n" + TOY_SCENARIO.replace("every-model", "all-proxy-models"), "x.yaml")
    assert named.gateway == "litellm"
    assert parse_scenario(TOY_SCENARIO.replace("every-model", "all-proxy-models"), "x.yaml").gateway is None

    with pytest.raises(ScenarioError) as caught:
        parse_scenario("gateway: litelm\n" + TOY_SCENARIO.replace("every-model", "all-proxy-models"), "x.yaml")
    assert str(caught.value) == "x.yaml:1: gateway: unknown gateway 'litelm' (did you mean 'litellm'?)"

    with pytest.raises(ScenarioError) as caught:
        parse_scenario("gatway: litellm\n" + TOY_SCENARIO.replace("every-model", "all-proxy-models"), "x.yaml")
    assert str(caught.value) == "x.yaml:1: gatway: unknown field 'gatway' (did you mean 'gateway'?)"


def test_a_scenario_written_for_another_gateway_is_not_run_on_this_one() -> None:
    scenario = parse_scenario("gateway: litellm\n" + TOY_SCENARIO.replace("every-model", "all-proxy-models"))
    built: list[str] = []

    def factory(spec: str, log):  # type: ignore[no-untyped-def]
        built.append(spec)
        raise AssertionError("nothing may start for a scenario of another gateway")

    runner = ScenarioRunner("toy==2.0", target_factory=factory, gateway=Toy())
    result = runner.run(scenario)
    assert built == []
    assert {v.outcome for v in result.verdicts} == {Outcome.ERROR}
    assert result.error == "the scenario is written for the gateway litellm; the target toy==2.0 is toy"
    assert result.error_reason is NotRunReason.GATEWAY_MISMATCH


def test_the_gateway_boundary_test_sees_a_violation() -> None:
    """The scan finds LiteLLM in an identifier, a string and a docstring, not in a comment."""
    sample = textwrap.dedent('''
        """Talks to LiteLLM."""
        from harness.gateways.litellm.admin import LiteLLMAdapter  # a comment naming litellm is fine
        TARGET = "litellm==1.82.3"
    ''')
    assert _words_naming_litellm(sample) == ['"""Talks to LiteLLM."""', "litellm", "LiteLLMAdapter", '"litellm==1.82.3"']
