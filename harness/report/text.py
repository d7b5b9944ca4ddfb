"""Plain-text forms of a verdict shared by JUnit, Allure and the pytest plugin."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from harness.model.check import Expect, Judgement
from harness.model.verdict import Verdict
from harness.probes.registry import reaches_upstream

BODY_LIMIT = 500  # characters of the body excerpt quoted in a failure text

_VERDICT = TypeAdapter(Verdict)


def evidence_text(verdict: Verdict, body_limit: int = BODY_LIMIT) -> str:
    """The verdict sentence and its evidence, one fact a line (a failure's long text)."""
    lines = [verdict.message, f"  expected: {verdict.expected}", f"  observed: {verdict.observed}"]
    obs = verdict.observation
    if obs is not None:
        if obs.status is not None:
            lines.append(f"  HTTP status: {obs.status}")
        if obs.transport_error:
            lines.append(f"  no response: {obs.transport_error}")
        if reaches_upstream(obs.probe) and obs.upstream_unknown:
            lines.append("  upstream requests: not observed (no recording upstream behind the proxy)")
        elif reaches_upstream(obs.probe):
            lines.append(f"  upstream requests: {len(obs.upstream_hits)}")
        if obs.body_excerpt:
            body = obs.body_excerpt
            if len(body) > body_limit:
                body = body[:body_limit] + "…"
            lines.append(f"  body: {body}")
    if verdict.check.skip_reason:
        lines.append(f"  skipped: {verdict.check.skip_reason}")
    lines.append(f"  check: {verdict.check_id}")
    return "\n".join(lines)


def verdict_data(verdict: Verdict) -> dict[str, Any]:
    """The verdict as it appears in the results document (JSON-ready, sets sorted)."""
    data = _VERDICT.dump_python(verdict, mode="json")
    check = data.get("check")
    if isinstance(check, dict) and isinstance(check.get("listed"), list):
        check["listed"] = sorted(check["listed"])
    return data


def severity(verdict: Verdict) -> str:
    """Allure severity of a check: a key reaching a model it must not is the worst kind."""
    check = verdict.check
    if check.judgement is Judgement.CALL and check.expect is Expect.DENIED:
        return "critical"
    return "normal"
