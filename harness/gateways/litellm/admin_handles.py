"""What the LiteLLM admin client created (`Handles`), and the calls its world and change modules use.

`AdminCalls` is the part of `LiteLLMAdapter` that `admin_world` and `admin_changes` call, so
they need not import the adapter (which imports them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.common.redact import Redactor
from harness.gateways.base import AdminAnswer


#: Handles' fields per kind of entity, for `id_of` and teardown.
_KINDS = {"key": "key_tokens", "team": "teams", "user": "users", "access_group": "access_groups",
          "organization": "organizations", "model": "team_models"}


@dataclass
class Handles:
    """What provisioning created: names in the scenario → ids in the proxy."""

    run_id: str
    keys: dict[str, str] = field(default_factory=dict)  # principal name → secret (memory only)
    key_tokens: dict[str, str] = field(default_factory=dict)  # key name → hashed token
    teams: dict[str, str] = field(default_factory=dict)  # team name → team_id
    users: dict[str, str] = field(default_factory=dict)  # user name → user_id
    access_groups: dict[str, str] = field(default_factory=dict)  # name → access_group_id
    organizations: dict[str, str] = field(default_factory=dict)  # name → organization_id
    team_models: dict[str, str] = field(default_factory=dict)  # team-only model name → model id
    answers: dict[str, AdminAnswer] = field(default_factory=dict)  # creation id → answer
    #: ids of entities deleted by a timeline: changing one afterwards still names it
    former: dict[tuple[str, str], str] = field(default_factory=dict)

    def created_count(self) -> int:
        return sum(len(getattr(self, name)) for name in _KINDS.values())

    def describe(self) -> str:
        """What these handles hold, by the names the proxy knows them under
        (`keys gc-<run>-svc, gc-<run>-ctl; team gc-<run>-platform`)."""
        parts = []
        for kind, names in (("key", self.key_tokens), ("user", self.users), ("team", self.teams),
                            ("model", self.team_models), ("access group", self.access_groups),
                            ("organization", self.organizations)):
            if names:
                plural = "s" if len(names) > 1 else ""
                parts.append(f"{kind}{plural} " + ", ".join(f"gc-{self.run_id}-{name}" for name in names))
        return "; ".join(parts) or "nothing"

    def id_of(self, kind: str, name: str) -> str | None:
        """The proxy's id of a provisioned entity (a key's hashed token), also after a timeline deleted it."""
        live = getattr(self, _KINDS[kind]).get(name)
        return live if live is not None else self.former.get((kind, name))

    def forget(self, kind: str, name: str) -> None:
        """The entity is gone from the proxy (a timeline deleted it): no teardown, id kept in `former`."""
        gone = getattr(self, _KINDS[kind]).pop(name, None)
        if gone is not None:
            self.former[(kind, name)] = gone




class AdminCalls(Protocol):
    """The admin client as the world and change modules use it (`LiteLLMAdapter`)."""

    redactor: Redactor

    @staticmethod
    def name(run_id: str, name: str) -> str: ...

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, *,
             as_key: str | None = None) -> tuple[AdminAnswer, dict[str, Any] | None]: ...

    def post(self, path: str, body: dict[str, Any], what: str, required: str | None = None,
             method: str = "POST") -> dict[str, Any]: ...

    def require(self, answer: AdminAnswer, payload: dict[str, Any] | None, what: str,
                required: str | None = None) -> dict[str, Any]: ...

    def unavailable(self, answer: AdminAnswer) -> str | None: ...

    def capabilities(self) -> Any: ...

    @property
    def upstream_url(self) -> str: ...
