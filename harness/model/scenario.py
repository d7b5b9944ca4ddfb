"""The scenario language: a world (models, access groups, teams, users, keys) and expectations.

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
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, ValidationInfo
from pydantic_core import PydanticCustomError

#: Key of the gateway's vocabulary in the validation context (`Scenario.model_validate(data,
#: context={VOCABULARY_CONTEXT: vocabulary})`); without it no special name is known.
VOCABULARY_CONTEXT = "vocabulary"

# Names become parts of check ids (`scenario::principal::probe::model`) and, prefixed with a
# run id, the gateway's aliases and team names: keep them to characters that survive everywhere.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"
# Model names may contain '/', ':' and '@' (`openai/gpt-4o`), but no spaces, no '*' (that is a
# wildcard, not a model) and no '::' (the check-id separator).
MODEL_NAME_PATTERN = r"^[^\s*:]+(?::[^\s*:]+)*$"
# Entries of a `models` list: a model, a config access group, a wildcard or a special name.
MODEL_REF_PATTERN = r"^[^\s:]+(?::[^\s:]+)*$"
URL_PATTERN = r"^https?://\S+$"

# How large a world may be: far above any real scenario (the library's largest declares 3
# models and 2 keys; every key is provisioned and probed on a real proxy), low enough that a
# hostile file is refused at once instead of being checked, provisioned and probed for hours.
# The JSON Schema states them as `maxItems`, `maxProperties` and `maxLength`.
MAX_MODELS = 100
MAX_ACCESS_GROUPS = 100  # access-group entities, and config model access groups, each
MAX_TEAMS = 100
MAX_USERS = 100
MAX_KEYS = 100
MAX_EXPECTATIONS = MAX_KEYS  # `expect` has one entry per key at most
# Names are chosen by the scenario's author (every model is served by the fake upstream), and
# typed by hand; the scenario id prefixes every check id.
MAX_NAME_LENGTH = 64
MAX_ID_LENGTH = 100

Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=MAX_NAME_LENGTH)]
ModelName = Annotated[str, Field(pattern=MODEL_NAME_PATTERN, max_length=MAX_NAME_LENGTH)]
ModelRef = Annotated[str, Field(pattern=MODEL_REF_PATTERN, max_length=MAX_NAME_LENGTH)]


def _special_names(info: ValidationInfo) -> tuple[str, ...]:
    """The special `models` entries of the gateway whose vocabulary the loader passed in."""
    vocabulary = (info.context or {}).get(VOCABULARY_CONTEXT)
    return tuple(vocabulary.names) if vocabulary is not None else ()


def _single_special_name_to_list(value: Any, info: ValidationInfo) -> Any:
    """`models: <special name>` is shorthand for `models: [<special name>]`."""
    if isinstance(value, str):
        names = _special_names(info)
        if value in names:
            return [value]
        accepted = f" (a single name is only accepted for {', '.join(names)})" if names else ""
        raise ValueError(f"expected a list of model names, e.g. [{value}]{accepted}")
    return value


#: A `models` list of a team, user or key: model names, config access groups, wildcards and the
#: gateway's special names. The JSON Schema offers each owner's shorthand (`harness.scenario.schema`).
ModelRefs = Annotated[list[ModelRef], BeforeValidator(_single_special_name_to_list)]


@dataclass(frozen=True)
class ModelSpec:
    """A model the proxy serves; `access_groups` are config model access groups."""

    name: str
    access_groups: tuple[str, ...] = ()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelDecl(_Strict):
    """A model the proxy serves (every model points at the fake upstream)."""

    model_config = ConfigDict(title="model")

    name: ModelName = Field(
        description="The model name clients call, e.g. `gpt-4o`."
    )
    access_groups: list[Name] = Field(
        default_factory=list,
        description=(
            "Config model access groups (`model_info.access_groups` in the proxy config). "
            "Putting a group's name in a team's or key's `models` grants every model of the group."
        ),
    )


def _model_name_to_decl(value: Any) -> Any:
    """`models: [gpt-4o]` is shorthand for `models: [{name: gpt-4o}]`."""
    if isinstance(value, str):
        return {"name": value}
    if isinstance(value, dict) or isinstance(value, ModelDecl):
        return value
    raise PydanticCustomError("model_entry", "expected a model name or a mapping {name, access_groups}")


ModelEntry = Annotated[
    ModelDecl, BeforeValidator(_model_name_to_decl, json_schema_input_type=ModelName | ModelDecl)
]


class AccessGroupDecl(_Strict):
    """An access-group entity: the gateway's named set of models, attached to teams and keys."""

    model_config = ConfigDict(title="access group")

    name: Name = Field(description="The access group's name; teams and keys refer to it by name.")
    models: list[ModelName] = Field(
        default_factory=list, description="The declared models this access group grants."
    )


