"""Pass 1 of loading a scenario: the YAML, and the line of every node in it.

Syntax errors are reported with their line, duplicate mapping keys (which PyYAML would
silently resolve to the last value) as problems of their own. The file is read within the
limits of `harness.scenario.bounded_yaml` (size, nesting, aliases expanded), so a hostile one
is refused at once. `Lines` maps every field path to the line a reader looks at, for the
problems the later passes find.
"""

from __future__ import annotations

from typing import Any, Callable

import yaml

from harness.scenario import bounded_yaml

Loc = tuple[str | int, ...]
#: `report(line, field, message)`: where a pass hands its problems.
Report = Callable[[int | None, str | None, str], None]


class Lines:
    """Field path → 1-based line, from the YAML node tree.

    A mapping entry's line is its key's line (where a reader looks for `team:`); a list
    item's is where the item starts. Mapping keys are stored as written (strings).
    """

    def __init__(self) -> None:
        self.lines: dict[Loc, int] = {}

    def _deepest(self, loc: Loc) -> Loc:
        found: Loc = ()
        for part in loc:
            for candidate in (found + (part,), found + (str(part),)):
                if candidate in self.lines:
                    found = candidate
                    break
            else:
                break
        return found

    def line_of(self, loc: Loc) -> int | None:
        """Line of `loc`, or of its nearest enclosing node when `loc` is not in the file."""
        return self.lines.get(self._deepest(loc))


def parse_yaml(text: str, report: Report) -> tuple[dict | None, Lines]:
    """The scenario's mapping and the lines of its nodes; None when the YAML is unusable."""
    lines = Lines()
    try:
        root = bounded_yaml.compose(text)  # refuses alias bombs and the like before any walk
        if root is None:
            report(None, None, "empty file: a scenario needs at least id, title, models and expect")
            return None, lines
        data = bounded_yaml.construct(root)
    except bounded_yaml.YamlLimitError as exc:
        report(exc.line, None, exc.message)
        return None, lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"invalid YAML: {exc.problem or exc.context}"
        if exc.context and exc.context_mark and mark and exc.context_mark.line != mark.line:
            message += f" ({exc.context} at line {exc.context_mark.line + 1})"
        report(mark.line + 1 if mark else None, None, message)
        return None, lines
    except yaml.YAMLError as exc:
        report(None, None, f"invalid YAML: {exc}")
        return None, lines

    if not isinstance(root, yaml.MappingNode) or not isinstance(data, dict):
        report(root.start_mark.line + 1, None, f"a scenario is a mapping of fields, got {kind_of(data)}")
        return None, lines
    lines.lines[()] = root.start_mark.line + 1
    _index_nodes(root, (), lines, report, set())
    return data, lines


def _index_nodes(node: yaml.Node, loc: Loc, lines: Lines, report: Report, active: set[int]) -> None:
    if id(node) in active:  # a recursive alias; it cannot be a valid scenario anyway
        return
    active.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            line = key_node.start_mark.line + 1
            if key in first_line:
                report(line, format_loc(loc + (key,)),
                       f"duplicate key '{key}' (first at line {first_line[key]}); YAML keeps only this one")
            else:
                first_line[key] = line
            lines.lines[loc + (key,)] = line
            _index_nodes(value_node, loc + (key,), lines, report, active)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.lines[loc + (index,)] = item.start_mark.line + 1
            _index_nodes(item, loc + (index,), lines, report, active)
    active.discard(id(node))


def as_written(data: Any, loc: Loc) -> Loc:
    """`loc` cut where the file holds a plain value: `models[2]`, not `models[2].name`,
    when the model was written as a bare name (shorthands are normalised by the model)."""
    node = data
    for depth, part in enumerate(loc):
        if isinstance(node, dict):
            if part not in node:
                return loc  # a missing field: name it in full
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return loc[:depth] or loc
    return loc


def format_loc(loc: Loc) -> str:
    """`('keys', 0, 'team')` → `keys[0].team`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def kind_of(value: Any) -> str:
    """What a YAML value is, for a message: `a string ('x')`, `a number (1.5)`, `a list` …"""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ('{value}')"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
