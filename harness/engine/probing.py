"""Probing a scenario in two rounds: the written checks, then the sweep's.

The sweep (`harness.oracle.sweep`) looks for routes that let a key through to a model the key
must not reach. When the scenario's own check of that model (`cannot_call`, on the default
route) already shows the model allowed, every other route can only repeat that finding: the
sweep's calls for that key and model are then not made, and their checks are skipped saying why.
That keeps the sweep's cost to what it can find (a scenario whose key is over-broad, like the
seed, would otherwise send every route a full upstream call for each model it gets wrongly).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Mapping, Sequence

from harness.common.abandonable import ConnectionGuard, Tally
from harness.common.redact import Redactor
from harness.judge import judge
from harness.model.check import Check, Expect, Judgement
from harness.model.observation import Observation
from harness.model.refusal import Refusal
from harness.model.verdict import Outcome
from harness.oracle.sweep import SWEEP
from harness.probes.registry import find
from harness.probes.run import companions_of, run_probes
from harness.targets.base import Endpoint

Probe = Callable[..., dict[str, Observation]]
#: Requests in flight at once in the sweep's round: its many small requests mostly wait on the
#: proxy (a refusal is cheap, its round trip is not), so more at once finish sooner (issue 11's
#: goal: the seed with the sweep at most 2 s above it without, benchmarks/sweep_cost.py).
SWEEP_CONCURRENCY = 16


def probe_written_then_swept(
    endpoint: Endpoint, keys: Mapping[str, str], checks: Sequence[Check], redactor: Redactor,
    refusals: Sequence[Refusal], *, guard: ConnectionGuard | None = None, tally: Tally | None = None,
    probe: Probe = run_probes,
) -> tuple[list[Check], dict[str, Observation]]:
    """Observe `checks`: the written ones first, then the sweep's that can still find something.

    Returns the checks (the sweep's calls for a model already seen allowed now skipped, with the
    reason) and the observations by check id. `probe` is `run_probes` (a seam for tests).
    """
    written = [check for check in checks if check.oracle != SWEEP]
    swept = [check for check in checks if check.oracle == SWEEP]
    observations = probe(endpoint, keys, written, redactor, guard=guard, tally=tally)
    if not swept:
        return list(checks), observations
    let_through = _already_allowed(written, observations, refusals)
    swept = [_skip_if_answered(check, let_through) for check in swept]
    observations.update(probe(endpoint, keys, [c for c in swept if c.skip_reason is None], redactor,
                              concurrency=SWEEP_CONCURRENCY, guard=guard, tally=tally,
                              companions=companions_of(checks)))
    return written + swept, observations


def _already_allowed(written: Sequence[Check], observations: Mapping[str, Observation],
                     refusals: Sequence[Refusal]) -> dict[tuple[str, str], str]:
    """(principal, model) → the request that let a written `cannot_call` check's model through."""
    found: dict[tuple[str, str], str] = {}
    for check in written:
        if check.judgement is not Judgement.CALL or check.expect is not Expect.DENIED or check.model is None:
            continue
        obs = observations.get(check.id)
        if obs is not None and judge(check, obs, refusals).outcome is Outcome.FAIL:
            kind = find(check.probe)
            found[(check.principal, check.model)] = kind.request_text(obs.url) if kind is not None else check.probe
    return found


def _skip_if_answered(check: Check, let_through: Mapping[tuple[str, str], str]) -> Check:
    if check.judgement is not Judgement.CALL or check.expect is not Expect.DENIED or check.model is None:
        return check
    request = let_through.get((check.principal, check.model))
    if request is None:
        return check
    return replace(check, skip_reason=f"not swept: {request} already lets {check.principal} call {check.model} "
                                      "(the sweep looks for routes that let through what that route denies)")
