"""`gateconform explore` without a proxy: generation, shrinking, deduplication, the files it writes.

What a user relies on: one seed gives the same worlds every time (so the same findings on the
same release), a finding is shrunk to the parts that make it, findings with one signature are
one finding, and what explore writes is a scenario the loader accepts and a report that cites the docs.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.explore.pool import PoolError, default_pool_path, load_pool
from harness.explore.scenarios import world_scenario
from harness.explore.shrink import normalized, shrink
from harness.explore.worlds import generate
from harness.gateways import registry

ROOT = Path(__file__).parents[2]
GATEWAY = registry.default_gateway()
POOL = load_pool(default_pool_path(GATEWAY.name))
VOCABULARY = GATEWAY.vocabulary


def first_worlds(seed: int, count: int, **options: bool) -> list[dict]:
    return list(itertools.islice(generate(POOL, VOCABULARY, seed, **options), count))


# --------------------------------------------------------------------------- generation


def test_one_seed_gives_the_same_worlds_in_the_same_order() -> None:
    assert first_worlds(7, 40) == first_worlds(7, 40)


def test_the_worlds_of_a_seed_do_not_depend_on_how_many_are_asked_for() -> None:
    assert first_worlds(3, 60)[:30] == first_worlds(3, 30)


@pytest.mark.slow  # a Python subprocess: another process, another hash seed
def test_another_process_draws_the_same_worlds() -> None:
    code = ("import itertools, json; from harness.explore.pool import load_pool, default_pool_path; "
            "from harness.explore.worlds import generate; from harness.gateways import registry; "
            "g = registry.default_gateway(); "
            "print(json.dumps(list(itertools.islice(generate(load_pool(default_pool_path(g.name)), g.vocabulary, 5), 30))))")
    drawn = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "123", "PATH": ""})
    assert json.loads(drawn.stdout) == first_worlds(5, 30)


def test_different_seeds_give_different_worlds() -> None:
    assert first_worlds(1, 20) != first_worlds(2, 20)


def test_no_world_is_drawn_twice_in_a_run() -> None:
    worlds = first_worlds(1, 120)
    assert len({repr(world) for world in worlds}) == len(worlds)


def test_every_generated_world_is_a_valid_derived_scenario() -> None:
    for index, world in enumerate(first_worlds(11, 150)):
        scenario = world_scenario(world, POOL, f"w{index}", "a world")
        assert scenario.oracle == "derived" and scenario.sweep is False
        assert tuple(scenario.model_names) == POOL.model_names  # one proxy for every world


def test_worlds_cover_special_names_access_groups_users_and_steps() -> None:
    worlds = first_worlds(1, 150)
    text = json.dumps(worlds)
    for special in VOCABULARY.names:
        assert special in text
    assert any(key.get("service_account") for world in worlds for key in world["keys"])
    assert any(key.get("access_groups") for world in worlds for key in world["keys"])
    assert any(team.get("access_groups") for world in worlds for team in world.get("teams", ()))
    assert any(key.get("user") for world in worlds for key in world["keys"])
    assert any("models" in key and key["models"] == [] for world in worlds for key in world["keys"])
    assert any(world.get("steps") for world in worlds)
    verbs = {verb for world in worlds for step in world.get("steps", ()) for verb in step}
    assert {"update", "block", "wait", "round"} <= verbs
    assert not any("steps" in world for world in first_worlds(1, 60, with_steps=False))


def seed_class(world: dict) -> bool:
    """An access group on a key without models of its own, in a team whose models are all-proxy-models."""
    teams = {team["name"]: team for team in world.get("teams", ())}
    return any(teams.get(key.get("team"), {}).get("models") == ["all-proxy-models"] and key.get("access_groups")
               and not key.get("models") for key in world["keys"])


def test_the_seed_class_is_drawn_early_for_the_integration_tests_seed() -> None:
    """The bias the CI run relies on: seed 1 has such a world among its first few."""
    worlds = first_worlds(1, 12)
    assert any(seed_class(world) for world in worlds)


# --------------------------------------------------------------------------- pool


def test_the_default_pool_shares_one_proxy_and_has_a_config_group_and_an_alias() -> None:
    assert POOL.model_names == ("gpt-4o", "gpt-4o-mini", "claude-sonnet", "o1-mini")
    assert POOL.config_groups == ("reasoning",)
    specs = {world_scenario(world, POOL, "w", "w").proxy_spec() for world in first_worlds(2, 30)}
    assert len(specs) == 1


def test_a_pool_file_of_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "pool.yaml"
    bad.write_text("models: []\n")
    with pytest.raises(PoolError, match="non-empty `models:`"):
        load_pool(bad)
    bad.write_text("models: [gpt-4o]\nkeys: []\n")
    with pytest.raises(PoolError, match="unknown field 'keys'"):
        load_pool(bad)


# --------------------------------------------------------------------------- shrinking

BIG_WORLD = {
    "access_groups": [{"name": "g1", "models": ["gpt-4o-mini", "gpt-4o"]}, {"name": "g2", "models": ["gpt-4o"]}],
    "teams": [{"name": "t1", "models": ["all-proxy-models"], "access_groups": ["g2"]},
              {"name": "t2", "models": ["gpt-4o"]}],
    "users": [{"name": "u1", "models": ["no-default-models"], "teams": ["t2"]}],
    "keys": [{"name": "k1", "team": "t2", "user": "u1", "models": ["gpt-4o"]},
             {"name": "k2", "team": "t1", "service_account": True, "access_groups": ["g1", "g2"]},
             {"name": "k3", "models": []}],
    "steps": [{"round": "r0", "expect": {}}, {"block": {"key": "k1"}}, {"wait": "cache_ttl"},
              {"round": "r1", "expect": {}}],
}


def shows_seed_class(world: dict) -> bool:
    return seed_class(world)


def test_shrinking_keeps_only_what_the_finding_needs() -> None:
    batches: list[int] = []

    def still_fails(worlds):  # type: ignore[no-untyped-def]
        batches.append(len(worlds))
        return [shows_seed_class(world) for world in worlds]

    result = shrink(BIG_WORLD, still_fails)
    (group,) = result.world["access_groups"]  # either of the key's two groups makes it
    assert len(group["models"]) == 1  # a group keeps a model: an empty one is a corner case of its own
    assert result.world == {
        "access_groups": [group],
        "teams": [{"name": "t1", "models": ["all-proxy-models"]}],
        "keys": [{"name": "k2", "team": "t1", "access_groups": [group["name"]]}],
    }
    assert not result.stopped_early
    assert max(batches) > 1  # candidates of a round are asked about together (one concurrent run)
    assert result.candidates_run == sum(batches)


def test_shrinking_is_deterministic_and_every_candidate_is_a_valid_scenario() -> None:
    seen: list[dict] = []

    def still_fails(worlds):  # type: ignore[no-untyped-def]
        for world in worlds:
            world_scenario(world, POOL, "candidate", "a candidate")  # raises if not well-formed
        seen.extend(worlds)
        return [shows_seed_class(world) for world in worlds]

    first = shrink(BIG_WORLD, still_fails)
    order = list(seen)
    seen.clear()
    assert shrink(BIG_WORLD, still_fails).world == first.world
    assert seen == order


def test_shrinking_stops_at_its_run_limit_and_says_so() -> None:
    result = shrink(BIG_WORLD, lambda worlds: [shows_seed_class(w) for w in worlds], max_runs=5)
    assert result.stopped_early and result.candidates_run <= 6  # the limit, and at most one combined try
    assert shows_seed_class(result.world)


def test_a_world_that_no_simplification_keeps_failing_is_left_as_it_is() -> None:
    result = shrink(BIG_WORLD, lambda worlds: [False] * len(worlds))
    assert result.world == normalized(BIG_WORLD) and result.steps_taken == []


def test_dropping_a_team_drops_what_refers_to_it() -> None:
    world = normalized({**BIG_WORLD, "teams": [BIG_WORLD["teams"][1]]})
    k2 = next(key for key in world["keys"] if key["name"] == "k2")
    assert "team" not in k2 and "service_account" not in k2
    dropped_key = normalized({**BIG_WORLD, "keys": [BIG_WORLD["keys"][1]]})
    assert "steps" not in dropped_key  # the only change was about k1


def test_focusing_keeps_the_key_and_what_it_refers_to() -> None:
    from harness.explore.shrink import focused_on

    assert focused_on(BIG_WORLD, "k2") == {
        "access_groups": [{"name": "g1", "models": ["gpt-4o-mini", "gpt-4o"]}, {"name": "g2", "models": ["gpt-4o"]}],
        "teams": [{"name": "t1", "models": ["all-proxy-models"], "access_groups": ["g2"]}],
        "keys": [{"name": "k2", "team": "t1", "service_account": True, "access_groups": ["g1", "g2"]}],
    }
    k1 = focused_on(BIG_WORLD, "k1")
    assert [key["name"] for key in k1["keys"]] == ["k1"] and k1["users"] == [BIG_WORLD["users"][0]]
    assert k1["steps"] == BIG_WORLD["steps"]  # the change about k1 stays


def test_a_focused_first_candidate_saves_rounds() -> None:
    asked: list[int] = []

    def still_fails(worlds):  # type: ignore[no-untyped-def]
        asked.append(len(worlds))
        return [shows_seed_class(world) for world in worlds]

    focused = shrink(BIG_WORLD, still_fails, focus="k2")
    assert asked[0] == 1 and focused.steps_taken[0] == "keep only key k2 and what it refers to"
    assert focused.world == shrink(BIG_WORLD, lambda ws: [shows_seed_class(w) for w in ws]).world


# --------------------------------------------------------------------------- findings and what is written

from harness.explore.findings import FindingLog, signatures_of  # noqa: E402
from harness.explore.session import ExploreOptions, ExploreOutcome, ShrunkFinding  # noqa: E402
from harness.explore.shrink import ShrinkResult  # noqa: E402
from harness.explore.writer import RunFacts, summary_document, write_finding  # noqa: E402
from harness.model.check import Check, Expect  # noqa: E402
from harness.model.observation import Observation, UpstreamHit  # noqa: E402
from harness.model.results import ScenarioResult  # noqa: E402
from harness.model.verdict import Outcome, Verdict  # noqa: E402
from harness.scenario.loader import load_scenario  # noqa: E402

SEED_RULES = ("key-access-group", "team-step", "all-proxy-models")
SEED_WORLD = {"access_groups": [{"name": "g1", "models": ["gpt-4o-mini"]}],
              "teams": [{"name": "t1", "models": ["all-proxy-models"]}],
              "keys": [{"name": "k1", "team": "t1", "access_groups": ["g1"]}]}


def call_verdict(principal: str, model: str, expect: Expect, outcome: Outcome, *, observed: str,
                 rules: tuple[str, ...] = SEED_RULES, scenario: str = "w1", oracle: str = "derived") -> Verdict:
    check = Check(scenario, principal, "chat", model=model, expect=expect, oracle=oracle, rules=rules,
                  derivation=f"key access group g1 {{gpt-4o-mini}} ∩ team all-proxy-models ⇒ {model} {expect.value}")
    hits = [UpstreamHit(model, "/v1/chat/completions", "m", 0.0, model)] if observed == "allowed" else []
    observation = Observation("chat", principal, model, status=200 if observed == "allowed" else 401,
                              upstream_hits=hits, marker="m")
    return Verdict(check, outcome, f"{check.title}: expected {expect.value}, observed {observed} (HTTP 200)",
                   observation, expect.value, f"{observed} ({observation.status})")


def seed_like_result(scenario: str = "w1", principal: str = "k1") -> ScenarioResult:
    return ScenarioResult(id=scenario, title="w", verdicts=[
        call_verdict(principal, "gpt-4o", Expect.DENIED, Outcome.FAIL, observed="allowed", scenario=scenario),
        call_verdict(principal, "gpt-4o-mini", Expect.ALLOWED, Outcome.PASS, observed="allowed", scenario=scenario),
        call_verdict(principal, "claude-sonnet", Expect.DENIED, Outcome.FAIL, observed="allowed", scenario=scenario),
    ])


def test_findings_with_one_signature_are_one_finding_whatever_the_names() -> None:
    log = FindingLog(POOL.model_names)
    first = log.add(seed_like_result("w1", "k1"), SEED_WORLD, 0)
    assert len(first) == 1  # two failing calls, one signature
    assert log.add(seed_like_result("w2", "k7"), SEED_WORLD, 1) == []  # another world, another key: the same
    (finding,) = log.findings
    assert finding.world_index == 0 and finding.seen == 4
    assert (finding.signature.probe, finding.signature.expected, finding.signature.observed) == \
        ("chat", "denied", "allowed")


def test_another_rule_chain_or_outcome_is_another_finding_and_errors_or_written_checks_are_none() -> None:
    log = FindingLog(POOL.model_names)
    log.add(seed_like_result(), SEED_WORLD, 0)
    other_chain = call_verdict("k1", "gpt-4o", Expect.DENIED, Outcome.FAIL, observed="allowed",
                               rules=("standalone-key", "key-access-group"))
    other_outcome = call_verdict("k1", "gpt-4o-mini", Expect.ALLOWED, Outcome.FAIL, observed="denied")
    errored = call_verdict("k1", "o1-mini", Expect.DENIED, Outcome.ERROR, observed="error")
    written = call_verdict("k1", "o1-mini", Expect.DENIED, Outcome.FAIL, observed="allowed", oracle="scenario")
    new = log.add(ScenarioResult(id="w2", title="w", verdicts=[other_chain, other_outcome, errored, written]),
                  SEED_WORLD, 1)
    assert [f.signature.rules for f in new] == [("key-access-group", "standalone-key"), tuple(sorted(SEED_RULES))]
    assert len(log.findings) == 3


def shrunk_finding(tmp_path: Path) -> tuple[ShrunkFinding, RunFacts]:
    result = seed_like_result("explore-s1-f1-c3")
    log = FindingLog(POOL.model_names)
    (finding,) = log.add(result, SEED_WORLD, 3)
    scenario = world_scenario(SEED_WORLD, POOL, "explore-s1-f1", "finding 1")
    verdicts = [v for v in result.verdicts if v.outcome is Outcome.FAIL]
    shrunk = ShrunkFinding(finding, ShrinkResult(world=SEED_WORLD, rounds=2, candidates_run=9), result, scenario,
                           verdicts)
    facts = RunFacts(target=f"{GATEWAY.name}==1.82.3", version="1.82.3", seed=1,
                     command=f"gateconform explore --target {GATEWAY.name}==1.82.3 --seed 1 --worlds 12")
    return shrunk, facts


def test_a_finding_is_written_as_a_scenario_the_loader_accepts_and_that_expects_what_the_docs_say(tmp_path: Path) -> None:
    shrunk, facts = shrunk_finding(tmp_path)
    derived = GATEWAY.semantics.derive(shrunk.scenario, "1.82.3")
    written = write_finding(tmp_path, 1, shrunk, POOL, facts, derived)

    scenario = load_scenario(written.scenario_path)  # `gateconform validate` accepts it
    assert scenario.oracle == "explicit" and scenario.sweep is False
    expectation = scenario.expect["k1"]
    assert expectation.denied == ["gpt-4o", "claude-sonnet"]  # the failing checks
    assert expectation.allowed == ["gpt-4o-mini"]  # and what the docs make of the key's other models
    text = written.scenario_path.read_text()
    assert "https://docs.litellm.ai/docs/proxy/access_groups" in text  # the rule's page, cited
    assert f"rerun: gateconform run finding-1.yaml --target {facts.target}" in text


def test_the_report_draft_says_what_the_docs_say_and_what_the_proxy_did(tmp_path: Path) -> None:
    shrunk, facts = shrunk_finding(tmp_path)
    written = write_finding(tmp_path, 1, shrunk, POOL, facts, GATEWAY.semantics.derive(shrunk.scenario, "1.82.3"))
    report = written.report_path.read_text()
    assert "## What the docs say" in report and "**key-access-group**" in report
    assert "The key will inherit access to all models" in report  # the docs' sentence
    assert "k1 cannot call gpt-4o: expected denied, observed allowed" in report
    assert "upstream hits: 1 (served by gpt-4o)" in report
    assert f"gateconform run finding-1.yaml --target {facts.target}" in report
    assert facts.command in report and "world 4" in report
    assert str(tmp_path) not in report  # shareable: no machine paths


def test_the_summary_counts_worlds_findings_and_errors(tmp_path: Path) -> None:
    shrunk, facts = shrunk_finding(tmp_path)
    written = write_finding(tmp_path, 1, shrunk, POOL, facts, [])
    outcome = ExploreOutcome(options=ExploreOptions(seed=1, worlds=12), worlds_run=12, explore_s=36.0,
                             checks=140, findings=[shrunk])
    document = summary_document(outcome, facts, [written])
    assert document["worlds"] == 12 and document["worlds_per_minute"] == 20.0
    assert document["findings"][0]["rules"] == sorted(SEED_RULES)
    assert document["findings"][0]["minimal_world"] == SEED_WORLD
    json.dumps(document)  # a JSON document


def listing_verdict(listed: list[str], want: list[str]) -> Verdict:
    check = Check("w1", "k1", "list_models", listed=frozenset(want), oracle="derived",
                  rules=("key-models", "team-step", "listing-follows-access"))
    observation = Observation("list_models", "k1", None, status=200, listed_models=listed)
    return Verdict(check, Outcome.FAIL, "k1 lists …", observation, "[…]", "[…]")


def test_a_failing_listing_is_a_finding_per_model_it_gets_wrong_with_that_models_rules() -> None:
    from harness.explore.findings import LISTED_CALLABLE, LISTED_NOT_A_MODEL, LISTED_UNCALLABLE, MISSING_CALLABLE

    listing = listing_verdict(["gpt-4o", "o1-mini", "all-proxy-models", "openai/sora-2"], ["gpt-4o-mini"])
    refused = call_verdict("k1", "gpt-4o", Expect.DENIED, Outcome.PASS, observed="denied", rules=("key-models",))
    let_through = call_verdict("k1", "o1-mini", Expect.DENIED, Outcome.FAIL, observed="allowed")
    callable_unlisted = call_verdict("k1", "gpt-4o-mini", Expect.ALLOWED, Outcome.PASS, observed="allowed",
                                     rules=("key-models",))
    found = signatures_of(listing, POOL.model_names, [listing, refused, let_through, callable_unlisted],
                          VOCABULARY.names)
    assert [(s.rules, s.expected, s.observed) for s in found] == [
        ((), "not listed", "listed: the special name all-proxy-models"),
        (("key-models",), "not listed", LISTED_UNCALLABLE),  # /v1/models shows a model the key cannot call
        (tuple(sorted(SEED_RULES)), "not listed", LISTED_CALLABLE),  # the seed's class, seen in the listing
        ((), "not listed", LISTED_NOT_A_MODEL),
        (("key-models",), "listed", MISSING_CALLABLE),
    ]
    assert all(s.probe == "list_models" for s in found)


# --------------------------------------------------------------------------- a whole run, on a stand-in runner

import threading  # noqa: E402

from harness.explore.session import Explorer  # noqa: E402


class StandInRunner:
    """Judges a world without a proxy: the seed's class fails a derived call check, another world
    with users errors (the harness could not tell), the rest pass. Thread-safe, as the engine is."""

    def __init__(self) -> None:
        self.started: list[object] = []
        self.ran: list[str] = []
        self.lock = threading.Lock()

    def endpoint_for(self, proxy: object) -> object:
        self.started.append(proxy)
        return object()

    def run(self, scenario):  # type: ignore[no-untyped-def]
        with self.lock:
            self.ran.append(scenario.id)
        world = {"teams": [t.model_dump(exclude_defaults=True) for t in scenario.teams],
                 "keys": [k.model_dump(exclude_defaults=True) for k in scenario.keys]}
        key = scenario.keys[0].name
        if seed_class(world):
            teams = {t["name"]: t for t in world["teams"]}
            culprit = next(k["name"] for k in world["keys"] if k.get("access_groups") and not k.get("models")
                           and teams.get(k.get("team"), {}).get("models") == ["all-proxy-models"])
            verdict = call_verdict(culprit, "gpt-4o", Expect.DENIED, Outcome.FAIL, observed="allowed",
                                   scenario=scenario.id)
        elif scenario.users:
            verdict = call_verdict(key, "gpt-4o", Expect.DENIED, Outcome.ERROR, observed="error", scenario=scenario.id)
        else:
            verdict = call_verdict(key, "gpt-4o", Expect.DENIED, Outcome.PASS, observed="denied", scenario=scenario.id)
        return ScenarioResult(id=scenario.id, title=scenario.title, verdicts=[verdict])


def test_a_run_judges_the_seeds_first_worlds_in_order_and_shrinks_each_finding_once() -> None:
    runner = StandInRunner()
    outcome = Explorer(runner, POOL, VOCABULARY, ExploreOptions(seed=1, worlds=12, concurrency=3)).run()
    assert outcome.worlds_run == 12 and len(runner.started) == 1  # one proxy for the run
    assert sorted(i for i in runner.ran if "-w" in i) == sorted(f"explore-s1-w{n}" for n in range(1, 13))
    (found,) = outcome.findings  # the seed's class, however many worlds showed it
    assert found.finding.signature.rules == tuple(sorted(SEED_RULES))
    assert seed_class(found.shrink.world) and len(found.shrink.world["keys"]) == 1 and "users" not in found.shrink.world
    worlds_with_users = [n for n, w in enumerate(first_worlds(1, 12)) if w.get("users") and not seed_class(w)]
    assert [error.world_index for error in outcome.errors] == worlds_with_users  # errors apart, not findings
    again = Explorer(StandInRunner(), POOL, VOCABULARY, ExploreOptions(seed=1, worlds=12, concurrency=2)).run()
    assert again.findings[0].shrink.world == found.shrink.world  # same seed, same minimal world


def test_a_budget_bounds_the_worlds_to_a_prefix_of_the_seeds() -> None:
    ticks = itertools.count()
    runner = StandInRunner()
    explorer = Explorer(runner, POOL, VOCABULARY, ExploreOptions(seed=1, budget_s=20.0, concurrency=1),
                        clock=lambda: float(next(ticks)))
    outcome = explorer.run()
    assert 0 < outcome.worlds_run < 20
    ran = [i for i in runner.ran if "-w" in i]
    assert ran == [f"explore-s1-w{n}" for n in range(1, len(ran) + 1)]


# --------------------------------------------------------------------------- the command line


@pytest.mark.parametrize(("args", "said"), [
    (("--budget", "10x"), "--budget: '10x' is not a duration"),
    (("--pool", "no-such-pool.yaml"), "--pool: no-such-pool.yaml: cannot read"),
    (("--target", "url:http://127.0.0.1:4000"), "explore starts its own proxy"),
    (("--target", "docker:litellm==1.82.3"), "explore starts its own proxy"),
])
def test_bad_input_exits_2_before_anything_starts(args: tuple[str, ...], said: str, no_target: list[str]) -> None:
    from typer.testing import CliRunner

    from harness.cli import app as cli

    result = CliRunner().invoke(cli.app, ["explore", "--worlds", "1", *args])
    assert result.exit_code == 2, result.output
    assert said in " ".join(result.output.split())
    assert no_target == []


def test_a_pool_that_is_no_valid_world_is_bad_input(tmp_path: Path, no_target: list[str]) -> None:
    from typer.testing import CliRunner

    from harness.cli import app as cli

    pool = tmp_path / "pool.yaml"
    pool.write_text("models: [gpt-4o]\nproxy: {general_settings: {master_key: sk-mine}}\n")
    result = CliRunner().invoke(cli.app, ["explore", "--pool", str(pool), "--worlds", "1"])
    assert result.exit_code == 2 and "is not a valid world" in result.output
    assert "master_key" in result.output and no_target == []


def test_a_finding_in_a_timeline_is_written_with_the_rounds_that_hold_expectations(tmp_path: Path) -> None:
    shrunk, facts = shrunk_finding(tmp_path)
    world = {**SEED_WORLD, "steps": [{"round": "r0", "expect": {}}, {"block": {"key": "k1"}}, {"wait": "cache_ttl"},
                                     {"round": "r1", "expect": {}}, {"unblock": {"key": "k1"}},
                                     {"wait": "cache_ttl"}, {"round": "r2", "expect": {}}]}
    failed = call_verdict("k1", "gpt-4o", Expect.DENIED, Outcome.FAIL, observed="allowed", scenario="w")
    in_first_round = Check("w", "k1", "chat", model="gpt-4o", expect=Expect.DENIED, oracle="derived",
                           rules=SEED_RULES, round="r0")
    result = ScenarioResult(id="w", title="w", verdicts=[
        Verdict(in_first_round, failed.outcome, failed.message, failed.observation, failed.expected, failed.observed)])
    shrunk = ShrunkFinding(shrunk.finding, ShrinkResult(world=world), result, shrunk.scenario, result.verdicts)
    written = write_finding(tmp_path, 2, shrunk, POOL, facts, [])
    scenario = load_scenario(written.scenario_path)  # no round without expectations: the loader refuses those
    assert [type(step).__name__ for step in scenario.steps] == ["RoundStep"]
    assert scenario.steps[0].expect["k1"].denied == ["gpt-4o"]
