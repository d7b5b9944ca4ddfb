"""The `url` target on LiteLLM: a proxy that is already running, used as it is.

Nothing is started and nothing of the proxy's own is touched: scenarios create their entities
with the run's prefix (`gc-<run>-…`, the admin client) and delete them after. What this target
adds is the models a scenario needs:

- a model the proxy serves (not one of gateconform's temporary ones) is used as it is; one the
  proxy lacks, or serves without the config access groups the scenario gives it, makes the
  scenario's checks skip, saying which and why (`Endpoint.unavailable_models`);
- unless adding models is allowed (`harness.targets.attach`) and the proxy stores models in its
  database: then the missing model is added for the run (`POST /model/new`, at the recording
  upstream, its deployment id `gc-<target>-<model>` carrying a gateconform prefix) and removed
  when the target stops (`POST /model/delete`, by that id only).
- On the proxy `gateconform up` keeps (ours, `Attachment.managed`), added models stay for the
  next run instead (ids `gc-up-<model>`): a rerun finds them and adds nothing; a run that needs
  other models removes the kept ones it does not need, so a listing sees exactly its models.

The proxy's version comes from `/health/readiness`; its master key must be accepted and its
database connected, or the target does not start (every check ERROR, saying why).
"""

from __future__ import annotations

import secrets
from typing import Any, Sequence

import httpx

from harness.common.log import Log, quiet
from harness.common.redact import Redactor
from harness.gateways.litellm.proxy_config import model_entry
from harness.gateways.litellm.readiness import READINESS_PATH
from harness.targets import up_state
from harness.targets.attach import ADD_MODELS_ENV, MASTER_KEY_ENV, Attachment
from harness.targets.base import Endpoint, ModelSpec
from harness.targets.errors import TargetError
from harness.targets.upstream import NoUpstream, RemoteUpstream

#: Deployment ids of models gateconform adds start with this; such models are never counted as
#: the proxy's own (another run may remove them any time).
ADDED_MODEL_PREFIX = "gc-"
#: Deployment ids of the models kept on a `gateconform up` proxy between runs.
KEPT_MODEL_PREFIX = f"{ADDED_MODEL_PREFIX}up-"
_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
_EXCERPT = 300


