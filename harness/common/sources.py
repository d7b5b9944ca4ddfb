"""The source files a harness module needs at import: itself, its packages, and every harness
module it imports at module level, transitively.

A Docker image built by the harness runs a few harness modules without the harness installed;
its build context carries exactly this closure, so moving or splitting a module never leaves
the image with a file list that no longer matches the code.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterable

import harness

HARNESS_ROOT = Path(harness.__file__).resolve().parent


def _module_file(module: str) -> Path | None:
    """The file of a harness module or package (None: not a harness module)."""
    parts = module.split(".")
    if parts[0] != "harness":
        return None
    base = HARNESS_ROOT.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_at_module_level(tree: ast.Module) -> list[str]:
    """Modules the body imports when the module is imported (not inside functions or TYPE_CHECKING)."""
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
            # `from harness.x import y` may name a submodule y
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def module_closure(modules: Iterable[str]) -> dict[str, Path]:
    """Relative path inside `harness/` → file, for `modules` and everything they import at load."""
    found: dict[str, Path] = {}
    pending = list(modules)
    while pending:
        module = pending.pop()
        parts = module.split(".")
        # importing a.b.c runs a/__init__, a/b/__init__ first
        for depth in range(1, len(parts) + 1):
            name = ".".join(parts[:depth])
            path = _module_file(name)
            if path is None:
                continue
            relative = path.relative_to(HARNESS_ROOT).as_posix()
            if relative in found:
                continue
            found[relative] = path
            pending += [m for m in _imported_at_module_level(ast.parse(path.read_text())) if m.startswith("harness")]
    return dict(sorted(found.items()))
