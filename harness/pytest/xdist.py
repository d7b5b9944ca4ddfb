"""pytest-xdist scheduling that boots each proxy once: scenarios grouped by the proxy they need.

Each check of a scenario is a pytest item, and a proxy serves every scenario with the same
model list. xdist's default (`load`) deals items out one by one, so the checks of one scenario
land on several workers and each boots its own proxy (30 s of CPU) and provisions the scenario
again. This scheduler sends every item of one proxy group to the same worker; items that are
not scenario checks are each their own unit, spread exactly as `load` would (or, under
`--dist loadgroup`, grouped by their `xdist_group` mark as xdist's `loadgroup` would).

Imported only when pytest-xdist runs (it subclasses xdist's LoadScopeScheduling).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

from harness.engine.grouping import proxy_group
from harness.scenario.loader import SCENARIO_SUFFIXES, ScenarioError, load_scenario


def proxy_group_of(scenario_file: Path) -> str | None:
    """The proxy group of a scenario file (`gateconform-<hash>`), None if it is not a valid one."""
    try:
        return proxy_group(load_scenario(scenario_file))
    except ScenarioError:
        return None  # its collection error is reported by the worker that collects it


class ProxyGroupScheduling(LoadScopeScheduling):
    """LoadScope with one scope per proxy group; any other test is a scope of its own."""

    def __init__(self, config: pytest.Config, log: Any = None) -> None:
        super().__init__(config, log)
        self._root = config.rootpath
        self._group_by_file: dict[str, str | None] = {}

    def _split_scope(self, nodeid: str) -> str:
        path = nodeid.split("::", 1)[0]
        group = self._group_of(path)
        if group is not None:
            return group
        # Under `--dist loadgroup` xdist tags the ids of `xdist_group`-marked tests `…@group`
        # (after any parametrize brackets, which may hold an '@' themselves).
        if nodeid.rfind("@") > nodeid.rfind("]"):
            return nodeid.rsplit("@", 1)[-1]
        return nodeid

    def _group_of(self, path: str) -> str | None:
        if path not in self._group_by_file:
            file = self._root / path
            is_scenario = file.suffix in SCENARIO_SUFFIXES and "scenarios" in file.parts[:-1]
            self._group_by_file[path] = proxy_group_of(file) if is_scenario else None
        return self._group_by_file[path]
