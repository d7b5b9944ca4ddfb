"""What explore writes per finding: a ready-to-run scenario and a Markdown bug-report draft, and a summary.

The scenario is the minimal world with the derived expectations of its failing checks written
as explicit `expect:` entries (`oracle: explicit`), so it runs, and fails, on its own, and
`gateconform validate` accepts it; its description and header comment cite the documented rules
(sentence and URL). The draft says what the docs say, what the proxy did (status, listing,
upstream hits), on which release, and how to rerun. Paths in them are relative: both files are
meant to be shared.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from harness.common.files import write_text
from harness.explore.findings import Signature
from harness.explore.pool import Pool
from harness.explore.scenarios import dump, scenario_document
from harness.explore.session import ExploreOutcome, ShrunkFinding
from harness.model.check import Expect, Judgement
from harness.model.derivation import Derived, Rule
from harness.model.verdict import Verdict


@dataclass(frozen=True)
class RunFacts:
    """What every file of a run says about where it came from."""

    target: str  # the target spec as given (`<gateway>==1.82.3`)
    version: str | None  # the version the proxy reported
    seed: int
    command: str  # the explore command line that reproduces the run


@dataclass(frozen=True)
class WrittenFinding:
    number: int
    scenario_path: Path
    report_path: Path


def finding_name(number: int) -> str:
    return f"finding-{number}"


def expectations_of(verdicts: Sequence[Verdict]) -> dict[str | None, dict[str, dict[str, Any]]]:
    """The failing derived checks as `expect:` entries, per round (None: a world without rounds)."""
    rounds: dict[str | None, dict[str, dict[str, Any]]] = {}
    for verdict in verdicts:
        check = verdict.check
        entry = rounds.setdefault(check.round, {}).setdefault(check.principal, {})
        if check.judgement is Judgement.LISTING:
            entry["lists"] = sorted(check.listed or ())
        elif check.expect is Expect.ALLOWED:
            entry.setdefault("can_call", []).append(check.model)
        elif check.expect is Expect.DENIED:
            entry.setdefault("cannot_call", []).append(check.model)
    return rounds


def scenario_text(shrunk: ShrunkFinding, number: int, pool: Pool, facts: RunFacts,
                  rules: Sequence[Rule], summaries: Sequence[str]) -> str:
    """The finding's minimal world as an explicit scenario, with the rules cited."""
    verdicts = shrunk.verdicts
    world = json.loads(json.dumps(shrunk.shrink.world))  # a copy
    expectations = expectations_of(same_key_and_round(shrunk, verdicts))
    description = _description(shrunk.finding.signature, facts, rules, summaries)
    if "steps" in world:
        world["steps"] = _timeline_with(world["steps"], expectations)
    document = scenario_document(world, pool, scenario_id=f"explore-s{facts.seed}-{finding_name(number)}",
                                 title=_title(verdicts, shrunk.finding.signature), oracle="explicit", description=description)
    if "steps" not in world:
        document["expect"] = expectations.get(None, {})
    header = (f"Found by gateconform explore (seed {facts.seed}, {facts.target}); shrunk to a minimal world.\n"
              + "\n".join(f"{rule.id}: {rule.url}" for rule in rules)
              + f"\nrerun: gateconform run {finding_name(number)}.yaml --target {facts.target}")
    return dump(document, header)


def same_key_and_round(shrunk: ShrunkFinding, verdicts: Sequence[Verdict]) -> list[Verdict]:
    """Every derived check of the keys the failing `verdicts` are about, in every round: the failures
    and what the docs make of the same key's other models and rounds (so the scenario shows what
    works too, and how the timeline got there)."""
    keys = {v.check.principal for v in verdicts}
    return [v for v in shrunk.result.verdicts if v.check.oracle == "derived" and v.check.principal in keys]


def _timeline_with(steps: list[dict[str, Any]], expectations: dict[str | None, dict[str, dict[str, Any]]]
                   ) -> list[dict[str, Any]]:
    """The world's steps with each round's expectations; a round left without any is dropped (a
    written round needs one), and so are the changes after the last round that is kept."""
    kept: list[dict[str, Any]] = []
    for step in steps:
        if "round" in step:
            expect = expectations.get(step["round"], {})
            if not expect:
                continue
            step = {**step, "expect": expect}
        kept.append(step)
    while kept and "round" not in kept[-1]:
        kept.pop()
    return kept


