"""Small wordings every report shares: outcome order, anchors, issue labels, durations and times."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from harness.model.results import EVIDENCE_RESPONSE_ONLY

# Reports list what needs attention first: a regression, then "could not tell", then the rest.
OUTCOME_ORDER = {"fail": 0, "error": 1, "skip": 2, "pass": 3}

_GITHUB_ISSUE = re.compile(r"^https://github\.com/([^/\s]+/[^/\s]+)/(?:issues|pull)/(\d+)/?$")


#: What every report says of a run whose evidence is weaker than the harness's usual (`RunResult.evidence`).
EVIDENCE_NOTES = {
    EVIDENCE_RESPONSE_ONLY: (
        "Weaker evidence: no recording upstream was behind this proxy, so 'allowed' and 'denied' rest on the "
        "proxy's answers alone, not on what reached the provider (point the proxy's test models at "
        "`gateconform upstream serve` for full evidence)."
    ),
}


def evidence_note(evidence: str | None) -> str | None:
    """The sentence a report shows for the run's evidence; None for full evidence."""
    return EVIDENCE_NOTES.get(evidence or "")
def install_notes(version: str | None, substitutions: list[str] | None, deps_dating: str | None) -> list[str]:
    """What a run installed other than the release as published, as every report says it.

    `1.110.2 with substitutions: <companion> 0.4.114.post1 → 0.4.110 (…); …` and
    `dependencies dated at its first pre-release … (before it: …)`; nothing for a plain install.
    """
    notes = []
    if substitutions:
        notes.append(f"{version or 'the release'} with substitutions: {'; '.join(substitutions)}")
    if deps_dating:
        notes.append(deps_dating)
    return notes


def shown_overall(overall: str, counts: dict[str, int]) -> str:
    """The document's overall verdict, except that nothing-but-skips shows as `skip`.

    The document counts an all-skipped scenario as passing (it must not fail a gate); a
    reader should still see at a glance that nothing was actually checked.
    """
    if overall == "pass" and not counts.get("pass") and counts.get("skip"):
        return "skip"
    return overall


def outcome_rank(outcome: str) -> int:
    """Sort key putting fail, error, skip, pass in that order."""
    return OUTCOME_ORDER.get(outcome, len(OUTCOME_ORDER))


def anchor_for(check_id: str) -> str:
    """A stable HTML id for a check (the same check gets the same id in every run)."""
    return "c-" + hashlib.sha1(check_id.encode("utf-8")).hexdigest()[:12]


def issue_label(url: str | None) -> str | None:
    """`owner/repo#23850` for a GitHub issue or PR address, else the address itself."""
    if not url:
        return None
    match = _GITHUB_ISSUE.match(url.strip())
    return f"{match.group(1)}#{match.group(2)}" if match else url


def duration_text(seconds: float | None) -> str:
    """`84 s`, `2 min 5 s`, `340 ms`; empty when unknown."""
    if seconds is None or seconds < 0:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except ValueError:
        return None


def timestamp_text(value: str | None) -> str:
    """`2026-11-26 22:25:31 UTC` from an ISO timestamp (as written, no local time zone)."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    zone = "UTC" if moment.utcoffset() is not None and not moment.utcoffset() else moment.strftime("%z")
    return f"{moment.strftime('%Y-%m-%d %H:%M:%S')} {zone}".strip()
