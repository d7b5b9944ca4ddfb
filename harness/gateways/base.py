"""What a gateway provides to the harness: the boundary between the harness and one gateway.

The core (loading scenarios, the runner, the judge, targets, reports) knows a gateway only
through `Gateway`; everything about one gateway lives in its own package
(`harness/gateways/<name>/`) and is found through the entry point group `gateconform.gateways`
(`harness.gateways.registry`), so the next gateway can be a separate distribution.

A gateway provides, in the order of `Gateway`'s sections:

- identity: its `name` (what a target spec names: `<name>==<version>`), a `title` for people,
  the `default_target` and an `example_version` for help texts;
- vocabulary: the special names its `models` lists accept, which owners (team, user, key)
  accept which, what to say where one does not apply, and its additions to the scenario JSON
  Schema (`Vocabulary`);
- refusals: the answers `harness.judge` counts as *denied* (`harness.model.refusal.Refusal`);
- admin client: provision a scenario's world, apply a change, tear down, read capabilities
  (`AdminClient`); its proxy config; its readiness and liveness;
- releases: reading a version, refusing releases, checking a spec against what is published
  (`harness.targets.spec.ReleaseRules`), listing and selecting releases, `latest`
  (`ReleaseCatalogue`);
- launchers: a local or Docker `Target` for a parsed spec, preparing ahead, its cache of
  environments and its images (optional);
- semantics: its documented behaviour, for an oracle that derives expectations — a slot that
  stays None until a gateway documents them.

Gateway packages import their heavy parts (HTTP clients, Docker, environments) inside the
methods that need them, so finding a gateway and reading its vocabulary stays cheap.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Protocol, Sequence

from harness.common.log import Log
from harness.gateways.admin_client import (  # noqa: F401 - part of the gateway's interface, importable from here
    AdminAnswer,
    AdminClient,
    Capabilities,
    Handles,
    ProvisionError,
    Unavailable,
    WorldDiverged,
)

if TYPE_CHECKING:
    import httpx

    from harness.common.redact import Redactor
    from harness.model.derivation import Derived
    from harness.model.refusal import Refusal
    from harness.model.proxy import ProxySettings
    from harness.model.routes import ModelRoute
    from harness.model.scenario import ModelSpec, Scenario
    from harness.model.target import TargetSpec
    from harness.targets.attach import AttachOptions
    from harness.targets.base import Endpoint, Target
    from harness.targets.reaping import BuildSweeper
    from harness.targets.spec import CheckedTarget, ParsedImage


#: The owners of a `models` list in a scenario, as `SpecialName.owners` names them.
TEAM, USER, KEY, ORGANIZATION = "team", "user", "key", "organization"
OWNERS = (TEAM, USER, KEY, ORGANIZATION)


# --------------------------------------------------------------------------- vocabulary


@dataclass(frozen=True)
class SpecialName:
    """An entry of a `models` list that is not a model: the gateway gives it a meaning."""

    name: str
    meaning: str  # what it stands for, for people
    #: which `models` lists accept it (`TEAM`, `USER`, `KEY`); elsewhere the loader refuses it
    owners: frozenset[str]
    #: what to say where it does not apply, after the quoted name ("only applies to …");
    #: None: "is not accepted here"
    misplaced: str | None = None


@dataclass(frozen=True)
class Vocabulary:
    """The words a gateway adds to the scenario language, and how the loader talks about them.

    `descriptions` are the gateway's additions to the scenario JSON Schema: text that replaces
    the core description at `"<Def>"` (a definition) or `"<Def>.<property>"` of the core
    schema's `$defs` (e.g. `"TeamDecl.models"`). The special names an owner accepts are offered
    as a one-name shorthand (`models: <name>`) there too.
    """

    title: str  # the gateway's name for people, as in "a special <title> name"
    special_names: tuple[SpecialName, ...] = ()
    descriptions: Mapping[str, str] = field(default_factory=dict)
    #: the sections of its config file a scenario's `proxy:` may add to, with what each is for
    config_sections: Mapping[str, str] = field(default_factory=dict)
    #: settings the harness owns, per config section: a scenario may not set them
    reserved_settings: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: environment variables the harness sets for every proxy: a scenario may not set them
    reserved_environment: frozenset[str] = frozenset()

    @property
    def names(self) -> tuple[str, ...]:
        """Every special name, in declared order."""
        return tuple(special.name for special in self.special_names)

    def accepted_by(self, owner: str) -> tuple[str, ...]:
        """The special names `owner`'s `models` list accepts, in declared order."""
        return tuple(special.name for special in self.special_names if owner in special.owners)

    # Messages the loader gives about special names (a gateway may word them its own way).

    def not_a_model(self, name: str) -> str:
        return f"'{name}' is a special {self.title} name, not a model name"

    def not_an_access_group(self, name: str) -> str:
        return f"'{name}' is a special {self.title} name, not an access group name"

    def not_declared_models(self, name: str) -> str:
        return f"'{name}' is a special {self.title} name: list the declared models it stands for"

    def misplaced(self, name: str) -> str:
        special = next((s for s in self.special_names if s.name == name), None)
        if special is None or special.misplaced is None:
            return f"'{name}' is not accepted here"
        return f"'{name}' {special.misplaced}"


