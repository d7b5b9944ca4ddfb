"""Verdicts: the judged result of one check, with the evidence it was drawn from.

`harness.judge` makes them from observations; the constructors here are the ones that need no
observation (a skipped check, a check that could not be observed).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from harness.model.check import Check, Judgement
from harness.model.observation import Observation
from harness.model.reasons import ErrorReason


class Outcome(str, Enum):
    """The result of one check."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"


@dataclass
class Verdict:
    """The judged result of one check, with the evidence it was drawn from.

    `message` is a sentence for people (paste it into an issue); `expected`/`observed` are
    short strings for tables. `check_id`/`title` copy the check's computed names so that
    reports reading only the results document have them. `error_reason` says, for an ERROR,
    what kept the harness from telling (None otherwise, and in documents written before it).
    """

    check: Check
    outcome: Outcome
    message: str
    observation: Observation | None
    expected: str
    observed: str
    check_id: str = ""
    title: str = ""
    error_reason: ErrorReason | None = None

    def __post_init__(self) -> None:
        self.check_id = self.check_id or self.check.id
        self.title = self.title or self.check.title


def expected_text(check: Check) -> str:
    """The short form of what a check expects: `allowed`, `denied` or `[a, b]`."""
    if check.judgement is Judgement.LISTING and check.agrees_with is not None:
        return f"as {check.agrees_with}"
    if check.judgement is Judgement.LISTING:
        parts = [list_text(sorted(check.listed))] if check.listed is not None else []
        if check.includes:
            parts.append(f"includes {list_text(sorted(check.includes))}")
        if check.excludes:
            parts.append(f"excludes {list_text(sorted(check.excludes))}")
        if check.no_wildcards:
            parts.append("no wildcards")
        if check.no_duplicates:
            parts.append("no duplicates")
        return "; ".join(parts) or "a listing"
    return check.expect.value if check.expect is not None else "?"


def error_verdict(check: Check, reason: str, observation: Observation | None = None, *,
                  error_reason: ErrorReason) -> Verdict:
    """An ERROR verdict for a check that could not be observed (e.g. provisioning failed).

    `reason` says why in words (the message); `error_reason` is the same as data.
    """
    return Verdict(
        check=check,
        outcome=Outcome.ERROR,
        message=f"{check.title}: {reason}",
        observation=observation,
        expected=expected_text(check),
        observed="error",
        error_reason=error_reason,
    )


def skipped_verdict(check: Check, observation: Observation | None = None) -> Verdict:
    """The SKIP verdict of a check marked to skip (`check.skip_reason`)."""
    return Verdict(check, Outcome.SKIP, f"{check.title}: skipped: {check.skip_reason}",
                   observation, expected_text(check), "skipped")


def list_text(names: list[str]) -> str:
    """`[a, b]`: a set of model names for tables and sentences."""
    return "[" + ", ".join(names) + "]"
