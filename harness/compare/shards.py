"""Slicing a matrix across CI jobs: which (scenario, release) cells shard K of N runs.

The unit that is dealt out is a *proxy*: one release and one model list (the scenarios that
share a proxy, `harness.engine.grouping`), since splitting it would boot the same proxy in two
jobs. Every shard computes the same plan from the same inputs (scenarios in the same order, the
same releases), so N jobs started with `--shard 1/N` … `--shard N/N` together run every cell
exactly once, with no coordination between them. Proxies are dealt biggest first to the least
loaded shard (a boot weighs as much as `BOOT_WEIGHT` scenarios), so the shards end at about the
same time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from harness.engine.grouping import group_by_models
from harness.model.matrix import ShardInfo
from harness.model.scenario import Scenario

#: A proxy boot costs about as much as this many scenarios on a running proxy (15 s against 2 s).
BOOT_WEIGHT = 7
_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    """Shard `index` (from 1) of `count`."""

    index: int
    count: int

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """`2/4` → Shard(2, 4); ValueError saying what to write for anything else."""
    match = _SHARD.match(text)
    if match is None:
        raise ValueError(f"--shard {text!r}: write K/N, e.g. 1/4 (shard K of N, counted from 1)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise ValueError(f"--shard {text!r}: K must be between 1 and N (1/{max(count, 1)} … {max(count, 1)}/{max(count, 1)})")
    return Shard(index, count)


def plan_shard(versions: Sequence[str], scenarios: Sequence[Scenario], shard: Shard) -> dict[str, list[Scenario]]:
    """The scenarios shard `shard` runs on each release (releases it has nothing on are left out).

    Within a release the scenarios keep their order in `scenarios`.
    """
    units: list[tuple[int, str, list[Scenario]]] = []  # (order, release, the proxy's scenarios)
    for version in versions:
        for group in group_by_models(scenarios):
            units.append((len(units), version, list(group)))
    loads = [0] * shard.count
    mine: set[tuple[str, str]] = set()
    for order, version, group in sorted(units, key=lambda unit: (-_weight(unit[2]), unit[0])):
        least = min(range(shard.count), key=lambda number: (loads[number], number))
        loads[least] += _weight(group)
        if least == shard.index - 1:
            mine.update((version, scenario.id) for scenario in group)
    plan: dict[str, list[Scenario]] = {}
    for version in versions:
        chosen = [scenario for scenario in scenarios if (version, scenario.id) in mine]
        if chosen:
            plan[version] = chosen
    return plan


def shard_info(shard: Shard, versions: Sequence[str], scenarios: Sequence[Scenario],
               plan: dict[str, list[Scenario]]) -> ShardInfo:
    """What a shard's matrix document records so that `gateconform merge` can join it with the others."""
    return ShardInfo(
        index=shard.index, count=shard.count, versions=list(versions),
        # the order a whole release's results document has them in: grouped by proxy, as run
        scenario_order=[scenario.id for group in group_by_models(scenarios) for scenario in group],
        cells={version: [scenario.id for scenario in chosen] for version, chosen in plan.items()},
    )


def _weight(group: Sequence[Scenario]) -> int:
    return BOOT_WEIGHT + len(group)
