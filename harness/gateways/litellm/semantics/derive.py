"""LiteLLM's documented semantics: for every principal of every round, each call and the listing.

A key's access is LiteLLM's chain of steps (`key_auth_arch`): the key's own list (with its
access groups), then for a team key the team's (with the team's access groups and its
organization's bound), or for a personal key its user's list. A model is allowed when every step
allows it, denied when one denies it, and undetermined when the docs leave a step open. A blocked,
deleted or superseded key (or team) is denied everything. `GET /v1/models` must show exactly the
models the key may call (`listing-follows-access`), unless a name it may call is one whose
listing the docs never describe (an alias, a wildcard deployment's matches).
"""

from __future__ import annotations

from fnmatch import fnmatchcase

import harness.gateways.litellm.semantics.rules as R
from harness.gateways.litellm.semantics.access import Level, resolve
from harness.gateways.litellm.semantics.state import KeyState, WorldState
from harness.model.check import Expect
from harness.model.derivation import Derived, RuleUse, set_words
from harness.model.scenario import Round, Scenario


class LiteLLMSemantics:
    """`harness.gateways.base.Semantics` for LiteLLM (see the module docstring)."""

    def derive(self, scenario: Scenario, version: str | None) -> list[Derived]:
        """Every principal × callable name, and every principal's listing, per round."""
        world = WorldState.declared(scenario)
        rounds = scenario.rounds()
        if scenario.steps is None:
            return _round(scenario, world, rounds[0], version)
        by_where = {r.where: r for r in rounds}
        derived: list[Derived] = []
        for index, step in enumerate(scenario.steps):
            round_ = by_where.get(("steps", index, "expect"))
            if round_ is not None:
                derived += _round(scenario, world, round_, version)
            else:
                world.apply(step)
        return derived


def _round(scenario: Scenario, world: WorldState, round_: Round, version: str | None) -> list[Derived]:
    declared = [key.name for key in scenario.keys]
    principals = [name for name in declared if name in world.keys]
    principals += [name for name in world.keys if name not in declared]
    out: list[Derived] = []
    for principal in principals:
        out += _principal(scenario, world, world.keys[principal], round_.name, version)
    return out


def _principal(scenario: Scenario, world: WorldState, key: KeyState, round_name: str | None,
               version: str | None) -> list[Derived]:
    names = _callable_names(scenario, world, key)
    gone = _gone(world, key)
    if gone is not None:
        use, reason = gone
        if use is None:
            return [Derived(key.name, round_name, name, undetermined=reason) for name in [None, *names]]
        return [Derived(key.name, round_name, None, chain=(use,), undetermined=(
                    "the docs do not say what GET /v1/models answers a key that can make no request"))] + [
                Derived(key.name, round_name, name, Expect.DENIED, chain=(use,)) for name in names]
    levels = _levels(scenario, world, key)
    chain = tuple(use for level in levels for use in level.uses)
    out: list[Derived] = []
    outcomes: dict[str, bool | None] = {}
    reasons: dict[str, str] = {}
    for name in names:
        allowed, extra, reason = _call(scenario, world, key, levels, name)
        uses = chain + extra
        late = _not_for(uses, version)
        if late is not None:
            allowed, reason = None, late
        outcomes[name] = allowed
        if allowed is None:
            reasons[name] = reason or "the docs leave it open"
            out.append(Derived(key.name, round_name, name, chain=uses, undetermined=reasons[name]))
        else:
            out.append(Derived(key.name, round_name, name, Expect.ALLOWED if allowed else Expect.DENIED, chain=uses,
                               decided_by=() if allowed else _denied_by(levels, name, extra)))
    out.insert(0, _listing(scenario, world, key, round_name, chain, outcomes, reasons, version))
    return out


def _gone(world: WorldState, key: KeyState) -> tuple[RuleUse | None, str] | None:
    """The rule that makes a key refuse every request (or None and why it is open), if one does."""
    team = world.teams.get(key.team) if key.team is not None else None
    if key.unknown is not None:
        return None, key.unknown
    if team is not None and team.unknown is not None:
        return None, team.unknown
    if key.user is not None and key.team is not None and (key.team, key.user) in world.memberships_removed:
        return None, (f"the user {key.user} left the team {key.team}: the docs do not say what the user's key "
                      "in that team reaches then")
    if key.superseded:
        return RuleUse(R.KEY_REGENERATED, f"{key.name}: the old secret of a regenerated key"), ""
    if key.deleted:
        return RuleUse(R.KEY_DELETED, f"key {key.name} deleted"), ""
    if team is not None and team.deleted:
        return RuleUse(R.TEAM_DELETED, f"team {team.name} deleted"), ""
    if key.user is not None and key.user in world.deleted_users:
        return RuleUse(R.USER_DELETED, f"user {key.user} deleted"), ""
    if key.blocked:
        return RuleUse(R.KEY_BLOCKED, f"key {key.name} blocked"), ""
    if team is not None and team.blocked:
        return RuleUse(R.TEAM_BLOCKED, f"team {team.name} blocked"), ""
    return None