# --------------------------------------------------------------------------- releases


@dataclass
class ReleaseSelection:
    """The releases chosen, oldest first, and notes the user should see (what was left out)."""

    versions: list[str]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BisectRange:
    """The two ends of a bisect as published, and the final releases strictly between them."""

    good: str
    bad: str
    between: list[str]  # oldest first
    good_is_newer: bool  # the search looks for the release that fixed it
    notes: list[str] = field(default_factory=list)


class ReleaseCatalogue(Protocol):
    """The gateway's published releases: listing, selecting, `latest`."""

    def published(self, include_prereleases: bool = False) -> list[str]:
        """Every published release that may be used, oldest first."""
        ...

    def select(self, text: str, *, include_prereleases: bool = False, local_target: bool = False) -> ReleaseSelection:
        """The releases a selection (`A,B,latest`, `A..B`) names; `ReleaseError` for one that names none."""
        ...

    def describe(self, versions: Sequence[str]) -> list[str]:
        """One line per release for a listing (what is cached locally, …)."""
        ...

    def latest(self, cache_root: Path, log: Log | None = None) -> str:
        """The newest release that can run."""
        ...

    def bisect_range(self, good: str, bad: str) -> BisectRange:
        """The releases a bisect between `good` and `bad` searches (local target)."""
        ...

    def sample(self, versions: Sequence[str], per: str, selection: str = "") -> ReleaseSelection:
        """One release per `per` (`minor`: the newest patch of each minor version) of `versions`
        (what `selection` chose), with notes naming what the selection holds no release of."""
        ...


# --------------------------------------------------------------------------- launchers' extras


class CachedEnvironment(Protocol):
    """A prepared local environment of one release in the cache."""

    name: str
    deps: str
    exclude_newer: str | None
    size_bytes: int
    own_bytes: int
    last_used: float
    complete: bool

    @property
    def stale(self) -> bool: ...


class PruneDecision(Protocol):
    environment: Any  # the CachedEnvironment
    removed: bool
    reason: str


class EnvironmentCache(Protocol):
    """The local launcher's cache of per-release environments (`gateconform cache`)."""

    def list(self, cache_root: Path) -> list[Any]:
        """Every environment under `cache_root` (`CachedEnvironment`s)."""
        ...

    def select_for_pruning(self, environments: Sequence[Any], *, older_than_s: float | None, versions: Sequence[str],
                           stale: bool, everything: bool) -> list[tuple[Any, str]]: ...

    def prune(self, chosen: Sequence[tuple[Any, str]], dry_run: bool = False) -> list[Any]:
        """Remove the chosen environments (never one in use); `PruneDecision`s."""
        ...


class BuiltImage(Protocol):
    tag: str
    cached: bool
    seconds: float
    base: str


class ImageBuilder(Protocol):
    """Docker images of the gateway's releases that the harness builds (`gateconform image`)."""

    #: help texts of `gateconform image` and `image build`, and what its argument accepts
    summary: str
    build_help: str
    item_help: str
    item_metavar: str  # e.g. `<name>==VERSION|postgres`

    def check_build_item(self, item: str) -> None:
        """`TargetError` for an item that must not be built (malformed, compromised), before any engine."""
        ...

    def build(self, client: Any, item: str, *, base: str | None, force: bool, log: Log) -> BuiltImage: ...

    def built_images(self, client: Any) -> list[Any]: ...

    def describe(self, images: Sequence[Any]) -> list[str]: ...


