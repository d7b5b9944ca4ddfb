"""A gateway's admin client as the harness sees it: provision a world, apply a change, tear down.

Part of the gateway boundary (`harness.gateways.base`, which re-exports these names): the
runner and the timeline drive a gateway's admin API only through `AdminClient`, and read its
answers as `AdminAnswer`s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from harness.model.routes import ModelRoute
    from harness.model.scenario import Scenario


class ProvisionError(Exception):
    """The proxy refused or failed an admin call while building the world."""


class Unavailable(ProvisionError):
    """The proxy refused a call because a feature is not available to it (e.g. it needs a licence).

    `reason` is the proxy's own words; the scenario's checks are skipped with it, not failed.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WorldDiverged(ProvisionError):
    """An entity whose creation the scenario expects to be accepted was refused: the world the
    scenario describes does not exist. Its answer is in `Handles.answers` under `creation_id`."""

    def __init__(self, creation_id: str, message: str) -> None:
        super().__init__(message)
        self.creation_id = creation_id


@dataclass(frozen=True)
class AdminAnswer:
    """What the admin API answered to one call (of a creation or a change): data, redacted.

    `status` is None when no answer came (`transport_error` says why); `text` is the body (cut).
    `call` says which request it was (`POST /key/update`).
    """

    call: str
    status: int | None
    text: str = ""
    transport_error: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Handles(Protocol):
    """What provisioning created, so teardown can undo it (also after a failure half-way)."""

    run_id: str
    keys: dict[str, str]  # principal name → secret (memory only): what the probes authenticate with
    #: creation id (`create-key-svc`) → the admin API's answer, for entities that carry `admin:`
    answers: dict[str, AdminAnswer]

    def created_count(self) -> int: ...

    def describe(self) -> str:
        """What is still in the proxy, by the names the proxy knows it under."""
        ...

    def id_of(self, kind: str, name: str) -> str | None:
        """The gateway's id of a provisioned `key`, `team`, `user`, `access_group` or `organization`."""
        ...

    def forget(self, kind: str, name: str) -> None:
        """The entity is gone from the proxy (removed under it): teardown leaves it alone."""
        ...


class Capabilities(Protocol):
    """What the running proxy offers (read from it, not from a version table).

    `model_routes` is its model-bearing surface (`harness.model.routes`): every operation of its
    own API description on which a model can be named, and `routes_source` where that was read.
    A gateway that cannot tell gives none (the sweep then has no routes to try).
    """

    model_routes: tuple[ModelRoute, ...]
    routes_source: str

    def missing_for(self, scenario: Scenario) -> list[str]:
        """Reasons the scenario cannot be provisioned faithfully on this proxy (empty: fine)."""
        ...


class AdminClient(Protocol):
    """The gateway's admin API for one running proxy, authenticated with its master key."""

    def capabilities(self) -> Capabilities: ...

    def new_handles(self, run_id: str) -> Handles:
        """Empty handles for a run, to be filled by `provision` as entities are confirmed."""
        ...

    def provision(self, scenario: Scenario, run_id: str, handles: Handles | None = None) -> Handles:
        """Create the scenario's world; raises `ProvisionError` (what was created is in `handles`).

        An entity carrying `admin:` never raises for the proxy's answer, which goes to
        `handles.answers`, except `WorldDiverged` when one expected to be accepted was refused;
        `Unavailable` when the proxy says a feature the world needs is not available to it.
        """
        ...

    def apply(self, change: object, handles: Handles) -> AdminAnswer:
        """Make one change of a scenario's timeline (`harness.model.steps`); never raises for
        the proxy's answer, which it returns (the decisive call's, when a change takes several)."""
        ...

    def unavailable(self, answer: AdminAnswer) -> str | None:
        """The proxy's words when `answer` refuses a feature not available to it (a licence), else None."""
        ...

    def teardown(self, handles: Handles) -> list[str]:
        """Delete what `handles` records; the problems met (never raises)."""
        ...

    def close(self) -> None: ...


