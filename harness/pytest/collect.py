"""Which files are scenarios, and a scenario file as a pytest collector of its checks.

The files are chosen by the `gateconform_scenario_globs` ini option (default: any YAML file
below a folder named `scenarios`); the xdist scheduler asks the same rule.
"""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path
from typing import Iterator, Sequence

import pytest

from harness.engine.grouping import proxy_group
from harness.gateways import registry
from harness.oracle import checks_for_mode
from harness.pytest.items import ScenarioCheckItem
from harness.pytest.options import SCENARIO_GLOBS
from harness.pytest.sweep_items import SweepItem, sweep_item_name
from harness.scenario.loader import ScenarioError, load_scenario


def scenario_globs(config: pytest.Config) -> list[str]:
    """The glob patterns of the session's scenario files (ini `gateconform_scenario_globs`)."""
    return list(config.getini(SCENARIO_GLOBS))


def is_scenario_file(path: Path, globs: Sequence[str]) -> bool:
    """Whether `path` matches one of `globs`, by pytest's rule for `python_files`.

    A pattern without '/' is matched against the file name; one with '/' against the end of
    the whole path (`scenarios/*.yaml` is `*/scenarios/*.yaml`, and `*` also matches '/', so
    it takes any YAML file below any folder named `scenarios`); an absolute one as it is.
    """
    whole = path.as_posix()
    for pattern in globs:
        if "/" not in pattern:
            if fnmatch(path.name, pattern):
                return True
        elif fnmatch(whole, pattern if pattern.startswith("/") else f"*/{pattern}"):
            return True
    return False


class ScenarioFile(pytest.File):
    """A scenario YAML file; a malformed one is a collection error naming file and line."""

    def collect(self) -> Iterator[pytest.Item]:
        try:
            scenario = load_scenario(self.path)
        except ScenarioError as exc:
            raise self.CollectError(str(exc)) from None
        # One xdist group per model list, so every scenario that needs the same proxy runs on the
        # same worker and each proxy boots once per session: `pytest -n N` does so by itself
        # (harness.pytest.xdist's scheduler); the marker serves an explicit `--dist loadgroup`.
        group = pytest.mark.xdist_group(proxy_group(scenario))
        mode = self.config.getoption("gateconform_oracle", None)
        gateway = registry.gateway(scenario.gateway or registry.default_name())
        for check in checks_for_mode(scenario, mode, gateway).checks:
            item = ScenarioCheckItem.from_parent(self, name=check.title, scenario=scenario, check=check)
            item.add_marker(group)
            yield item
        if scenario.sweep_settings is not None:  # its checks come once the proxy told its routes
            expected = {name for round_ in scenario.rounds() for name in round_.expect}  # every round's
            for key in (k for k in scenario.keys if k.name in expected):
                sweep = SweepItem.from_parent(self, name=sweep_item_name(key.name), scenario=scenario,
                                              principal=key.name)
                sweep.add_marker(group)
                yield sweep
