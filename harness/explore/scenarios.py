"""A world as a scenario: the pool's models and proxy, the world's entities, judged by the derived oracle.

The scenario is written as YAML text and read back through the scenario loader, so a generated
world is held to exactly the rules a hand-written file is (and its text is what reports show).
"""

from __future__ import annotations

from typing import Any

import yaml

from harness.explore.pool import Pool
from harness.model.scenario import Scenario
from harness.scenario.loader import parse_scenario

#: The parts of a world, in the order a scenario file writes them.
WORLD_FIELDS = ("access_groups", "teams", "users", "keys", "steps")


def scenario_document(world: dict[str, Any], pool: Pool, *, scenario_id: str, title: str,
                      oracle: str = "derived", sweep: bool = False, description: str | None = None,
                      issue: str | None = None) -> dict[str, Any]:
    """The scenario document of `world` on `pool` (a mapping, in file order)."""
    document: dict[str, Any] = {"id": scenario_id, "title": title}
    if issue:
        document["issue"] = issue
    if description:
        document["description"] = description
    document["oracle"] = oracle
    if not sweep:
        document["sweep"] = False
    document.update(pool.declaration())
    for name in WORLD_FIELDS:
        if world.get(name):
            document[name] = world[name]
    return document


def dump(document: dict[str, Any], header: str = "") -> str:
    """YAML text of a scenario document, with `header` as leading comment lines."""
    comment = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return comment + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def world_scenario(world: dict[str, Any], pool: Pool, scenario_id: str, title: str, *,
                   sweep: bool = False) -> Scenario:
    """The scenario that runs `world` in derived mode; `ScenarioError` if the world is not well-formed."""
    text = dump(scenario_document(world, pool, scenario_id=scenario_id, title=title, sweep=sweep))
    return parse_scenario(text, f"<{scenario_id}>")