class AttachedProxy:
    """A running LiteLLM proxy as a `Target`: `start` checks it and readies the models, `stop` removes
    only what `start` added."""

    def __init__(self, attachment: Attachment, log: Log | None = None, liveness_path: str = "/health/liveliness"):
        self.attachment = attachment
        self.label = f"{attachment.base_url} (url)"
        self.log = log or quiet
        self._liveness_path = liveness_path
        self._redactor = Redactor([attachment.master_key])
        self._client: httpx.Client | None = None
        self._added: list[str] = []  # deployment ids this target added, removed by stop()
        self._token = secrets.token_hex(4)
        self._turn: Any = None  # the kept proxy's models lock, held from start to stop

    # -- start

    def start(self, models: Sequence[ModelSpec]) -> Endpoint:
        """Check the proxy answers, takes the master key and has its database; ready `models`."""
        attachment = self.attachment
        self._client = httpx.Client(base_url=attachment.base_url, timeout=_TIMEOUT,
                                    headers={"Authorization": f"Bearer {attachment.master_key}"})
        try:
            if attachment.managed:
                self._take_turn()
            version = self._check_proxy()
            unavailable = self._ready_models(models, self._deployments())
        except BaseException:
            self.stop()
            raise
        upstream = RemoteUpstream(attachment.upstream_url) if attachment.upstream_url else NoUpstream()
        self.log(f"{self.label}: litellm {version or '(version not reported)'}"
                 + (f", {len(self._added)} model(s) added for the run" if self._added else "")
                 + (f", {len(unavailable)} model(s) unavailable" if unavailable else ""))
        return Endpoint(
            base_url=attachment.base_url, master_key=attachment.master_key, upstream=upstream,
            proxy_version=version or "", target_label=self.label,
            upstream_observed=attachment.upstream_observed, unavailable_models=unavailable,
        )

    def _check_proxy(self) -> str | None:
        """The proxy's version; `TargetError` unless it answers with its database connected."""
        liveness = self._get(self._liveness_path, "its liveness")
        if liveness.status_code != 200:
            raise TargetError(f"{self.label}: {self._liveness_path} answered HTTP {liveness.status_code}; "
                              "is this a LiteLLM proxy?")
        readiness = self._get(READINESS_PATH, "its readiness")
        document = _json_object(readiness)
        db = document.get("db")
        if readiness.status_code != 200 or db != "connected":
            raise TargetError(f"{self.label}: the proxy's database is not connected ({READINESS_PATH}: HTTP "
                              f"{readiness.status_code}, db={db!r}); gateconform creates keys, teams and users "
                              "through it")
        version = document.get("litellm_version") or self.attachment.proxy_version
        if not version:  # newer releases tell it to an admin only
            details = self._get(f"{READINESS_PATH}/details", "its version")
            version = _json_object(details).get("litellm_version") if details.status_code == 200 else None
        return version if isinstance(version, str) else None

    def _deployments(self) -> list[dict[str, Any]]:
        """The proxy's model deployments (`/model/info`); `TargetError` when the master key is refused."""
        response = self._get("/model/info", "its models")
        if response.status_code in (401, 403):
            raise TargetError(f"{self.label}: the proxy refused the master key from ${MASTER_KEY_ENV} "
                              f"(GET /model/info: HTTP {response.status_code})")
        if response.status_code != 200:
            raise TargetError(f"{self.label}: GET /model/info answered HTTP {response.status_code}: "
                              f"{self._excerpt(response.text)}")
        data = _json_object(response).get("data")
        if not isinstance(data, list):
            raise TargetError(f"{self.label}: GET /model/info answered without a list of models")
        return [entry for entry in data if isinstance(entry, dict)]

    def _ready_models(self, models: Sequence[ModelSpec], deployments: list[dict[str, Any]]) -> dict[str, str]:
        """Add what may be added; the models that stay unavailable, and why."""
        if self.attachment.managed:
            deployments = self._keep_only(models, deployments)
        unavailable: dict[str, str] = {}
        for model in models:
            if self.attachment.managed and _kept_as(model, deployments):
                continue  # added for an earlier run, as this one needs it
            served = [d for d in deployments if d.get("model_name") == model.name and not _added_by_us(d)]
            if served:
                lacking = set(model.access_groups) - {group for d in served for group in _access_groups(d)}
                if lacking:
                    unavailable[model.name] = (f"the proxy serves {model.name} outside access group(s) "
                                               f"{', '.join(sorted(lacking))} the scenario puts it in")
            elif self.attachment.add_models:
                why_not = self._add(model)
                if why_not is not None:
                    unavailable[model.name] = why_not
            else:
                unavailable[model.name] = (f"the proxy at {self.attachment.base_url} has no model {model.name} "
                                           f"(add it, or let gateconform add it for the run: --add-models or "
                                           f"{ADD_MODELS_ENV}=1, where the proxy stores models in its database)")
        return unavailable

    def _keep_only(self, models: Sequence[ModelSpec], deployments: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """On a kept proxy: remove the kept models this run does not need as they are; the rest."""
        remaining = []
        for deployment in deployments:
            kept_id = _kept_id(deployment)
            if kept_id is None or any(_kept_as(model, [deployment]) for model in models):
                remaining.append(deployment)
                continue
            response = self._post("/model/delete", {"id": kept_id}, f"removing the kept model {kept_id}")
            if response.status_code != 200 and "not found" not in response.text.lower():
                raise TargetError(f"{self.label}: removing the kept model {kept_id}: POST /model/delete answered "
                                  f"HTTP {response.status_code}: {self._excerpt(response.text)}")
        return remaining

    def _add(self, model: ModelSpec) -> str | None:
        """Add `model` at the recording upstream; why it cannot be (None: added). `TargetError` on trouble."""
        assert self.attachment.upstream_url is not None
        entry = model_entry(model, self.attachment.upstream_url)
        managed = self.attachment.managed
        deployment_id = f"{KEPT_MODEL_PREFIX}{model.name}" if managed else f"{ADDED_MODEL_PREFIX}{self._token}-{model.name}"
        entry["model_info"] = {**entry.get("model_info", {}), "id": deployment_id}
        response = self._post("/model/new", entry, f"adding {model.name}")
        if response.status_code == 200:
            if not managed:  # a kept proxy's models stay for the next run
                self._added.append(deployment_id)
            return None
        if "STORE_MODEL_IN_DB" in response.text:
            return (f"the proxy at {self.attachment.base_url} has no model {model.name} and does not store models "
                    "in its database (STORE_MODEL_IN_DB), so gateconform cannot add it for the run")
        raise TargetError(f"{self.label}: adding {model.name} for the run: POST /model/new answered HTTP "
                          f"{response.status_code}: {self._excerpt(response.text)}")

    def _take_turn(self) -> None:
        """On a kept proxy, wait until no other run uses its models (they would be swapped under it)."""
        from filelock import FileLock, Timeout

        self._turn = FileLock(str(up_state.models_lock_path()))
        try:
            self._turn.acquire(timeout=0)
        except Timeout:
            self.log(f"{self.label}: another run is using the kept proxy's models; waiting for its turn")
            self._turn.acquire()

    # -- stop

    def stop(self) -> None:
        """Remove the models `start` added (by their ids only); nothing else. Idempotent."""
        client, self._client = self._client, None
        if client is None:
            return
        turn, self._turn = self._turn, None
        if turn is not None:
            turn.release()
        problems = []
        try:
            for deployment_id in list(self._added):
                try:
                    response = client.post("/model/delete", json={"id": deployment_id})
                except httpx.HTTPError as exc:
                    problems.append(f"model {deployment_id}: {type(exc).__name__}: {self._redactor.redact(str(exc))}")
                    continue
                if response.status_code == 200 or "not found" in response.text.lower():
                    self._added.remove(deployment_id)
                else:
                    problems.append(f"model {deployment_id}: HTTP {response.status_code} {self._excerpt(response.text)}")
        finally:
            client.close()
        if problems:
            raise TargetError(f"{self.label}: models added for the run are left in the proxy: " + "; ".join(problems))

    # -- helpers

    def _get(self, path: str, what: str) -> httpx.Response:
        assert self._client is not None
        try:
            return self._client.get(path)
        except httpx.HTTPError as exc:
            raise TargetError(f"{self.label}: no answer when asking for {what} ({path}): {type(exc).__name__}: "
                              f"{self._redactor.redact(str(exc))}") from None

    def _post(self, path: str, body: dict[str, Any], what: str) -> httpx.Response:
        assert self._client is not None
        try:
            return self._client.post(path, json=body)
        except httpx.HTTPError as exc:
            raise TargetError(f"{self.label}: {what}: POST {path} failed: {type(exc).__name__}: "
                              f"{self._redactor.redact(str(exc))}") from None

    def _excerpt(self, text: str) -> str:
        return self._redactor.redact(text[:_EXCERPT])


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        document = response.json()
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _added_by_us(deployment: dict[str, Any]) -> bool:
    """A deployment a gateconform run added for itself (never counted as the proxy's own)."""
    info = deployment.get("model_info")
    return isinstance(info, dict) and str(info.get("id") or "").startswith(ADDED_MODEL_PREFIX)


def _kept_id(deployment: dict[str, Any]) -> str | None:
    """The id of a model kept on a `gateconform up` proxy, else None."""
    info = deployment.get("model_info")
    deployment_id = str(info.get("id") or "") if isinstance(info, dict) else ""
    return deployment_id if deployment_id.startswith(KEPT_MODEL_PREFIX) else None


def _kept_as(model: ModelSpec, deployments: list[dict[str, Any]]) -> bool:
    """Whether a kept model serves `model` exactly as declared (same name, same access groups)."""
    return any(_kept_id(d) is not None and d.get("model_name") == model.name
               and sorted(_access_groups(d)) == sorted(model.access_groups) for d in deployments)


def _access_groups(deployment: dict[str, Any]) -> list[str]:
    info = deployment.get("model_info")
    groups = info.get("access_groups") if isinstance(info, dict) else None
    return [group for group in groups if isinstance(group, str)] if isinstance(groups, list) else []
