"""The fake upstream as the harness sees it: its server in this process, or one across a network.

`Upstream` runs `upstream_server.UpstreamServer` in this process (the local target);
`RemoteUpstream` reads a server running elsewhere (a container of the Docker target) through its
control endpoints. Both give the recorded requests as `UpstreamHit`s with the same
`url`/`hits(marker)`/`all_hits()` interface. Whether a call reached the upstream is the harness's
ground truth for "the proxy let the request through": each request is recorded *before* the
response is written, so by the time a probe sees an answer the hit is visible.
"""

from __future__ import annotations

import http.client
import json
from typing import Any, Iterable
from urllib.parse import quote, urlsplit

from harness.model.observation import UpstreamHit
from harness.targets.upstream_server import (
    CONTROL_PREFIX,
    MARKER_HEADER,
    MARKER_PATTERN,
    Record,
    UpstreamServer,
    deployment_base,
    find_marker,
    marker_text,
)

__all__ = ["MARKER_HEADER", "MARKER_PATTERN", "NoUpstream", "RemoteUpstream", "RemoteUpstreamError", "Upstream",
           "deployment_base", "find_marker", "hit_from_dict", "marker_text"]


def hit_from_dict(data: Record) -> UpstreamHit:
    """A hit from its JSON form (as the server records and serves it)."""
    model, marker, deployment = data.get("model"), data.get("marker"), data.get("deployment")
    return UpstreamHit(
        model=model if isinstance(model, str) else None,
        path=str(data.get("path", "")),
        marker=marker if isinstance(marker, str) else None,
        received_at=float(data.get("received_at", 0.0)),
        deployment=deployment if isinstance(deployment, str) else None,
    )


class Upstream(UpstreamServer):
    """The fake provider in this process, on 127.0.0.1; its records read as `UpstreamHit`s.

    Use as a context manager or call `start()`/`stop()`. `models` only shapes the answer to
    `GET /v1/models`; chat and embedding calls are answered for any model name.
    """

    def __init__(self, models: Iterable[str] = (), host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(models=models, host=host, port=port)

    def hits(self, marker: str) -> list[UpstreamHit]:
        """Requests attributed to probe `marker`, in arrival order."""
        return [hit_from_dict(record) for record in self.records(marker)]

    def all_hits(self) -> list[UpstreamHit]:
        """Every request received since start (or the last `reset()`), in arrival order."""
        return [hit_from_dict(record) for record in self.all_records()]


class RemoteUpstreamError(RuntimeError):
    """The upstream's control endpoint could not be reached or answered oddly."""


class RemoteUpstream:
    """An `Upstream` running elsewhere (e.g. in a container), read through its control endpoint.

    `url` is where this process reaches the server (e.g. a port published on 127.0.0.1);
    `proxy_url` is where the proxy reaches it (e.g. `http://upstream:8080` on a Docker network),
    which is what the proxy config must name. Probes use `hits(marker)` and `all_hits()`
    exactly as with the in-process `Upstream`. Plain `http.client`: no proxy settings from the
    environment can divert these requests.
    """

    def __init__(self, url: str, proxy_url: str | None = None, timeout_s: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"RemoteUpstream needs an http://host:port url, got {url!r}")
        self._host = parts.hostname
        self._port = parts.port or 80
        self._url = f"http://{self._host}:{self._port}"
        self.proxy_url = (proxy_url or self._url).rstrip("/")
        self._timeout_s = timeout_s

    @property
    def url(self) -> str:
        """`http://HOST:PORT` where this process reaches the upstream."""
        return self._url

    @property
    def api_base(self) -> str:
        """What the proxy's models must be configured with: `<proxy_url>/v1`."""
        return f"{self.proxy_url}/v1"

    def _request(self, method: str, name: str) -> dict[str, Any]:
        connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout_s)
        try:
            connection.request(method, CONTROL_PREFIX + name)
            response = connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as error:
            raise RemoteUpstreamError(f"upstream control endpoint at {self._url}: {error}") from error
        finally:
            connection.close()
        if response.status != 200:
            raise RemoteUpstreamError(f"upstream control endpoint {method} {name}: HTTP {response.status}")
        try:
            document = json.loads(payload)
        except ValueError as error:
            raise RemoteUpstreamError(f"upstream control endpoint {name}: answer is not JSON") from error
        if not isinstance(document, dict):
            raise RemoteUpstreamError(f"upstream control endpoint {name}: answer is not a JSON object")
        return document

    def _hits(self, name: str) -> list[UpstreamHit]:
        return [hit_from_dict(item) for item in self._request("GET", name).get("hits", []) if isinstance(item, dict)]

    def hits(self, marker: str) -> list[UpstreamHit]:
        """Requests attributed to probe `marker`, in arrival order."""
        return self._hits(f"hits?marker={quote(marker, safe='')}")

    def all_hits(self) -> list[UpstreamHit]:
        """Every request the upstream received since it started (or the last `reset()`)."""
        return self._hits("hits")

    def reset(self) -> None:
        """Forget all recorded hits."""
        self._request("DELETE", "hits")

    def healthy(self) -> bool:
        """True if the control endpoint answers."""
        try:
            return self._request("GET", "health").get("status") == "ok"
        except RemoteUpstreamError:
            return False




class NoUpstream:
    """No recording upstream behind the proxy (a url target without one): nothing is ever seen.

    An endpoint with it says `upstream_observed=False`, so an empty record is never read as
    "nothing reached the provider": the judge then rests on the proxy's answer alone and says so.
    """

    url = ""

    def hits(self, marker: str) -> list[UpstreamHit]:
        return []

    def all_hits(self) -> list[UpstreamHit]:
        return []
