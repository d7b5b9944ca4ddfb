"""LiteLLM's words in the scenario language: its special `models` entries and its schema texts.

LiteLLM gives three entries of a `models` list a meaning of their own
(https://docs.litellm.ai/docs/proxy/model_access, /proxy/team_based_routing, /proxy/users):
`all-proxy-models` (every model the proxy serves), `all-team-models` (on a key: whatever the
key's team may use) and `no-default-models` (on a user or team: nothing unless granted
otherwise). The loader accepts each only where LiteLLM does, and the scenario JSON Schema
offers them as one-name shorthands there.
"""

from __future__ import annotations

from harness.gateways.base import KEY, TEAM, USER, SpecialName, Vocabulary

TITLE = "LiteLLM"

ALL_PROXY_MODELS = "all-proxy-models"  # every model the proxy serves
ALL_TEAM_MODELS = "all-team-models"  # on a key: whatever the key's team may use
NO_DEFAULT_MODELS = "no-default-models"  # on a user/team: nothing unless granted otherwise

SPECIAL_NAMES = (
    SpecialName(ALL_PROXY_MODELS, "every model the proxy serves", frozenset({TEAM, USER, KEY})),
    # On a key without a team it is accepted too: LiteLLM documents that it then matches
    # nothing, so every call is denied, and a scenario may want to check exactly that.
    SpecialName(ALL_TEAM_MODELS, "whatever the key's team may use", frozenset({KEY}),
                misplaced="only applies to a key's models (a key with a team)"),
    SpecialName(NO_DEFAULT_MODELS, "nothing unless granted otherwise", frozenset({TEAM, USER}),
                misplaced="only applies to users and teams, not keys"),
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

VOCABULARY = Vocabulary(title=TITLE, special_names=SPECIAL_NAMES, descriptions=SCHEMA_DESCRIPTIONS)
