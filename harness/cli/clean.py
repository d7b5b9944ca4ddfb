"""`gateconform clean`: remove what killed runs and builds left, on this machine and in Docker.

The local sweep always runs, Docker engine or not: processes whose owning gateconform process is
gone (a proxy, PostgreSQL, a build's uv, prisma or npm), run folders in the temp folder, and in
the cache the build folders and never-completed environments of killed builds. What belongs to
a live gateconform process (a parallel run, a build in progress) is left alone and said so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from harness.cli.console import out
from harness.model.exit_codes import ExitCode

if TYPE_CHECKING:  # the targets are imported inside the command, so the CLI starts fast
    from harness.targets.reaping import Reaped




def clean(
    all_runs: bool = typer.Option(
        False, "--all",
        help="Docker: also remove runs whose owner is alive or cannot be checked (other hosts). "
             "Local runs and builds of a live process are never touched.",
    ),
    images: bool = typer.Option(False, "--images", help="also remove the Docker images gateconform built"),
) -> None:
    """Remove what killed runs and builds left: processes, run and build folders; Docker containers, networks, volumes."""
    from harness.cli.docker import clean_docker_leftovers
    from harness.common.cache_root import default_cache_root
    from harness.gateways import registry
    from harness.targets.reaping import reap_orphans

    cache_root = default_cache_root()
    # what killed builds of every installed gateway's launcher leave in the cache, too
    sweepers = [sweeper for name in registry.names() for sweeper in registry.gateway(name).build_sweepers()]
    reaped = reap_orphans(cache_root=cache_root, build_sweepers=sweepers)
    for line in local_report_lines(reaped):
        out.print(line, highlight=False, markup=False, soft_wrap=True)
    docker_ok = clean_docker_leftovers(all_runs, images)
    local_ok = not any(folder.reason.startswith("could not") for folder in reaped.kept_build_folders)
    if not (docker_ok and local_ok):
        raise typer.Exit(ExitCode.UNDECIDED)


def local_report_lines(reaped: Reaped) -> list[str]:
    """What the local sweep did (`reap_orphans`), one line per thing removed or kept."""
    lines = []
    if reaped.processes:
        lines.append(
            f"local: killed {len(reaped.processes)} process(es) whose run or build owner is gone: "
            + ", ".join(reaped.processes)
        )
    lines += [f"local: removed run folder {run_dir}" for run_dir in reaped.run_dirs]
    for folder in reaped.build_folders:
        if folder.removed:
            lines.append(f"local: removed {folder.folder} ({_megabytes(folder.size_bytes)}): {folder.reason}")
        else:
            lines.append(f"local: kept {folder.folder}: {folder.reason}")
    if not reaped.anything_removed:
        lines.append("local: nothing left behind by killed runs or builds")
    return lines


def _megabytes(size: int) -> str:
    return f"{size / 10**6:.0f} MB"


def register(app: typer.Typer) -> None:
    """Add `clean` to the `gateconform` app."""
    app.command("clean")(clean)
