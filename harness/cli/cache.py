"""`gateconform cache list|prune`: the per-release environments on disk (`Gateway.environments`).

They are the default gateway's local launcher's; a gateway that keeps none makes both commands
say so (exit 2).
"""

from __future__ import annotations

import time
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from harness.cli.console import fail, out
from harness.gateways import registry

#: The gateway whose environments these are.
_GATEWAY = registry.default_gateway()

cache_app = typer.Typer(no_args_is_help=True, help="The per-release environments on disk.")


def register(app: typer.Typer) -> None:
    """Add `cache list|prune` to the `gateconform` app."""
    app.add_typer(cache_app, name="cache")


# --------------------------------------------------------------------------- cache


@cache_app.command("list")
def cache_list() -> None:
    """Environments under the cache root: version, size, last use, and whether still usable."""
    from harness.common.cache_root import default_cache_root
    from harness.common.units import format_age, format_size

    root = default_cache_root()
    environments = _environments().list(root)
    table = Table(title=escape(f"{root}/envs"), title_justify="left")
    table.add_column(f"environment ({_GATEWAY.name} version)", no_wrap=True)
    for column in ("deps", "size", "pruning frees", "last used", "state"):
        table.add_column(column)
    now = time.time()
    for env in environments:
        state = "ok" if not env.stale else ("incomplete" if not env.complete else "stale")
        deps = env.deps if not env.exclude_newer else f"{env.deps} (≤ {env.exclude_newer})"
        table.add_row(escape(env.name), escape(deps), format_size(env.size_bytes), format_size(env.own_bytes),
                      f"{format_age(now - env.last_used)} ago", state)
    out.print(table)
    total = sum(env.size_bytes for env in environments)
    own = sum(env.own_bytes for env in environments)
    out.print(f"{len(environments)} environment(s), {format_size(total)} ({format_size(own)} not shared with "
              "uv's cache)", highlight=False)


@cache_app.command("prune")
def cache_prune(
    older_than: Optional[str] = typer.Option(None, "--older-than", help="not used for this long: 30d, 12h, 2w"),
    version: list[str] = typer.Option([], "--version", help=f"a {_GATEWAY.title} version (repeatable)"),
    stale: bool = typer.Option(False, "--stale", help="incomplete, older recipe or another Python"),
    everything: bool = typer.Option(False, "--all", help="every environment"),
    dry_run: bool = typer.Option(False, "--dry-run", help="say what would be removed, remove nothing"),
) -> None:
    """Remove environments by age, version or staleness; never one being built or used."""
    from harness.common.cache_root import default_cache_root
    from harness.common.units import format_size, parse_age

    if not (older_than or version or stale or everything):
        raise fail("gateconform cache prune: say what to remove: --older-than, --version, --stale or --all")
    try:
        older_than_s = parse_age(older_than) if older_than else None
    except ValueError as exc:
        raise fail(f"gateconform: {exc}")
    cache = _environments()
    chosen = cache.select_for_pruning(cache.list(default_cache_root()), older_than_s=older_than_s,
                                      versions=version, stale=stale, everything=everything)
    decisions = cache.prune(chosen, dry_run=dry_run)
    freed = sum(d.environment.own_bytes for d in decisions if d.removed)
    for decision in decisions:
        verb = "removed" if decision.removed else "kept"
        out.print(f"{verb} {decision.environment.name}: {decision.reason}", highlight=False)
    out.print(f"{sum(d.removed for d in decisions)} removed, {format_size(freed)} freed", highlight=False)


def _environments():  # type: ignore[no-untyped-def]
    """The default gateway's cache of environments, or exit 2 when its launcher keeps none."""
    if _GATEWAY.environments is None:
        raise fail(f"gateconform: the {_GATEWAY.title} launcher keeps no environments in the cache")
    return _GATEWAY.environments
