"""The expected-failures file: checks known to fail, each with why (and an issue), read strictly.

A YAML list of `{check: <check id>, why: <text>, issue?: <url>}`; `*` in a check id matches any
characters (`issue-23850::svc::*`). Every problem is reported with its line before anything
starts, as for scenario files.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

from harness.common.spelling import closest_spelling
from harness.model.problems import FileProblem
from harness.probes.registry import names as probe_kind_names
from harness.scenario import bounded_yaml

#: `report(line, field, message)`: how the file parser records one problem
Report = Callable[[int | None, str | None, str], None]
ENTRY_FIELDS = ("check", "why", "issue")


@dataclass(frozen=True)
class ExpectedFailure:
    """One entry of the expected-failures file."""

    check: str  # a check id; `*` matches any characters
    why: str
    issue: str | None = None
    line: int | None = None  # where the entry starts in its file (for "remove it" messages)

    @property
    def is_pattern(self) -> bool:
        return "*" in self.check

    def matches(self, check_id: str) -> bool:
        """True when this entry names `check_id` (exactly, or by its `*` pattern)."""
        if not self.is_pattern:
            return check_id == self.check
        # fnmatch would also treat [ and ? specially; only * is documented, so escape the rest
        escaped = "".join(f"[{c}]" if c in "[]?" else c for c in self.check)
        return fnmatch.fnmatchcase(check_id, escaped)


@dataclass
class ExpectedFailures:
    """The entries of one expected-failures file, in file order."""

    entries: list[ExpectedFailure] = field(default_factory=list)
    path: str = "<string>"

    def entry_for(self, check_id: str) -> ExpectedFailure | None:
        """The first entry naming `check_id` (exact ids before patterns), or None."""
        exact = next((e for e in self.entries if not e.is_pattern and e.matches(check_id)), None)
        return exact or next((e for e in self.entries if e.is_pattern and e.matches(check_id)), None)

    def where(self, entry: ExpectedFailure) -> str:
        """`known.yaml:12`, for messages that send the user to the entry."""
        return f"{self.path}:{entry.line}" if entry.line else self.path


class ExpectedFailuresProblem(FileProblem):
    """One problem in an expected-failures file, printed like the scenario loader's."""


