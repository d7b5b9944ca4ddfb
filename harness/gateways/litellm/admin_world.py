"""Provisioning a scenario's world on LiteLLM, entity by entity, in dependency order.

Organizations, access groups (their models), teams, team-only models (`/model/new` with the
team's id, pointing at the fake upstream), users (with the key `/user/new` creates, when the
scenario names it) and their memberships, keys (each with the master key, or with the key
that `made_by` names), and last the access groups' assignments made from the group's side.

An entity carrying `admin:` is judged, not required: its answer goes to `handles.answers`,
and a refusal is the end of it (as expected) or of the world (`WorldDiverged`: one expected to
be accepted was refused). A refusal that says the feature needs a licence is `Unavailable`.
"""

from __future__ import annotations

from typing import Any

from harness.gateways.litellm.admin_handles import AdminCalls, Handles
from harness.gateways.base import Unavailable, WorldDiverged
from harness.gateways.litellm.proxy_config import deployment_params
from harness.model.proxy import DeploymentSpec, default_upstream_model
from harness.model.scenario import Scenario
from harness.model.world import AdminExpect, creation_id



def provision_world(client: AdminCalls, scenario: Scenario, handles: Handles) -> None:
    """Create every entity of `scenario`, recording each in `handles` as the proxy confirms it."""
    run_id = handles.run_id
    name = client.name

    for org in scenario.organizations:
        body: dict[str, Any] = {"organization_alias": name(run_id, org.name)}
        if org.models is not None:
            body["models"] = list(org.models)
        created = _create(client, handles, "organization", org.name, org.admin, "/organization/new", body,
                          "organization_id")
        if created is not None:
            handles.organizations[org.name] = created["organization_id"]

    for group in scenario.access_groups:
        body = {"access_group_name": name(run_id, group.name), "access_model_names": list(group.models)}
        created = _create(client, handles, "access-group", group.name, group.admin, "/v1/access_group", body,
                          "access_group_id")
        if created is not None:
            handles.access_groups[group.name] = created["access_group_id"]

    for team in scenario.teams:
        body = {"team_alias": name(run_id, team.name), "models": list(team.models)}
        if team.access_groups:
            body["access_group_ids"] = [handles.access_groups[g] for g in team.access_groups]
        if team.model_aliases:
            body["model_aliases"] = dict(team.model_aliases)
        if team.blocked:
            body["blocked"] = True
        if team.organization is not None:
            body["organization_id"] = handles.organizations[team.organization]
        created = _create(client, handles, "team", team.name, team.admin, "/team/new", body, "team_id")
        if created is not None:
            handles.teams[team.name] = created["team_id"]

    for model in scenario.models:
        if model.team is None:
            continue
        deployment = (model.deployments[0] if model.deployments else None)
        spec = DeploymentSpec(deployment.id if deployment else model.name,
                              (deployment.model if deployment else None) or default_upstream_model(model.name))
        info: dict[str, Any] = {"team_id": handles.teams[model.team]}
        if model.access_groups:
            info["access_groups"] = list(model.access_groups)
        body = {"model_name": model.name, "litellm_params": deployment_params(spec, client.upstream_url),
                "model_info": info}
        created = _create(client, handles, "model", model.name, model.admin, "/model/new", body)
        if created is not None:
            handles.team_models[model.name] = _model_id(created) or model.name

    for user in scenario.users:
        user_id = name(run_id, user.name)
        body = {"user_id": user_id, "auto_create_key": user.key is not None}
        if user.models is not None:
            body["models"] = list(user.models)
        if user.role is not None:
            body["user_role"] = user.role
        created = _create(client, handles, "user", user.name, user.admin, "/user/new", body,
                          "key" if user.key is not None else None)
        if created is None:
            continue
        handles.users[user.name] = user_id
        if user.key is not None:
            _record_key(client, handles, user.key, created)
        for membership in user.teams:
            member = {"role": membership.role, "user_id": user_id}
            client.post("/team/member_add", {"team_id": handles.teams[membership.team], "member": member},
                        what=f"membership of user '{user.name}' in team '{membership.team}'")

    for key in scenario.keys:
        body = {"key_alias": name(run_id, key.name)}
        if key.models is not None:
            body["models"] = list(key.models)
        if key.team:
            body["team_id"] = handles.teams[key.team]
        if key.user:
            body["user_id"] = handles.users[key.user]
        if key.access_groups:
            body["access_group_ids"] = [handles.access_groups[g] for g in key.access_groups]
        if key.aliases:
            body["aliases"] = dict(key.aliases)
        if key.blocked:
            body["blocked"] = True
        route = "/key/generate"
        if key.service_account:
            # The UI's "Service Account" key: owned by the team, not a user.
            body["metadata"] = {"service_account_id": name(run_id, key.name)}
            if client.capabilities().service_account_keys:
                route = "/key/service-account/generate"
        maker = handles.keys[key.made_by] if key.made_by is not None else None
        created = _create(client, handles, "key", key.name, key.admin, route, body, "key", as_key=maker)
        if created is not None:
            _record_key(client, handles, key.name, created)

    for group in scenario.access_groups:
        if (group.teams or group.keys) and group.name in handles.access_groups:
            body = {}
            if group.teams:
                body["assigned_team_ids"] = [handles.teams[t] for t in group.teams]
            if group.keys:
                body["assigned_key_ids"] = [handles.key_tokens[k] for k in group.keys]
            client.post(f"/v1/access_group/{handles.access_groups[group.name]}", body,
                        what=f"access group '{group.name}' assignments", method="PUT")


def _create(client: AdminCalls, handles: Handles, kind: str, name: str, admin: AdminExpect | None,
            path: str, body: dict[str, Any], required: str | None = None, *,
            as_key: str | None = None) -> dict[str, Any] | None:
    """Create one entity; its payload, or None when it was refused as the scenario expects."""
    answer, payload = client.call("POST", path, body, as_key=as_key)
    what = f"{kind.replace('-', ' ')} '{name}'"
    if admin is None or answer.status is None:  # no answer: whether it exists is unknown
        return client.require(answer, payload, what, required)
    check = creation_id(kind, name)
    handles.answers[check] = answer
    if answer.accepted:
        return client.require(answer, payload, what, required)
    reason = client.unavailable(answer)
    if reason is not None:
        raise Unavailable(reason)
    if admin is AdminExpect.REFUSED:
        return None
    raise WorldDiverged(check, f"creating {what} was refused: {answer.call} answered HTTP {answer.status}")


def _record_key(client: AdminCalls, handles: Handles, name: str, created: dict[str, Any]) -> None:
    secret = created["key"]
    client.redactor.add(secret)
    handles.keys[name] = secret
    handles.key_tokens[name] = created.get("token") or created.get("token_id") or secret


def _model_id(created: dict[str, Any]) -> str | None:
    """The id `/model/new` gave the model (where releases put it)."""
    info = created.get("model_info")
    for value in (created.get("model_id"), info.get("id") if isinstance(info, dict) else None, created.get("id")):
        if isinstance(value, str) and value:
            return value
    return None
