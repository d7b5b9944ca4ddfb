"""`gateconform image build|list`, and the Docker half of `gateconform clean` (`harness/cli/clean.py`).

Heavy imports (the docker SDK, the build recipes) stay inside the commands, so `gateconform run`
starts as fast without Docker as with it.
"""

from __future__ import annotations

from typing import Optional

import typer

from harness.cli import console
from harness.cli.console import err, out
from harness.model.exit_codes import ExitCode



image_app = typer.Typer(
    no_args_is_help=True,
    help="Docker images of LiteLLM releases built from PyPI (for --target docker:litellm==VERSION).",
)


def _client():  # type: ignore[no-untyped-def]
    from harness.targets.docker_engine import DockerUnavailableError, connect

    try:
        return connect()
    except DockerUnavailableError as error:
        err.print(f"gateconform: {error}", highlight=False, markup=False)
        raise typer.Exit(ExitCode.UNDECIDED)


@image_app.command("build")
def build(
    what: list[str] = typer.Argument(
        ..., help="litellm==VERSION (e.g. litellm==1.82.3) and/or postgres", metavar="litellm==VERSION|postgres"
    ),
    base: Optional[str] = typer.Option(
        None, "--base",
        help="Debian base image to build FROM (default debian:bookworm-slim; local/debian:bookworm "
             "when the default cannot be pulled)",
    ),
    force: bool = typer.Option(
        False, "--force", help="rebuild from scratch (no layer cache), e.g. to pick up new dependency releases"
    ),
) -> None:
    """Build gateconform/litellm:VERSION (LiteLLM from PyPI + the wasm Prisma engine) or gateconform/postgres:15."""
    from harness.targets.errors import TargetError
    from harness.gateways.litellm.image_build import build_litellm_image, build_postgres_image
    from harness.gateways.litellm.releases import parse_version_spec

    try:  # refuse bad or compromised versions before touching the engine
        for item in what:
            if item.strip().lower() not in ("postgres", "postgresql"):
                parse_version_spec(item)
    except TargetError as error:
        err.print(f"gateconform: {error}", highlight=False, markup=False)
        raise typer.Exit(ExitCode.UNDECIDED)
    client = _client()
    progress = console.progress()
    try:
        for item in what:
            if item.strip().lower() in ("postgres", "postgresql"):
                result = build_postgres_image(client, base=base, force=force, log=progress)
            else:
                result = build_litellm_image(client, item, base=base, force=force, log=progress)
            state = "up to date" if result.cached else f"built in {result.seconds:.0f} s"
            out.print(f"{result.tag}  {state}  (FROM {result.base})", highlight=False, markup=False)
    except TargetError as error:
        err.print(f"gateconform: {error}", highlight=False, markup=False)
        raise typer.Exit(ExitCode.UNDECIDED)
    except KeyboardInterrupt:
        err.print("interrupted: the engine cancels the build and removes its intermediate containers")
        raise typer.Exit(ExitCode.INTERRUPTED)
    finally:
        client.close()


@image_app.command("list")
def list_images() -> None:
    """Images gateconform built (tags, size, recipe)."""
    from harness.gateways.litellm.image_build import describe, gateconform_images

    client = _client()
    try:
        lines = describe(gateconform_images(client))
    finally:
        client.close()
    for line in lines or ["(no images built by gateconform)"]:
        out.print(line, highlight=False, markup=False)


def clean_docker_leftovers(all_runs: bool, images: bool) -> bool:
    """The Docker half of `gateconform clean`: labelled containers, networks, volumes (+ images).

    Prints what it removed or why it skipped; returns False if something could not be removed.
    """
    from harness.targets.docker_engine import DockerUnavailableError, connect, sweep

    progress = console.progress()
    try:
        client = connect(timeout_s=30)
    except DockerUnavailableError as error:
        out.print(f"Docker: skipped ({error})", highlight=False, markup=False, soft_wrap=True)
        return True
    try:
        report = sweep(client, include_live=all_runs, log=progress)
        removed_images: list[str] = []
        if images:
            from harness.gateways.litellm.image_build import gateconform_images

            for image in gateconform_images(client):
                try:
                    client.images.remove(image.id, force=True)
                    removed_images.append(", ".join(image.tags) or image.short_id)
                except Exception as error:  # noqa: BLE001 - report and go on with the others
                    report.errors.append(f"image {image.short_id}: {error}")
    finally:
        client.close()
    out.print(
        f"Docker: removed {len(report.containers)} container(s), {len(report.networks)} network(s), "
        f"{len(report.volumes)} volume(s)" + (f", {len(removed_images)} image(s)" if images else ""),
        highlight=False, markup=False,
    )
    for name in report.containers + report.networks + report.volumes + (removed_images if images else []):
        out.print(f"  - {name}", highlight=False, markup=False)
    for run_id, reason in report.kept_runs.items():
        out.print(f"Docker: kept run {run_id}: {reason}", highlight=False, markup=False)
    for problem in report.errors:
        err.print(f"gateconform clean: {problem}", highlight=False, markup=False)
    return not report.errors


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `gateconform` app."""
    app.add_typer(image_app, name="image")