def _title(verdicts: Sequence[Verdict], signature: Signature) -> str:
    first = verdicts[0].check.title if verdicts else "a derived check fails"
    more = f" (and {len(verdicts) - 1} more)" if len(verdicts) > 1 else ""
    if verdicts and verdicts[0].check.judgement is Judgement.LISTING:  # which of its models: the signature says
        return f"{first}{more}: a model {signature.observed}"
    return f"{first}{more}: the proxy disagrees with its documented rules"


def _description(signature: Signature, facts: RunFacts, rules: Sequence[Rule], summaries: Sequence[str]) -> str:
    lines = [f"Found by `gateconform explore` on {facts.target} (proxy {facts.version or 'version unknown'}), "
             f"seed {facts.seed}. The expectations are derived from these documented rules:"]
    lines += [f"- {rule.id} ({rule.url}): \"{rule.sentence}\"" for rule in rules]
    lines += [f"Derivation: {summary}" for summary in summaries]
    lines.append(f"Signature: {signature.text}")
    lines.append("The expectations below are the derived ones of the key(s) concerned; the proxy fails those of "
                 "the signature.")
    return "\n".join(lines)


def report_text(shrunk: ShrunkFinding, number: int, pool: Pool, facts: RunFacts,
                rules: Sequence[Rule], summaries: Sequence[str], scenario_file: str) -> str:
    """The Markdown bug-report draft of one finding."""
    verdicts = shrunk.verdicts
    signature = shrunk.finding.signature
    lines = [f"# {_title(verdicts, signature)}", "",
             f"**Release:** {facts.target} (the proxy reported {facts.version or 'no version'})  ",
             f"**Found by:** `{facts.command}` — world {shrunk.finding.world_index + 1}, "
             f"shrunk in {shrunk.shrink.rounds} round(s) ({shrunk.shrink.candidates_run} smaller worlds tried"
             + (", stopped by the budget before no simplification was left" if shrunk.shrink.stopped_early else "")
             + ")  ",
             f"**Signature:** {signature.text}", "",
             "## What the docs say", ""]
    for rule in rules:
        lines.append(f"- **{rule.id}** — [{rule.url}]({rule.url}): \"{rule.sentence}\"")
    if summaries:
        lines += ["", "Applied to this world:", ""] + [f"- {summary}" for summary in summaries]
    lines += ["", "## What the proxy did", ""]
    for verdict in verdicts:
        lines.append(f"- {verdict.message}")
        lines += [f"  - {fact}" for fact in _evidence(verdict)]
    lines += ["", "## The minimal world", "",
              f"`{scenario_file}` (ready to run; `gateconform validate {scenario_file}` checks it):", "",
              "```yaml", dump(scenario_document(shrunk.shrink.world, pool, scenario_id="minimal-world",
                                                title="the world", oracle="explicit")).rstrip(), "```", "",
              "## Reproduce", "",
              "```bash", f"gateconform run {scenario_file} --target {facts.target}", "```", "",
              "It fails where the proxy disagrees with the docs; the derived expectations of the whole world: "
              f"`gateconform run {scenario_file} --target {facts.target} --oracle derived`.", ""]
    return "\n".join(lines)


def _evidence(verdict: Verdict) -> list[str]:
    observation = verdict.observation
    if observation is None:
        return []
    facts = [f"HTTP {observation.status}" if observation.status is not None
             else f"no answer: {observation.transport_error}"]
    if observation.error_type or observation.error_message:
        facts.append(f"error: {observation.error_type or '-'}: {(observation.error_message or '')[:300]}")
    if observation.listed_models is not None:
        facts.append(f"listed: [{', '.join(observation.listed_models)}]")
        facts.append(f"expected: [{', '.join(sorted(verdict.check.listed or ()))}]")
    if observation.marker is not None:
        hits = observation.upstream_hits
        served = sorted({hit.deployment or hit.model or "?" for hit in hits})
        facts.append(f"upstream hits: {len(hits)}" + (f" (served by {', '.join(served)})" if hits else ""))
    return facts


def rules_of(derived: Sequence[Derived], verdicts: Sequence[Verdict]) -> tuple[list[Rule], list[str]]:
    """The documented rules behind the failing checks (from the semantics' derivations), and their summaries."""
    wanted = {(v.check.principal, v.check.round, v.check.model) for v in verdicts}
    rules: dict[str, Rule] = {}
    summaries: list[str] = []
    for entry in derived:
        if (entry.principal, entry.round, entry.model) not in wanted:
            continue
        for use in entry.chain:
            rules.setdefault(use.rule.id, use.rule)
        summaries.append(f"{entry.principal}{'@' + entry.round if entry.round else ''}: {entry.summary}")
    return list(rules.values()), summaries


