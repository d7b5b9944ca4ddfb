"""The `gateconform` command line: one typer app, its commands registered from their modules.

Each command module keeps its heavy imports inside its commands, so `validate` and a refused
`run` stay fast and start nothing.
"""

from __future__ import annotations

import typer

from harness.gateways import registry

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help=f"Regression and conformance harness for LLM gateways ({registry.default_gateway().title} first).",
)


def _register_command_modules() -> None:
    from harness.cli import bisect, cache, clean, docker, explore, merge, releases, report, run, up, upstream

    for module in (run, up, report, releases, merge, bisect, explore, cache, docker, clean, upstream):
        module.register(app)


_register_command_modules()


def main() -> None:
    """Console-script entry point."""
    app()
