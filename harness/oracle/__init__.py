"""Oracles: where a scenario's checks come from (written, derived from documented rules, swept).

`checks_for_mode` is the one entry the runner uses (`harness.oracle.modes`).
"""

from __future__ import annotations

from typing import Any


def checks_for_mode(scenario: Any, mode: str | None, gateway: Any = None, version: str | None = None) -> Any:
    """The checks of `scenario` in oracle `mode` (`harness.oracle.modes.checks_for_mode`)."""
    from harness.oracle.modes import checks_for_mode as for_mode  # here: harness.oracle.sweep is imported early

    return for_mode(scenario, mode, gateway, version)


def __getattr__(name: str) -> Any:
    if name in ("OracleOutput", "Contradiction"):
        from harness.oracle import modes

        return getattr(modes, name)
    raise AttributeError(name)