def write_finding(folder: Path, number: int, shrunk: ShrunkFinding, pool: Pool, facts: RunFacts,
                  derived: Sequence[Derived]) -> WrittenFinding:
    """Write `finding-N.yaml` and `finding-N.md` into `folder`."""
    verdicts = shrunk.verdicts
    rules, summaries = rules_of(derived, verdicts)
    if not summaries:  # the semantics were not asked (or said nothing): the checks carry their chains
        summaries = [f"{v.check.principal}: {v.check.derivation}" for v in verdicts
                     if getattr(v.check, "derivation", None)]
    scenario_path = folder / f"{finding_name(number)}.yaml"
    report_path = folder / f"{finding_name(number)}.md"
    write_text(scenario_path, scenario_text(shrunk, number, pool, facts, rules, summaries))
    write_text(report_path, report_text(shrunk, number, pool, facts, rules, summaries, scenario_path.name))
    return WrittenFinding(number, scenario_path, report_path)


def summary_text(outcome: ExploreOutcome, facts: RunFacts, written: Sequence[WrittenFinding]) -> str:
    """The run's summary in Markdown: worlds, throughput, findings, errors."""
    options = outcome.options
    bound = f"{options.worlds} worlds" if options.worlds is not None else f"a budget of {options.budget_s:.0f} s"
    lines = ["# gateconform explore", "",
             f"- target: {facts.target} (proxy {facts.version or 'version unknown'})",
             f"- seed: {facts.seed}; bound: {bound}; concurrency {options.concurrency}; "
             f"steps {'on' if options.with_steps else 'off'}; sweep {'on' if options.sweep else 'off'}",
             f"- worlds tried: {outcome.worlds_run} in {outcome.explore_s:.0f} s "
             f"(**{outcome.worlds_per_minute:.1f} worlds/min**; proxy start {outcome.proxy_start_s:.0f} s before)",
             f"- checks judged: {outcome.checks}",
             f"- distinct findings: **{len(outcome.findings)}** (shrinking took {outcome.shrink_s:.0f} s)",
             f"- worlds with errors (not findings; the harness could not tell): {len(outcome.errors)}",
             f"- rerun: `{facts.command}`", ""]
    if outcome.stopped_by_budget:
        lines.insert(-1, f"- the budget ended the run before {options.worlds} worlds")
    for shrunk, files in zip(outcome.findings, written):
        lines.append(f"## Finding {files.number}: {shrunk.finding.signature.text}")
        lines += ["", f"- first seen in world {shrunk.finding.world_index + 1}; {shrunk.finding.seen} failing "
                  f"checks of the run had this signature",
                  f"- minimal world: `{files.scenario_path.name}`; report draft: `{files.report_path.name}`", ""]
    if outcome.errors:
        lines += ["## Errors", ""]
        lines += [f"- world {error.world_index + 1}: {error.message[:300]}" for error in outcome.errors[:20]]
        if len(outcome.errors) > 20:
            lines.append(f"- … and {len(outcome.errors) - 20} more")
    return "\n".join(lines) + "\n"


def summary_document(outcome: ExploreOutcome, facts: RunFacts, written: Sequence[WrittenFinding]) -> dict[str, Any]:
    """The run's summary as data (`summary.json`)."""
    return {
        "target": facts.target, "proxy_version": facts.version, "seed": facts.seed,
        "worlds": outcome.worlds_run, "explore_s": round(outcome.explore_s, 1),
        "worlds_per_minute": round(outcome.worlds_per_minute, 2), "proxy_start_s": round(outcome.proxy_start_s, 1),
        "shrink_s": round(outcome.shrink_s, 1), "checks": outcome.checks,
        "errors": [{"world": error.world_index + 1, "message": error.message} for error in outcome.errors],
        "findings": [
            {"number": files.number, "rules": list(shrunk.finding.signature.rules),
             "probe": shrunk.finding.signature.probe, "expected": shrunk.finding.signature.expected,
             "observed": shrunk.finding.signature.observed, "first_world": shrunk.finding.world_index + 1,
             "seen": shrunk.finding.seen, "shrink_rounds": shrunk.shrink.rounds,
             "shrink_runs": shrunk.shrink.candidates_run, "shrink_stopped_early": shrunk.shrink.stopped_early,
             "minimal_world": shrunk.shrink.world, "scenario": files.scenario_path.name,
             "report": files.report_path.name}
            for shrunk, files in zip(outcome.findings, written)
        ],
    }
