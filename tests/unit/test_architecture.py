"""The layout holds: layers import only downward, nothing imports in a circle, the model is pure data.

Every import counts, also one inside a function (that is still a dependency, and a circle through
it still ties the modules together). Layers, top to bottom:

    cli/, pytest/                              entry points
    compare/, report/, explore/                runs against runs; renderers; generated worlds (never each other)
    engine/                                    runs one scenario on one target
    scenario/ oracle/ probes/ judge targets/ gateways/ store/
    model/, common/                            pure data; helpers every layer may use

Within the middle layer, targets never import gateways (a gateway builds on targets, and the
target spec reaches a gateway only through the catalogue its caller hands in), and a gateway's
package (`gateways/<name>/`) is imported by nobody outside it: the rest of the harness finds it
through `harness.gateways.registry` (an entry point).
The picture with reasons is in README.md ("Layout"). Probe kinds are reached through
`harness.probes.registry` only: nothing else imports a kind's module or compares a `probe`
with a kind's name (a new kind is one module plus a registration, never a new branch).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HARNESS = Path(__file__).parents[2] / "harness"

LAYERS: list[set[str]] = [
    {"cli", "pytest"},
    {"compare", "report", "explore"},
    {"engine"},
    {"scenario", "oracle", "probes", "judge", "targets", "gateways", "store"},
    {"model", "common"},
]
#: Pairs in one layer that must not import each other (either way).
APART = [{"compare", "report"}, {"explore", "report"}, {"explore", "compare"}]
#: (importer area, imported area) pairs that are forbidden although the layers would allow them.
FORBIDDEN = [("targets", "gateways")]
#: Modules outside a gateway's package that still import it, and why (remove with the reason).
GATEWAY_PACKAGE_IMPORTERS: set[str] = set()
#: What the pure-data layer may not touch.
IMPURE = ("httpx", "httpcore", "docker", "subprocess", "harness.common.files")


def _area(module: str) -> str | None:
    """`harness.engine.runner` → `engine`; `harness.judge` → `judge`; the package itself → None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _layer(area: str) -> int:
    return next(index for index, names in enumerate(LAYERS) if area in names)


def _modules() -> dict[str, Path]:
    found = {}
    for path in HARNESS.rglob("*.py"):
        parts = path.relative_to(HARNESS.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path, name: str) -> set[str]:
    """Every module `path` imports, anywhere in it; relative imports resolved."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES)
    return found


def _harness_edges() -> dict[str, set[str]]:
    edges = {}
    for name, path in MODULES.items():
        edges[name] = {m for m in _imports(path, name) if m in MODULES and m != name}
    return edges


EDGES = _harness_edges()


def test_every_module_belongs_to_a_layer() -> None:
    areas = {_area(name) for name in MODULES} - {None}
    unplaced = sorted(a for a in areas if not any(a in layer for layer in LAYERS))
    assert unplaced == [], f"put these in a layer (tests/unit/test_architecture.py): {unplaced}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_go_only_downward(name: str) -> None:
    area = _area(name)
    if area is None:
        return
    upward = []
    for target in sorted(EDGES[name]):
        other = _area(target)
        if other is None or other == area:
            continue
        if _layer(other) < _layer(area):
            upward.append(f"{target} (layer of {other} is above {area})")
        elif any({area, other} == pair for pair in APART):
            upward.append(f"{target} ({area} and {other} stay apart)")
    assert upward == [], f"{name} imports upward: {upward}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _area(n) in {a for a, _ in FORBIDDEN}))
def test_forbidden_pairs_in_a_layer(name: str) -> None:
    area = _area(name)
    banned = {b for a, b in FORBIDDEN if a == area}
    found = sorted(target for target in EDGES[name] if _area(target) in banned)
    assert found == [], f"{name} imports {found} ({area} never imports {', '.join(sorted(banned))})"


#: Areas that only tell what happens (typed events, `harness.engine.events`); `report/` words it
#: and the entry points print it.
SILENT = ("engine", "compare")


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _area(n) in SILENT))
def test_the_engine_and_comparisons_emit_events_and_never_print(name: str) -> None:
    tree = ast.parse(MODULES[name].read_text())
    printing = sorted({node.lineno for node in ast.walk(tree)
                       if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"})
    rich = sorted(m for m in _imports(MODULES[name], name) if m == "rich" or m.startswith("rich."))
    assert printing == [] and rich == [], (
        f"{name} prints (lines {printing}, {rich}): emit an event instead (harness.engine.events)")


def _gateway_package(module: str) -> str | None:
    """`harness.gateways.litellm.admin` → `harness.gateways.litellm`; None outside a gateway's package."""
    parts = module.split(".")
    if len(parts) >= 3 and parts[1] == "gateways" and f"harness.gateways.{parts[2]}" in MODULES:
        package = f"harness.gateways.{parts[2]}"
        return package if MODULES[package].name == "__init__.py" else None
    return None


@pytest.mark.parametrize("name", sorted(MODULES))
def test_a_gateway_package_is_reached_only_through_the_registry(name: str) -> None:
    own = _gateway_package(name)
    reached = sorted(t for t in EDGES[name] if _gateway_package(t) not in (None, own))
    if name in GATEWAY_PACKAGE_IMPORTERS:
        assert reached, f"{name} no longer imports a gateway's package: drop it from GATEWAY_PACKAGE_IMPORTERS"
        return
    assert reached == [], f"{name} imports {reached}: ask harness.gateways.registry for the gateway instead"


def test_no_circles() -> None:
    """Strongly connected components of the import graph (Tarjan), each must be one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in EDGES[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(EDGES):
        if node not in index:
            visit(node)
    assert circles == [], f"modules importing each other in a circle: {circles}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _area(n) == "model"))
def test_the_model_is_pure_data(name: str) -> None:
    used = _imports(MODULES[name], name)
    impure = sorted(m for m in used for bad in IMPURE if m == bad or m.startswith(bad + "."))
    assert impure == [], f"{name} does I/O or HTTP: {impure}"


#: The probe kinds' own modules; everyone else reaches a kind through `harness.probes.registry`.
PROBE_KIND_MODULES = {"harness.probes.list_models", "harness.probes.chat"}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_probe_kinds_are_reached_through_the_registry_never_named(name: str) -> None:
    """A new probe kind is one module plus a registration: nothing outside `harness.probes`
    imports a kind's module, and nothing compares a `probe` with a kind's name."""
    if not name.startswith("harness.probes."):
        imported = sorted(EDGES[name] & PROBE_KIND_MODULES)
        assert imported == [], f"{name} imports a probe kind's module instead of asking the registry"
    branches = []
    for node in ast.walk(ast.parse(MODULES[name].read_text())):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            names_probe = any(isinstance(s, ast.Attribute) and s.attr == "probe" for s in sides)
            names_text = any(isinstance(s, ast.Constant) and isinstance(s.value, str) for s in sides)
            if names_probe and names_text:
                branches.append(node.lineno)
    assert branches == [], f"{name} branches on a probe kind's name at lines {branches}"
