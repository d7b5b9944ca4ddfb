"""Every renderer, by the document it draws and its name: the one list the commands ask.

A renderer draws one kind of document (`RUN`: a results document, `MATRIX`: a matrix document,
`BISECT`: a bisect's answer, `SUPPORT`: which releases start) either into a file of a report folder (`file_name`) or on the
terminal (`file_name` None). `gateconform run`, `report`, `matrix` and `bisect`, and the pytest
plugin ask this registry which renderers there are; none lists them.

A new renderer is one module and one registration::

    register(Renderer(RUN, "csv", "verdicts.csv", text_file(render_csv)))

here in `_BUILT_IN` (loaded on first use, so `gateconform run` stays fast), by any code before
the reports are drawn, or by another distribution under the entry point group
`gateconform.renderers` (the entry point names a `Renderer`).

How each kind's renderers are called:

- a file renderer: `write(document, path, **context) -> Path`, all or nothing (raises
  `harness.common.files.OutputError` naming what could not be written);
- a terminal renderer: `show(document, console, **context)`.

The context is the kind's: none for a run; `matrix_folder` for a matrix's files (where
matrix.json and the per-release folders are: links are relative to it; None: next to the
file); `check` (the one check bisected, or None) and `timings` (seconds per release) for a
bisect. A renderer accepts its kind's context even where it does not use it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

from harness.common.files import OutputError, write_text
from harness.report import names

RUN = "run"
MATRIX = "matrix"
BISECT = "bisect"
SUPPORT = "support"
KINDS = (RUN, MATRIX, BISECT, SUPPORT)
ENTRY_POINT_GROUP = "gateconform.renderers"


@dataclass(frozen=True)
class Renderer:
    """One way to draw one kind of document.

    `draw` is the renderer's function (see the module doc for its call), or `module:function`
    imported on first use.
    """

    kind: str
    name: str
    #: the file (or folder) it writes in a report folder; None: it draws on the terminal
    file_name: str | None
    draw: Callable[..., Any] | str

    @property
    def on_terminal(self) -> bool:
        return self.file_name is None

    def function(self) -> Callable[..., Any]:
        """The drawing function, imported now if it was named as `module:function`."""
        return self.draw if callable(self.draw) else _load(self.draw)


def _load(reference: str) -> Callable[..., Any]:
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


class UnknownRenderer(LookupError):
    """No renderer of that kind has that name; the message names the ones there are."""


def text_file(render: Callable[[Any], str]) -> Callable[..., Path]:
    """A file renderer from a function that returns the file's text (written all or nothing)."""

    def write(document: Any, path: Path, **_: Any) -> Path:
        return write_text(path, render(document))

    return write


def _text(reference: str) -> Callable[..., Path]:
    """`text_file` of `module:function`, imported only when a file is drawn."""

    def write(document: Any, path: Path, **_: Any) -> Path:
        return write_text(path, _load(reference)(document))

    return write


# The renderers shipped with the harness, in the order their files are written and named.
_BUILT_IN = (
    Renderer(RUN, "html", names.HTML_NAME, _text("harness.report.html:render_html")),
    Renderer(RUN, "markdown", names.MARKDOWN_NAME, _text("harness.report.markdown:render_markdown")),
    Renderer(RUN, "junit", names.JUNIT_NAME, _text("harness.report.junit:render_junit")),
    Renderer(RUN, "allure", names.ALLURE_DIR, "harness.report.allure:write_allure_results"),
    Renderer(RUN, "terminal", None, "harness.report.terminal:print_verdicts"),
    Renderer(MATRIX, "markdown", names.MATRIX_MARKDOWN_NAME, _text("harness.report.matrix_text:markdown")),
    Renderer(MATRIX, "html", names.MATRIX_HTML_NAME, "harness.report.matrix_html:write_matrix_html"),
    Renderer(MATRIX, "terminal", None, "harness.report.matrix_text:print_matrix"),
    Renderer(BISECT, "terminal", None, "harness.report.bisect_text:print_bisect"),
    Renderer(SUPPORT, "markdown", names.SUPPORT_MARKDOWN_NAME, _text("harness.report.support_text:markdown")),
    Renderer(SUPPORT, "terminal", None, "harness.report.support_text:print_support"),
)

_registered: dict[tuple[str, str], Renderer] | None = None


def _renderers() -> dict[tuple[str, str], Renderer]:
    global _registered
    if _registered is None:
        _registered = {(r.kind, r.name): r for r in _BUILT_IN}
        for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
            register(entry_point.load(), replace=True)
    return _registered


def register(renderer: Renderer, *, replace: bool = False) -> Renderer:
    """Add `renderer`; one of the same kind and name is an error unless `replace`."""
    if renderer.kind not in KINDS:
        raise ValueError(f"renderer {renderer.name!r}: unknown kind {renderer.kind!r} (one of {', '.join(KINDS)})")
    known = _renderers()
    if (renderer.kind, renderer.name) in known and not replace:
        raise ValueError(f"a {renderer.kind} renderer named {renderer.name!r} is registered already")
    known[(renderer.kind, renderer.name)] = renderer
    return renderer


def unregister(kind: str, name: str) -> None:
    """Remove a renderer (a test's toy, or one a distribution's should not draw)."""
    _renderers().pop((kind, name), None)


def renderers(kind: str) -> list[Renderer]:
    """Every renderer of `kind`, in registration order."""
    return [r for (k, _), r in _renderers().items() if k == kind]


def files(kind: str) -> list[Renderer]:
    """The renderers of `kind` that write a file (or folder) of a report folder."""
    return [r for r in renderers(kind) if not r.on_terminal]


def renderer(kind: str, name: str) -> Renderer:
    """The renderer of `kind` called `name`; `UnknownRenderer` naming the ones there are."""
    found = _renderers().get((kind, name))
    if found is None:
        names = ", ".join(r.name for r in renderers(kind)) or "none"
        raise UnknownRenderer(f"no {kind} renderer named {name!r} (there are: {names})")
    return found


def write(kind: str, name: str, document: Any, path: Path, **context: Any) -> Path:
    """Draw `document` with the file renderer `name` into `path`; the path written."""
    chosen = renderer(kind, name)
    if chosen.on_terminal:
        raise UnknownRenderer(f"the {kind} renderer {name!r} draws on the terminal, not into a file")
    return chosen.function()(document, Path(path), **context)  # type: ignore[no-any-return]


def write_all(kind: str, document: Any, folder: Path, **context: Any) -> list[Path]:
    """Every file renderer of `kind` into `folder` under its file name; the paths written.

    Raises `OutputError` at the first that cannot be written, its `written` naming those before.
    """
    written: list[Path] = []
    try:
        for chosen in files(kind):
            written.append(write(kind, chosen.name, document, Path(folder) / str(chosen.file_name), **context))
    except OutputError as exc:
        exc.written = written + exc.written
        raise
    return written


def show(kind: str, document: Any, console: Any, **context: Any) -> None:
    """Draw `document` with every terminal renderer of `kind` on `console`."""
    for chosen in renderers(kind):
        if chosen.on_terminal:
            chosen.function()(document, console, **context)
