"""The world of a scenario: models and their deployments, organizations, access groups, teams,
users and keys, as the scenario language declares them.

These pydantic models check shape only; `harness.scenario.rules` checks what the names refer
to. A gateway's special `models` entries reach them through the validation context
(`VOCABULARY_CONTEXT`), so the language stays the same for every gateway.

Any declared entity may carry `admin: accepted | refused`: the harness then expects the admin
API to accept or refuse creating it, and that is a check of its own (`…::create-<kind>-<name>::admin`).
Without it, a refusal is a provisioning error, as it always was.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo
from pydantic_core import PydanticCustomError

#: Key of the gateway's vocabulary in the validation context (`Scenario.model_validate(data,
#: context={VOCABULARY_CONTEXT: vocabulary})`); without it no special name is known.
VOCABULARY_CONTEXT = "vocabulary"

# Names become parts of check ids (`scenario::principal::probe::model`) and, prefixed with a
# run id, the gateway's aliases and team names: keep them to characters that survive everywhere.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
# A name a client calls (expectations, aliases): no spaces, no '*' (that is a wildcard, not a
# model) and no '::' (the check-id separator). `openai/gpt-4o` and `model:v1` are fine.
MODEL_NAME_PATTERN = r"^[^\s*:]+(?::[^\s*:]+)*$"
# A model the proxy serves: a name as above, or a wildcard pattern (`openai/*`, `bedrock/us.*`).
DECLARED_MODEL_PATTERN = r"^[^\s:]+(?::[^\s:]+)*$"
# Entries of a `models` list: a model, a config access group, a wildcard or a special name.
MODEL_REF_PATTERN = r"^[^\s:]+(?::[^\s:]+)*$"
# A deployment's provider model string (`openai/gpt-4o`, `anthropic/claude-3-5-sonnet`, `openai/*`).
PROVIDER_MODEL_PATTERN = r"^[A-Za-z0-9_.-]+/[^\s]+$"

# How large a world may be: far above any real scenario (every key is provisioned and probed on
# a real proxy), low enough that a hostile file is refused at once instead of being checked,
# provisioned and probed for hours. The JSON Schema states them as `maxItems`, `maxProperties`
# and `maxLength`.
MAX_MODELS = 100
MAX_DEPLOYMENTS = 20  # behind one model name
MAX_ACCESS_GROUPS = 100  # access-group entities, and config model access groups, each
MAX_ORGANIZATIONS = 100
MAX_TEAMS = 100
MAX_USERS = 100
MAX_KEYS = 100
MAX_ALIASES = 100
# Names are chosen by the scenario's author (every model is served by the fake upstream), and
# typed by hand; the scenario id prefixes every check id.
MAX_NAME_LENGTH = 64
MAX_TEXT_LENGTH = 2000  # a `because`, a note, a setting's text

Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=MAX_NAME_LENGTH)]
ModelName = Annotated[str, Field(pattern=MODEL_NAME_PATTERN, max_length=MAX_NAME_LENGTH)]
DeclaredModelName = Annotated[str, Field(pattern=DECLARED_MODEL_PATTERN, max_length=MAX_NAME_LENGTH)]
ModelRef = Annotated[str, Field(pattern=MODEL_REF_PATTERN, max_length=MAX_NAME_LENGTH)]
ProviderModel = Annotated[str, Field(pattern=PROVIDER_MODEL_PATTERN, max_length=2 * MAX_NAME_LENGTH)]
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_LENGTH)]
#: `alias → model` (team `model_aliases`, key `aliases`).
AliasMap = Annotated[dict[ModelName, ModelName], Field(max_length=MAX_ALIASES)]


class AdminExpect(str, Enum):
    """What the admin API is expected to do with a creation or a change."""

    ACCEPTED = "accepted"
    REFUSED = "refused"


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

_ADMIN_DESCRIPTION = (
    "Expect the admin API to `accept` or `refuse` creating this (a check of its own; a refusal "
    "as expected passes). Leave out: a refusal is a provisioning error."
)


def creation_id(kind: str, name: str) -> str:
    """`create-key-svc`: how the admin check of creating a declared entity is named (`kind`:
    `organization`, `access-group`, `team`, `user`, `key` or `model`)."""
    return f"create-{kind}-{name}"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Declared(Strict):
    """An entity of the world: it has a name and may carry an admin expectation."""

    name: Name
    admin: AdminExpect | None = Field(default=None, description=_ADMIN_DESCRIPTION)


class DeploymentDecl(Strict):
    """One deployment behind a model name (several form a load-balanced group)."""

    model_config = ConfigDict(title="deployment")

    id: Name = Field(description="The deployment's name: what `served_by` names; the fake upstream records it.")
    model: ProviderModel | None = Field(
        default=None,
        description=(
            "The provider model string the gateway calls, e.g. `openai/gpt-4o-mini` or "
            "`anthropic/claude-3-5-sonnet`; always at the fake upstream. Default: "
            "`openai/<model name>`. A provider whose API the fake upstream does not speak "
            "makes allowed calls end as errors."
        ),
    )


class ModelDecl(Strict):
    """A model the proxy serves (every deployment points at the fake upstream)."""

    model_config = ConfigDict(title="model")

    name: DeclaredModelName = Field(
        description="The model name clients call, e.g. `gpt-4o`; a wildcard (`openai/*`) routes every matching name."
    )
    access_groups: list[Name] = Field(
        default_factory=list,
        description=(
            "Config model access groups (`model_info.access_groups` in the proxy config). "
            "Putting a group's name in a team's or key's `models` grants every model of the group."
        ),
    )
    deployments: list[DeploymentDecl] = Field(
        default_factory=list, max_length=MAX_DEPLOYMENTS,
        description="Deployments behind this name (default: one, named like the model).",
    )
    aliases: list[ModelName] = Field(
        default_factory=list, max_length=MAX_ALIASES,
        description="Names that route to this model proxy-wide (the router's model-group aliases).",
    )
    team: Name | None = Field(
        default=None,
        description="A team-only model: added for this team through the admin API, not in the proxy config.",
    )
    admin: AdminExpect | None = Field(
        default=None, description="For a team-only model: " + _ADMIN_DESCRIPTION
    )


def _model_name_to_decl(value: Any) -> Any:
    """`models: [gpt-4o]` is shorthand for `models: [{name: gpt-4o}]`."""
    if isinstance(value, str):
        return {"name": value}
    if isinstance(value, dict) or isinstance(value, ModelDecl):
        return value
    raise PydanticCustomError("model_entry", "expected a model name or a mapping {name, access_groups}")


ModelEntry = Annotated[
    ModelDecl, BeforeValidator(_model_name_to_decl, json_schema_input_type=DeclaredModelName | ModelDecl)
]


class OrganizationDecl(Declared):
    """An organization: teams may belong to it, bound by its models."""

    model_config = ConfigDict(title="organization")

    models: ModelRefs | None = Field(default=None, description="Models the organization's teams may use.")


class AccessGroupDecl(Declared):
    """An access-group entity: the gateway's named set of models, attached to teams and keys."""

    model_config = ConfigDict(title="access group")

    models: list[ModelName] = Field(
        default_factory=list, description="The declared models this access group grants."
    )
    teams: list[Name] = Field(
        default_factory=list,
        description="Teams the group is assigned to from the group's side (after they exist), by name.",
    )
    keys: list[Name] = Field(
        default_factory=list,
        description="Keys the group is assigned to from the group's side (after they exist), by name.",
    )