class TeamDecl(_Strict):
    """A team; keys in the team are limited to what the team may use."""

    model_config = ConfigDict(title="team")

    name: Name = Field(description="The team's name; keys and users refer to it by name.")
    models: ModelRefs = Field(
        default_factory=list,
        description=(
            "Models the team may use: model names, config access group names, wildcards "
            "(`openai/*`) or the gateway's special names. A single special name may be written "
            "without brackets. Empty (the default) means no restriction."
        ),
    )
    access_groups: list[Name] = Field(
        default_factory=list,
        description="Access-group entities attached to the team (`access_group_ids`), by name.",
    )


class UserDecl(_Strict):
    """An internal user; keys may belong to a user."""

    model_config = ConfigDict(title="user")

    name: Name = Field(description="The user's name (becomes the gateway's user id, prefixed).")
    models: ModelRefs | None = Field(
        default=None,
        description=(
            "Models the user may use, like a team's `models`. Leave out to use the proxy's "
            "default for new users."
        ),
    )
    teams: list[Name] = Field(
        default_factory=list, description="Teams the user is a member of, by name."
    )


class KeyDecl(_Strict):
    """A virtual key: the principal whose requests are probed."""

    model_config = ConfigDict(title="key")

    name: Name = Field(description="The key's name; `expect` refers to it by this name.")
    team: Name | None = Field(default=None, description="The team the key belongs to, by name.")
    user: Name | None = Field(default=None, description="The user who owns the key, by name.")
    models: ModelRefs = Field(
        default_factory=list,
        description=(
            "Models the key may use: model names, config access group names, wildcards or the "
            "gateway's special names. Empty (the default) means no restriction of its own: the "
            "team's models, or all models without a team."
        ),
    )
    access_groups: list[Name] = Field(
        default_factory=list,
        description="Access-group entities attached to the key (`access_group_ids`), by name.",
    )
    service_account: bool = Field(
        default=False,
        description="Create the key as a team service account (owned by `team`, no user).",
    )


class Expectation(_Strict):
    """What one key should observe. Models not mentioned are not checked."""

    model_config = ConfigDict(title="expectation")

    lists: list[ModelName] | None = Field(
        default=None,
        description=(
            "The exact set of models `GET /v1/models` must list for the key (missing and extra "
            "models both fail). `[]` means it lists nothing; leave out to not check listing."
        ),
    )
    can_call: list[ModelName] = Field(
        default_factory=list,
        description="Models the key can call: the proxy answers 2xx and the upstream gets the call.",
    )
    cannot_call: list[ModelName] = Field(
        default_factory=list,
        description="Models the key cannot call: the proxy denies (401/403), the upstream gets nothing.",
    )


class SweepDecl(_Strict):
    """How far the sweep goes: which routes, and whether allowed models are tried too."""

    model_config = ConfigDict(title="sweep")

    only: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        default=None,
        max_length=MAX_MODELS,
        description=(
            "Only these probe kinds (by name, e.g. `embeddings`) or routes (e.g. `/v1/messages`); "
            "leave out for every model-bearing route the proxy has, except the few a kind sweeps only "
            "when named here (pass-throughs whose answer the harness's deployments cannot settle)."
        ),
    )
    can_call: bool = Field(
        default=False,
        description=(
            "Also try every model a key can call on every swept route that can show a call allowed "
            "(off by default: the sweep looks for bypasses)."
        ),
    )


class Scenario(_Strict):
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
    models: list[ModelEntry] = Field(
        min_length=1,
        max_length=MAX_MODELS,
        description=(
            "Models the proxy serves: a name (`gpt-4o`), or `{name, access_groups}` to put the "
            "model in config model access groups."
        ),
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
    expect: dict[Name, Expectation] = Field(
        max_length=MAX_EXPECTATIONS,
        description="Expectations per key name: what it lists, can call and cannot call.",
    )
    sweep: bool | SweepDecl = Field(
        default=True,
        description=(
            "The sweep: every model a key cannot call is also tried on every model-bearing route the "
            "proxy exposes (and every listing route compared with `GET /v1/models`). On by default; "
            "`false` turns it off, a mapping narrows it (`only`) or widens it (`can_call`)."
        ),
    )

    _path: Path | None = PrivateAttr(default=None)
    _gateway: str | None = PrivateAttr(default=None)
    _source_text: str | None = PrivateAttr(default=None)
    _lines: dict[tuple[str | int, ...], int] = PrivateAttr(default_factory=dict)

    @property
    def path(self) -> Path | None:
        """The file the scenario was loaded from (None when built in code)."""
        return self._path

    @property
    def gateway(self) -> str | None:
        """The gateway the file names (`gateway:`), or None: the default gateway's scenario."""
        return self._gateway

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
        """The models a target must serve, with their config access groups."""
        return [ModelSpec(name=m.name, access_groups=tuple(m.access_groups)) for m in self.models]

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
