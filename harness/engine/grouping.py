"""Which scenarios share a proxy: those that need the same model list.

One proxy serves every scenario with the same models; the CLI runs them one after another on it,
and the pytest plugin keeps them on one xdist worker (`proxy_group`).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Sequence

from harness.model.scenario import ModelSpec, Scenario


def group_by_models(scenarios: Sequence[Scenario]) -> list[list[Scenario]]:
    """Scenarios grouped by the model list they need, in first-seen order (one proxy per group)."""
    groups: dict[tuple[ModelSpec, ...], list[Scenario]] = defaultdict(list)
    for scenario in scenarios:
        groups[tuple(scenario.model_specs())].append(scenario)
    return list(groups.values())


def proxy_group(scenario: Scenario) -> str:
    """`gateconform-<hash>`: the same for scenarios served by one proxy (same model list)."""
    models = repr(tuple(scenario.model_specs()))
    return f"gateconform-{hashlib.sha256(models.encode()).hexdigest()[:10]}"
