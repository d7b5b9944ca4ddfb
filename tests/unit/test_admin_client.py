"""The LiteLLM admin client, offline: what it asks the proxy, in which order, and what it says when
the proxy refuses (an `httpx.MockTransport` answers in place of a proxy; see tests/fixtures/fake_litellm.py).
"""

from __future__ import annotations

from typing import Callable

import httpx
import pytest

from harness.common.redact import Redactor
from harness.gateways.base import ProvisionError
from harness.gateways.litellm.admin import LiteLLMAdapter
from harness.scenario.loader import parse_scenario
from harness.targets.base import Endpoint
from tests.fixtures.fake_litellm import MASTER_KEY, OLD_ROUTES, Call, Failure, FakeLiteLLM, FakeUpstream

WORLD = """\
id: admin-world
title: every kind of entity
models: [gpt-4o, gpt-4o-mini]
access_groups:
  - name: limited
    models: [gpt-4o-mini]
teams:
  - name: platform
    models: [all-proxy-models]
    access_groups: [limited]
users:
  - name: alice
    models: [gpt-4o]
    teams: [platform]
keys:
  - name: svc
    team: platform
    service_account: true
    access_groups: [limited]
  - name: personal
    user: alice
    models: [gpt-4o]
expect:
  svc:
    can_call: [gpt-4o-mini]
  personal:
    can_call: [gpt-4o]
"""


def adapter(answer: Callable[[httpx.Request], httpx.Response], redactor: Redactor | None = None) -> LiteLLMAdapter:
    """The client of a proxy that `answer`s every request (a `FakeLiteLLM`, or a test's own function)."""
    endpoint = Endpoint("http://proxy.invalid", MASTER_KEY, FakeUpstream(), "9.9.9", "fake")
    return LiteLLMAdapter(endpoint, redactor or Redactor(), transport=httpx.MockTransport(answer))


def provisioned(fake: FakeLiteLLM, text: str = WORLD, redactor: Redactor | None = None):  # type: ignore[no-untyped-def]
    with adapter(fake, redactor) as client:
        return client.provision(parse_scenario(text), "r1")


# --------------------------------------------------------------------------- provisioning


def test_provisioning_creates_groups_then_teams_then_users_and_memberships_then_keys() -> None:
    fake = FakeLiteLLM()
    handles = provisioned(fake)

    group, team = "ag-1", "team-2"
    assert fake.admin_calls() == [
        Call("POST", "/v1/access_group", {"access_group_name": "gc-r1-limited", "access_model_names": ["gpt-4o-mini"]}),
        Call("POST", "/team/new", {"team_alias": "gc-r1-platform", "models": ["all-proxy-models"],
                                   "access_group_ids": [group]}),
        Call("POST", "/user/new", {"user_id": "gc-r1-alice", "auto_create_key": False, "models": ["gpt-4o"]}),
        Call("POST", "/team/member_add", {"team_id": team, "member": {"role": "user", "user_id": "gc-r1-alice"}}),
        Call("POST", "/key/service-account/generate", {
            "key_alias": "gc-r1-svc", "team_id": team, "access_group_ids": [group],  # models left out: none sent
            "metadata": {"service_account_id": "gc-r1-svc"}}),
        Call("POST", "/key/generate", {"key_alias": "gc-r1-personal", "models": ["gpt-4o"], "user_id": "gc-r1-alice"}),
    ]
    assert set(handles.keys) == {"svc", "personal"} and all(s.startswith("sk-fake-") for s in handles.keys.values())
    assert handles.created_count() == 5  # a group, a team, a user, two keys (a membership is no entity)
    assert handles.describe() == ("keys gc-r1-svc, gc-r1-personal; user gc-r1-alice; team gc-r1-platform; "
                                  "access group gc-r1-limited")


def test_the_world_is_in_the_proxy_under_names_carrying_the_run_id() -> None:
    fake = FakeLiteLLM()
    provisioned(fake)
    # the fake refuses an admin call without the master key: every entity got through with it
    assert fake.alive() == ["gc-r1-alice", "gc-r1-limited", "gc-r1-personal", "gc-r1-platform", "gc-r1-svc"]


