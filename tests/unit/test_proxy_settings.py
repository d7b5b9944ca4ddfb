"""LiteLLM's side of a scenario's proxy settings: how long `wait: cache_ttl` waits, which variables
a forked proxy cannot take from its own environment, and the SQL of a row removed under an entity."""

from __future__ import annotations

import pytest

from harness.gateways.litellm.gateway import LITELLM
from harness.gateways.litellm.proxy_settings import import_time_environment, read_at_import, row_removal
from harness.model.proxy import ProxySettings


@pytest.mark.parametrize(("general", "environment", "seconds"), [
    ({}, {}, 61.0),  # LiteLLM's default: 60 s in both caches
    ({"user_api_key_cache_ttl": 2}, {}, 61.0),  # one short cache is not enough (1.82.3 serves the cached team)
    ({"user_api_key_cache_ttl": 2}, {"DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL": "3"}, 4.0),
    ({"user_api_key_cache_ttl": "x"}, {"DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL": "1"}, 61.0),
])
def test_cache_ttl_is_the_longer_of_both_caches_plus_a_margin(general: dict, environment: dict,
                                                               seconds: float) -> None:
    settings = ProxySettings.of({"general_settings": general}, environment)
    assert LITELLM.cache_ttl_s(settings) == seconds


def test_variables_read_at_import_are_named_in_one_place() -> None:
    settings = ProxySettings.of(environment={"LITELLM_LICENSE": "x", "DEFAULT_ACCESS_GROUP_CACHE_TTL": "5",
                                             "DEFAULT_SOMETHING_NEW": "1", "MY_FLAG": "1"})
    assert import_time_environment(settings) == {"LITELLM_LICENSE": "x", "DEFAULT_ACCESS_GROUP_CACHE_TTL": "5",
                                                 "DEFAULT_SOMETHING_NEW": "1"}
    assert not read_at_import("DATABASE_URL") and not read_at_import("MY_FLAG")


def test_a_row_is_removed_by_its_id_quoted() -> None:
    assert row_removal("team", "t-1") == "DELETE FROM \"LiteLLM_TeamTable\" WHERE team_id = 't-1';"
    assert row_removal("key", "ab'c") == "DELETE FROM \"LiteLLM_VerificationToken\" WHERE token = 'ab''c';"
    assert row_removal("access_group", "g") is None
