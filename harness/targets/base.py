"""What every target hands to the rest of the harness once its proxy is up."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence, TypeVar

from harness.model.observation import UpstreamHit
from harness.model.scenario import ModelSpec
from harness.targets.lifecycle import StopsOnExit, timed

T = TypeVar("T")


class UpstreamRecorder(Protocol):
    """The fake provider as probes see it: in-process (`Upstream`) or across a network
    (`RemoteUpstream`, the Docker target's)."""

    @property
    def url(self) -> str: ...

    def hits(self, marker: str) -> list[UpstreamHit]: ...

    def all_hits(self) -> list[UpstreamHit]: ...


#: Runs one SQL statement on a proxy's own database (what a target that owns it offers).
RunSql = Callable[[str], Any]


@dataclass
class Endpoint:
    """A running proxy: where it listens, its master key, and the fake upstream behind it.

    `database` runs SQL on the proxy's database where the harness owns it (local, Docker),
    for a timeline's target actions; None elsewhere.
    """

    base_url: str
    master_key: str
    upstream: UpstreamRecorder
    proxy_version: str  # e.g. "1.82.3"
    target_label: str  # e.g. "<gateway>==1.82.3 (local)"
    image_digest: str | None = None  # the exact image a docker target runs
    #: False when no recording upstream is behind the proxy (a url target without one): probes then
    #: see only the proxy's answers, and the judge says its verdicts rest on them alone
    upstream_observed: bool = True
    #: models a scenario may declare that this proxy cannot serve as declared, and why (a url
    #: target's proxy lacks them): scenarios that need one are skipped with that reason
    unavailable_models: dict[str, str] = field(default_factory=dict)
    #: what was installed in place of what the release pins, one line each (none: as published)
    substitutions: tuple[str, ...] = ()
    #: which dating of the release's dependencies worked (a local target with dependencies as released)
    deps_dating: str | None = None
    database: RunSql | None = None
    #: what a proxy's route documentation depends on besides its route table: its build, its
    #: import-time environment and its config settings (not its models). Proxies with the same
    #: identity and route table document their routes alike (a gateway may read one document for
    #: all of them); None: this proxy's own document, always.
    routes_identity: str | None = None
    #: stopping the target discards everything this proxy holds (its processes and its database),
    #: so what a scenario created there needs no deleting when the proxy is stopped right after
    discarded_on_stop: bool = False


class Target(Protocol):
    """Starts a proxy serving `models` (all pointing at the upstream fake) and stops it.

    A target that can start a proxy with a scenario's settings (`ProxySettings`: config
    sections, environment) takes them as `start(models, settings)`; the runner passes them only
    when a scenario has some, so a target without the parameter serves every other scenario.
    """

    label: str

    def start(self, models: Sequence[ModelSpec]) -> Endpoint: ...

    def stop(self) -> None: ...


class ProxyTarget(StopsOnExit):
    """What every launcher of a proxy shares: its timings, and the endpoint it hands out once up.

    A launcher sets `base_url`, `master_key`, `upstream`, `version`, (for an image) `image_digest`
    and (when it installed something other than the release as published) `substitutions` and
    `deps_dating` while it starts, then returns `self.endpoint()`.
    """

    label: str
    base_url: str
    master_key: str
    upstream: Any
    version: str | None
    image_digest: str | None = None
    substitutions: tuple[str, ...] = ()
    deps_dating: str | None = None
    database: RunSql | None = None
    routes_identity: str | None = None
    #: whether `stop()` discards the proxy's database with it (`Endpoint.discarded_on_stop`)
    discards_state_on_stop: bool = False
    timings: dict[str, float]

    def _timed(self, name: str, step: Callable[[], T]) -> T:
        return timed(self.timings, name, step)

    def endpoint(self) -> Endpoint:
        """The running proxy as the rest of the harness sees it."""
        return Endpoint(
            base_url=self.base_url,
            master_key=self.master_key,
            upstream=self.upstream,
            proxy_version=self.version or "",
            target_label=self.label,
            image_digest=self.image_digest,
            substitutions=tuple(self.substitutions),
            deps_dating=self.deps_dating,
            database=self.database,
            routes_identity=self.routes_identity,
            discarded_on_stop=self.discards_state_on_stop,
        )