def test_a_service_account_key_on_a_proxy_without_the_route_is_a_team_key_marked_in_its_metadata() -> None:
    fake = FakeLiteLLM(routes=OLD_ROUTES)
    no_groups = WORLD.replace("    access_groups: [limited]\n", "")
    no_groups = no_groups[:no_groups.index("access_groups:")] + no_groups[no_groups.index("teams:"):]
    provisioned(fake, no_groups)
    svc = next(call for call in fake.admin_calls() if call.body.get("key_alias") == "gc-r1-svc")
    assert svc.path == "/key/generate"
    assert svc.body["metadata"] == {"service_account_id": "gc-r1-svc"} and svc.body["team_id"] == "team-1"


def test_capabilities_are_read_from_openapi_once() -> None:
    fake = FakeLiteLLM()
    two_service_keys = WORLD.replace("  - name: personal\n    user: alice\n", "  - name: personal\n    team: platform\n"
                                     "    service_account: true\n")
    with adapter(fake) as client:
        capabilities = client.capabilities()
        client.provision(parse_scenario(two_service_keys), "r1")
        assert client.capabilities() is capabilities
    assert [call.path for call in fake.calls].count("/openapi.json") == 1
    assert capabilities.access_group_entities and capabilities.service_account_keys


def test_a_proxy_without_access_group_entities_says_what_the_scenario_misses() -> None:
    with adapter(FakeLiteLLM(routes=OLD_ROUTES)) as client:
        missing = client.capabilities().missing_for(parse_scenario(WORLD))
    assert missing == ["this proxy has no access-group entities (/v1/access_group)"]


@pytest.mark.parametrize("answer, says", [
    (httpx.Response(500, text="Internal Server Error"), "GET /openapi.json answered HTTP 500"),
    (httpx.Response(200, text="<html>a login page</html>"), "GET /openapi.json answered a body that is not JSON"),
    (httpx.Response(200, json=["/v1/access_group"]), "GET /openapi.json answered a body without its paths"),
])
def test_an_odd_openapi_document_is_a_provisioning_error_not_a_crash(answer: httpx.Response, says: str) -> None:
    with adapter(lambda _request: answer) as client:
        with pytest.raises(ProvisionError) as caught:
            client.capabilities()
    assert str(caught.value) == says


# --------------------------------------------------------------------------- refusals


def test_a_refused_admin_call_names_what_and_where_with_the_answer_redacted() -> None:
    master_echo = {"error": {"message": f"team budget exceeded for key {MASTER_KEY}", "type": "budget_exceeded"}}
    fake = FakeLiteLLM(failures={"/team/new": Failure(400, master_echo)})
    with pytest.raises(ProvisionError) as caught:
        provisioned(fake)
    text = str(caught.value)
    assert text.startswith("creating team 'platform': POST /team/new answered HTTP 400: ")
    assert "team budget exceeded for key" in text and "budget_exceeded" in text
    assert MASTER_KEY not in text and "sk-…ffff" in text


def test_an_answer_echoing_a_key_created_earlier_never_shows_its_secret() -> None:
    redactor = Redactor()
    fake = FakeLiteLLM(failures={"/key/generate": Failure(500, None)})

    def echo_the_first_key(request: httpx.Request) -> httpx.Response:
        answer = fake(request)
        if answer.status_code == 500:
            secret = next(iter(fake.keys))
            return httpx.Response(500, text=f"duplicate key: {secret} (opaque-{secret[-8:]}x)")
        return answer

    with adapter(echo_the_first_key, redactor) as client:
        with pytest.raises(ProvisionError) as caught:
            client.provision(parse_scenario(WORLD), "r1")
    secret = next(iter(fake.keys))
    assert str(caught.value).startswith("creating key 'personal': POST /key/generate answered HTTP 500: duplicate key:")
    assert secret not in str(caught.value)


