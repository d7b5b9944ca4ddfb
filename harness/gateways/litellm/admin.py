"""Drives LiteLLM's admin API: provision a scenario's world, apply its changes, tear it down.

The LiteLLM gateway's `harness.gateways.base.AdminClient`. What each entity's creation sends is
in `admin_world.py`, what each change of a timeline sends in `admin_changes.py`; this module is
the client they share: the HTTP calls, the handles, capabilities, licence refusals, teardown.

Everything this adapter creates carries the run id in its name (`gc-<run>-<name>`), and is
recorded the moment the proxy confirms it, so a half-finished provisioning is still torn
down completely. Key secrets live in memory only (`Handles.keys`) and never in an error text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

import httpx

from harness.common.log import Log, quiet
from harness.common.redact import Redactor
from harness.gateways.base import AdminAnswer, ProvisionError, Unavailable
from harness.gateways.litellm.admin_changes import apply_change
from harness.gateways.litellm.admin_handles import Handles
from harness.gateways.litellm.admin_world import provision_world
from harness.gateways.litellm.route_documents import (
    ROUTE_DOCUMENTS,
    ROUTE_TABLE_PATH,
    STORED_DOCUMENTS,
    is_openapi_document,
    route_table_digest,
)
from harness.gateways.litellm.routes import SOURCE as ROUTES_SOURCE, model_routes
from harness.model.routes import ModelRoute
from harness.model.scenario import Scenario
from harness.targets.base import Endpoint

ADMIN_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
#: What LiteLLM says when a feature needs an Enterprise licence (`CommonProxyErrors.not_premium_user`,
#: in every release that has one): the scenario's checks are skipped with the proxy's words.
LICENCE_MARKER = "LITELLM_LICENSE"
#: Characters of an admin answer kept in a message or an observation.
EXCERPT_LIMIT = 500


@dataclass(frozen=True)
class Capabilities:
    """What the running proxy offers, read from its OpenAPI document (not a version table)."""

    access_group_entities: bool  # /v1/access_group (entities attached by access_group_ids)
    service_account_keys: bool  # /key/service-account/generate
    #: models the proxy cannot serve as a scenario declares them, and why (a url target's proxy)
    unavailable_models: Mapping[str, str] = field(default_factory=dict)
    #: every operation a model can be named on (`harness.gateways.litellm.routes`)
    model_routes: tuple[ModelRoute, ...] = ()
    routes_source: str = ROUTES_SOURCE

    def missing_for(self, scenario: Scenario) -> list[str]:
        """Reasons the scenario cannot be provisioned faithfully on this proxy (empty: fine)."""
        reasons = []
        uses_entities = bool(scenario.access_groups)
        if uses_entities and not self.access_group_entities:
            reasons.append("this proxy has no access-group entities (/v1/access_group)")
        reasons += [self.unavailable_models[name] for name in scenario.model_names if name in self.unavailable_models]
        return reasons


def capabilities_in(document: Mapping[str, Any]) -> Capabilities:
    """What a proxy's OpenAPI `document` says it offers."""
    paths = set(document["paths"])
    return Capabilities(
        access_group_entities="/v1/access_group" in paths,
        service_account_keys="/key/service-account/generate" in paths,
        model_routes=model_routes(document),
    )


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
        self.endpoint = endpoint
        self.redactor = redactor
        redactor.add(endpoint.master_key)  # it authenticates every call: never in an error text
        self.log = log or quiet
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

    def __enter__(self) -> "LiteLLMAdapter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- capabilities ------------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        """Read once from `/openapi.json`: which admin routes this proxy has.

        A proxy whose target names its routes identity and whose own route table (`GET /routes`)
        matches one already documented, in this process or by an earlier run, is not asked to build
        its document again (`route_documents`); what depends on the endpoint (its unavailable
        models) is its own.
        """
        if self._capabilities is None:
            key = self._route_table_key()
            if key is None:
                documented = capabilities_in(self._openapi_document())
            else:
                documented = ROUTE_DOCUMENTS.get(
                    key, lambda: capabilities_in(STORED_DOCUMENTS.get(key, self._openapi_document)))
            self._capabilities = replace(documented, unavailable_models=dict(self.endpoint.unavailable_models))
        return self._capabilities

    def _route_table_key(self) -> tuple[str, str] | None:
        """(routes identity, digest of this proxy's `GET /routes`), None where documents are not shared."""
        identity = self.endpoint.routes_identity
        if identity is None:
            return None
        response = self._client.get(ROUTE_TABLE_PATH)
        if response.status_code != 200:
            return None  # its own document then says what it has
        try:
            digest = route_table_digest(response.json())
        except ValueError:
            return None
        return None if digest is None else (identity, digest)

    def _openapi_document(self) -> dict[str, Any]:
        """This proxy's `/openapi.json`, checked to be a document with paths."""
        response = self._client.get("/openapi.json")
        if response.status_code != 200:
            raise ProvisionError(f"GET /openapi.json answered HTTP {response.status_code}")
        try:
            document = response.json()
        except ValueError:
            raise ProvisionError("GET /openapi.json answered a body that is not JSON") from None
        if not is_openapi_document(document):
            raise ProvisionError("GET /openapi.json answered a body without its paths")
        return document

    # -- the world and its changes --------------------------------------------------------

    def provision(self, scenario: Scenario, run_id: str, handles: Handles | None = None) -> Handles:
        """Create the scenario's world in dependency order (see `admin_world.provision_world`).

        Pass `handles` to have partial progress recorded in an object the caller already
        holds, so that teardown can undo whatever was created before a failure.
        """
        handles = handles or Handles(run_id=run_id)
        provision_world(self, scenario, handles)
        self.log(f"provisioned {handles.created_count()} entities for run {run_id}")
        return handles

    def apply(self, change: object, handles: Handles) -> AdminAnswer:
        """Make one change of a timeline (see `admin_changes.apply_change`)."""
        return apply_change(self, change, handles)

    def unavailable(self, answer: AdminAnswer) -> str | None:
        """LiteLLM's words when `answer` refuses a feature that needs an Enterprise licence."""
        if answer.accepted or answer.status is None or LICENCE_MARKER not in answer.text:
            return None
        return f"the proxy refused {answer.call} (HTTP {answer.status}): {error_message(answer.text)}"

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
                problems.append(f"{what}: {type(exc).__name__}: {self.redactor.redact(str(exc))}")
                return
            if response.status_code >= 300 and response.status_code != 404:
                problems.append(f"{what}: HTTP {response.status_code} {self.excerpt(response.text)}")
                return
            for name in names:
                created.pop(name, None)

        def batch(what: str, created: dict[str, str], method: str, path: str, field_name: str) -> None:
            if created:
                names, ids = list(created), list(created.values())
                attempt(what, created, names, lambda: self._client.request(method, path, json={field_name: ids}))

        batch("delete keys", handles.key_tokens, "POST", "/key/delete", "keys")
        batch("delete users", handles.users, "POST", "/user/delete", "user_ids")
        for name, model_id in list(handles.team_models.items()):
            attempt(f"delete model {model_id}", handles.team_models, [name],
                    lambda mid=model_id: self._client.post("/model/delete", json={"id": mid}))
        batch("delete teams", handles.teams, "POST", "/team/delete", "team_ids")
        for name, group_id in list(handles.access_groups.items()):
            attempt(f"delete access group {group_id}", handles.access_groups, [name],
                    lambda gid=group_id: self._client.delete(f"/v1/access_group/{gid}"))
        batch("delete organizations", handles.organizations, "DELETE", "/organization/delete", "organization_ids")
        return problems

    # -- calls -------------------------------------------------------------------------

    @staticmethod
    def name(run_id: str, name: str) -> str:
        """`gc-<run>-<name>`: how the proxy knows what the scenario calls `name`."""
        return f"gc-{run_id}-{name}"

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, *,
             as_key: str | None = None) -> tuple[AdminAnswer, dict[str, Any] | None]:
        """One admin call (with the master key, or `as_key`); its answer and JSON object. Never raises."""
        shown = f"{method} {path}"
        headers = {"Authorization": f"Bearer {as_key}"} if as_key is not None else None
        try:
            response = self._client.request(method, path, json=body, headers=headers)
        except httpx.HTTPError as exc:
            return AdminAnswer(shown, None, transport_error=self.redactor.redact(f"{type(exc).__name__}: {exc}")), None
        answer = AdminAnswer(shown, response.status_code, self.excerpt(response.text, 4 * EXCERPT_LIMIT))
        try:
            payload = response.json()
        except ValueError:
            payload = None
        return answer, payload if isinstance(payload, dict) else None

    def post(self, path: str, body: dict[str, Any], what: str, required: str | None = None,
             method: str = "POST") -> dict[str, Any]:
        """A call that must succeed: its JSON object (with a non-empty `required` field, when named)."""
        answer, payload = self.call(method, path, body)
        return self.require(answer, payload, what, required)

    def require(self, answer: AdminAnswer, payload: dict[str, Any] | None, what: str,
                required: str | None = None) -> dict[str, Any]:
        """`payload` of an accepted answer; `ProvisionError` (or `Unavailable`) saying why otherwise."""
        if answer.status is None:
            raise ProvisionError(f"creating {what}: {answer.call} failed: {answer.transport_error}")
        if not answer.accepted:
            reason = self.unavailable(answer)
            if reason is not None:
                raise Unavailable(reason)
            raise ProvisionError(f"creating {what}: {answer.call} answered HTTP {answer.status}: "
                                 f"{answer.text[:EXCERPT_LIMIT]}")
        if payload is None:
            try:
                json.loads(answer.text)
            except ValueError:
                raise ProvisionError(f"creating {what}: {answer.call} answered a non-JSON body") from None
            raise ProvisionError(f"creating {what}: {answer.call} answered an unexpected body")
        if required is not None and not payload.get(required):
            raise ProvisionError(f"creating {what}: {answer.call} answered without {required}")
        return payload

    def excerpt(self, text: str, limit: int = EXCERPT_LIMIT) -> str:
        return self.redactor.redact(text[:limit])

    @property
    def upstream_url(self) -> str:
        """The fake upstream's URL as the proxy reaches it (a model added through the admin API points there)."""
        upstream = self.endpoint.upstream
        return getattr(upstream, "proxy_url", None) or upstream.url


def error_message(text: str) -> str:
    """The message of a LiteLLM error body (`{"error": {"message"}}` or `{"detail": {"error"}}`), else the text."""
    try:
        body = json.loads(text)
    except ValueError:
        return text[:EXCERPT_LIMIT]
    if isinstance(body, dict):
        error, detail = body.get("error"), body.get("detail")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"][:EXCERPT_LIMIT]
        if isinstance(detail, dict) and isinstance(detail.get("error"), str):
            return detail["error"][:EXCERPT_LIMIT]
        if isinstance(detail, str):
            return detail[:EXCERPT_LIMIT]
    return text[:EXCERPT_LIMIT]
