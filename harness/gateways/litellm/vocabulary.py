"""LiteLLM's words in the scenario language: its special `models` entries and its schema texts.

LiteLLM gives three entries of a `models` list a meaning of their own
(https://docs.litellm.ai/docs/proxy/model_access, /proxy/team_based_routing, /proxy/users):
`all-proxy-models` (every model the proxy serves), `all-team-models` (on a key: whatever the
key's team may use) and `no-default-models` (on a user or team: nothing unless granted
otherwise). The loader accepts each wherever LiteLLM's admin API does (everywhere), and the
scenario JSON Schema offers them as one-name shorthands there.
"""

from __future__ import annotations

from harness.gateways.base import KEY, ORGANIZATION, TEAM, USER, SpecialName, Vocabulary
from harness.gateways.litellm.proxy_settings import (
    GENERAL_SETTINGS,
    LITELLM_SETTINGS,
    RESERVED_ENV,
    RESERVED_SETTINGS,
    ROUTER_SETTINGS,
)

TITLE = "LiteLLM"

ALL_PROXY_MODELS = "all-proxy-models"  # every model the proxy serves
ALL_TEAM_MODELS = "all-team-models"  # on a key: whatever the key's team may use
NO_DEFAULT_MODELS = "no-default-models"  # on a user/team: nothing unless granted otherwise

#: Where LiteLLM's admin API accepts each name. It refuses none of them on any owner (teams,
#: users, keys, organizations: `/team/new`, `/user/new`, `/key/generate`, `/organization/new`
#: take them as plain list entries), so neither does the scenario language: what a name *means*
#: on an owner LiteLLM does not document is exactly what a scenario may want to observe.
EVERY_OWNER = frozenset({TEAM, USER, KEY, ORGANIZATION})

SPECIAL_NAMES = (
    SpecialName(ALL_PROXY_MODELS, "every model the proxy serves", EVERY_OWNER),
    # On a key without a team LiteLLM documents that it matches nothing, so every call is denied.
    SpecialName(ALL_TEAM_MODELS, "whatever the key's team may use", EVERY_OWNER),
    SpecialName(NO_DEFAULT_MODELS, "nothing unless granted otherwise", EVERY_OWNER),
)

#: LiteLLM's texts in the scenario JSON Schema, where the core's are gateway-neutral.
SCHEMA_DESCRIPTIONS = {
    "ModelDecl.name": "The model name clients call (LiteLLM `model_name`), e.g. `gpt-4o`.",
    "AccessGroupDecl": 'An access-group entity (LiteLLM `/v1/access_group`; "Access Groups" in the UI).',
    "TeamDecl.models": (
        "Models the team may use: model names, config access group names, wildcards "
        "(`openai/*`), `all-proxy-models` or `no-default-models`. A single special name may "
        "be written without brackets. Empty (the default) means no restriction in LiteLLM."
    ),
    "UserDecl.name": "The user's name (becomes the LiteLLM user id, prefixed).",
    "UserDecl.models": (
        "Models the user may use, like a team's `models` (`no-default-models` means nothing "
        "unless granted). Leave out to use the proxy's default for new users."
    ),
    "KeyDecl.models": (
        "Models the key may use: model names, config access group names, wildcards, "
        "`all-proxy-models`, or `all-team-models` (needs `team`). Empty (the default) means "
        "no restriction of its own: the team's models, or all models without a team."
    ),
}

#: The sections of LiteLLM's config file (https://docs.litellm.ai/docs/proxy/config_settings) a
#: scenario's `proxy:` may add to, merged over the harness's own.
CONFIG_SECTION_TEXTS = {
    GENERAL_SETTINGS: "LiteLLM `general_settings` (e.g. `user_api_key_cache_ttl`), merged over the harness's own.",
    LITELLM_SETTINGS: "LiteLLM `litellm_settings`, merged over the harness's own.",
    ROUTER_SETTINGS: "LiteLLM `router_settings` (e.g. `model_group_alias`), merged over the harness's own.",
}

VOCABULARY = Vocabulary(
    title=TITLE, special_names=SPECIAL_NAMES, descriptions=SCHEMA_DESCRIPTIONS,
    config_sections=CONFIG_SECTION_TEXTS, reserved_settings=RESERVED_SETTINGS, reserved_environment=RESERVED_ENV,
)
