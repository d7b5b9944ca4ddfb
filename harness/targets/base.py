"""What every target hands to the rest of the harness once its proxy is up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

from harness.model.observation import UpstreamHit
from harness.model.scenario import ModelSpec


class UpstreamRecorder(Protocol):
    """The fake provider as probes see it: in-process (`Upstream`) or across a network
    (`RemoteUpstream`, the Docker target's)."""

    @property
    def url(self) -> str: ...

    def hits(self, marker: str) -> list[UpstreamHit]: ...

    def all_hits(self) -> list[UpstreamHit]: ...


@dataclass
class Endpoint:
    """A running proxy: where it listens, its master key, and the fake upstream behind it."""

    base_url: str
    master_key: str
    upstream: UpstreamRecorder
    proxy_version: str  # e.g. "1.82.3"
    target_label: str  # e.g. "<gateway>==1.82.3 (local)"
    image_digest: str | None = None  # the exact image a docker target runs


class Target(Protocol):
    """Starts a proxy serving `models` (all pointing at the upstream fake) and stops it."""

    label: str

    def start(self, models: Sequence[ModelSpec]) -> Endpoint: ...

    def stop(self) -> None: ...
