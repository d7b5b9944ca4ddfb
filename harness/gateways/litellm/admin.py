"""Drives LiteLLM's admin API: provision a scenario's world, read capabilities, tear it down.

The LiteLLM gateway's `harness.gateways.base.AdminClient` (`ProvisionError` is the base's).

Everything this adapter creates carries the run id in its name (`gc-<run>-<name>`), and is
recorded the moment the proxy confirms it, so a half-finished provisioning is still torn
down completely. Key secrets live in memory only (`Handles.keys`) and never in an error text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import httpx

from harness.common.log import Log, quiet
from harness.common.redact import Redactor
from harness.gateways.base import ProvisionError
from harness.gateways.litellm.routes import SOURCE as ROUTES_SOURCE, model_routes
from harness.model.routes import ModelRoute
from harness.model.scenario import Scenario
from harness.targets.base import Endpoint

ADMIN_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


@dataclass(frozen=True)
class Capabilities:
    """What the running proxy offers, read from its OpenAPI document (not a version table)."""

    access_group_entities: bool  # /v1/access_group (entities attached by access_group_ids)
    service_account_keys: bool  # /key/service-account/generate
    #: every operation a model can be named on (`harness.gateways.litellm.routes`)
    model_routes: tuple[ModelRoute, ...] = ()
    routes_source: str = ROUTES_SOURCE

    def missing_for(self, scenario: Scenario) -> list[str]:
        """Reasons the scenario cannot be provisioned faithfully on this proxy (empty: fine)."""
        reasons = []
        uses_entities = bool(scenario.access_groups)
        if uses_entities and not self.access_group_entities:
            reasons.append("this proxy has no access-group entities (/v1/access_group)")
        return reasons


@dataclass
class Handles:
    """What provisioning created: names in the scenario → ids in the proxy."""

    run_id: str
    keys: dict[str, str] = field(default_factory=dict)  # key name → secret (memory only)
    key_tokens: dict[str, str] = field(default_factory=dict)  # key name → hashed token
    teams: dict[str, str] = field(default_factory=dict)  # team name → team_id
    users: dict[str, str] = field(default_factory=dict)  # user name → user_id
    access_groups: dict[str, str] = field(default_factory=dict)  # name → access_group_id

    def created_count(self) -> int:
        return len(self.key_tokens) + len(self.teams) + len(self.users) + len(self.access_groups)

    def describe(self) -> str:
        """What these handles hold, by the names the proxy knows them under
        (`keys gc-<run>-svc, gc-<run>-ctl; team gc-<run>-platform`)."""
        parts = []
        for kind, names in (("key", self.key_tokens), ("user", self.users), ("team", self.teams),
                            ("access group", self.access_groups)):
            if names:
                plural = "s" if len(names) > 1 else ""
                parts.append(f"{kind}{plural} " + ", ".join(f"gc-{self.run_id}-{name}" for name in names))
        return "; ".join(parts) or "nothing"


class LiteLLMAdapter:
    """Admin-API client for one running LiteLLM proxy, authenticated with the master key."""

    def __init__(
        self,
        endpoint: Endpoint,
        redactor: Redactor,
        log: Log | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`transport`: how admin calls travel (e.g. a `ConnectionGuard`'s, which can abandon them)."""
        self._endpoint = endpoint
        self._redactor = redactor
        redactor.add(endpoint.master_key)  # it authenticates every call: never in an error text
        self._log = log or quiet
        self._client = httpx.Client(
            base_url=endpoint.base_url,
            headers={"Authorization": f"Bearer {endpoint.master_key}"},
            timeout=ADMIN_TIMEOUT,
            transport=transport,
        )
        self._capabilities: Capabilities | None = None

    def close(self) -> None:
        self._client.close()

    def new_handles(self, run_id: str) -> Handles:
        """Empty handles for `run_id`, filled by `provision` as the proxy confirms each entity."""
        return Handles(run_id=run_id)

    def apply(self, change: object, handles: Handles) -> None:
        """Apply a scenario step's change to the provisioned world: no step exists yet."""
        raise NotImplementedError("scenario steps (changes to a provisioned world) are not part of the language yet")

    def __enter__(self) -> "LiteLLMAdapter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- capabilities ------------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        """Read once from `/openapi.json`: which admin routes this proxy has."""
        if self._capabilities is None:
            response = self._client.get("/openapi.json")
            if response.status_code != 200:
                raise ProvisionError(f"GET /openapi.json answered HTTP {response.status_code}")
            try:
                document = response.json()
            except ValueError:
                raise ProvisionError("GET /openapi.json answered a body that is not JSON") from None
            if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
                raise ProvisionError("GET /openapi.json answered a body without its paths")
            paths = set(document["paths"])
            self._capabilities = Capabilities(
                access_group_entities="/v1/access_group" in paths,
                service_account_keys="/key/service-account/generate" in paths,
                model_routes=model_routes(document),
            )
        return self._capabilities

    # -- provisioning ------------------------------------------------------------------

    def provision(self, scenario: Scenario, run_id: str, handles: Handles | None = None) -> Handles:
        """Create the scenario's access groups, teams, users and keys, in dependency order.

        Pass `handles` to have partial progress recorded in an object the caller already
        holds, so that teardown can undo whatever was created before a failure.
        """
        handles = handles or Handles(run_id=run_id)
        for group in scenario.access_groups:
            body = {
                "access_group_name": self._name(run_id, group.name),
                "access_model_names": list(group.models),
            }
            created = self._post("/v1/access_group", body, what=f"access group '{group.name}'",
                                 required="access_group_id")
            handles.access_groups[group.name] = created["access_group_id"]

        for team in scenario.teams:
            body = {"team_alias": self._name(run_id, team.name), "models": list(team.models)}
            if team.access_groups:
                body["access_group_ids"] = [handles.access_groups[g] for g in team.access_groups]
            created = self._post("/team/new", body, what=f"team '{team.name}'", required="team_id")
            handles.teams[team.name] = created["team_id"]

        for user in scenario.users:
            user_id = self._name(run_id, user.name)
            body: dict[str, Any] = {"user_id": user_id, "auto_create_key": False}
            if user.models is not None:
                body["models"] = list(user.models)
            self._post("/user/new", body, what=f"user '{user.name}'")
            handles.users[user.name] = user_id
            for team_name in user.teams:
                member = {"role": "user", "user_id": user_id}
                self._post(
                    "/team/member_add",
                    {"team_id": handles.teams[team_name], "member": member},
                    what=f"membership of user '{user.name}' in team '{team_name}'",
                )

        for key in scenario.keys:
            body = {"key_alias": self._name(run_id, key.name), "models": list(key.models)}
            if key.team:
                body["team_id"] = handles.teams[key.team]
            if key.user:
                body["user_id"] = handles.users[key.user]
            if key.access_groups:
                body["access_group_ids"] = [handles.access_groups[g] for g in key.access_groups]
            route = "/key/generate"
            if key.service_account:
                # The UI's "Service Account" key: owned by the team, not a user.
                body["metadata"] = {"service_account_id": self._name(run_id, key.name)}
                if self.capabilities().service_account_keys:
                    route = "/key/service-account/generate"
            created = self._post(route, body, what=f"key '{key.name}'", required="key")
            secret = created["key"]
            self._redactor.add(secret)
            handles.keys[key.name] = secret
            handles.key_tokens[key.name] = created.get("token") or created.get("token_id") or secret
        self._log(f"provisioned {handles.created_count()} entities for run {run_id}")
        return handles

    # -- teardown ----------------------------------------------------------------------

    def teardown(self, handles: Handles) -> list[str]:
        """Delete everything `handles` records; returns problems (never raises).

        What was deleted is removed from `handles`, so afterwards they hold exactly what is
        left in the proxy (`handles.describe()` names it).
        """
        problems: list[str] = []

        def attempt(what: str, created: dict[str, str], names: list[str],
                    call: Callable[[], httpx.Response]) -> None:
            try:
                response = call()
            except httpx.HTTPError as exc:
                problems.append(f"{what}: {type(exc).__name__}: {self._redactor.redact(str(exc))}")
                return
            if response.status_code >= 300 and response.status_code != 404:
                problems.append(
                    f"{what}: HTTP {response.status_code} {self._excerpt(response.text)}"
                )
                return
            for name in names:
                created.pop(name, None)

        if handles.key_tokens:
            names = list(handles.key_tokens)
            tokens = list(handles.key_tokens.values())
            attempt("delete keys", handles.key_tokens, names,
                    lambda: self._client.post("/key/delete", json={"keys": tokens}))
        if handles.users:
            names, ids = list(handles.users), list(handles.users.values())
            attempt("delete users", handles.users, names,
                    lambda: self._client.post("/user/delete", json={"user_ids": ids}))
        if handles.teams:
            names, ids = list(handles.teams), list(handles.teams.values())
            attempt("delete teams", handles.teams, names,
                    lambda: self._client.post("/team/delete", json={"team_ids": ids}))
        for name, group_id in list(handles.access_groups.items()):
            attempt(
                f"delete access group {group_id}", handles.access_groups, [name],
                lambda gid=group_id: self._client.delete(f"/v1/access_group/{gid}"),
            )
        return problems

    # -- helpers -----------------------------------------------------------------------

    @staticmethod
    def _name(run_id: str, name: str) -> str:
        return f"gc-{run_id}-{name}"

    def _post(self, path: str, body: dict[str, Any], what: str, required: str | None = None) -> dict[str, Any]:
        """POST `body`; the answer, a JSON object (with a non-empty `required` field, when named)."""
        try:
            response = self._client.post(path, json=body)
        except httpx.HTTPError as exc:
            raise ProvisionError(f"creating {what}: POST {path} failed: {type(exc).__name__}: "
                                 f"{self._redactor.redact(str(exc))}") from None
        if response.status_code >= 300:
            raise ProvisionError(
                f"creating {what}: POST {path} answered HTTP {response.status_code}: "
                f"{self._excerpt(response.text)}"
            )
        try:
            payload = response.json()
        except ValueError:
            raise ProvisionError(f"creating {what}: POST {path} answered a non-JSON body")
        if not isinstance(payload, dict):
            raise ProvisionError(f"creating {what}: POST {path} answered an unexpected body")
        if required is not None and not payload.get(required):
            raise ProvisionError(f"creating {what}: POST {path} answered without {required}")
        return payload

    def _excerpt(self, text: str, limit: int = 500) -> str:
        return self._redactor.redact(text[:limit])
