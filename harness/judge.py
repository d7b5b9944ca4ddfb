"""judge(): turn a check and what its probe saw into a verdict, failing closed.

"Allowed" and "denied" are both claims that need evidence from two sides:
- allowed = a 2xx well-formed completion AND the fake upstream received the call for that model;
- denied  = one of the gateway's refusals (`harness.model.refusal`, `Gateway.refusals`: e.g. 401/403,
  or 404 auth_error) with the gateway's error shape AND the upstream received nothing.
Where no recording upstream was behind the proxy (a url target without one; the observation
says `upstream_observed: false`), the upstream's half of the evidence does not exist: allowed and
denied then rest on the answer alone, and the verdict's message says so ("upstream not observed").
Everything else (5xx, timeouts, other 4xx, odd bodies, a denial after the upstream was
called) is an ERROR: the harness cannot tell, so it never reports a pass or a "denied".

There is one rule per judgement (`Judgement.LISTING`, `Judgement.CALL`); the check's probe
kind (`harness.probes.registry`) says which, and what its 2xx must look like ("a chat
completion", "a model list"). A check of a kind nobody registered is an ERROR too.

Beyond chat: a kind whose requests do not reach the upstream (a token counter) is allowed by its
2xx answer alone; a kind that names an allowed companion model next to the checked one counts
the upstream serving only the companion as the checked model not reached. A listing check that
agrees with another route (`Check.agrees_with`) expects what that route listed for the same
principal; when its own route refuses the principal outright there is nothing to compare, and
it is skipped saying so. A 2xx of a denied call is a *bypass* when the upstream got the call.
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

from harness.model.check import Check, Expect, Judgement
from harness.model.observation import DEADLINE_PASSED, SHAPE_ERROR, STOPPED_ANSWERING, Observation, UpstreamHit
from harness.model.reasons import ErrorReason
from harness.model.refusal import Refusal, describe
from harness.model.verdict import Outcome, Verdict, error_verdict, expected_text, list_text, skipped_verdict
from harness.probes.kind import ProbeKind
from harness.probes.registry import find, reaches_upstream

_MAX_ERROR_TEXT = 200  # characters of the gateway's error message quoted in a verdict message
#: What a verdict's evidence says when no recording upstream was behind the proxy (a url target).
UPSTREAM_NOT_OBSERVED = "upstream not observed: the proxy's answer alone"


def judge(check: Check, observation: Observation | None, refusals: Sequence[Refusal]) -> Verdict:
    """Judge one check against its observation (fail closed: doubt is ERROR, never PASS).

    `refusals`: the answers of the target's gateway that count as denied (`Gateway.refusals`).
    """
    expected = expected_text(check)
    if check.skip_reason is not None:
        return skipped_verdict(check, observation)
    kind = find(check.probe)
    if kind is None:
        return error_verdict(check, f"no probe kind named '{check.probe}' is registered", observation,
                             error_reason=ErrorReason.UNKNOWN_PROBE_KIND)
    if observation is None:
        return error_verdict(check, "no observation was recorded (the probe did not run)",
                             error_reason=ErrorReason.NO_OBSERVATION)
    if (observation.probe != check.probe or observation.principal != check.principal
            or observation.variant != check.variant or kind.judgement is not check.judgement):
        return error_verdict(check, "observation belongs to another probe (harness bug)", observation,
                             error_reason=ErrorReason.HARNESS_BUG)
    if observation.transport_error is not None or observation.status is None:
        reason = observation.transport_error or "no HTTP response"
        short, why = _short_transport(reason)
        return _error(check, observation, expected, short, f"{reason}, so access is unknown", why)
    return _RULES[kind.judgement](kind, check, observation, expected, refusals)


def _judge_call(kind: ProbeKind, check: Check, obs: Observation, expected: str,
                refusals: Sequence[Refusal]) -> Verdict:
    status = obs.status
    assert status is not None
    hits = obs.upstream_hits
    model_hits = [hit for hit in hits if serves(hit, check)]
    answer = kind.answer_for(check.variant)

    if 200 <= status < 300:
        if obs.shape != answer.name:
            return _error(check, obs, expected, f"malformed {status}",
                          f"HTTP {status} came with a body that is not {answer.described}",
                          ErrorReason.ODD_BODY)
        if model_hits or not kind.reaches_upstream:
            return _allowed(check, obs, expected, model_hits)
        if obs.upstream_unknown:  # without a recording upstream the answer is all there is
            if check.served_by:
                return _error(check, obs, expected, f"{status}, deployment unseen",
                              "which deployment served the call cannot be seen without a recording upstream",
                              ErrorReason.NO_UPSTREAM_CALL)
            return _allowed(check, obs, expected, [])
        if hits and obs.companion is not None and all(obs.companion in (hit.model, hit.deployment) for hit in hits):
            # The gateway served the allowed companion: the checked model never reached the upstream.
            outcome = Outcome.PASS if check.expect is Expect.DENIED else Outcome.FAIL
            message = (f"{check.title}: expected {expected}, observed {obs.companion} served instead "
                       f"({_evidence(obs)})")
            return Verdict(check, outcome, message, obs, expected, f"served {obs.companion} ({status})")
        if hits:
            other = ", ".join(sorted({_hit_name(hit) for hit in hits}))
            return _error(check, obs, expected, f"{status}, wrong model",
                          f"HTTP {status} came while the upstream was asked for {other}, not {check.model}",
                          ErrorReason.WRONG_MODEL)
        return _error(check, obs, expected, f"{status} without upstream call",
                      f"HTTP {status} came without a call to the upstream; "
                      "a cached or foreign answer does not prove access", ErrorReason.NO_UPSTREAM_CALL)

    candidates = [refusal for refusal in refusals if refusal.status == status]
    if candidates:
        if hits:
            return _error(check, obs, expected, f"{status} after upstream call",
                          f"HTTP {status} came after the upstream was called; "
                          "a denial must not reach the provider", ErrorReason.UPSTREAM_CALLED_AFTER_REFUSAL)
        if obs.shape != SHAPE_ERROR:
            return _error(check, obs, expected, f"{status}, odd body",
                          f"HTTP {status} came without the gateway's error shape "
                          '({"error": {"message", "type"}}), so it is not a recognisable denial',
                          ErrorReason.ODD_BODY)
        if any(refusal.accepts(status, obs.error_type) for refusal in candidates):
            return _denied(check, obs, expected)

    what = ("a server error" if status >= 500
            else f"neither allowed (2xx) nor a refusal ({describe(refusals)})")
    why = ErrorReason.SERVER_ERROR if status >= 500 else ErrorReason.UNEXPECTED_STATUS
    return _error(check, obs, expected, f"HTTP {status}", f"HTTP {status} is {what}", why)


def serves(hit: UpstreamHit, check: Check) -> bool:
    """Whether an upstream hit is the call `check` asks about: at a deployment that serves its
    model (the check's `deployments`, else the model's own), or, from an upstream that records no
    deployment, for the model by name."""
    if hit.deployment is None:
        return hit.model == check.model
    return hit.deployment in (check.deployments if check.deployments is not None else {check.model})


def _hit_name(hit: UpstreamHit) -> str:
    if hit.deployment is not None and hit.deployment != hit.model:
        return f"{hit.model or '?'} (deployment {hit.deployment})"
    return hit.model or "?"


def _allowed(check: Check, obs: Observation, expected: str, hits: list[UpstreamHit]) -> Verdict:
    """An allowed call: as expected unless denial was expected or the wrong deployment served it."""
    if check.expect is Expect.DENIED:
        return _judged(check, obs, Outcome.FAIL, expected, "allowed")
    served = sorted({hit.deployment or "?" for hit in hits})
    if check.served_by and not any(hit.deployment in check.served_by for hit in hits):
        return _judged(check, obs, Outcome.FAIL, expected, f"allowed, served by {', '.join(served)}")
    seen = f"allowed, served by {', '.join(served)}" if check.served_by else "allowed"
    return _judged(check, obs, Outcome.PASS, expected, seen)


def _denied(check: Check, obs: Observation, expected: str) -> Verdict:
    """A recognised refusal: as expected unless allowed was expected or it is not the kind asked for."""
    if check.expect is Expect.ALLOWED:
        return _judged(check, obs, Outcome.FAIL, expected, "denied")
    if check.expect is Expect.DENIED:
        wrong = _denial_mismatch(check, obs)
        if wrong:
            return _judged(check, obs, Outcome.FAIL, expected, f"denied, but {wrong}")
    return _judged(check, obs, Outcome.PASS, expected, "denied")


def _denial_mismatch(check: Check, obs: Observation) -> str:
    """How a denial differs from the kind the check asks for (empty: it does not)."""
    wrong = []
    if check.denial_status is not None and obs.status != check.denial_status:
        wrong.append(f"with HTTP {obs.status}, not {check.denial_status}")
    if check.denial_type is not None and obs.error_type != check.denial_type:
        wrong.append(f"of type {obs.error_type or 'none'}, not {check.denial_type}")
    if check.denial_message is not None and not re.search(check.denial_message, obs.error_message or ""):
        wrong.append(f"its message does not match /{check.denial_message}/")
    return "; ".join(wrong)


def _judge_listing(kind: ProbeKind, check: Check, obs: Observation, expected: str,
                   refusals: Sequence[Refusal]) -> Verdict:
    want = check.listed
    if check.agrees_with is not None:  # what that route listed is the expected set
        if obs.reference_models is None:
            return _judge_against_refused_reference(kind, check, obs, expected, refusals)
        want = frozenset(obs.reference_models)
        expected = f"as {check.agrees_with}: {list_text(sorted(_only_checked(kind, check, want)))}"
    want = _only_checked(kind, check, want) if want is not None else None
    listed = obs.listed_models
    not_found = kind.missing_status is not None and obs.status == kind.missing_status and obs.error_message is not None
    # A listing is not a call: any answer but a 200 with a list is an ERROR, a refusal too, except
    # a refusal of a route compared with another (nothing to compare) and a "not found" of one model.
    if (obs.status != 200 or listed is None) and not not_found:
        if obs.status == 200:
            return _error(check, obs, expected, "odd 200",
                          f"HTTP 200 came with a body that is not {kind.answer.described}", ErrorReason.ODD_BODY)
        if check.agrees_with is not None and _is_refusal(obs, refusals):
            return Verdict(check, Outcome.SKIP, f"{check.title}: skipped: {kind.request_text(obs.url)} refuses "
                           f"this key ({_evidence(obs)}), so it lists nothing to compare", obs, expected, "refused")
        why = ErrorReason.SERVER_ERROR if (obs.status or 0) >= 500 else ErrorReason.UNEXPECTED_STATUS
        return _error(check, obs, expected, f"HTTP {obs.status}",
                      f"got HTTP {obs.status} instead of {kind.answer.noun}", why)

    listed = listed if listed is not None and not not_found else []
    unique = list(dict.fromkeys(listed))  # keep the proxy's order for "extra"
    observed = list_text(sorted(unique))
    duplicates = sorted({name for name in listed if listed.count(name) > 1})
    note = f"; listed more than once: {', '.join(duplicates)}" if duplicates and not check.no_duplicates else ""

    parts = []
    if want is not None:
        missing = sorted(want - set(unique))
        extra = [name for name in unique if name not in want]
        if missing:
            parts.append(f"missing: {', '.join(missing)}")
        if extra:
            parts.append(f"extra: {', '.join(extra)}")
    if check.includes:
        absent = sorted(check.includes - set(unique))
        if absent:
            parts.append(f"not listed: {', '.join(absent)}")
    if check.excludes:
        present = [name for name in unique if name in check.excludes]
        if present:
            parts.append(f"listed though excluded: {', '.join(present)}")
    if check.no_wildcards:
        wildcards = [name for name in unique if "*" in name]
        if wildcards:
            parts.append(f"wildcard ids: {', '.join(wildcards)}")
    if check.no_duplicates and duplicates:
        parts.append(f"listed more than once: {', '.join(duplicates)}")

    if not parts:
        what = "listed exactly the expected models" if want is not None else "the listing is as expected"
        return Verdict(check, Outcome.PASS, f"{check.title}: {what} (HTTP {obs.status}{note})", obs, expected, observed)
    return Verdict(check, Outcome.FAIL,
                   f"{check.title}: {'; '.join(parts)} (HTTP {obs.status} listed {observed}{note})",
                   obs, expected, observed)


def _judge_admin(kind: ProbeKind, check: Check, obs: Observation, expected: str,
                 refusals: Sequence[Refusal]) -> Verdict:
    """An admin call: accepted (2xx) or refused (4xx) as expected; a 5xx is not a refusal."""
    status = obs.status
    assert status is not None
    if 200 <= status < 300:
        seen = "accepted"
    elif 400 <= status < 500:
        seen = "refused"
    else:
        what = "a server error" if status >= 500 else "neither an acceptance (2xx) nor a refusal (4xx)"
        why = ErrorReason.SERVER_ERROR if status >= 500 else ErrorReason.UNEXPECTED_STATUS
        return _error(check, obs, expected, f"HTTP {status}", f"HTTP {status} is {what}", why)
    outcome = Outcome.PASS if seen == expected else Outcome.FAIL
    return _judged(check, obs, outcome, expected, seen)
def _only_checked(kind: ProbeKind, check: Check, names: frozenset[str]) -> frozenset[str]:
    """`names` as one model's check sees them: a kind that lists one model at a time (a retrieve
    route) is about its checked model only."""
    if kind.takes_model and check.model is not None:
        return names & {check.model}
    return names


def _judge_against_refused_reference(kind: ProbeKind, check: Check, obs: Observation, expected: str,
                                     refusals: Sequence[Refusal]) -> Verdict:
    """A listing compared with a route that listed nothing: the route agrees if it refuses the key too.

    Only a refusal of the key at the reference (a blocked key's `/v1/models`: 401 auth_error) has
    a meaning: the compared route then agrees by refusing as well (SKIP: nothing to compare) and
    disagrees by listing models the reference refuses this key (FAIL). Anything else at the
    reference (5xx, timeout, odd body) is an ERROR: nothing can be judged against it.
    """
    reference_refused = obs.reference_status is not None and any(
        refusal.accepts(obs.reference_status, obs.reference_error_type) for refusal in refusals)
    if not reference_refused:
        return _error(check, obs, expected, "no reference",
                      f"{check.agrees_with} gave no model list to compare with", ErrorReason.NO_REFERENCE_LISTING)
    refused_there = (f"{check.agrees_with} refuses this key (HTTP {obs.reference_status} "
                     f"{obs.reference_error_type or ''}: {obs.reference_error_message or ''})".replace(" :", ":"))
    expected = f"as {check.agrees_with}: refused"
    if obs.status == 200 and obs.listed_models is not None:
        shown = sorted(_only_checked(kind, check, frozenset(obs.listed_models)))
        if shown:
            return Verdict(check, Outcome.FAIL, f"{check.title}: expected {expected}, observed listed "
                           f"{list_text(shown)} though {refused_there} ({_evidence(obs)})",
                           obs, expected, f"listed {list_text(shown)}")
    if _is_refusal(obs, refusals):
        return Verdict(check, Outcome.SKIP, f"{check.title}: skipped: {refused_there}, and so does "
                       f"{kind.request_text(obs.url)} ({_evidence(obs)}): nothing to compare", obs, expected, "refused")
    not_found = kind.missing_status is not None and obs.status == kind.missing_status and obs.error_message is not None
    if not_found or (obs.status == 200 and obs.listed_models is not None):
        return Verdict(check, Outcome.SKIP, f"{check.title}: skipped: {refused_there}, and "
                       f"{kind.request_text(obs.url)} lists none of the checked models ({_evidence(obs)})",
                       obs, expected, "lists none")
    why = ErrorReason.SERVER_ERROR if (obs.status or 0) >= 500 else ErrorReason.UNEXPECTED_STATUS
    return _error(check, obs, expected, f"HTTP {obs.status}",
                  f"got HTTP {obs.status} instead of {kind.answer.noun}, and {refused_there}", why)


def _is_refusal(obs: Observation, refusals: Sequence[Refusal]) -> bool:
    """Whether `obs` is one of the gateway's refusals (its status, its error shape and type)."""
    return obs.status is not None and obs.shape == SHAPE_ERROR and any(
        refusal.accepts(obs.status, obs.error_type) for refusal in refusals)


_Rule = Callable[[ProbeKind, Check, Observation, str, Sequence[Refusal]], Verdict]
#: One rule per judgement; a probe kind picks one by declaring its judgement.
_RULES: dict[Judgement, _Rule] = {
    Judgement.LISTING: _judge_listing, Judgement.CALL: _judge_call, Judgement.ADMIN: _judge_admin,
}


def _judged(check: Check, obs: Observation, outcome: Outcome, expected: str, seen: str) -> Verdict:
    """PASS or FAIL: `<title>: expected denied, observed allowed (HTTP 200, upstream ...)`."""
    message = f"{check.title}: expected {expected}, observed {seen} ({_evidence(obs)})"
    return Verdict(check, outcome, message, obs, expected, f"{seen} ({obs.status})")


def _error(check: Check, obs: Observation, expected: str, observed: str, why: str,
           reason: ErrorReason) -> Verdict:
    """ERROR: `<title>: expected allowed, but HTTP 500 is a server error (evidence)`; `reason` as data."""
    evidence = _evidence(obs, with_status=False)
    message = f"{check.title}: expected {expected}, but {why}"
    if evidence:
        message += f" ({evidence})"
    return Verdict(check, Outcome.ERROR, message, obs, expected, observed, error_reason=reason)


def _evidence(obs: Observation, with_status: bool = True) -> str:
    """`HTTP 401, upstream received nothing; key_model_access_denied: <message>`."""
    parts = []
    if with_status and obs.status is not None:
        parts.append(f"HTTP {obs.status}")
    if reaches_upstream(obs.probe):
        hits = obs.upstream_hits
        if obs.upstream_unknown:
            parts.append(UPSTREAM_NOT_OBSERVED)
        elif not hits:
            parts.append("upstream received nothing")
        else:
            parts.append(f"upstream received {len(hits)} request{'s' if len(hits) != 1 else ''}")
    text = ", ".join(parts)
    error = _error_text(obs)
    if error:
        text = f"{text}; {error}" if text else error
    return text


def _error_text(obs: Observation) -> str:
    """`key_model_access_denied: <message>` from the error body, if there was one."""
    if obs.error_type is None and obs.error_message is None:
        return ""
    message = obs.error_message or ""
    if len(message) > _MAX_ERROR_TEXT:
        message = message[:_MAX_ERROR_TEXT] + "…"
    label = obs.error_type or "error"
    return f"{label}: {message}" if message else label


def _short_transport(reason: str) -> tuple[str, ErrorReason]:
    """The short `observed` text and the typed reason of a probe that got no HTTP response.

    The probe words its transport error (`harness.probes.run`, the engine's abandonment reasons);
    this is the one place that reads those words.
    """
    if reason.startswith("timeout"):
        return "timeout", ErrorReason.TIMEOUT
    if reason.startswith(STOPPED_ANSWERING):
        return "proxy stopped answering", ErrorReason.PROXY_STOPPED_ANSWERING
    if reason.startswith(DEADLINE_PASSED):
        return "deadline passed", ErrorReason.DEADLINE_PASSED
    if reason.startswith("not provisioned"):
        return "not provisioned", ErrorReason.NOT_PROVISIONED
    return "no response", ErrorReason.TRANSPORT_ERROR
