"""YAML written by users (scenarios, expected-failures lists), read within limits.

A hostile or broken file must be refused in well under a second, not exhaust memory or time.
Each limit is checked before the work it guards, far above anything written by hand:
- the file's size, before parsing (`read_text`, `compose`);
- the nesting depth, while composing: libyaml's composer recurses in C and crashes the
  interpreter on deep enough nesting (`[[[[…` a few hundred KB long);
- the number of nodes the document stands for once every alias is expanded, while
  composing. An alias shares its anchor's node, so nine levels of nine aliases are 500 bytes
  of YAML yet 387 million values to anything that walks, validates or copies the data. Each
  anchor's expanded size is recorded when its node is complete, so counting costs one step
  per node written, and the file is refused at the alias that crosses the limit.
An alias inside the node it names (a recursive alias) is refused too: no data from a user
is meant to contain itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.resolver import Resolver

#: Bytes of YAML read at most; the largest scenario in the library is under 2 KB.
MAX_FILE_BYTES = 1_000_000
#: Levels of nesting at most; a scenario needs 5 (`expect`, a key, `can_call`, an item).
MAX_DEPTH = 32
#: Nodes (every key, value and list item) at most, each alias counted as a copy of what it
#: names; the largest scenario in the library has under 100.
MAX_NODES = 20_000


class YamlLimitError(yaml.YAMLError):
    """A file beyond one of the limits; `line` (1-based, None if unknown) is where it was crossed."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def read_text(path: str | Path) -> str:
    """The text of a UTF-8 file, reading no more than `MAX_FILE_BYTES` (+1, to notice more).

    Raises `YamlLimitError` for a larger file (at the line where it passes the limit),
    `OSError` or `UnicodeDecodeError` as reading would.
    """
    with open(path, "rb") as file:
        data = file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise YamlLimitError(data[:MAX_FILE_BYTES].count(b"\n") + 1, _too_large_message())
    # Newlines as text mode reads them, so kept source text and line numbers do not change.
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def compose(text: str) -> yaml.Node | None:
    """The node tree of a single YAML document (None when empty), refused beyond the limits.

    Raises `YamlLimitError` beyond a limit and `yaml.YAMLError` for invalid YAML.
    """
    _check_size(text)
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        # PyYAML 6.0.4's C scanner stops at 1,000 levels before our composer sees the events:
        # the same limit of ours, met first by the scanner, said the same way.
        if "maximum nesting depth" in str(exc.problem or "") and exc.problem_mark is not None:
            raise YamlLimitError(exc.problem_mark.line + 1, _too_deep_message("")) from None
        raise
    finally:
        loader.dispose()


def construct(node: yaml.Node) -> Any:
    """The Python data (safe types only) of a node tree from `compose`."""
    return SafeConstructor().construct_document(node)


def _check_size(text: str) -> None:
    if len(text) <= MAX_FILE_BYTES // 4:  # at most 4 bytes a character: surely within the limit
        return
    data = text.encode("utf-8", errors="surrogatepass")
    if len(data) > MAX_FILE_BYTES:
        raise YamlLimitError(data[:MAX_FILE_BYTES].count(b"\n") + 1, _too_large_message())


def _too_large_message() -> str:
    return (f"file larger than {MAX_FILE_BYTES:,} bytes, gateconform's limit for a hand-written "
            "YAML file (it passes the limit at this line)")


def _too_deep_message(why: str) -> str:
    return f"nested more than {MAX_DEPTH} levels deep{why}: gateconform's limit for a hand-written file"


class _BoundedComposer(Composer):
    """PyYAML's composer, counting nodes and depth as if every alias were expanded."""

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0  # level of the node being composed (the root is 1)
        self._nodes = 0  # nodes composed so far, each alias counted as its anchor's size
        self._deepest = 0  # deepest level reached in the current subtree, aliases expanded
        self._complete: dict[str, tuple[int, int]] = {}  # anchor → (expanded size, height)

    def compose_node(self, parent: Any, index: Any) -> yaml.Node:
        event = self.peek_event()
        line = event.start_mark.line + 1 if event.start_mark else None
        if isinstance(event, AliasEvent):
            if event.anchor in self.anchors and event.anchor not in self._complete:
                raise YamlLimitError(line, f"the alias '*{event.anchor}' is inside the value it names "
                                           "(a recursive alias): the data would contain itself")
            size, height = self._complete.get(event.anchor, (0, 0))  # (undefined: PyYAML says so)
            self._count(size, line, f" (the alias '*{event.anchor}' here stands for {size:,})")
            self._reach(self._depth + height, line, f" (with what the alias '*{event.anchor}' stands for)")
            return super().compose_node(parent, index)

        self._depth += 1
        self._reach(self._depth, line, "")
        self._count(1, line, "")
        nodes_before, deepest_outside = self._nodes - 1, self._deepest
        self._deepest = self._depth
        node = super().compose_node(parent, index)
        if event.anchor is not None:
            self._complete[event.anchor] = (self._nodes - nodes_before, self._deepest - self._depth + 1)
        self._deepest = max(self._deepest, deepest_outside)
        self._depth -= 1
        return node

    def _count(self, nodes: int, line: int | None, why: str) -> None:
        self._nodes += nodes
        if self._nodes > MAX_NODES:
            raise YamlLimitError(line, f"more than {MAX_NODES:,} YAML nodes (keys, values and list items, "
                                       f"each alias counted as a copy of what it names){why}: "
                                       "gateconform's limit for a hand-written file")

    def _reach(self, level: int, line: int | None, why: str) -> None:
        self._deepest = max(self._deepest, level)
        if level > MAX_DEPTH:
            raise YamlLimitError(line, _too_deep_message(why))


if getattr(yaml, "__with_libyaml__", False):
    from yaml.cyaml import CParser

    class _BoundedLoader(_BoundedComposer, CParser, Resolver):  # libyaml parses, Python composes
        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            _BoundedComposer.__init__(self)
            Resolver.__init__(self)

else:  # pragma: no cover - PyYAML built without libyaml
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _BoundedLoader(_BoundedComposer, Reader, Scanner, Parser, Resolver):  # type: ignore[no-redef]
        def __init__(self, text: str) -> None:
            Reader.__init__(self, text)
            Scanner.__init__(self)
            Parser.__init__(self)
            _BoundedComposer.__init__(self)
            Resolver.__init__(self)
