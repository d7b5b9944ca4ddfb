"""The oracle modes: where a scenario's checks come from (`oracle:` in the file, `run --oracle`).

- `explicit`: the checks the scenario writes (`harness.oracle.explicit.checks_for`);
- `derived`: the scenario's admin checks (creations and changes, which also drive its timeline)
  and every check the gateway's documented rules derive (`harness.oracle.derived`);
- `both`: the written checks, judged as written, and the derived ones where nothing is written;
  a derived expectation that contradicts a written one is not a check but a `Contradiction`, a
  finding about the docs or the scenario.

The sweep (`harness.oracle.sweep`) then works on the union, as it does on written checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.model.check import Check, Expect, Judgement
from harness.model.derivation import Derived, Rule
from harness.model.scenario import BOTH, DERIVED, EXPLICIT, ORACLE_MODES, Scenario
from harness.oracle.derived import derived_checks
from harness.oracle.explicit import checks_for


@dataclass(frozen=True)
class Contradiction:
    """A derived expectation that disagrees with the written one of the same check."""

    check_id: str
    written: str  # the written expectation, in words
    derived: str  # the derived one, in words
    summary: str  # the rule chain that derived it

    def as_entry(self) -> dict:
        return {"check_id": self.check_id, "written": self.written, "derived": self.derived,
                "summary": self.summary}


@dataclass
class OracleOutput:
    """The checks to run, the cases the docs leave open, and the contradictions found (`both`)."""

    checks: list[Check]
    undetermined: list[Derived] = field(default_factory=list)
    contradictions: list[Contradiction] = field(default_factory=list)
    #: every documented rule a derivation used, by id (for the reports' doc links)
    rules: dict[str, Rule] = field(default_factory=dict)


def mode_of(scenario: Scenario, mode: str | None) -> str:
    """The mode a run uses: `mode` when given (the command line's), else the scenario's own."""
    chosen = mode or scenario.oracle
    if chosen not in ORACLE_MODES:
        raise ValueError(f"unknown oracle mode {chosen!r} (one of {', '.join(ORACLE_MODES)})")
    return chosen


def checks_for_mode(scenario: Scenario, mode: str | None, gateway: object | None = None,
                    version: str | None = None) -> OracleOutput:
    """The checks of `scenario` in oracle `mode` (None: its own `oracle:`) on `gateway`'s release `version`."""
    chosen = mode_of(scenario, mode)
    written = checks_for(scenario)
    if chosen == EXPLICIT:
        return OracleOutput(written)
    derived = derived_checks(scenario, getattr(gateway, "semantics", None), version)
    rules = {use.rule.id: use.rule for item in derived.derived for use in item.chain}
    if chosen == DERIVED:
        admin = [check for check in written if check.judgement is Judgement.ADMIN]
        return OracleOutput(admin + derived.checks, derived.undetermined, rules=rules)
    assert chosen == BOTH
    by_id = {check.id: check for check in written}
    added: list[Check] = []
    contradictions: list[Contradiction] = []
    for check in derived.checks:
        mine = by_id.get(check.id)
        if mine is None:
            added.append(check)
            continue
        disagreement = disagreement_of(mine, check)
        if disagreement is not None:
            contradictions.append(Contradiction(check.id, disagreement[0], disagreement[1], check.derivation or ""))
    return OracleOutput(written + added, derived.undetermined, contradictions, rules)


def disagreement_of(written: Check, derived: Check) -> tuple[str, str] | None:
    """(written, derived) in words when the derived expectation contradicts the written one, else None.

    An `either` call agrees with both outcomes; a listing disagrees when the derived set is not the
    written exact set, lacks a name the written one includes, or holds one it excludes.
    """
    if derived.judgement is Judgement.CALL:
        if written.expect in (None, Expect.EITHER) or written.expect == derived.expect:
            return None
        return str(written.expect.value), str(derived.expect.value if derived.expect else None)
    if derived.judgement is not Judgement.LISTING or derived.listed is None:
        return None
    listed = derived.listed
    problems = []
    if written.listed is not None and written.listed != listed:
        problems.append(f"lists exactly {_words(written.listed)}")
    if written.includes and not written.includes <= listed:
        problems.append(f"lists {_words(written.includes - listed)}")
    if written.excludes and written.excludes & listed:
        problems.append(f"does not list {_words(written.excludes & listed)}")
    if not problems:
        return None
    return "; ".join(problems), f"lists exactly {_words(listed)}"


def _words(names: frozenset[str]) -> str:
    return "[" + ", ".join(sorted(names)) + "]"
