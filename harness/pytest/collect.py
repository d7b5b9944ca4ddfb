"""Which files are scenarios, and a scenario file as a pytest collector of its checks.

Any YAML file below a folder named `scenarios` is one; the xdist scheduler asks the same rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from harness.engine.grouping import proxy_group
from harness.oracle.explicit import checks_for
from harness.pytest.items import ScenarioCheckItem
from harness.scenario.loader import SCENARIO_SUFFIXES, ScenarioError, load_scenario


def is_scenario_file(path: Path) -> bool:
    """Whether `path` is collected as a scenario: a YAML file below a folder named `scenarios`."""
    return path.suffix in SCENARIO_SUFFIXES and "scenarios" in path.parts[:-1]


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
        for check in checks_for(scenario):
            item = ScenarioCheckItem.from_parent(self, name=check.title, scenario=scenario, check=check)
            item.add_marker(group)
            yield item
