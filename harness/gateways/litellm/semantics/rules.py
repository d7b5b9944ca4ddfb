"""LiteLLM's documented model-access rules: each the sentence quoted from its docs, and the page.

Every expectation the derived oracle computes for LiteLLM is a chain of these rules
(`harness.model.derivation`). A rule quotes the docs as published (docs/my-website/docs in
BerriAI/litellm, served at docs.litellm.ai, or the proxy's API reference where a route's own
description is the only documentation). `releases` narrows a rule to the releases it holds for
where the documented feature appeared in a known release.
"""

from __future__ import annotations

from harness.model.derivation import Rule

KEY_AUTH = "https://docs.litellm.ai/docs/proxy/key_auth_arch"
MODEL_ACCESS = "https://docs.litellm.ai/docs/proxy/model_access"
LLM_ACCESS = "https://docs.litellm.ai/docs/proxy/access_management/llm"
INHERITANCE = "https://docs.litellm.ai/docs/proxy/access_management/inheritance"
ACCESS_GROUPS = "https://docs.litellm.ai/docs/proxy/access_groups"
MODEL_ACCESS_GROUPS = "https://docs.litellm.ai/docs/proxy/model_access_groups"
WILDCARD_ROUTING = "https://docs.litellm.ai/docs/wildcard_routing"
ROUTING = "https://docs.litellm.ai/docs/routing"
VIRTUAL_KEYS = "https://docs.litellm.ai/docs/proxy/virtual_keys"
TEAM_ROUTING = "https://docs.litellm.ai/docs/proxy/team_based_routing"
TEAM_MODEL_ADD = "https://docs.litellm.ai/docs/proxy/team_model_add"
ACCESS_CONTROL = "https://docs.litellm.ai/docs/proxy/access_control"
API_KEYS = "https://litellm-api.up.railway.app/#/key%20management"
API_TEAMS = "https://litellm-api.up.railway.app/#/team%20management"
API_USERS = "https://litellm-api.up.railway.app/#/internal%20user%20management"

#: The first release with access-group entities (`/v1/access_group`, `access_group_ids`).
ACCESS_GROUP_ENTITIES = ">=1.81.12"

# -- the listing
LISTING_FOLLOWS_ACCESS = Rule(
    "listing-follows-access",
    "The `models` list both hides a model from `GET /v1/models` and blocks calls to it",
    MODEL_ACCESS)

# -- a key's own list
KEY_MODELS = Rule(
    "key-models",
    "This key can only make requests to `models` that are `gpt-3.5-turbo` or `gpt-4`",
    MODEL_ACCESS)
EMPTY_MEANS_ALL = Rule(
    "empty-models-all",
    'The empty list and the literal `*` both mean "all models on the proxy" when evaluated on a key or team.',
    KEY_AUTH)
KEY_ALL_PROXY_MODELS = Rule(
    "all-proxy-models",
    "`all-proxy-models` | Key, team, or user `models` list | Grants every model on the proxy. On a team, "
    "treated the same as an empty `models` list.",
    KEY_AUTH)
KEY_ALL_TEAM_MODELS = Rule(
    "key-all-team-models",
    "`all-team-models` | Key `models` list only | Inherits the parent team's `models` at request time.",
    KEY_AUTH)
STANDALONE_KEY = Rule(
    "standalone-key",
    "A standalone key (no `team_id`) is authorized purely against its own `models` list.",
    KEY_AUTH)

# -- the team step
TEAM_STEP = Rule(
    "team-step",
    "A team-attached key must pass both its own list and a second check against `team.models`; the "
    "intersection is what the caller can actually reach",
    KEY_AUTH)
NO_DEFAULT_MODELS_NOT_A_TEAM_GRANT = Rule(
    "no-default-models-user-only",
    "`no-default-models` | User `models` list only | Hard denial on the user path; forces the user to "
    "route requests through a team.",
    KEY_AUTH)

# -- entries of a models list
CONCRETE_MODEL = Rule(
    "concrete-model",
    "Concrete model group | Name from `config.yaml` `model_name` (`gpt-4`, `azure-gpt-3.5`)",
    KEY_AUTH)
WILDCARD_ENTRY = Rule(
    "wildcard-entry",
    "Wildcard | Provider prefix pattern matched against `model_name` (`openai/*`, `openai/o1-*`)",
    KEY_AUTH)
CONFIG_ACCESS_GROUP = Rule(
    "config-access-group",
    "Access group | Label declared under `model_info.access_groups` or `/access_group/new`; expands at "
    "request time to the set of models tagged with it",
    KEY_AUTH)

