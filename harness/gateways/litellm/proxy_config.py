"""The LiteLLM proxy config for a scenario's models, all served by the fake upstream.

Every model is `openai/<name>` at the upstream's `/v1`, so whatever model name a probe asks for
reaches the upstream under that same name and the upstream's record is unambiguous. Retries,
cooldowns and fallbacks are switched off: a probe must see the proxy's first answer as-is, and one
failed call must not make a later, unrelated probe fail (a cooled-down deployment would).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import yaml

from harness.targets.base import ModelSpec

#: The upstream accepts any key; a fixed, obviously fake one keeps configs reproducible.
UPSTREAM_API_KEY = "fake-upstream-key"
#: Config values LiteLLM reads from the environment (`os.environ/NAME`): the master key and the
#: database password then never appear in the config file.
MASTER_KEY_FROM_ENV = "os.environ/LITELLM_MASTER_KEY"
DATABASE_URL_FROM_ENV = "os.environ/DATABASE_URL"
#: Seconds before the proxy gives up on the upstream; the fake answers in milliseconds.
UPSTREAM_TIMEOUT_S = 30


def model_entry(model: ModelSpec, upstream_url: str) -> dict[str, Any]:
    """One `model_list` entry: the model routed to the upstream, with its access groups."""
    entry: dict[str, Any] = {
        "model_name": model.name,
        "litellm_params": {
            "model": f"openai/{model.name}",
            "api_base": f"{upstream_url.rstrip('/')}/v1",
            "api_key": UPSTREAM_API_KEY,
        },
    }
    if model.access_groups:
        entry["model_info"] = {"access_groups": list(model.access_groups)}
    return entry


def proxy_config(
    models: Sequence[ModelSpec],
    upstream_url: str,
    master_key: str = MASTER_KEY_FROM_ENV,
    database_url: str = DATABASE_URL_FROM_ENV,
    models_in_database: bool = False,
) -> dict[str, Any]:
    """The proxy config as a dict: models, deterministic routing, master key and database.

    `models_in_database`: the proxy also serves models added through its admin API
    (`store_model_in_db`), as the proxy `gateconform up` keeps does.
    """
    _refuse_duplicate_names(models)
    config = {
        "model_list": [model_entry(model, upstream_url) for model in models],
        "litellm_settings": {
            "num_retries": 0,
            "request_timeout": UPSTREAM_TIMEOUT_S,
        },
        "router_settings": {
            "num_retries": 0,
            "retry_after": 0,
            # A failed call would otherwise put the deployment in cooldown and turn later,
            # unrelated probes into 429/5xx.
            "disable_cooldowns": True,
            "allowed_fails": 1_000_000,
            "timeout": UPSTREAM_TIMEOUT_S,
        },
        "general_settings": {
            "master_key": master_key,
            "database_url": database_url,
        },
    }
    if models_in_database:
        config["general_settings"]["store_model_in_db"] = True
    return config


def _refuse_duplicate_names(models: Sequence[ModelSpec]) -> None:
    # Two entries with one name form a load-balanced group: which one answers would be random.
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
    models_in_database: bool = False,
) -> str:
    """The proxy config as YAML text (see `proxy_config`)."""
    return yaml.safe_dump(
        proxy_config(models, upstream_url, master_key, database_url, models_in_database),
        sort_keys=False, default_flow_style=False,
    )


def write_proxy_config(
    path: Path,
    models: Sequence[ModelSpec],
    upstream_url: str,
    master_key: str = MASTER_KEY_FROM_ENV,
    database_url: str = DATABASE_URL_FROM_ENV,
    models_in_database: bool = False,
) -> Path:
    """Write the YAML config to `path` (readable by its owner only) and return the path."""
    path.write_text(render_proxy_config(models, upstream_url, master_key, database_url, models_in_database))
    path.chmod(0o600)
    return path