class TeamDecl(Declared):
    """A team; keys in the team are limited to what the team may use."""

    model_config = ConfigDict(title="team")

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
    model_aliases: AliasMap = Field(
        default_factory=dict, description="Team model aliases: `alias: model` for the team's keys."
    )
    blocked: bool = Field(default=False, description="Create the team blocked.")
    organization: Name | None = Field(default=None, description="The organization the team belongs to.")


class Membership(Strict):
    """A user's membership of a team, with a role."""

    model_config = ConfigDict(title="membership")

    team: Name = Field(description="The team, by name.")
    role: Annotated[str, Field(pattern=NAME_PATTERN, max_length=MAX_NAME_LENGTH)] = Field(
        default="user", description="The member's role in the team (`user`, `admin`, …)."
    )


def _team_name_to_membership(value: Any) -> Any:
    return {"team": value} if isinstance(value, str) else value


MembershipEntry = Annotated[
    Membership, BeforeValidator(_team_name_to_membership, json_schema_input_type=Name | Membership)
]


class UserDecl(Declared):
    """An internal user; keys may belong to a user."""

    model_config = ConfigDict(title="user")

    models: ModelRefs | None = Field(
        default=None,
        description=(
            "Models the user may use, like a team's `models`. Leave out to use the proxy's "
            "default for new users."
        ),
    )
    teams: list[MembershipEntry] = Field(
        default_factory=list,
        description="Teams the user is a member of: a team name, or `{team, role}` (e.g. `role: admin`).",
    )
    role: Annotated[str, Field(pattern=NAME_PATTERN, max_length=MAX_NAME_LENGTH)] | None = Field(
        default=None, description="The user's role on the proxy (e.g. `internal_user`); default: the proxy's."
    )
    key: Name | None = Field(
        default=None,
        description="Name of the key the admin API creates with the user (as users get one); a principal.",
    )


class KeyDecl(Declared):
    """A virtual key: the principal whose requests are probed."""

    model_config = ConfigDict(title="key")

    team: Name | None = Field(default=None, description="The team the key belongs to, by name.")
    user: Name | None = Field(default=None, description="The user who owns the key, by name.")
    models: ModelRefs | None = Field(
        default=None,
        description=(
            "Models the key may use: model names, config access group names, wildcards or the "
            "gateway's special names. Left out, the request names no models; `[]` sends an empty "
            "list. Either means no restriction of its own in most gateways: the team's models, "
            "or all models without a team."
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
    aliases: AliasMap = Field(default_factory=dict, description="Key model aliases: `alias: model`.")
    blocked: bool = Field(default=False, description="Create the key blocked.")
    made_by: Name | None = Field(
        default=None,
        description=(
            "Generate the key with another declared key (a user's own key, a team admin's) "
            "instead of the master key, as users make keys."
        ),
    )

    @property
    def model_list(self) -> list[str]:
        """The key's `models` entries (none when left out)."""
        return list(self.models or ())