# -- access-group entities
KEY_ACCESS_GROUP = Rule(
    "key-access-group",
    "Instead of configuring models, MCP servers, and agents separately on each key or team, you create one "
    "group that bundles the resources you want to grant, then attach that group to your keys or teams. "
    "[…] The key will inherit access to all models, MCP servers, and agents defined in that group.",
    ACCESS_GROUPS, ACCESS_GROUP_ENTITIES)
TEAM_ACCESS_GROUP = Rule(
    "team-access-group",
    "You can also attach an Access Group to a team when creating or editing the team. All keys associated "
    "with that team will then have access to the resources defined in the group.",
    ACCESS_GROUPS, ACCESS_GROUP_ENTITIES)
GROUP_SIDE_ASSIGNMENT = Rule(
    "access-group-attached-either-side",
    "Define resources in a group → Attach group to key or team → Key/team gets access to all resources in "
    "the group",
    ACCESS_GROUPS, ACCESS_GROUP_ENTITIES)

# -- the user step
USER_MODELS = Rule(
    "user-models-personal-key",
    "The user's model list applies to keys without a team.",
    INHERITANCE)
USER_NO_DEFAULT_MODELS = Rule(
    "user-no-default-models",
    "`no-default-models` | User `models` list only | Hard denial on the user path; forces the user to "
    "route requests through a team.",
    KEY_AUTH)

# -- organizations
ORGANIZATION_BOUNDS_TEAMS = Rule(
    "organization-bounds-teams",
    "Organizations: a team created in an organization may only use the organization's models "
    "(\"Model not in organization's allowed models\")",
    ACCESS_CONTROL)

# -- names that route elsewhere
WILDCARD_DEPLOYMENT = Rule(
    "wildcard-deployment",
    "Proxy all models from a provider: `model_name: \"openai/*\"` routes every `openai/<model>` request to "
    "that deployment",
    WILDCARD_ROUTING)
ROUTER_ALIAS = Rule(
    "router-alias",
    "`model_group_alias`: route a model name to a model group (a key is checked against the name it "
    "asked for)",
    ROUTING)
KEY_ALIAS = Rule(
    "key-alias",
    "Model Aliases: a key's `aliases` map a name to a model (`\"aliases\": {\"gpt-4\": \"gpt-4o-mini\"}`)",
    VIRTUAL_KEYS)
TEAM_ALIAS = Rule(
    "team-alias",
    "Team-based routing: a team's `model_aliases` route a model name to a model for the team's keys",
    TEAM_ROUTING)
TEAM_ONLY_MODEL = Rule(
    "team-only-model",
    "Allow Teams to Add Models: a model added with `model_info.team_id` belongs to that team",
    TEAM_MODEL_ADD)

# -- state of keys and teams
KEY_BLOCKED = Rule(
    "key-blocked",
    "/key/block: Block an Virtual key from making any requests.",
    API_KEYS)
TEAM_BLOCKED = Rule(
    "team-blocked",
    "/team/block: Blocks all calls from keys with this team id.",
    API_TEAMS)
KEY_DELETED = Rule(
    "key-deleted",
    "/key/delete: Delete a key from the key management system.",
    API_KEYS)
TEAM_DELETED = Rule(
    "team-deleted",
    "/team/delete: delete team and associated team keys",
    API_TEAMS)
USER_DELETED = Rule(
    "user-deleted",
    "/user/delete: delete user and associated user keys",
    API_USERS)
KEY_REGENERATED = Rule(
    "key-regenerated",
    "Regenerate Keys: `grace_period` keeps the old and new strings valid during cutover. Omitting it "
    "[…] immediately invalidates the old key.",
    VIRTUAL_KEYS)

ALL_RULES = (
    LISTING_FOLLOWS_ACCESS, KEY_MODELS, EMPTY_MEANS_ALL, KEY_ALL_PROXY_MODELS, KEY_ALL_TEAM_MODELS, STANDALONE_KEY,
    TEAM_STEP, NO_DEFAULT_MODELS_NOT_A_TEAM_GRANT, CONCRETE_MODEL, WILDCARD_ENTRY, CONFIG_ACCESS_GROUP,
    KEY_ACCESS_GROUP, TEAM_ACCESS_GROUP, GROUP_SIDE_ASSIGNMENT, USER_MODELS, USER_NO_DEFAULT_MODELS,
    ORGANIZATION_BOUNDS_TEAMS, WILDCARD_DEPLOYMENT, ROUTER_ALIAS, KEY_ALIAS, TEAM_ALIAS, TEAM_ONLY_MODEL,
    KEY_BLOCKED, TEAM_BLOCKED, KEY_DELETED, TEAM_DELETED, USER_DELETED, KEY_REGENERATED,
)
RULES_BY_ID = {rule.id: rule for rule in ALL_RULES}
