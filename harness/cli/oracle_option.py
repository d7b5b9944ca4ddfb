"""The `--oracle` option of the commands that run scenarios (`run`, `matrix`, `bisect`): where a
run's checks come from, for every scenario it runs, whatever each scenario's own `oracle:` says."""

from __future__ import annotations

from typing import Sequence

import typer

from harness.cli.console import err
from harness.gateways import registry
from harness.model.exit_codes import ExitCode
from harness.model.scenario import EXPLICIT, ORACLE_MODES, Scenario

ORACLE_HELP = ("where the checks come from: explicit (as written), derived (from the gateway's documented "
               "rules: every key × declared model and each listing) or both; default: each scenario's `oracle:`")


def oracle_or_exit(oracle: str | None, scenarios: Sequence[Scenario]) -> None:
    """Refuse an unknown `--oracle`, and a derived mode for a gateway that documents no semantics
    (exit 2, nothing started)."""
    if oracle is not None and oracle not in ORACLE_MODES:
        err.print(f"gateconform: --oracle {oracle}: one of {', '.join(ORACLE_MODES)}", highlight=False, markup=False)
        raise typer.Exit(ExitCode.UNDECIDED)
    for scenario in scenarios:
        mode = oracle or scenario.oracle
        gateway = registry.gateway(scenario.gateway or registry.default_name())
        if mode != EXPLICIT and gateway.semantics is None:
            err.print(f"gateconform: {scenario.path}: oracle {mode} needs documented semantics, which the "
                      f"{gateway.title} gateway does not have (use --oracle explicit)", highlight=False, markup=False)
            raise typer.Exit(ExitCode.UNDECIDED)


def in_oracle_mode_or_exit(oracle: str | None, scenarios: Sequence[Scenario]) -> list[Scenario]:
    """`scenarios` as they run with `--oracle` (copies whose `oracle:` it replaces; unchanged when
    not given), after `oracle_or_exit`: for commands that hand scenarios on, release by release."""
    oracle_or_exit(oracle, scenarios)
    if oracle is None:
        return list(scenarios)
    return [scenario.model_copy(update={"oracle": oracle}) for scenario in scenarios]
