"""`gateconform upstream serve`: the recording upstream, for a proxy gateconform did not start.

Against a `url` target, "allowed" and "denied" rest on the proxy's answers alone unless the
proxy's test models point at a recording upstream: this command serves the same fake
OpenAI-compatible provider the local target uses, in the foreground until Ctrl-C. Point the
test models at it (the config printed at start shows how, in the proxy's own words), then run
with `--upstream URL` (or `GATECONFORM_UPSTREAM_URL`): every probe's hits are read back from it,
as on a local target. It records only which model each request named and which probe sent it.
"""

from __future__ import annotations

import threading
import time
from typing import Optional

import typer

from harness.cli.console import err, out

upstream_app = typer.Typer(no_args_is_help=True, help="The recording upstream (fake provider) for a url target.")


def register(app: typer.Typer) -> None:
    """Add `upstream serve` to the `gateconform` app."""
    app.add_typer(upstream_app, name="upstream")


@upstream_app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on (0.0.0.0: every interface)"),
    port: int = typer.Option(4010, "--port", min=0, max=65535, help="port to listen on (0: any free one)"),
    public_url: Optional[str] = typer.Option(
        None, "--public-url", help="the URL the proxy reaches this server at, if not http://HOST:PORT"),
    model: list[str] = typer.Option(
        [], "--model", "-m", help="a model name to show in the example config (repeatable)"),
    for_seconds: Optional[float] = typer.Option(None, "--for", hidden=True, help="stop after this long (tests)"),
) -> None:
    """Serve the recording upstream until Ctrl-C; print how to point a proxy's models at it."""
    from harness.gateways import registry
    from harness.model.scenario import ModelSpec
    from harness.targets.attach import UPSTREAM_ENV
    from harness.targets.upstream import Upstream

    try:
        upstream = Upstream(models=model, host=host, port=port).start()
    except OSError as exc:
        err.print(f"gateconform: cannot listen on {host}:{port}: {exc.strerror or exc}", highlight=False)
        raise typer.Exit(2)
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    url = (public_url or f"http://{shown_host}:{upstream.port}").rstrip("/")
    gateway = registry.default_gateway()
    names = model or ["gpt-4o"]
    out.print(f"gateconform upstream: recording at {url} (OpenAI-compatible, api_base {url}/v1)", highlight=False,
              soft_wrap=True)
    out.print(f"point the proxy's test models at it, e.g. ({gateway.title} config):", highlight=False)
    config = gateway.proxy_config([ModelSpec(name) for name in names], url)
    out.print(_model_list_part(config), highlight=False, markup=False)
    out.print(f"then: export {UPSTREAM_ENV}={url}   (or run --upstream {url}); Ctrl-C stops it", highlight=False,
              soft_wrap=True)
    stopped = threading.Event()
    try:
        deadline = None if for_seconds is None else time.monotonic() + for_seconds
        while not stopped.wait(0.5):
            if deadline is not None and time.monotonic() >= deadline:
                break
    except KeyboardInterrupt:
        pass  # Ctrl-C is how it is meant to end
    finally:
        upstream.stop()
    out.print(f"gateconform upstream: stopped after {len(upstream.all_hits())} request(s)", highlight=False)


def _model_list_part(config: str) -> str:
    """The config's lines up to the first other top-level key (the models, not the settings)."""
    lines = config.splitlines()
    kept = [lines[0]] if lines else []
    for line in lines[1:]:
        if line and not line.startswith((" ", "-")):
            break
        kept.append(line)
    return "\n".join(kept)
