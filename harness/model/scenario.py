"""The scenario language: a world, the proxy it needs, and what each key should observe over time.

A scenario is a world (`harness.model.world`: models and their deployments, organizations,
access groups, teams, users, keys), the proxy's configuration (`proxy:`), and expectations
(`harness.model.expectations`): either one round written as `expect:` (today's form), or a
timeline of rounds, changes and waits written as `steps:` (`harness.model.steps`).

These pydantic models check *shape* (types, required fields, unknown fields, name syntax).
Cross-references (does `keys[0].team` name a declared team? is a model in `can_call` declared?)
are checked by `harness.scenario.loader`, which also maps every problem to a file line.
Load scenarios through the loader, not with `Scenario.model_validate`, so both run.

The language is the same for every gateway. A gateway's special entries of a `models` list
(its vocabulary, `harness.gateways.base.Vocabulary`) come in through the validation context
(`VOCABULARY_CONTEXT`): the loader passes the vocabulary of the scenario's gateway.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, PrivateAttr

from harness.model.expectations import Expectation, Expectations
from harness.model.proxy import DeploymentSpec, ModelSpec, ProxySettings, ProxySpec, default_upstream_model
from harness.model.steps import RoundStep, Step
from harness.model.sweep import SweepDecl
from harness.model.world import (  # noqa: F401 - the language's names, importable from here as before
    DECLARED_MODEL_PATTERN,
    MAX_ACCESS_GROUPS,
    MAX_KEYS,
    MAX_MODELS,
    MAX_NAME_LENGTH,
    MAX_ORGANIZATIONS,
    MAX_TEAMS,
    MAX_TEXT_LENGTH,
    MAX_USERS,
    MODEL_NAME_PATTERN,
    MODEL_REF_PATTERN,
    NAME_PATTERN,
    PROVIDER_MODEL_PATTERN,
    VOCABULARY_CONTEXT,
    AccessGroupDecl,
    KeyDecl,
    ModelDecl,
    ModelEntry,
    ModelName,
    Name,
    OrganizationDecl,
    Strict,
    TeamDecl,
    Text,
    UserDecl,
)

SLUG_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"
URL_PATTERN = r"^https?://\S+$"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
MAX_EXPECTATIONS = MAX_KEYS  # `expect` has one entry per key at most
MAX_STEPS = 100
MAX_ID_LENGTH = 100
MAX_SETTINGS = 100  # entries per config section or environment

_Strict = Strict  # the base every declaration shares

#: Where a scenario's expectations come from (`oracle:`; `run --oracle` overrides it for a run):
#: written in the file, derived from the gateway's documented rules, or both.
EXPLICIT, DERIVED, BOTH = "explicit", "derived", "both"
ORACLE_MODES = (EXPLICIT, DERIVED, BOTH)
OracleMode = Literal["explicit", "derived", "both"]

Settings = Annotated[dict[str, Any], Field(max_length=MAX_SETTINGS)]


class ProxyDecl(Strict):
    """The proxy's configuration for this scenario: part of the proxy's identity.

    Besides `environment`, its fields are the sections of the gateway's config file the gateway
    lets a scenario add to (`Vocabulary.config_sections`, e.g. a section of router settings), each
    a mapping merged over the harness's own; the loader checks their names.
    """

    model_config = ConfigDict(title="proxy", extra="allow")
    __pydantic_extra__: dict[str, Settings]  # the gateway's config sections, by name

    environment: Annotated[
        dict[Annotated[str, Field(pattern=ENV_NAME_PATTERN, max_length=MAX_NAME_LENGTH)],
             Annotated[str, Field(max_length=MAX_TEXT_LENGTH)]],
        Field(max_length=MAX_SETTINGS),
    ] = Field(default_factory=dict, description="Environment variables of the proxy process (values are text).")

    @property
    def sections(self) -> dict[str, dict[str, Any]]:
        """The config sections given, by name."""
        return dict(self.model_extra or {})


@dataclass(frozen=True)
class Round:
    """One round of expectations: `name` None for the only round of a scenario."""

    name: str | None
    expect: dict[str, Expectation]
    #: where it is written: `("expect",)` or `("steps", i, "expect")`
    where: tuple[str | int, ...]


class Scenario(Strict):
    """One scenario: a world for the proxy, and what each key should be able to do in it."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="gateconform scenario",
        json_schema_extra={
            "description": (
                "A gateconform scenario: the models, access groups, teams, users and keys to "
                "create on an LLM gateway, and what each key should be able to list and call."
            )
        },
    )

    id: Annotated[str, Field(pattern=SLUG_PATTERN, max_length=MAX_ID_LENGTH)] = Field(
        description=(
            "Stable identifier (lowercase letters, digits, '-', '_', '.'); prefixes every check id, "
            "so known-failure lists and baselines keep working when the file moves."
        )
    )
    title: str = Field(min_length=1, description="One line saying what the scenario shows.")
    issue: Annotated[str, Field(pattern=URL_PATTERN)] | None = Field(
        default=None, description="URL of the bug report the scenario reproduces."
    )
    description: str | None = Field(
        default=None, description="Longer notes for a reader: steps, versions, what was seen."
    )
    not_expressed: list[Text] = Field(
        default_factory=list, max_length=MAX_STEPS,
        description=(
            "What the scenario's source describes that this file cannot check, in words; shown with "
            "its results, so a partial scenario never passes silently."
        ),
    )
    proxy: ProxyDecl | None = Field(default=None, description="The proxy's configuration for this scenario.")
    models: list[ModelEntry] = Field(
        min_length=1,
        max_length=MAX_MODELS,
        description=(
            "Models the proxy serves: a name (`gpt-4o`), a wildcard (`openai/*`), or a mapping "
            "`{name, access_groups, deployments, aliases, team}`."
        ),
    )
    not_served: list[ModelName] = Field(
        default_factory=list, max_length=MAX_MODELS,
        description=(
            "Model names the scenario uses on purpose although the proxy serves no such model "
            "(so a typo elsewhere still fails)."
        ),
    )
    organizations: list[OrganizationDecl] = Field(
        default_factory=list, max_length=MAX_ORGANIZATIONS, description="Organizations to create."
    )
    access_groups: list[AccessGroupDecl] = Field(
        default_factory=list,
        max_length=MAX_ACCESS_GROUPS,
        description="Access-group entities to create (`/v1/access_group`).",
    )
    teams: list[TeamDecl] = Field(default_factory=list, max_length=MAX_TEAMS, description="Teams to create.")
    users: list[UserDecl] = Field(
        default_factory=list, max_length=MAX_USERS, description="Internal users to create."
    )
    keys: list[KeyDecl] = Field(
        default_factory=list,
        max_length=MAX_KEYS,
        description="Virtual keys to create; these are the principals probed.",
    )
    expect: Annotated[Expectations, Field(max_length=MAX_EXPECTATIONS)] | None = Field(
        default=None,
        description="Expectations per key name: what it lists, can call and cannot call (one round).",
    )
    steps: list[Step] | None = Field(
        default=None, max_length=MAX_STEPS,
        description="A timeline instead of `expect`: rounds of expectations, changes and waits, in order.",
    )
    sweep: bool | SweepDecl = Field(
        default=True,
        description=(
            "The sweep: every model a key cannot call is also tried on every model-bearing route the "
            "proxy exposes (and every listing route compared with `GET /v1/models`). On by default; "
            "`false` turns it off, a mapping narrows it (`only`) or widens it (`can_call`)."
        ),
    )

    oracle: OracleMode = Field(
        default=EXPLICIT,
        description=(
            "Where the expectations come from: `explicit` (as written, the default), `derived` (every "
            "principal × declared model and each listing, from the gateway's documented rules; nothing "
            "need be written) or `both` (written ones judged as written, derived ones added where nothing "
            "is written, disagreements reported as findings about the docs or the scenario)."
        ),
    )

    _path: Path | None = PrivateAttr(default=None)
    _gateway: str | None = PrivateAttr(default=None)
    _source_text: str | None = PrivateAttr(default=None)
    _lines: dict[tuple[str | int, ...], int] = PrivateAttr(default_factory=dict)
    _special_names: tuple[str, ...] = PrivateAttr(default=())

    @property
    def path(self) -> Path | None:
        """The file the scenario was loaded from (None when built in code)."""
        return self._path

    @property
    def gateway(self) -> str | None:
        """The gateway the file names (`gateway:`), or None: the default gateway's scenario."""
        return self._gateway

    @property
    def special_names(self) -> tuple[str, ...]:
        """The special `models` entries of the scenario's gateway (set by the loader)."""
        return self._special_names

    @property
    def source_text(self) -> str | None:
        """The raw YAML text, for reports."""
        return self._source_text

    @property
    def model_names(self) -> list[str]:
        """Declared model names, in scenario order."""
        return [m.name for m in self.models]

    @property
    def sweep_settings(self) -> SweepDecl | None:
        """The sweep as settings, None when the scenario turned it off (`sweep: false`)."""
        if self.sweep is False:
            return None
        return self.sweep if isinstance(self.sweep, SweepDecl) else SweepDecl()

    def model_specs(self) -> list[ModelSpec]:
        """The models the proxy's configuration serves (team-only models are added later)."""
        return [
            ModelSpec(
                name=m.name,
                access_groups=tuple(m.access_groups),
                deployments=tuple(DeploymentSpec(d.id, d.model or default_upstream_model(m.name)) for d in m.deployments),
                aliases=tuple(m.aliases),
            )
            for m in self.models if m.team is None
        ]

    def proxy_spec(self) -> ProxySpec:
        """What the proxy is started with; scenarios with equal specs may share one proxy."""
        proxy = self.proxy or ProxyDecl()
        settings = ProxySettings.of(proxy.sections, proxy.environment,
                                    admin_models=any(m.team is not None for m in self.models))
        return ProxySpec(models=tuple(self.model_specs()), settings=settings)

    def rounds(self) -> list[Round]:
        """The rounds of expectations in order; one unnamed round for a scenario without steps."""
        if self.steps is None:
            return [Round(None, dict(self.expect or {}), ("expect",))]
        written = [(index, step) for index, step in enumerate(self.steps) if isinstance(step, RoundStep)]
        if len(written) == 1:
            index, step = written[0]
            return [Round(None, dict(step.expect), ("steps", index, "expect"))]
        return [Round(step.round or str(number), dict(step.expect), ("steps", index, "expect"))
                for number, (index, step) in enumerate(written, start=1)]

    def key(self, name: str) -> KeyDecl | None:
        """The declared key named `name`."""
        return next((key for key in self.keys if key.name == name), None)

    def line_of(self, *field_path: str | int) -> int | None:
        """1-based line of a node in the source, e.g. `line_of("expect", "svc", "can_call", 0)`.

        Falls back to the nearest enclosing node that exists; None when built in code.
        """
        parts = tuple(field_path)
        while True:
            if parts in self._lines:
                return self._lines[parts]
            if not parts:
                return None
            parts = parts[:-1]
