"""The changes of a scenario's timeline, as LiteLLM's admin API makes them.

Each verb of `harness.model.steps` is one function from the step to the admin call(s) it takes;
the answer of the decisive call is returned, never raised: whether it was expected is the
judge's to say. What the proxy confirms is reflected in the handles (a deleted entity needs no
teardown; a regenerated key's new secret is what its name now probes with).
"""

from __future__ import annotations

from typing import Any, Callable

from harness.gateways.litellm.admin_handles import AdminCalls, Handles
from harness.gateways.base import AdminAnswer
from harness.model.steps import (
    AddMemberStep,
    BlockStep,
    DeleteStep,
    RegenerateStep,
    RemoveMemberStep,
    UnblockStep,
    UpdateStep,
)


#: Where each kind of entity is deleted: (method, path, body field holding a list of ids).
_DELETE = {
    "key": ("POST", "/key/delete", "keys"),
    "team": ("POST", "/team/delete", "team_ids"),
    "user": ("POST", "/user/delete", "user_ids"),
    "organization": ("DELETE", "/organization/delete", "organization_ids"),
}
#: Block and unblock: (path, body field) per kind.
_BLOCK = {"key": ("/key/{verb}", "key"), "team": ("/team/{verb}", "team_id")}


def apply_change(client: AdminCalls, change: object, handles: Handles) -> AdminAnswer:
    """Make `change` (a change step of `harness.model.steps`); the admin API's answer."""
    for step_type, make in _CHANGES.items():
        if isinstance(change, step_type):
            return make(client, change, handles)
    raise TypeError(f"not a change LiteLLM's admin API makes: {type(change).__name__}")


def _missing(call: str, what: str) -> AdminAnswer:
    return AdminAnswer(call, None, transport_error=f"{what} was never created, so it cannot be changed")


def _update(client: AdminCalls, step: UpdateStep, handles: Handles) -> AdminAnswer:
    spec = step.update
    kind, name = spec.named[0]
    entity = handles.id_of(kind, name)
    if entity is None:
        return _missing(f"update {kind} {name}", f"{kind} '{name}'")
    body: dict[str, Any] = {}
    if kind == "key":
        body["key"] = entity
        if spec.team is not None:
            body["team_id"] = handles.id_of("team", spec.team)
        if spec.user is not None:
            body["user_id"] = handles.id_of("user", spec.user)
        if spec.aliases is not None:
            body["aliases"] = dict(spec.aliases)
    if spec.models is not None:
        body["models" if kind != "access_group" else "access_model_names"] = list(spec.models)
    if spec.access_groups is not None:
        body["access_group_ids"] = [handles.id_of("access_group", g) for g in spec.access_groups]
    if spec.model_aliases is not None:
        body["model_aliases"] = dict(spec.model_aliases)
    if kind == "access_group":
        if spec.teams is not None:
            body["assigned_team_ids"] = [handles.id_of("team", t) for t in spec.teams]
        if spec.keys is not None:
            body["assigned_key_ids"] = [handles.id_of("key", k) for k in spec.keys]
        return client.call("PUT", f"/v1/access_group/{entity}", body)[0]
    route = {"key": ("POST", "/key/update"), "team": ("POST", "/team/update"), "user": ("POST", "/user/update"),
             "organization": ("PATCH", "/organization/update")}[kind]
    id_field = {"team": "team_id", "user": "user_id", "organization": "organization_id"}.get(kind)
    if id_field is not None:
        body[id_field] = entity
    return client.call(*route, body)[0]


def _delete(client: AdminCalls, step: DeleteStep, handles: Handles) -> AdminAnswer:
    kind, name = step.delete.named[0]
    entity = handles.id_of(kind, name)
    if entity is None:
        return _missing(f"delete {kind} {name}", f"{kind} '{name}'")
    if kind == "access_group":
        answer = client.call("DELETE", f"/v1/access_group/{entity}")[0]
    else:
        method, path, field = _DELETE[kind]
        answer = client.call(method, path, {field: [entity]})[0]
    if answer.accepted:
        handles.forget(kind, name)
    return answer


def _blocking(verb: str) -> Callable[[AdminCalls, Any, Handles], AdminAnswer]:
    def make(client: AdminCalls, step: Any, handles: Handles) -> AdminAnswer:
        kind, name = getattr(step, verb).named[0]
        entity = handles.id_of(kind, name)
        if entity is None:
            return _missing(f"{verb} {kind} {name}", f"{kind} '{name}'")
        path, field = _BLOCK[kind]
        return client.call("POST", path.format(verb=verb), {field: entity})[0]

    return make


def _regenerate(client: AdminCalls, step: RegenerateStep, handles: Handles) -> AdminAnswer:
    spec = step.regenerate
    token = handles.id_of("key", spec.key)
    if token is None:
        return _missing(f"regenerate key {spec.key}", f"key '{spec.key}'")
    answer, payload = client.call("POST", "/key/regenerate", {"key": token})
    secret = payload.get("key") if answer.accepted and payload is not None else None
    if isinstance(secret, str) and secret:
        client.redactor.add(secret)
        old = handles.keys.get(spec.key)
        if spec.old is not None and old is not None:
            handles.keys[spec.old] = old
        handles.keys[spec.key] = secret
        handles.key_tokens[spec.key] = payload.get("token") or payload.get("token_id") or token  # type: ignore[union-attr]
    return answer


def _member(verb: str) -> Callable[[AdminCalls, Any, Handles], AdminAnswer]:
    def make(client: AdminCalls, step: Any, handles: Handles) -> AdminAnswer:
        spec = getattr(step, verb)
        team, user = handles.id_of("team", spec.team), handles.id_of("user", spec.user)
        if team is None or user is None:
            return _missing(f"{verb} {spec.team} {spec.user}", f"team '{spec.team}' or user '{spec.user}'")
        if verb == "add_member":
            return client.call("POST", "/team/member_add",
                               {"team_id": team, "member": {"role": spec.role, "user_id": user}})[0]
        return client.call("POST", "/team/member_delete", {"team_id": team, "user_id": user})[0]

    return make


_CHANGES: dict[type, Callable[[Any, Any, Any], AdminAnswer]] = {
    UpdateStep: _update,
    DeleteStep: _delete,
    BlockStep: _blocking("block"),
    UnblockStep: _blocking("unblock"),
    RegenerateStep: _regenerate,
    AddMemberStep: _member("add_member"),
    RemoveMemberStep: _member("remove_member"),
}
