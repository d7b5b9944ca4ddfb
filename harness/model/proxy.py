"""What a proxy is started with: its models (with their deployments) and its settings.

A scenario's `ProxySpec` is the proxy's identity: scenarios share a running proxy only when
their specs are equal (`harness.engine.grouping`), so two scenarios with different settings,
environment or deployments never meet on one proxy. Everything here is frozen and hashable.

Every deployment points at the fake upstream; its `id` travels in the deployment's base URL so
the upstream records which deployment a call was for (`UpstreamHit.deployment`), whatever
model the gateway sends upstream (a wildcard, an alias, a provider's own model name).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

#: The provider prefix of a deployment nobody described: the fake upstream speaks OpenAI's API.
DEFAULT_PROVIDER = "openai"


def default_upstream_model(name: str) -> str:
    """The provider model string of a model's implicit deployment.

    `gpt-4o` → `openai/gpt-4o` (the upstream receives `gpt-4o`, the name clients call). A
    wildcard already naming the provider (`openai/*`) is its own deployment model, so the
    upstream receives what the client asked for after the provider prefix.
    """
    if "*" in name and name.startswith(f"{DEFAULT_PROVIDER}/"):
        return name
    return f"{DEFAULT_PROVIDER}/{name}"


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment behind a model name: its id (what `served_by` names) and provider model."""

    id: str
    model: str  # the gateway's provider model string, e.g. `openai/gpt-4o`, `anthropic/claude-3-5`


@dataclass(frozen=True)
class ModelSpec:
    """A model the proxy serves; `access_groups` are config model access groups.

    `deployments` empty means one implicit deployment (id: the model's name, model:
    `default_upstream_model(name)`), which is every model of a scenario written before
    deployments existed. `aliases` are names that route to this model proxy-wide.
    """

    name: str
    access_groups: tuple[str, ...] = ()
    deployments: tuple[DeploymentSpec, ...] = ()
    aliases: tuple[str, ...] = ()

    @property
    def is_wildcard(self) -> bool:
        """A model name with `*`: a pattern the proxy routes every matching name through."""
        return "*" in self.name

    def served_by(self) -> tuple[DeploymentSpec, ...]:
        """The deployments behind this name (the implicit one when none is described)."""
        return self.deployments or (DeploymentSpec(self.name, default_upstream_model(self.name)),)


def _canonical(value: Mapping[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class ProxySettings:
    """A scenario's proxy configuration, held as canonical JSON so equal settings are equal specs.

    `sections` are the sections of the gateway's config file the scenario adds to (or
    overrides in) the harness's own, by the gateway's names for them; `environment` the proxy's
    extra environment variables. `admin_models` says the world adds models through the admin
    API, which some gateways must be configured to accept. Build with `ProxySettings.of(...)`.
    """

    sections: tuple[tuple[str, str], ...] = ()
    environment: tuple[tuple[str, str], ...] = ()
    admin_models: bool = False

    @classmethod
    def of(cls, sections: Mapping[str, Mapping[str, Any]] | None = None,
           environment: Mapping[str, str] | None = None, admin_models: bool = False) -> ProxySettings:
        """Settings from plain mappings (copied; order does not matter)."""
        return cls(
            sections=tuple(sorted((name, _canonical(values)) for name, values in (sections or {}).items() if values)),
            environment=tuple(sorted((environment or {}).items())),
            admin_models=admin_models,
        )

    @property
    def empty(self) -> bool:
        """Nothing beyond the harness's own configuration."""
        return self == ProxySettings()

    def section(self, name: str) -> dict[str, Any]:
        """A config section as a fresh dict (empty when the scenario sets none)."""
        return json.loads(dict(self.sections).get(name, "{}"))

    def env(self) -> dict[str, str]:
        """The extra environment variables as a fresh dict."""
        return dict(self.environment)


@dataclass(frozen=True)
class ProxySpec:
    """Everything a proxy is started with; equal specs may share one running proxy."""

    models: tuple[ModelSpec, ...]
    settings: ProxySettings = ProxySettings()

    @property
    def model_names(self) -> tuple[str, ...]:
        return tuple(model.name for model in self.models)
