"""Which scenarios share a proxy: those that need the same proxy (`Scenario.proxy_spec()`).

A proxy's identity is its model list (with deployments and aliases) *and* its settings (config
sections, environment): one proxy serves every scenario with an equal spec, and scenarios with
different settings never meet on one. The CLI runs a group one scenario after another on its
proxy, and the pytest plugin keeps a group on one xdist worker (`proxy_group`).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Sequence

from harness.model.proxy import ProxySpec
from harness.model.scenario import Scenario


def group_by_models(scenarios: Sequence[Scenario]) -> list[list[Scenario]]:
    """Scenarios grouped by the proxy they need (models and settings), in first-seen order (one proxy per group)."""
    groups: dict[ProxySpec, list[Scenario]] = defaultdict(list)
    for scenario in scenarios:
        groups[scenario.proxy_spec()].append(scenario)
    return list(groups.values())


def proxy_group(scenario: Scenario) -> str:
    """`gateconform-<hash>`: the same for scenarios served by one proxy (same models and settings)."""
    spec = repr(scenario.proxy_spec())
    return f"gateconform-{hashlib.sha256(spec.encode()).hexdigest()[:10]}"
