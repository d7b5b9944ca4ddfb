"""The world of a scenario as it stands at one round: declared, then changed by the steps before it.

Only what the model-access rules read is kept: each key's team, user, models, access groups,
aliases and whether it is blocked or gone; each team's models, access groups, aliases,
organization and state; users' models; access groups' models and the owners they were assigned
to from their own side; organizations' models. A change the scenario expects the admin API to
refuse leaves the world as it was; so does an entity whose creation is expected refused (it
never exists).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.model.scenario import Scenario
from harness.model.steps import (
    AddMemberStep, BlockStep, DeleteStep, RegenerateStep, RemoveMemberStep, RemoveRowStep, RoundStep, UnblockStep,
    UpdateStep,
)
from harness.model.world import AdminExpect


@dataclass
class KeyState:
    name: str
    team: str | None
    user: str | None
    models: list[str] | None
    access_groups: set[str]
    aliases: dict[str, str]
    blocked: bool = False
    deleted: bool = False
    #: the old secret of a regenerated key: it no longer authenticates
    superseded: bool = False
    #: why the docs cannot say what this key reaches any more (a target action under it)
    unknown: str | None = None


@dataclass
class TeamState:
    name: str
    models: list[str]
    access_groups: set[str]
    model_aliases: dict[str, str]
    organization: str | None
    blocked: bool = False
    deleted: bool = False
    unknown: str | None = None


@dataclass
class GroupState:
    name: str
    models: list[str]
    teams: set[str]
    keys: set[str]
    deleted: bool = False


@dataclass
class WorldState:
    """One round's world (see the module docstring)."""

    keys: dict[str, KeyState] = field(default_factory=dict)
    teams: dict[str, TeamState] = field(default_factory=dict)
    users: dict[str, list[str] | None] = field(default_factory=dict)
    deleted_users: set[str] = field(default_factory=set)
    memberships_removed: set[tuple[str, str]] = field(default_factory=set)
    groups: dict[str, GroupState] = field(default_factory=dict)
    organizations: dict[str, list[str] | None] = field(default_factory=dict)

    @classmethod
    def declared(cls, scenario: Scenario) -> "WorldState":
        """The world as the scenario declares it (entities expected refused left out)."""
        world = cls()
        for org in scenario.organizations:
            if org.admin is not AdminExpect.REFUSED:
                world.organizations[org.name] = list(org.models) if org.models is not None else None
        for team in scenario.teams:
            if team.admin is not AdminExpect.REFUSED:
                world.teams[team.name] = TeamState(team.name, list(team.models), set(team.access_groups),
                                                   dict(team.model_aliases), team.organization, team.blocked)
        for user in scenario.users:
            if user.admin is not AdminExpect.REFUSED:
                world.users[user.name] = list(user.models) if user.models is not None else None
                if user.key is not None:  # the key /user/new makes: the user's, no team, no models
                    world.keys[user.key] = KeyState(user.key, None, user.name, None, set(), {})
        for key in scenario.keys:
            if key.admin is not AdminExpect.REFUSED:
                world.keys[key.name] = KeyState(key.name, key.team, key.user, key.models, set(key.access_groups),
                                                dict(key.aliases), key.blocked)
        for group in scenario.access_groups:
            if group.admin is not AdminExpect.REFUSED:
                world.groups[group.name] = GroupState(group.name, list(group.models), set(group.teams),
                                                      set(group.keys))
        return world

    def apply(self, step: Any) -> None:
        """Change the world as `step` does (a round or a wait changes nothing)."""
        if isinstance(step, RoundStep) or getattr(step, "admin", None) is AdminExpect.REFUSED:
            return
        if isinstance(step, UpdateStep):
            self._update(step)
        elif isinstance(step, (BlockStep, UnblockStep)):
            subject = step.block if isinstance(step, BlockStep) else step.unblock
            entity = self.keys.get(subject.name) if subject.kind == "key" else self.teams.get(subject.name)
            if entity is not None:
                entity.blocked = isinstance(step, BlockStep)
        elif isinstance(step, DeleteStep):
            self._delete(step.delete.kind, step.delete.name)
        elif isinstance(step, RegenerateStep):
            key = self.keys.get(step.regenerate.key)
            if key is not None and step.regenerate.old is not None:
                self.keys[step.regenerate.old] = KeyState(
                    step.regenerate.old, key.team, key.user, key.models, set(key.access_groups), dict(key.aliases),
                    superseded=True)
        elif isinstance(step, AddMemberStep):
            self.memberships_removed.discard((step.add_member.team, step.add_member.user))
        elif isinstance(step, RemoveMemberStep):
            self.memberships_removed.add((step.remove_member.team, step.remove_member.user))
        elif isinstance(step, RemoveRowStep):
            self._row_removed(step.remove_row.kind, step.remove_row.name)

    def _update(self, step: UpdateStep) -> None:
        spec = step.update
        kind, name = spec.named[0]
        if kind == "key" and name in self.keys:
            key = self.keys[name]
            if spec.team is not None:
                key.team = spec.team
            if spec.user is not None:
                key.user = spec.user
            if spec.models is not None:
                key.models = list(spec.models)
            if spec.access_groups is not None:
                key.access_groups = set(spec.access_groups)
            if spec.aliases is not None:
                key.aliases = dict(spec.aliases)
        elif kind == "team" and name in self.teams:
            team = self.teams[name]
            if spec.models is not None:
                team.models = list(spec.models)
            if spec.access_groups is not None:
                team.access_groups = set(spec.access_groups)
            if spec.model_aliases is not None:
                team.model_aliases = dict(spec.model_aliases)
            if spec.organization is not None and len(spec.named) > 1:
                team.organization = spec.organization
        elif kind == "user" and name in self.users:
            if spec.models is not None:
                self.users[name] = list(spec.models)
        elif kind == "access_group" and name in self.groups:
            group = self.groups[name]
            if spec.models is not None:
                group.models = list(spec.models)
            if spec.teams is not None:
                group.teams = set(spec.teams)
            if spec.keys is not None:
                group.keys = set(spec.keys)
        elif kind == "organization" and name in self.organizations:
            if spec.models is not None:
                self.organizations[name] = list(spec.models)

    def _delete(self, kind: str, name: str) -> None:
        if kind == "key" and name in self.keys:
            self.keys[name].deleted = True
        elif kind == "team" and name in self.teams:
            self.teams[name].deleted = True
        elif kind == "user":
            self.deleted_users.add(name)
        elif kind == "access_group" and name in self.groups:
            self.groups[name].deleted = True
        elif kind == "organization":
            self.organizations.pop(name, None)

    def _row_removed(self, kind: str, name: str) -> None:
        reason = (f"the {kind} '{name}' row was removed from the database under it: the docs do not say what "
                  "a live key then reaches (a target action, not an admin call)")
        if kind == "key" and name in self.keys:
            self.keys[name].unknown = reason
        elif kind == "team" and name in self.teams:
            self.teams[name].unknown = reason
        elif kind == "user":
            for key in self.keys.values():
                if key.user == name:
                    key.unknown = reason

    def group_models_of_key(self, key: KeyState) -> tuple[set[str], list[str]]:
        """Models of the access groups attached to `key` (either side), and the groups' names."""
        return self._group_models(lambda g: g.name in key.access_groups or key.name in g.keys)

    def group_models_of_team(self, team: TeamState) -> tuple[set[str], list[str]]:
        """Models of the access groups attached to `team` (either side), and the groups' names."""
        return self._group_models(lambda g: g.name in team.access_groups or team.name in g.teams)

    def _group_models(self, attached: Any) -> tuple[set[str], list[str]]:
        names, models = [], set()
        for group in self.groups.values():
            if not group.deleted and attached(group):
                names.append(group.name)
                models |= set(group.models)
        return models, sorted(names)
