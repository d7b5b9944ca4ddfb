"""A scenario's timeline on a running proxy: provision, then rounds, changes, waits and target
actions in order, every check judged where it happens.

A scenario written with `expect:` is a timeline of one round. Entities carrying `admin:` are
judged from the admin API's answers to their creation; every change of the timeline from the
answer to it. The world a round observes must be the one the scenario describes, so once it is
not — a creation or change did not go as expected, a feature is not available to this proxy
(its own words: a licence), a target action cannot be made here (no database of ours) — every
later check is skipped with that reason: a check is never passed in a world it was not written
for, and a skip is never a pass.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable, TypeVar

from harness.common.abandonable import ConnectionGuard, Tally
from harness.common.redact import Redactor
from harness.engine.watch import ProxyWatch
from harness.gateways.base import AdminAnswer, AdminClient, Gateway, Handles, Unavailable, WorldDiverged
from harness.judge import judge
from harness.model.check import Check, Expect, Judgement
from harness.model.observation import Observation
from harness.model.scenario import Scenario
from harness.model.steps import CHANGE_TYPES, RemoveRowStep, WaitStep, change_ids
from harness.model.verdict import Outcome, Verdict
from harness.engine.probing import probe_written_then_swept
from harness.probes.registry import default_kind
from harness.probes.run import read_body
from harness.targets.base import Endpoint

T = TypeVar("T")
#: How often a wait looks whether the work was abandoned meanwhile.
_WAIT_TICK_S = 0.1


@dataclass
class Timeline:
    """One scenario's timeline on one proxy (see the module docstring); `run()` gives its verdicts."""

    scenario: Scenario
    checks: list[Check]
    endpoint: Endpoint
    adapter: AdminClient
    handles: Handles
    gateway: Gateway
    redactor: Redactor
    watch: ProxyWatch
    guard: ConnectionGuard

    def run(self) -> list[Verdict]:
        """Provision, walk the steps, judge; verdicts in the order of `checks`."""
        self._verdicts: dict[str, Verdict] = {}
        self._diverged: str | None = None
        entities = _entity_count(self.scenario)
        try:
            self._watched("provisioning",
                          lambda: self.adapter.provision(self.scenario, self.handles.run_id, self.handles),
                          progress=lambda: f"{self.handles.created_count()} of {entities} entities created")
        except Unavailable as exc:
            self._diverged = exc.reason
        except WorldDiverged as exc:
            self._diverged = f"the world is not the scenario's: {exc}"
        self._judge_creations()
        steps = self.scenario.steps
        if steps is None:
            self._round(None)
        else:
            ids = change_ids(steps)
            rounds = {r.where: r.name for r in self.scenario.rounds()}
            for index, step in enumerate(steps):
                if ("steps", index, "expect") in rounds:
                    self._round(rounds[("steps", index, "expect")])
                elif isinstance(step, CHANGE_TYPES):
                    self._change(ids[index], step)
                elif isinstance(step, WaitStep):
                    self._wait(step)
                elif isinstance(step, RemoveRowStep):
                    self._remove_row(ids[index], step)
        return [self._verdicts.get(check.id) or self._skipped(check) for check in self.checks]

    # -- steps

    def _judge_creations(self) -> None:
        """The admin checks of declared entities, from the answers to their creation.

        An entity created though its refusal was expected is a failure, but the world still holds
        everything the rounds were written for (nothing may refer to such an entity): they go on.
        """
        for check in self._admin_checks():
            answer = self.handles.answers.get(check.principal)
            if answer is not None:
                self._admin_verdict(check, answer, diverges=not (answer.accepted and check.expect is Expect.REFUSED))

    def _round(self, name: str | None) -> None:
        """Probe and judge one round's checks (all skipped once the world diverged)."""
        checks = [c for c in self.checks if c.round == name and c.judgement is not Judgement.ADMIN]
        if self._diverged is not None:
            return  # skipped when the verdicts are collected
        answered = Tally("probes", "answered")
        step = "probing" if name is None else f"probing round {name} of"
        # the written checks, then the sweep's (those a written check already settled come back skipped)
        probed, observations = self._watched(
            step, lambda: probe_written_then_swept(self.endpoint, self.handles.keys, checks, self.redactor,
                                                   self.gateway.refusals, guard=self.guard, tally=answered),
            progress=lambda: answered)
        for check in probed:
            self._verdicts[check.id] = judge(check, observations.get(check.id), refusals=self.gateway.refusals)

    def _change(self, change_id: str, step: object) -> None:
        check = next((c for c in self._admin_checks() if c.principal == change_id), None)
        if self._diverged is not None or check is None:
            return
        answer = self._watched(f"changing ({change_id})", lambda: self.adapter.apply(step, self.handles))
        self._admin_verdict(check, answer)

    def _wait(self, step: WaitStep) -> None:
        if self._diverged is not None:
            return
        seconds = step.seconds()
        if seconds is None:
            seconds = self.gateway.cache_ttl_s(self.scenario.proxy_spec().settings) or 0.0
        self._watched(f"waiting {seconds:g} s in", lambda: self._sleep(seconds))

    def _remove_row(self, change_id: str, step: RemoveRowStep) -> None:
        if self._diverged is not None:
            return
        kind, name = step.remove_row.named[0]
        if self.endpoint.database is None:
            self._diverged = (f"{change_id} needs the proxy's database, which this target does not let the "
                              "harness reach (use a local or Docker target)")
            return
        entity = self.handles.id_of(kind, name)
        statement = self.gateway.row_removal(kind, entity) if entity is not None else None
        if statement is None:
            self._diverged = f"{change_id}: the {self.gateway.title} database has no row for {kind} '{name}' here"
            return
        database = self.endpoint.database
        try:
            self._watched(f"removing a row ({change_id})", lambda: database(statement))
        except Exception as exc:  # noqa: BLE001 - a failed target action ends the timeline, not the run
            self._diverged = f"{change_id} failed: {self.redactor.redact(str(exc))[:300]}"
            return
        self.handles.forget(kind, name)

    # -- helpers

    def _admin_checks(self) -> list[Check]:
        return [c for c in self.checks if c.judgement is Judgement.ADMIN]

    def _admin_verdict(self, check: Check, answer: AdminAnswer, diverges: bool = True) -> None:
        """Judge an admin check from its answer; a licence refusal skips it, any other surprise
        ends the world the later checks were written for (unless `diverges` is False)."""
        reason = self.adapter.unavailable(answer)
        if reason is not None:
            self._verdicts[check.id] = judge(replace(check, skip_reason=reason), None, refusals=self.gateway.refusals)
            self._diverged = self._diverged or reason
            return
        verdict = judge(check, self._observe(check, answer), refusals=self.gateway.refusals)
        self._verdicts[check.id] = verdict
        if verdict.outcome is not Outcome.PASS and diverges and self._diverged is None:
            self._diverged = f"the world is not the scenario's after {check.principal}: {verdict.message}"

    def _observe(self, check: Check, answer: AdminAnswer) -> Observation:
        """The observation of an admin call, read as a probe's answer is."""
        kind = default_kind(Judgement.ADMIN)
        obs = Observation(probe=check.probe, principal=check.principal, model=None, status=answer.status,
                          transport_error=answer.transport_error, url=answer.call)
        if answer.status is not None:
            read_body(obs, answer.text.encode(), self.redactor, kind.shapes)
        return obs

    def _skipped(self, check: Check) -> Verdict:
        reason = self._diverged or "the timeline did not reach it"
        return judge(replace(check, skip_reason=reason), None, refusals=self.gateway.refusals)

    def _watched(self, step: str, work: Callable[[], T], progress: Callable[[], object] | None = None) -> T:
        return self.watch.run(step, self.guard, work, progress=progress)

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.guard.reason is None:
            time.sleep(min(_WAIT_TICK_S, max(0.0, deadline - time.monotonic())))


def _entity_count(scenario: Scenario) -> int:
    """How many entities provisioning creates (memberships are calls, not entities)."""
    return (len(scenario.organizations) + len(scenario.access_groups) + len(scenario.teams)
            + sum(1 for m in scenario.models if m.team is not None) + len(scenario.users)
            + sum(1 for u in scenario.users if u.key is not None) + len(scenario.keys))

