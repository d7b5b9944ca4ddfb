"""LiteLLM's side of a scenario's proxy settings: what the harness owns, what is read at import
time, how long its key/team cache keeps a change from showing, and how a row is removed.

Import time matters to a launcher that starts proxies by forking a warm parent that already
imported LiteLLM: an environment variable LiteLLM reads while importing is frozen in that parent,
so a proxy that needs another value of one needs a parent of its own (or a plain start).
`read_at_import` and `import_time_environment` are the one place that says which.
"""

from __future__ import annotations

from harness.model.proxy import ProxySettings

#: The sections of LiteLLM's config file a scenario's `proxy:` may add to.
GENERAL_SETTINGS, LITELLM_SETTINGS, ROUTER_SETTINGS = "general_settings", "litellm_settings", "router_settings"
CONFIG_SECTIONS = (GENERAL_SETTINGS, LITELLM_SETTINGS, ROUTER_SETTINGS)

#: Environment variables LiteLLM reads while it is imported (module-level constants and
#: clients), as observed on 1.82.3 and 1.108.7: setting one after the import changes nothing.
#: Every `DEFAULT_*` variable is read by `litellm/constants.py` at import too (`read_at_import`).
IMPORT_TIME_ENV = frozenset({
    "LITELLM_LICENSE",  # premium features (`premium_user`)
    "DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL",  # key/team/user objects in the auth cache
    "DEFAULT_ACCESS_GROUP_CACHE_TTL",  # access-group entities
    "DEFAULT_IN_MEMORY_TTL",
    "LITELLM_LOCAL_MODEL_COST_MAP",
    "LITELLM_MODE",  # DEV loads `.env` from the importing process's working directory
    "LITELLM_KEY_ROTATION_ENABLED",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "SSL_VERIFY", "SSL_CERT_FILE",
})
#: The prefix of LiteLLM's constants read from the environment at import (`litellm/constants.py`).
IMPORT_TIME_PREFIX = "DEFAULT_"

#: Variables the harness sets itself for every proxy; a scenario may not override them.
RESERVED_ENV = frozenset({
    "DATABASE_URL", "LITELLM_MASTER_KEY", "DISABLE_SCHEMA_UPDATE", "STORE_MODEL_IN_DB", "PATH", "HOME",
    "PYTHONPATH", "PYTHONUNBUFFERED",
})
#: Config settings the harness owns (the master key and database come from the environment).
RESERVED_GENERAL_SETTINGS = frozenset({"master_key", "database_url"})
#: What a scenario may not set, by config section (`Vocabulary.reserved_settings`).
RESERVED_SETTINGS = {GENERAL_SETTINGS: RESERVED_GENERAL_SETTINGS}

#: Seconds LiteLLM keeps key, team and user objects in its auth cache without a setting.
DEFAULT_OBJECT_CACHE_TTL_S = 60.0
#: Added to a cache TTL before a change counts as visible: an entry expires on its next read
#: after the TTL, and the proxy's clock and ours start apart by a request's latency.
CACHE_TTL_MARGIN_S = 1.0


def read_at_import(name: str) -> bool:
    """Whether LiteLLM reads the environment variable `name` while it is imported."""
    return name in IMPORT_TIME_ENV or name.startswith(IMPORT_TIME_PREFIX)


def import_time_environment(settings: ProxySettings) -> dict[str, str]:
    """The variables of `settings` a forked proxy cannot take from its own environment."""
    return {name: value for name, value in settings.environment if read_at_import(name)}


def object_cache_ttl_s(settings: ProxySettings) -> float:
    """How long a change to a key, team or user may stay invisible on a proxy with `settings`.

    Both caches must be short for a change to show within seconds: the auth cache's
    `general_settings.user_api_key_cache_ttl` and the import-time
    `DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL` (with only the first, 1.82.3 still serves a
    cached team); the longer one decides. Plus `CACHE_TTL_MARGIN_S`.
    """
    general = settings.section(GENERAL_SETTINGS).get("user_api_key_cache_ttl")
    environment = settings.env().get("DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL")
    ttls = []
    for value in (general, environment):
        try:
            ttls.append(float(value) if value is not None else DEFAULT_OBJECT_CACHE_TTL_S)
        except (TypeError, ValueError):
            ttls.append(DEFAULT_OBJECT_CACHE_TTL_S)
    return max(ttls) + CACHE_TTL_MARGIN_S


#: LiteLLM's tables and id columns of what a timeline's `remove_row` may remove.
_ROWS = {
    "key": ('"LiteLLM_VerificationToken"', "token"),
    "team": ('"LiteLLM_TeamTable"', "team_id"),
    "user": ('"LiteLLM_UserTable"', "user_id"),
}


def row_removal(kind: str, entity_id: str) -> str | None:
    """`DELETE FROM <table> WHERE <id> = '<id>'` for a key (by its hashed token), team or user."""
    row = _ROWS.get(kind)
    if row is None:
        return None
    table, column = row
    return f"DELETE FROM {table} WHERE {column} = '{entity_id.replace(chr(39), chr(39) * 2)}';"