def _proxy_models(scenario: Scenario) -> list[str]:
    """Concrete names the proxy's config serves (no wildcard, no team-only model)."""
    return [m.name for m in scenario.models if "*" not in m.name and m.team is None]


def _config_groups(scenario: Scenario) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for model in scenario.models:
        for group in model.access_groups:
            groups.setdefault(group, []).append(model.name)
    return groups


def _levels(scenario: Scenario, world: WorldState, key: KeyState) -> list[Level]:
    """The steps of the key's check, in LiteLLM's order (key, then team and organization, or user)."""
    groups, proxy = _config_groups(scenario), _proxy_models(scenario)
    team = world.teams.get(key.team) if key.team is not None else None
    levels = [resolve("key", key.models, groups, proxy, world.group_models_of_key(key), R.KEY_ACCESS_GROUP,
                      team_present=team is not None)]
    if team is not None:
        team_level = resolve("team", team.models, groups, proxy, world.group_models_of_team(team),
                             R.TEAM_ACCESS_GROUP)
        team_level.uses.insert(0, RuleUse(R.TEAM_STEP, ""))
        levels.append(team_level)
        org_models = world.organizations.get(team.organization) if team.organization is not None else None
        if org_models:
            org = resolve("organization", org_models, groups, proxy)
            org.uses = [RuleUse(R.ORGANIZATION_BOUNDS_TEAMS, f"organization {team.organization} {org.words()}")]
            if team_level.everything:
                # The docs check the organization's list when a team is created or updated, not on
                # each request: what a team holding every model reaches inside one they never say.
                org.undetermined = (f"team {team.name} holds every model inside organization {team.organization}: "
                                    "the docs check organization model lists only when teams are created or "
                                    "updated, and do not say what such a team may call")
            levels.append(org)
    elif key.user is not None and world.users.get(key.user):
        user = resolve("user", world.users[key.user], groups, proxy)
        user.uses.insert(0, RuleUse(R.USER_MODELS, ""))
        levels.append(user)
    else:
        levels[0].uses.insert(0, RuleUse(R.STANDALONE_KEY, ""))
    return levels


def _call(scenario: Scenario, world: WorldState, key: KeyState, levels: list[Level],
          name: str) -> tuple[bool | None, tuple[RuleUse, ...], str | None]:
    """(allowed / denied / None, rules added for this name, why open) of a call of `name`."""
    team = world.teams.get(key.team) if key.team is not None else None
    team_only = {m.name: m.team for m in scenario.models if m.team is not None}
    if name in team_only:
        use = RuleUse(R.TEAM_ONLY_MODEL, f"{name} is team {team_only[name]}'s model")
        if key.team != team_only[name]:
            return False, (use,), None
        allowed = levels[0].allows(name)  # the team's own model: only the key's list can narrow it
        return allowed, (use,), None if allowed is not None else _why(levels, name)
    direct = _all(levels, name)
    target = _alias_target(scenario, key, team, name)
    if target is not None:
        rule, owner, to = target
        use = RuleUse(rule, f"{owner} alias {name} → {to}")
        by_name = all(level.names_by_name(name) for level in levels)
        if by_name:
            return True, (use,), None
        to_allowed = _all(levels, to)
        if to_allowed is False or direct is False and rule is R.ROUTER_ALIAS and to_allowed is None:
            return False, (use,), None
        if rule is R.ROUTER_ALIAS:
            return None, (use,), (f"{name} is a router alias of {to}, which the key may call, but not named in "
                                  "its lists: the docs do not say whether an alias inherits its target's access")
        return to_allowed, (use,), None if to_allowed is not None else _why(levels, to)
    served = _served(scenario, name)
    if served is None:  # nothing routes it
        if direct is False:
            return False, (), None
        return None, (), (f"the proxy serves no model named {name}: the docs do not say whether the answer "
                          "is an access denial or 'no such model'")
    extra = (served,) if served.rule is not R.CONCRETE_MODEL else ()
    return direct, extra, None if direct is not None else _why(levels, name)


def _denied_by(levels: list[Level], name: str, extra: tuple[RuleUse, ...]) -> tuple[str, ...]:
    """The rule ids that deny `name`: the name's own rules (a team-only model, an alias) and those of
    every step that denies it; () when no step denies the name itself (then the whole chain decides)."""
    deciding = [use for level in levels if level.allows(name) is False for use in level.uses]
    uses = [*extra, *deciding]
    return tuple(dict.fromkeys(use.rule.id for use in uses)) if deciding else ()


