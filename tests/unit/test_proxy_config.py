"""The proxy config: every model reaches the upstream under its own name, probes see first answers."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from harness.model.proxy import DeploymentSpec, ProxySettings
from harness.targets.base import ModelSpec
from harness.gateways.litellm.proxy_config import proxy_config, render_proxy_config, write_proxy_config

UPSTREAM = "http://127.0.0.1:41234"
MODELS = [ModelSpec("gpt-4o"), ModelSpec("gpt-4o-mini", ("limited", "cheap")), ModelSpec("claude-sonnet")]


def parsed(models=MODELS, **kwargs) -> dict:  # type: ignore[no-untyped-def]
    return yaml.safe_load(render_proxy_config(models, UPSTREAM, **kwargs))


def test_each_model_is_routed_to_the_upstream_under_its_own_name() -> None:
    entries = {entry["model_name"]: entry for entry in parsed()["model_list"]}
    assert list(entries) == ["gpt-4o", "gpt-4o-mini", "claude-sonnet"]
    for name, entry in entries.items():
        assert entry["litellm_params"] == {
            "model": f"openai/{name}",
            "api_base": f"{UPSTREAM}/gc-deployment/{name}/v1",  # the upstream records the deployment
            "api_key": "fake-upstream-key",
        }


def test_access_groups_only_where_a_model_has_some() -> None:
    entries = {entry["model_name"]: entry for entry in parsed()["model_list"]}
    assert entries["gpt-4o-mini"]["model_info"] == {"access_groups": ["limited", "cheap"]}
    assert "model_info" not in entries["gpt-4o"]


def test_upstream_url_with_trailing_slash() -> None:
    config = proxy_config([ModelSpec("m")], UPSTREAM + "/")
    assert config["model_list"][0]["litellm_params"]["api_base"] == f"{UPSTREAM}/gc-deployment/m/v1"


def test_secrets_are_read_from_the_environment_by_default() -> None:
    settings = parsed()["general_settings"]
    assert settings == {"master_key": "os.environ/LITELLM_MASTER_KEY", "database_url": "os.environ/DATABASE_URL"}


def test_explicit_master_key_and_database() -> None:
    settings = parsed(master_key="sk-gc-x", database_url="postgresql://u:p@h:1/d")["general_settings"]
    assert settings == {"master_key": "sk-gc-x", "database_url": "postgresql://u:p@h:1/d"}


def test_no_retries_no_cooldowns_so_a_probe_sees_the_first_answer() -> None:
    config = parsed()
    assert config["litellm_settings"]["num_retries"] == 0
    assert config["router_settings"]["num_retries"] == 0
    assert config["router_settings"]["disable_cooldowns"] is True
    assert "fallbacks" not in config["router_settings"]
    assert "fallbacks" not in config["litellm_settings"]


def test_a_model_listed_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="'gpt-4o' is listed twice"):
        proxy_config([ModelSpec("gpt-4o"), ModelSpec("gpt-4o", ("g",))], UPSTREAM)


def test_no_models_gives_an_empty_model_list() -> None:
    assert parsed(models=[])["model_list"] == []


def test_written_config_is_private(tmp_path: Path) -> None:
    path = write_proxy_config(tmp_path / "config.yaml", MODELS, UPSTREAM)
    assert yaml.safe_load(path.read_text()) == proxy_config(MODELS, UPSTREAM)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_several_deployments_behind_one_name_each_reach_the_upstream_under_their_own_id() -> None:
    claude = ModelSpec("claude", deployments=(DeploymentSpec("east", "anthropic/claude-3-5-sonnet"),
                                              DeploymentSpec("west", "openai/claude-west")))
    entries = parsed(models=[claude])["model_list"]

    assert [(e["model_name"], e["litellm_params"]["model"], e["litellm_params"]["api_base"], e["model_info"]["id"])
            for e in entries] == [
        ("claude", "anthropic/claude-3-5-sonnet", f"{UPSTREAM}/gc-deployment/east/v1", "east"),
        ("claude", "openai/claude-west", f"{UPSTREAM}/gc-deployment/west/v1", "west"),
    ]


def test_a_wildcard_deployment_is_its_own_provider_model_and_its_id_travels_encoded() -> None:
    [entry] = parsed(models=[ModelSpec("openai/*")])["model_list"]

    assert entry["model_name"] == "openai/*"
    assert entry["litellm_params"]["model"] == "openai/*"
    assert entry["litellm_params"]["api_base"] == f"{UPSTREAM}/gc-deployment/openai%2F%2A/v1"


def test_router_aliases_and_a_scenarios_settings_are_merged_over_the_harnesss() -> None:
    settings = ProxySettings.of(
        {"general_settings": {"user_api_key_cache_ttl": 2, "master_key": "sk-stolen"},
         "router_settings": {"num_retries": 3}},
        {"DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL": "2"},
        admin_models=True,
    )
    config = parsed(models=[ModelSpec("gpt-4o", aliases=("gpt4",))], settings=settings)

    assert config["router_settings"]["model_group_alias"] == {"gpt4": "gpt-4o"}
    assert config["router_settings"]["num_retries"] == 3  # the scenario's value wins
    assert config["router_settings"]["disable_cooldowns"] is True  # the rest stays
    assert config["general_settings"] == {"store_model_in_db": True, "user_api_key_cache_ttl": 2,
                                          "master_key": "os.environ/LITELLM_MASTER_KEY",
                                          "database_url": "os.environ/DATABASE_URL"}
