"""A throwaway container registry on 127.0.0.1, for the Docker target's pull path.

No registry on the internet is reachable where this project runs, so the pull path gets one of
its own: Debian's `docker-registry` package (the reference registry, distribution 2.8), started
on a free port with its storage in a temp folder, stopped and removed afterwards. A Docker engine
treats a registry on 127.0.0.0/8 as insecure (plain HTTP) without any configuration.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx

REGISTRY_BINARY = "docker-registry"
READY_TIMEOUT_S = 30

_CONFIG = """\
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


def registry_binary() -> str | None:
    """The registry's executable (`apt-get install docker-registry`), if installed."""
    return shutil.which(REGISTRY_BINARY)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def local_registry() -> Iterator[str]:
    """A running registry; yields its address (`127.0.0.1:PORT`). Stopped and removed on the way out."""
    binary = registry_binary()
    if binary is None:
        raise RuntimeError("no docker-registry on PATH (apt-get install docker-registry)")
    folder = Path(tempfile.mkdtemp(prefix="gateconform-registry-"))
    port = _free_port()
    config = folder / "config.yml"
    config.write_text(_CONFIG.format(root=folder / "storage", port=port))
    log = open(folder / "registry.log", "wb")
    process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {(folder / 'registry.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"http://{address}/v2/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"docker-registry did not answer on {address} within {READY_TIMEOUT_S} s")
            time.sleep(0.1)
        yield address
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def push(client, source: str, target: str) -> str:  # type: ignore[no-untyped-def]
    """Tag the local image `source` as `target` (`host:port/repo:tag`), push it, drop the tag; its digest.

    The engine keeps the image under `source`; only the pushed name is removed, so a later pull
    of `target` is a real pull from the registry.
    """
    repository, _, tag = target.rpartition(":")
    client.images.get(source).tag(repository, tag)
    digest = None
    try:
        for event in client.images.push(repository, tag=tag, stream=True, decode=True):
            if "error" in event:
                raise RuntimeError(f"push of {target} failed: {event['error']}")
            digest = (event.get("aux") or {}).get("Digest") or digest
    finally:
        client.images.remove(target)
    if not digest:
        raise RuntimeError(f"push of {target} reported no digest")
    return str(digest)