class Semantics(Protocol):
    """A gateway's documented model-access rules as code (`Gateway.semantics`)."""

    def derive(self, scenario: "Scenario", version: str | None) -> "list[Derived]":
        """For every principal of every round of `scenario` (its world after each step's changes):
        each model's call and the listing, as the docs of release `version` (None: unknown) make
        them, or undetermined with the reason the docs leave it open."""
        ...


# --------------------------------------------------------------------------- the gateway


class Gateway(ABC):
    """Everything the harness needs from one gateway (see the module docstring)."""

    # -- identity
    name: str
    title: str
    default_target: str
    example_version: str

    # -- vocabulary and refusals
    vocabulary: Vocabulary
    refusals: tuple[Refusal, ...]

    # -- admin client, proxy config, readiness

    #: the cheapest sign of life of a running proxy (no auth, no database)
    liveness_path: str

    @abstractmethod
    def admin(self, endpoint: Endpoint, redactor: Redactor, log: Log | None = None, *,
              transport: httpx.BaseTransport | None = None) -> AdminClient:
        """An admin client for the proxy at `endpoint` (close it when done)."""

    @abstractmethod
    def proxy_config(self, models: Sequence[ModelSpec], upstream_url: str,
                     settings: ProxySettings | None = None) -> str:
        """The proxy's configuration text serving `models`, every one at the fake upstream, with
        a scenario's `settings` added to the harness's own."""

    def cache_ttl_s(self, settings: ProxySettings) -> float | None:
        """How long a change to a key or team may take to reach every code path of a proxy
        started with `settings` (a timeline's `wait: cache_ttl`); None when the gateway caches nothing."""
        return None

    def row_removal(self, kind: str, entity_id: str) -> str | None:
        """SQL that removes a provisioned entity's row from the gateway's database (a timeline's
        `remove_row`); None when the gateway has no such row for `kind`."""
        return None

    @abstractmethod
    def readiness(self, client: httpx.Client, base_url: str) -> tuple[bool, str]:
        """(ready, what was seen): whether a booting proxy is ready for admin calls and probes."""

    # -- releases (`harness.targets.spec.ReleaseRules`) and the catalogue

    #: dependency modes a local target may ask for after `@` (`today` first)
    deps_modes: tuple[str, ...]

    @abstractmethod
    def parse_version(self, text: str, spec: str) -> str:
        """The exact version `text` names; `ReleaseError` (mentioning `spec`) otherwise."""

    @abstractmethod
    def refuse_for_local(self, version: str) -> None:
        """`ReleaseError` for a release the local launcher cannot run (no network needed)."""

    @abstractmethod
    def parse_image(self, text: str) -> ParsedImage:
        """Read what follows `docker:` in a target spec."""

    @abstractmethod
    def check_release(self, spec: TargetSpec, cache_root: Path) -> CheckedTarget:
        """Judge a parsed spec before anything installs (published? what does `latest` mean?)."""

    @property
    @abstractmethod
    def releases(self) -> ReleaseCatalogue:
        """The published releases: listing, selecting, `latest`."""

    # -- launchers

    @abstractmethod
    def launch(self, spec: TargetSpec, log: Log, *, attach: AttachOptions | None = None) -> Target:
        """Build (not start) the target for a parsed spec: local, Docker or a running proxy (url).

        `attach`: what the command line says about attaching to a url target (its recording
        upstream, whether models may be added); the rest comes from the environment
        (`harness.targets.attach`).
        """

    def launch_kept(self, spec: TargetSpec, log: Log) -> Target:
        """Build a local target for `gateconform up`: a proxy that serves no model from its config
        and stores models in its database, so url runs can add the models each scenario needs."""
        from harness.targets.errors import TargetError

        raise TargetError(f"{self.title} cannot be kept up by gateconform up")

    def prepare_local(self, version: str, deps: str, cache_root: Path) -> bool:
        """Prepare ahead what the local launcher needs for `version` (True: something was built)."""
        return False

    def build_sweepers(self) -> Sequence[BuildSweeper]:
        """What finds the leftovers of the launcher's killed builds in the cache (`gateconform clean`)."""
        return ()

    #: the local launcher's environments in the cache, if it keeps any
    environments: EnvironmentCache | None = None
    #: the Docker images the harness builds of this gateway, if it builds any
    images: ImageBuilder | None = None

    # -- semantics

    #: The gateway's documented behaviour (with links to its docs), from which the derived
    #: oracle (`harness.oracle.derived`) computes expectations. None until a gateway documents them.
    semantics: "Semantics | None" = None
