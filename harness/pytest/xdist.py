"""pytest-xdist: a scheduler that boots each proxy once, and the controller's share of the results.

Each check of a scenario is a pytest item, and a proxy serves every scenario with the same
model list. xdist's default (`load`) deals items out one by one, so the checks of one scenario
land on several workers and each boots its own proxy (30 s of CPU) and provisions the scenario
again. This scheduler sends every item of one proxy group to the same worker; items that are
not scenario checks are each their own unit, spread exactly as `load` would (or, under
`--dist loadgroup`, grouped by their `xdist_group` mark as xdist's `loadgroup` would).

The plugin registers this module only when pytest-xdist is active (it subclasses xdist's
LoadScopeScheduling), as pytest's docs advise for hooks of another plugin.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import pytest
from xdist.scheduler import LoadScopeScheduling

from harness.engine.grouping import proxy_group
from harness.pytest.collect import is_scenario_file, scenario_globs
from harness.pytest.session import keep_worker_results, progress
from harness.scenario.loader import ScenarioError, load_scenario


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`pytest -n N` (no `--dist`, or `--dist loadgroup`): keep the scenarios of one proxy on one worker.

    Under `--dist loadgroup` this scheduler replaces xdist's own: newer pytest/xdist pairs
    stopped grouping by `xdist_group` (pytest-dev/pytest-xdist#1386), which made every worker
    boot every proxy. It still honours `xdist_group` marks of other tests wherever xdist tags
    their node ids. Any other explicit `--dist` is left to xdist.
    """
    dist = config.getoption("dist", None)
    if dist_given(config.invocation_params.args) and dist != "loadgroup":
        return None
    if dist not in ("load", "loadgroup"):
        return None
    if dist == "loadgroup":  # said up front (also under -q): the user asked for xdist's scheduler
        progress(config, "--dist loadgroup: scenario checks are grouped by proxy by gateconform's scheduler")
    return ProxyGroupScheduling(config, log)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist controller: keep the results document a finished worker sent back."""
    keep_worker_results(node)


def dist_given(args: Sequence[str]) -> bool:
    """Whether the command line chose a `--dist` mode itself."""
    return any(arg in ("--dist", "--distload") or arg.startswith("--dist=") for arg in args)


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
        self._globs = scenario_globs(config)  # the files the workers collect as scenarios
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
            self._group_by_file[path] = proxy_group_of(file) if is_scenario_file(file, self._globs) else None
        return self._group_by_file[path]
