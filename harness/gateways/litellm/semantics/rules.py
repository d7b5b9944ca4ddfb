"""LiteLLM's documented model-access rules: each the sentence quoted from its docs, and the page.

Every expectation the derived oracle computes for LiteLLM is a chain of these rules
(`harness.model.derivation`). A rule quotes the docs as published (docs/my-website/docs in
BerriAI/litellm, served at docs.litellm.ai, or the proxy's API reference where a route's own
description is the only documentation). `releases` narrows a rule to the releases it holds for
where the documented feature appeared in a known release.

The comment above a rule names where its words were read: the markdown source in
BerriAI/litellm and the commit of the version read, or the route's docstring in the released
package (the same first line in every release from 1.53.9 to 1.110.2 unless a range is given).
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
VIRTUAL_KEYS = "https://docs.litellm.ai/docs/proxy/virtual_keys"
TEAM_ROUTING = "https://docs.litellm.ai/docs/proxy/team_based_routing"
TEAM_MODEL_ADD = "https://docs.litellm.ai/docs/proxy/team_model_add"
LOAD_BALANCING = "https://docs.litellm.ai/docs/proxy/load_balancing"
API_REFERENCE = "https://litellm-api.up.railway.app"
API_KEYS = f"{API_REFERENCE}/#/key%20management"
API_TEAMS = f"{API_REFERENCE}/#/team%20management"
API_USERS = f"{API_REFERENCE}/#/Internal%20User%20management"

#: The first release whose `/key/regenerate` takes `grace_period` and documents "Omitted =
#: immediate revoke" (docstring absent in the 1.81.12 wheel, present in 1.81.13).
KEY_REGENERATE_GRACE_PERIOD = ">=1.81.13"

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
    f"{ACCESS_GROUPS}#4-attach-the-access-group-to-a-key", ACCESS_GROUP_ENTITIES)
TEAM_ACCESS_GROUP = Rule(
    "team-access-group",
    "You can also attach an Access Group to a team when creating or editing the team. All keys associated "
    "with that team will then have access to the resources defined in the group.",
    f"{ACCESS_GROUPS}#5-attach-the-access-group-to-a-team", ACCESS_GROUP_ENTITIES)
GROUP_SIDE_ASSIGNMENT = Rule(
    "access-group-attached-either-side",
    "Define resources in a group → Attach group to key or team → Key/team gets access to all resources in "
    "the group",
    f"{ACCESS_GROUPS}#how-it-works", ACCESS_GROUP_ENTITIES)

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
# docs.litellm.ai/docs/proxy/access_management/inheritance ("Keys assigned to a team", Models
# row), as published (the page is not in the indexed markdown). The docs check an organization's
# list when a team is created or updated, not per request: a team without models in an
# organization is a case they leave open (`derive._levels`).
ORGANIZATION_BOUNDS_TEAMS = Rule(
    "organization-bounds-teams",
    "LiteLLM checks organization model lists when teams are created or updated, with no separate "
    "organization model check on each request.",
    f"{INHERITANCE}#keys-assigned-to-a-team")

# -- names that route elsewhere
# docs/my-website/docs/wildcard_routing.md @ 1aedde15f21e9420c86db5cedafc62bc23e38a75
WILDCARD_DEPLOYMENT = Rule(
    "wildcard-deployment",
    "**Proxy all models from a provider** Use this if you want to **proxy all models from a specific "
    "provider without defining them on the config.yaml** […] Test with `anthropic/` - all models with "
    "`anthropic/` prefix will get routed to `anthropic/*`",
    WILDCARD_ROUTING)
# docs/my-website/docs/proxy/load_balancing.md @ 00e06b862370b670316c20336cb2bf1534ea7685
ROUTER_ALIAS = Rule(
    "router-alias",
    "Expose an 'alias' for a 'model_name' on the proxy server. […] model_group_alias: "
    "{\"gpt-4\": \"gpt-3.5-turbo\"} # all requests with `gpt-4` will be routed to models",
    f"{LOAD_BALANCING}#router-settings-on-config---routing_strategy-model_group_alias")
# docs/my-website/docs/proxy/virtual_keys.md, "Model Aliases" (as published; the indexed
# BerriAI/litellm version, 003feda33f6383126bfda499045826a92aafc965, is an older one titled
# "Upgrade/Downgrade Models" with the same steps), and `/key/generate`'s docstring
# (litellm/proxy/management_endpoints/key_management_endpoints.py, generate_key_fn).
KEY_ALIAS = Rule(
    "key-alias",
    "aliases: Optional[dict] - Any alias mappings, on top of anything in the config.yaml model list. […] "
    "If a user is expected to use a given model (i.e. gpt3-5), and you want to: - try to upgrade the "
    "request (i.e. GPT4) - or downgrade it (i.e. Mistral) […] **How to upgrade / downgrade request?** "
    "Change the alias mapping",
    f"{VIRTUAL_KEYS}#model-aliases")
# docs/my-website/docs/proxy/team_based_routing.md @ 0935d162f690bc116e048598459469d9dfd01dc8 (the
# published page is now headed "[DEPRECATED]", pointing to tag based routing; the route and the
# `/team/new` docstring "model_aliases: Optional[dict] - Model aliases for the team." remain).
TEAM_ALIAS = Rule(
    "team-alias",
    "Route calls to different model groups based on the team-id […] Create Team with Model Alias […] "
    "\"model_aliases\": {\"gpt-3.5-turbo\": \"gpt-3.5-turbo-eu\"}",
    f"{TEAM_ROUTING}#create-team-with-model-alias")
# docs/my-website/docs/proxy/team_model_add.md @ 0be6bbc42ad245917de1e1fbb0feb8d1c5c30a16
TEAM_ONLY_MODEL = Rule(
    "team-only-model",
    "Allow team to add a their own models/key for that project - so any OpenAI call they make uses their "
    "OpenAI key. […] \"team_id\": \"e59e2671-a064-436a-a0fa-16ae96e5a0a1\" # 👈 Specify the team ID it "
    "belongs to",
    f"{TEAM_MODEL_ADD}#specify-team-id-in-modeladd-endpoint")

# -- state of keys and teams: each route's own description (its docstring, the API reference's
# text), in litellm/proxy/management_endpoints/{key_management,team,internal_user}_endpoints.py.
KEY_BLOCKED = Rule(
    "key-blocked",
    "/key/block: Block an Virtual key from making any requests.",
    f"{API_KEYS}/block_key_key_block_post")
TEAM_BLOCKED = Rule(
    "team-blocked",
    "/team/block: Blocks all calls from keys with this team id.",
    f"{API_TEAMS}/block_team_team_block_post")
KEY_DELETED = Rule(
    "key-deleted",
    "/key/delete: Delete a key from the key management system.",
    f"{API_KEYS}/delete_key_fn_key_delete_post")
TEAM_DELETED = Rule(
    "team-deleted",
    "/team/delete: delete team and associated team keys",
    f"{API_TEAMS}/delete_team_team_delete_post")
USER_DELETED = Rule(
    "user-deleted",
    "/user/delete: delete user and associated user keys",
    f"{API_USERS}/delete_user_user_delete_post")
# docs/my-website/docs/proxy/virtual_keys.md, "✨ Key Rotations" (as published), and
# regenerate_key_fn's docstring: "grace_period: Optional[str] - Duration to keep old key valid
# after rotation (e.g. "24h", "2d"). Omitted = immediate revoke." from 1.81.13 on; before it the
# docs only say the key is rotated, not what becomes of the old secret.
KEY_REGENERATED = Rule(
    "key-regenerated",
    "**Grace period (optional)**: Set `grace_period` (e.g. `\"24h\"`, `\"2d\"`, `\"1w\"`) to keep the old key "
    "valid for a transitional period. Both old and new keys work until the grace period elapses, so you can "
    "cut over without production downtime. Omitted or empty = immediate revoke.",
    f"{VIRTUAL_KEYS}#-key-rotations", KEY_REGENERATE_GRACE_PERIOD)

ALL_RULES = (
    LISTING_FOLLOWS_ACCESS, KEY_MODELS, EMPTY_MEANS_ALL, KEY_ALL_PROXY_MODELS, KEY_ALL_TEAM_MODELS, STANDALONE_KEY,
    TEAM_STEP, NO_DEFAULT_MODELS_NOT_A_TEAM_GRANT, CONCRETE_MODEL, WILDCARD_ENTRY, CONFIG_ACCESS_GROUP,
    KEY_ACCESS_GROUP, TEAM_ACCESS_GROUP, GROUP_SIDE_ASSIGNMENT, USER_MODELS, USER_NO_DEFAULT_MODELS,
    ORGANIZATION_BOUNDS_TEAMS, WILDCARD_DEPLOYMENT, ROUTER_ALIAS, KEY_ALIAS, TEAM_ALIAS, TEAM_ONLY_MODEL,
    KEY_BLOCKED, TEAM_BLOCKED, KEY_DELETED, TEAM_DELETED, USER_DELETED, KEY_REGENERATED,
)
RULES_BY_ID = {rule.id: rule for rule in ALL_RULES}
