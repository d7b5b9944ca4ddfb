"""The LiteLLM proxy config for a scenario's models and settings, every deployment at the fake upstream.

A model without described deployments is `openai/<name>`, so whatever model name a probe asks
for reaches the upstream under that same name. Every deployment's `api_base` carries its id
(`<upstream>/gc-deployment/<id>/v1`), so the upstream records which deployment a call was for
(`upstream_server.DEPLOYMENT_PREFIX`). Retries, cooldowns and fallbacks are switched off: a probe
must see the proxy's first answer as-is, and one failed call must not make a later, unrelated
probe fail (a cooled-down deployment would).

A scenario's settings (`harness.model.proxy.ProxySettings`) are merged over the harness's,
section by section; what the harness owns (the master key, the database) cannot be overridden.
Router aliases become `router_settings.model_group_alias`; models the world adds through the admin
API need `general_settings.store_model_in_db`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import yaml

from harness.gateways.litellm.proxy_settings import (
    GENERAL_SETTINGS,
    LITELLM_SETTINGS,
    RESERVED_GENERAL_SETTINGS,
    ROUTER_SETTINGS,
)
from harness.model.proxy import DeploymentSpec, ProxySettings
from harness.targets.base import ModelSpec
from harness.targets.upstream import deployment_base

#: The upstream accepts any key; a fixed, obviously fake one keeps configs reproducible.
UPSTREAM_API_KEY = "fake-upstream-key"
#: Config values LiteLLM reads from the environment (`os.environ/NAME`): the master key and the
#: database password then never appear in the config file.
MASTER_KEY_FROM_ENV = "os.environ/LITELLM_MASTER_KEY"
DATABASE_URL_FROM_ENV = "os.environ/DATABASE_URL"
#: Seconds before the proxy gives up on the upstream; the fake answers in milliseconds.
UPSTREAM_TIMEOUT_S = 30


def deployment_params(deployment: DeploymentSpec, upstream_url: str) -> dict[str, Any]:
    """A deployment's `litellm_params`: its provider model, at the upstream, under its id."""
    return {
        "model": deployment.model,
        "api_base": f"{deployment_base(upstream_url, deployment.id)}/v1",
        "api_key": UPSTREAM_API_KEY,
    }


def model_entries(model: ModelSpec, upstream_url: str) -> list[dict[str, Any]]:
    """The `model_list` entries of one model: one per deployment, with its access groups."""
    entries = []
    for deployment in model.served_by():
        entry: dict[str, Any] = {"model_name": model.name, "litellm_params": deployment_params(deployment, upstream_url)}
        info: dict[str, Any] = {}
        if model.access_groups:
            info["access_groups"] = list(model.access_groups)
        if model.deployments:
            info["id"] = deployment.id  # the router's deployment id: the scenario's, in its logs too
        if info:
            entry["model_info"] = info
        entries.append(entry)
    return entries


def model_entry(model: ModelSpec, upstream_url: str) -> dict[str, Any]:
    """The `model_list` entry of a model with one deployment."""
    return model_entries(model, upstream_url)[0]


def proxy_config(
    models: Sequence[ModelSpec],
    upstream_url: str,
    master_key: str = MASTER_KEY_FROM_ENV,
    database_url: str = DATABASE_URL_FROM_ENV,
    settings: ProxySettings | None = None,
    models_in_database: bool = False,
) -> dict[str, Any]:
    """The proxy config as a dict: models, deterministic routing, master key and database,
    with the scenario's `settings` merged over the harness's own.

    `models_in_database`: the proxy also serves models added through its admin API
    (`store_model_in_db`), as the proxy `gateconform up` keeps does.
    """
    _refuse_duplicate_names(models)
    settings = settings or ProxySettings()
    litellm_settings: dict[str, Any] = {"num_retries": 0, "request_timeout": UPSTREAM_TIMEOUT_S}
    router_settings: dict[str, Any] = {
        "num_retries": 0,
        "retry_after": 0,
        # A failed call would otherwise put the deployment in cooldown and turn later,
        # unrelated probes into 429/5xx.
        "disable_cooldowns": True,
        "allowed_fails": 1_000_000,
        "timeout": UPSTREAM_TIMEOUT_S,
    }
    aliases = {alias: model.name for model in models for alias in model.aliases}
    if aliases:
        router_settings["model_group_alias"] = aliases
    general_settings: dict[str, Any] = {}
    if settings.admin_models or models_in_database:
        general_settings["store_model_in_db"] = True
    litellm_settings.update(settings.section(LITELLM_SETTINGS))
    router_settings.update(settings.section(ROUTER_SETTINGS))
    general_settings.update({k: v for k, v in settings.section(GENERAL_SETTINGS).items()
                             if k not in RESERVED_GENERAL_SETTINGS})
    general_settings.update({"master_key": master_key, "database_url": database_url})
    return {
        "model_list": [entry for model in models for entry in model_entries(model, upstream_url)],
        "litellm_settings": litellm_settings,
        "router_settings": router_settings,
        "general_settings": general_settings,
    }


def _refuse_duplicate_names(models: Sequence[ModelSpec]) -> None:
    # Two declarations of one name would form a load-balanced group nobody described: a
    # scenario says so with `deployments`.
    seen: set[str] = set()
    for model in models:
        if model.name in seen:
            raise ValueError(f"model {model.name!r} is listed twice")
        seen.add(model.name)


def render_proxy_config(
    models: Sequence[ModelSpec],
    upstream_url: str,
    master_key: str = MASTER_KEY_FROM_ENV,
    database_url: str = DATABASE_URL_FROM_ENV,
    settings: ProxySettings | None = None,
    models_in_database: bool = False,
) -> str:
    """The proxy config as YAML text (see `proxy_config`)."""
    return yaml.safe_dump(
        proxy_config(models, upstream_url, master_key, database_url, settings, models_in_database),
        sort_keys=False, default_flow_style=False,
    )


def write_proxy_config(
    path: Path,
    models: Sequence[ModelSpec],
    upstream_url: str,
    master_key: str = MASTER_KEY_FROM_ENV,
    database_url: str = DATABASE_URL_FROM_ENV,
    settings: ProxySettings | None = None,
    models_in_database: bool = False,
) -> Path:
    """Write the YAML config to `path` (readable by its owner only) and return the path."""
    path.write_text(render_proxy_config(models, upstream_url, master_key, database_url, settings, models_in_database))
    path.chmod(0o600)
    return path
