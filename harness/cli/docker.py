"""`gateconform image build|list`, and the Docker half of `gateconform clean` (`harness/cli/clean.py`).

The images are the default gateway's (`Gateway.images`); a gateway that builds none has no
`image` commands. Heavy imports (the docker SDK, the build recipes) stay inside the commands,
so `gateconform run` starts as fast without Docker as with it.
"""

from __future__ import annotations

from typing import Optional

import typer

from harness.cli import console
from harness.cli.console import err, out
from harness.gateways import registry
from harness.model.exit_codes import ExitCode

#: The images `gateconform image` builds and lists: the default gateway's, if it builds any.
IMAGES = registry.default_gateway().images
image_app = typer.Typer(no_args_is_help=True, help=IMAGES.summary if IMAGES else None)


def _client():  # type: ignore[no-untyped-def]
    from harness.targets.docker_engine import DockerUnavailableError, connect

    try:
        return connect()
    except DockerUnavailableError as error:
        err.print(f"gateconform: {error}", highlight=False, markup=False)
        raise typer.Exit(ExitCode.UNDECIDED)


@image_app.command("build", help=IMAGES.build_help if IMAGES else None)
def build(
    what: list[str] = typer.Argument(
        ..., help=IMAGES.item_help if IMAGES else "", metavar=IMAGES.item_metavar if IMAGES else "IMAGE"
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
    """Build images of the gateway's releases (the help says which: `Gateway.images.build_help`)."""
    from harness.targets.errors import TargetError

    assert IMAGES is not None  # registered only for a gateway that builds images
    try:  # refuse bad or compromised versions before touching the engine
        for item in what:
            IMAGES.check_build_item(item)
    except TargetError as error:
        err.print(f"gateconform: {error}", highlight=False, markup=False)
        raise typer.Exit(ExitCode.UNDECIDED)
    client = _client()
    progress = console.progress()
    try:
        for item in what:
            result = IMAGES.build(client, item, base=base, force=force, log=progress)
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
    assert IMAGES is not None
    client = _client()
    try:
        lines = IMAGES.describe(IMAGES.built_images(client))
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
        if images and IMAGES is not None:
            for image in IMAGES.built_images(client):
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
    """Add this module's commands to the `gateconform` app (none when the gateway builds no images)."""
    if IMAGES is not None:
        app.add_typer(image_app, name="image")