def test_a_transport_error_names_the_call_and_never_a_secret() -> None:
    def reset(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError(f"connection reset while sending Authorization: Bearer {MASTER_KEY}", request=request)

    with adapter(reset) as client:
        with pytest.raises(ProvisionError) as caught:
            client.provision(parse_scenario(WORLD), "r1")
    assert str(caught.value).startswith("creating access group 'limited': POST /v1/access_group failed: ReadError:")
    assert MASTER_KEY not in str(caught.value)


@pytest.mark.parametrize("answer, says", [
    (httpx.Response(200, text="ok"), "POST /team/new answered a non-JSON body"),
    (httpx.Response(200, json=["team-1"]), "POST /team/new answered an unexpected body"),
    (httpx.Response(200, json={"team_alias": "gc-r1-platform"}), "POST /team/new answered without team_id"),
])
def test_an_odd_answer_to_an_admin_call_is_a_provisioning_error(answer: httpx.Response, says: str) -> None:
    fake = FakeLiteLLM()

    def odd_team(request: httpx.Request) -> httpx.Response:
        return answer if request.url.path == "/team/new" else fake(request)

    with adapter(odd_team) as client:
        handles = client.new_handles("r1")
        with pytest.raises(ProvisionError) as caught:
            client.provision(parse_scenario(WORLD), "r1", handles)
    assert str(caught.value) == f"creating team 'platform': {says}"
    assert handles.describe() == "access group gc-r1-limited"  # what to tear down


# --------------------------------------------------------------------------- teardown


def test_teardown_after_a_failure_half_way_deletes_everything_created() -> None:
    fake = FakeLiteLLM(failures={"/key/generate": Failure(500)})  # the second key fails
    with adapter(fake) as client:
        handles = client.new_handles("r1")
        with pytest.raises(ProvisionError, match="creating key 'personal'"):
            client.provision(parse_scenario(WORLD), "r1", handles)
        assert handles.describe() == "key gc-r1-svc; user gc-r1-alice; team gc-r1-platform; access group gc-r1-limited"
        problems = client.teardown(handles)

    assert problems == []
    assert fake.alive() == []
    assert handles.created_count() == 0 and handles.describe() == "nothing"
    deletes = [call for call in fake.admin_calls() if "delete" in call.path or call.method == "DELETE"]
    assert deletes == [
        Call("POST", "/key/delete", {"keys": ["hashed-3"]}),
        Call("POST", "/user/delete", {"user_ids": ["gc-r1-alice"]}),
        Call("POST", "/team/delete", {"team_ids": ["team-2"]}),
        Call("DELETE", "/v1/access_group/ag-1"),
    ]


def test_teardown_goes_on_after_a_refused_delete_and_says_what_is_left() -> None:
    fake = FakeLiteLLM(failures={"/user/delete": Failure(500, {"error": {"message": f"db down ({MASTER_KEY})",
                                                                         "type": "x"}})})
    with adapter(fake) as client:
        handles = client.provision(parse_scenario(WORLD), "r1")
        problems = client.teardown(handles)
    assert len(problems) == 1 and problems[0].startswith("delete users: HTTP 500 ")
    assert MASTER_KEY not in problems[0]
    assert fake.alive() == ["gc-r1-alice"]  # keys, team and group went all the same
    assert handles.describe() == "user gc-r1-alice"


def test_teardown_counts_an_entity_already_gone_as_deleted() -> None:
    fake = FakeLiteLLM(failures={"/team/delete": Failure(404, {"detail": "team not found"})})
    with adapter(fake) as client:
        handles = client.provision(parse_scenario(WORLD), "r1")
        assert client.teardown(handles) == []
    assert handles.created_count() == 0


def test_teardown_survives_a_proxy_that_stopped_answering() -> None:
    fake = FakeLiteLLM()
    down = {"now": False}

    def maybe_down(request: httpx.Request) -> httpx.Response:
        if down["now"]:
            raise httpx.ConnectError(f"connection refused (key {MASTER_KEY})", request=request)
        return fake(request)

    with adapter(maybe_down) as client:
        handles = client.provision(parse_scenario(WORLD), "r1")
        down["now"] = True
        problems = client.teardown(handles)
    assert [p.split(":")[0] for p in problems] == ["delete keys", "delete users", "delete teams",
                                                   "delete access group ag-1"]
    assert not any(MASTER_KEY in p for p in problems)
    assert handles.created_count() == 5  # nothing was deleted: all of it is named as left behind