def _all(levels: list[Level], name: str) -> bool | None:
    outcomes = [level.allows(name) for level in levels]
    if False in outcomes:
        return False
    return None if None in outcomes else True


def _why(levels: list[Level], name: str) -> str:
    for level in levels:
        if level.undetermined is not None:
            return level.undetermined
        if name in level.open and level.allows(name) is None:
            return level.open[name]
    return "the docs leave it open"


def _alias_target(scenario: Scenario, key: KeyState, team, name: str):  # type: ignore[no-untyped-def]
    """(rule, owner, target) when `name` is an alias this key's requests route (its own, its team's, the router's)."""
    if name in key.aliases:
        return R.KEY_ALIAS, "key", key.aliases[name]
    if team is not None and name in team.model_aliases:
        return R.TEAM_ALIAS, "team", team.model_aliases[name]
    for model in scenario.models:
        if name in model.aliases:
            return R.ROUTER_ALIAS, "router", model.name
    return None


def _served(scenario: Scenario, name: str) -> RuleUse | None:
    """How the proxy serves `name` (a declared model or a wildcard deployment), None when it does not."""
    if name in scenario.not_served:
        return None
    for model in scenario.models:
        if model.name == name and "*" not in name:
            return RuleUse(R.CONCRETE_MODEL, f"model {name}")
    for model in scenario.models:
        if "*" in model.name and fnmatchcase(name, model.name):
            return RuleUse(R.WILDCARD_DEPLOYMENT, f"{name} served by the wildcard deployment {model.name}")
    return None


def _callable_names(scenario: Scenario, world: WorldState, key: KeyState) -> list[str]:
    """The names a principal's calls are derived for: declared models, the aliases its requests
    route, names the proxy serves on purpose nowhere, and the names the scenario's rounds write."""
    team = world.teams.get(key.team) if key.team is not None else None
    names = [m.name for m in scenario.models if "*" not in m.name]
    names += [alias for m in scenario.models for alias in m.aliases]
    names += list(key.aliases) + (list(team.model_aliases) if team is not None else [])
    names += list(scenario.not_served)
    others = {alias for other in world.keys.values() if other is not key for alias in other.aliases}
    others |= {alias for t in world.teams.values() if t is not team for alias in t.model_aliases}
    for round_ in scenario.rounds():
        for expectation in round_.expect.values():
            names += [n for n in expectation.allowed + expectation.denied + expectation.open if n not in others]
    return list(dict.fromkeys(names))


def _listing(scenario: Scenario, world: WorldState, key: KeyState, round_name: str | None,
             chain: tuple[RuleUse, ...], outcomes: dict[str, bool | None], reasons: dict[str, str],
             version: str | None) -> Derived:
    """The exact set `GET /v1/models` must show the key: the served models it may call."""
    uses = chain + (RuleUse(R.LISTING_FOLLOWS_ACCESS, ""),)
    late = _not_for(uses, version)
    if late is not None:
        return Derived(key.name, round_name, None, chain=uses, undetermined=late)
    team = world.teams.get(key.team) if key.team is not None else None
    listable = [m.name for m in scenario.models if "*" not in m.name and (m.team is None or m.team == key.team)]
    open_ = [name for name in listable if outcomes.get(name) is None]
    if open_:
        return Derived(key.name, round_name, None, chain=uses,
                       undetermined=f"whether it may call {open_[0]} is open: {reasons.get(open_[0], '')}")
    aliases = [n for n, allowed in outcomes.items() if allowed and n not in listable and _alias_target(
        scenario, key, team, n) is not None]
    if aliases:
        return Derived(key.name, round_name, None, chain=uses, undetermined=(
            f"it may call the alias {aliases[0]}: the docs do not say whether GET /v1/models lists aliases"))
    wildcard = [m.name for m in scenario.models if "*" in m.name]
    through_wildcard = any(allowed and _served(scenario, n) is not None and _served(scenario, n).rule  # type: ignore[union-attr]
                           is R.WILDCARD_DEPLOYMENT for n, allowed in outcomes.items())
    if wildcard and (through_wildcard or all(level.everything for level in _levels(scenario, world, key))):
        return Derived(key.name, round_name, None, chain=uses, undetermined=(
            f"it may call names of the wildcard deployment {wildcard[0]}: the docs do not say which names "
            "GET /v1/models shows for one"))
    listed = frozenset(name for name in listable if outcomes.get(name))
    return Derived(key.name, round_name, None, listed=listed,
                   chain=uses[:-1] + (RuleUse(R.LISTING_FOLLOWS_ACCESS, "listing = callable models"),))


def _not_for(uses: tuple[RuleUse, ...], version: str | None) -> str | None:
    for use in uses:
        if not use.rule.holds_for(version):
            return f"the rule {use.rule.id} is documented for releases {use.rule.releases}, not {version}"
    return None


__all__ = ["LiteLLMSemantics", "set_words"]