class ExpectedFailuresError(Exception):
    """The expected-failures file is unusable; `problems` lists every problem found."""

    def __init__(self, problems: list[ExpectedFailuresProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def load_expected_failures(path: str | Path) -> ExpectedFailures:
    """Read and validate an expected-failures file; raise `ExpectedFailuresError` listing problems."""
    try:
        text = bounded_yaml.read_text(path)
    except bounded_yaml.YamlLimitError as exc:
        raise ExpectedFailuresError([ExpectedFailuresProblem(str(path), exc.line, None, exc.message)]) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        problem = ExpectedFailuresProblem(str(path), None, None, f"cannot read: {reason}")
        raise ExpectedFailuresError([problem]) from None
    return parse_expected_failures(text, str(path))


def parse_expected_failures(text: str, path: str = "<string>") -> ExpectedFailures:
    """Validate expected-failures YAML given as text (`path` only names it in messages)."""
    problems: list[ExpectedFailuresProblem] = []

    def report(line: int | None, where: str | None, message: str) -> None:
        problems.append(ExpectedFailuresProblem(path, line, where, message))

    try:
        root = bounded_yaml.compose(text)  # refuses alias bombs and the like before any walk
    except bounded_yaml.YamlLimitError as exc:
        report(exc.line, None, exc.message)
        raise ExpectedFailuresError(problems) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or str(exc)
        report(mark.line + 1 if mark else None, None, f"YAML syntax error: {reason}")
        raise ExpectedFailuresError(problems) from None
    if root is None:  # an empty file: nothing is expected to fail
        return ExpectedFailures([], path)
    if not isinstance(root, yaml.SequenceNode):
        report(_line(root), None, "expected a list of entries like '- check: <check id>\\n  why: <reason>'")
        raise ExpectedFailuresError(problems)

    entries: list[ExpectedFailure] = []
    first_line_of: dict[str, int | None] = {}
    for index, node in enumerate(root.value):
        entry = _parse_entry(node, f"[{index}]", report)
        if entry is None:
            continue
        if entry.check in first_line_of:
            report(entry.line, f"[{index}].check",
                   f"'{entry.check}' is listed twice (first at line {first_line_of[entry.check]})")
            continue
        first_line_of[entry.check] = entry.line
        entries.append(entry)
    if problems:
        raise ExpectedFailuresError(sorted(problems, key=lambda p: p.line or 0))
    return ExpectedFailures(entries, path)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _parse_entry(node: yaml.Node, where: str, report: Report) -> ExpectedFailure | None:
    """One `{check, why, issue?}` mapping; problems are reported, None returned if unusable."""
    if not isinstance(node, yaml.MappingNode):
        report(_line(node), where, "expected a mapping with 'check' and 'why'")
        return None
    values, fields_ok = _entry_fields(node, where, report)
    checks_ok = [
        "check" not in values or _check_id_ok(values["check"], f"{where}.check", report),
        "issue" not in values or _issue_ok(values["issue"], f"{where}.issue", report),
    ]
    if not (fields_ok and all(checks_ok)):
        return None
    return ExpectedFailure(values["check"][0], values["why"][0], values.get("issue", (None, 0))[0], _line(node))


def _entry_fields(node: yaml.MappingNode, where: str, report: Report) -> tuple[dict[str, tuple[str, int]], bool]:
    """Field → (text, line) of one entry, and whether every field was known, single and present."""
    values: dict[str, tuple[str, int]] = {}
    suggested: set[str] = set()  # a misspelt field is reported once, not also as "required"
    ok = True
    for key_node, value_node in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
        if key not in ENTRY_FIELDS:
            hint = closest_spelling(key, ENTRY_FIELDS)
            suggested.update([hint] if hint else [])
            suggestion = f" (did you mean '{hint}'?)" if hint else f" (allowed: {', '.join(ENTRY_FIELDS)})"
            report(_line(key_node), f"{where}.{key}", f"unknown field{suggestion}")
        elif key in values:
            report(_line(key_node), f"{where}.{key}", f"given twice (first at line {values[key][1]})")
        elif not isinstance(value_node, yaml.ScalarNode) or not str(value_node.value).strip():
            report(_line(value_node), f"{where}.{key}", "must be a non-empty text")
        else:
            values[key] = (str(value_node.value).strip(), _line(key_node))
            continue
        ok = False
    written = {k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
    for required in ("check", "why"):
        if required not in written:  # (written but empty was reported above)
            ok = False
            if required not in suggested:
                report(_line(node), f"{where}.{required}", "required")
    return values, ok


def _issue_ok(value: tuple[str, int], where: str, report: Report) -> bool:
    text, line = value
    if text.startswith(("http://", "https://")):
        return True
    report(line, where, f"'{text}' is not a URL (http:// or https://)")
    return False


def _check_id_ok(value: tuple[str, int], where: str, report: Report) -> bool:
    """A check id is `scenario::principal::probe[::model][::variant]`; `*` may stand for any part."""
    text, line = value
    parts = text.split("::")
    if "*" not in text and (len(parts) < 3 or not all(parts)):
        report(line, where, f"'{text}' is not a check id (scenario::principal::probe[::model][::variant], "
                            "e.g. issue-23850-service-key::svc::chat::gpt-4o)")
        return False
    probes = probe_kind_names()
    if len(parts) >= 3 and "*" not in parts[2] and parts[2] not in probes:
        hint = closest_spelling(parts[2], probes)
        suggestion = f" (did you mean '{hint}'?)" if hint else f" (probes: {', '.join(probes)})"
        report(line, where, f"unknown probe '{parts[2]}' in '{text}'{suggestion}")
        return False
    return True
