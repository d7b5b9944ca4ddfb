"""The names a scenario's world declares, and the messages about a name that refers to nothing.

Shared by both halves of pass 3 (`harness.scenario.rules` for the world,
`harness.scenario.rules_timeline` for expectations and the timeline).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Callable, Sequence

from harness.common.spelling import did_you_mean
from harness.gateways.base import Vocabulary
from harness.model.scenario import Scenario
from harness.model.steps import UpdateStep
from harness.model.world import AdminExpect
from harness.scenario.yaml_lines import Loc

Add = Callable[[Loc, str], None]


@dataclass
class WorldNames:
    """Every name the world declares, by what it names."""

    models: list[str]  # declared model names, wildcards included
    wildcards: list[str]
    config_groups: list[str]
    entities: list[str]  # access-group entities
    organizations: list[str]
    teams: list[str]
    users: list[str]
    keys: list[str]  # declared keys
    user_keys: list[str]  # keys created with a user (`users[].key`)
    deployments: list[str]
    aliases: list[str]  # router, team and key aliases: names a key may call
    not_served: list[str]
    special: tuple[str, ...]
    refused: set[tuple[str, str]] = field(default_factory=set)  # (kind, name) expected to be refused

    @property
    def principals(self) -> list[str]:
        """Keys probes can authenticate with (declared keys and users' keys)."""
        return self.keys + self.user_keys

    def matches_wildcard(self, name: str) -> bool:
        return any(fnmatchcase(name, pattern) for pattern in self.wildcards)

    def callable(self, name: str) -> bool:
        """A name a key may call: a served model, an alias, a wildcard's match, a `not_served` name."""
        return ((name in self.models and name not in self.wildcards) or name in self.aliases
                or name in self.not_served or self.matches_wildcard(name))

    def unknown_model(self, name: str) -> str:
        known = [m for m in self.models if m not in self.wildcards] + self.aliases + self.not_served
        return with_not_served_hint(unknown("model", name, known, "no models"))


def world_names(s: Scenario, vocabulary: Vocabulary) -> WorldNames:
    """The names `s` declares."""
    aliases = [alias for m in s.models for alias in m.aliases]
    aliases += [alias for team in s.teams for alias in team.model_aliases]
    aliases += [alias for key in s.keys for alias in key.aliases]
    for step in s.steps or ():
        if isinstance(step, UpdateStep):
            aliases += list(step.update.aliases or ()) + list(step.update.model_aliases or ())
    deployments = [d.id for m in s.models for d in m.deployments] or []
    deployments += [m.name for m in s.models if not m.deployments]
    names = WorldNames(
        models=[m.name for m in s.models],
        wildcards=[m.name for m in s.models if "*" in m.name],
        config_groups=list(dict.fromkeys(g for m in s.models for g in m.access_groups)),
        entities=[g.name for g in s.access_groups],
        organizations=[o.name for o in s.organizations],
        teams=[t.name for t in s.teams],
        users=[u.name for u in s.users],
        keys=[k.name for k in s.keys],
        user_keys=[u.key for u in s.users if u.key is not None],
        deployments=deployments,
        aliases=list(dict.fromkeys(aliases)),
        not_served=list(s.not_served),
        special=vocabulary.names,
    )
    for kind, entities in (("organization", s.organizations), ("access group", s.access_groups),
                           ("team", s.teams), ("user", s.users), ("key", s.keys)):
        names.refused.update((kind, e.name) for e in entities if e.admin is AdminExpect.REFUSED)
    return names


def entity_ref(loc: Loc, name: str, names: WorldNames, add: Add) -> None:
    """An access-group entity named in `access_groups`."""
    if name in names.entities:
        if ("access group", name) in names.refused:
            add(loc, f"access group '{name}' is expected to be refused: nothing can belong to it")
        return
    if name in names.config_groups:
        add(loc, f"'{name}' is a config model access group: put it in `models`, "
            "not in `access_groups` (which names access-group entities)")
        return
    add(loc, unknown("access group", name, names.entities, "no access_groups"))


def declared_model(loc: Loc, name: str, names: WorldNames, vocabulary: Vocabulary, add: Add) -> None:
    """A place that takes a name the proxy serves: access-group entity members, expectations."""
    if names.callable(name):
        return
    if name in names.special:
        add(loc, vocabulary.not_declared_models(name))
    elif name in names.wildcards:
        add(loc, f"'{name}' is a wildcard: name a model it matches (e.g. '{name.replace('*', 'x')}')")
    elif name in names.config_groups or name in names.entities:
        add(loc, f"'{name}' is an access group, not a model: list the models it grants")
    else:
        add(loc, names.unknown_model(name))


def with_not_served_hint(message: str) -> str:
    """An unknown-name message that suggests nothing, pointing at `not_served` for a name meant so."""
    if "did you mean" in message:
        return message
    return message + " (a name the proxy does not serve on purpose goes in `not_served`)"


def unknown(label: str, name: str, candidates: Sequence[str], none_declared: str) -> str:
    """`unknown team 'platfrom' (did you mean 'platform'?)`."""
    if not candidates:
        return f"unknown {label} '{name}' (the scenario declares {none_declared})"
    return f"unknown {label} '{name}'{did_you_mean(name, candidates)}"
