"""Pass 3 of loading a scenario: what it means, checked rule by rule on a well-shaped scenario.

This module checks the world: references between names (a key's team, a user's teams, access
groups, organizations, who makes a key), duplicate names, deployments and aliases, world-wide
limits the shape cannot state, and the gateway's special names (`harness.gateways.base.Vocabulary`)
used only where the gateway accepts them. The expectations and the timeline are checked by
`harness.scenario.rules_timeline`. Every problem goes to `add(loc, message)`.
"""

from __future__ import annotations

from typing import Sequence

from harness.common.spelling import did_you_mean
from harness.gateways.base import KEY, ORGANIZATION, TEAM, USER, Vocabulary
from harness.model.scenario import MAX_ACCESS_GROUPS, Scenario
from harness.scenario.names import (
    Add,
    WorldNames,
    declared_model,
    entity_ref,
    unknown,
    with_not_served_hint,
    world_names,
)
from harness.scenario.rules_timeline import timeline_problems
from harness.model.sweep import SweepDecl
from harness.oracle.sweep import sweep_vocabulary
from harness.scenario.yaml_lines import Lines, Loc


def meaning_problems(s: Scenario, lines: Lines, add: Add, vocabulary: Vocabulary) -> None:
    """Every problem of meaning in `s`, given to `add(loc, message)`."""
    names = world_names(s, vocabulary)
    if _too_many_config_groups(s, names.config_groups, add):
        return
    _proxy_problems(s, vocabulary, add)
    _unique_names(s, names, lines, add)
    _model_problems(s, names, vocabulary, add)
    _entity_problems(s, names, vocabulary, add)
    timeline_problems(s, names, lines, add, vocabulary)
    sweep_problems(s, add)


def _proxy_problems(s: Scenario, vocabulary: Vocabulary, add: Add) -> None:
    """Config sections the gateway has, and nothing the harness owns itself."""
    if s.proxy is None:
        return
    sections = list(vocabulary.config_sections)
    for name, values in s.proxy.sections.items():
        if name not in vocabulary.config_sections:
            hint = did_you_mean(name, sections + ["environment"]) or (
                f" (the {vocabulary.title} config sections: {', '.join(sections)})" if sections
                else f" ({vocabulary.title} takes no config sections)")
            add(("proxy", name), f"unknown field '{name}'{hint}")
            continue
        for setting in values:
            if setting in vocabulary.reserved_settings.get(name, ()):
                add(("proxy", name, setting), f"'{setting}' is set by the harness for every proxy")
    for variable in s.proxy.environment:
        if variable in vocabulary.reserved_environment or variable.startswith("GATECONFORM_"):
            add(("proxy", "environment", variable), f"'{variable}' is set by the harness for every proxy")


def _unique_names(s: Scenario, names: WorldNames, lines: Lines, add: Add) -> None:
    """Names are unique per kind; principals (keys, users' keys) share one namespace."""
    principal_fields = [("keys", i, "name") for i in range(len(s.keys))]
    principal_fields += [("users", i, "key") for i, u in enumerate(s.users) if u.key is not None]
    for label, values, fields in (
        ("model", names.models, [("models", i, "name") for i in range(len(s.models))]),
        ("organization", names.organizations, [("organizations", i, "name") for i in range(len(s.organizations))]),
        ("access group", names.entities, [("access_groups", i, "name") for i in range(len(s.access_groups))]),
        ("team", names.teams, [("teams", i, "name") for i in range(len(s.teams))]),
        ("user", names.users, [("users", i, "name") for i in range(len(s.users))]),
        ("key", names.principals, principal_fields),
    ):
        first: dict[str, Loc] = {}
        for name, loc in zip(values, fields):
            if name in first:
                add(loc, f"duplicate {label} name '{name}' (first at line {lines.line_of(first[name])})")
            else:
                first[name] = loc


def _model_problems(s: Scenario, names: WorldNames, vocabulary: Vocabulary, add: Add) -> None:
    """Declared models: their names, deployments, aliases, config groups, team-only models."""
    # A model without deployments has one, named like the model: ids name one deployment each.
    owners: dict[str, str] = {m.name: m.name for m in s.models if not m.deployments}
    for index, model in enumerate(s.models):
        where = ("models", index)
        if model.name in names.special:
            add(where + ("name",), vocabulary.not_a_model(model.name))
        for d_index, deployment in enumerate(model.deployments):
            owner = owners.get(deployment.id)
            if owner is not None:
                add(where + ("deployments", d_index, "id"),
                    f"deployment '{deployment.id}' is also a deployment of '{owner}': an id names one deployment")
            owners.setdefault(deployment.id, model.name)
        for a_index, alias in enumerate(model.aliases):
            if alias in names.models:
                add(where + ("aliases", a_index), f"alias '{alias}' is the name of a declared model")
        for g_index, group in enumerate(model.access_groups):
            if group in names.special:
                add(where + ("access_groups", g_index), vocabulary.not_an_access_group(group))
        if model.team is not None:
            if model.team not in names.teams:
                add(where + ("team",), unknown("team", model.team, names.teams, "no teams"))
            if len(model.deployments) > 1:
                add(where + ("deployments",), "a team-only model is added as one deployment")
            if "*" in model.name:
                add(where + ("name",), "a team-only model needs a name, not a wildcard")
        elif model.admin is not None:
            add(where + ("admin",), "only a team-only model (`team:`) is created through the admin API")
    for index, name in enumerate(s.not_served):
        if name in names.models or names.matches_wildcard(name) or name in names.aliases:
            add(("not_served", index), f"'{name}' is served by the proxy: remove it from not_served")


def _entity_problems(s: Scenario, names: WorldNames, vocabulary: Vocabulary, add: Add) -> None:
    """Organizations, access groups, teams, users and keys: what each refers to exists."""

    def model_ref(loc: Loc, ref: str, owner: str) -> None:
        """An entry of an organization's, team's, user's or key's `models` list."""
        if ref in names.special:
            if ref not in vocabulary.accepted_by(owner):
                add(loc, vocabulary.misplaced(ref))
            return
        if ("*" in ref or ref in names.models or ref in names.config_groups or ref in names.aliases
                or ref in names.not_served):
            return
        if ref in names.entities:
            add(loc, f"'{ref}' is an access-group entity: attach it with `access_groups: [{ref}]`, not in `models`")
            return
        add(loc, with_not_served_hint(unknown("model or access group", ref,
                                              names.models + names.config_groups + names.not_served
                                              + list(vocabulary.accepted_by(owner)),
                                              "no models")))

    def ref(loc: Loc, kind: str, name: str, declared: Sequence[str], none: str) -> None:
        if name not in declared:
            add(loc, unknown(kind, name, declared, none))
        elif (kind, name) in names.refused:
            add(loc, f"{kind} '{name}' is expected to be refused: nothing can belong to it")

    for o_index, org in enumerate(s.organizations):
        for m_index, model in enumerate(org.models or ()):
            model_ref(("organizations", o_index, "models", m_index), model, ORGANIZATION)
    for g_index, group in enumerate(s.access_groups):
        for m_index, name in enumerate(group.models):
            declared_model(("access_groups", g_index, "models", m_index), name, names, vocabulary, add)
        for t_index, team in enumerate(group.teams):
            ref(("access_groups", g_index, "teams", t_index), "team", team, names.teams, "no teams")
        for k_index, key in enumerate(group.keys):
            ref(("access_groups", g_index, "keys", k_index), "key", key, names.keys, "no keys")
    for t_index, team in enumerate(s.teams):
        for m_index, model in enumerate(team.models):
            model_ref(("teams", t_index, "models", m_index), model, TEAM)
        for a_index, name in enumerate(team.access_groups):
            entity_ref(("teams", t_index, "access_groups", a_index), name, names, add)
        _alias_targets(("teams", t_index, "model_aliases"), team.model_aliases, names, add)
        if team.organization is not None:
            ref(("teams", t_index, "organization"), "organization", team.organization, names.organizations,
                "no organizations")
    for u_index, user in enumerate(s.users):
        for m_index, model in enumerate(user.models or ()):
            model_ref(("users", u_index, "models", m_index), model, USER)
        for m_index, membership in enumerate(user.teams):
            ref(("users", u_index, "teams", m_index), "team", membership.team, names.teams, "no teams")
    for k_index, key in enumerate(s.keys):
        where = ("keys", k_index)
        if key.team is not None:
            ref(where + ("team",), "team", key.team, names.teams, "no teams")
        if key.user is not None:
            ref(where + ("user",), "user", key.user, names.users, "no users")
        if key.service_account and key.team is None:
            add(where + ("service_account",), "a service-account key belongs to a team: set `team`")
        if key.service_account and key.user is not None:
            add(where + ("user",), "a service-account key has no user: remove `user`")
        for m_index, model in enumerate(key.model_list):
            model_ref(where + ("models", m_index), model, KEY)
        for a_index, name in enumerate(key.access_groups):
            entity_ref(where + ("access_groups", a_index), name, names, add)
        _alias_targets(where + ("aliases",), key.aliases, names, add)
        if key.made_by is not None:
            earlier = names.user_keys + names.keys[:k_index]
            if key.made_by == key.name:
                add(where + ("made_by",), "a key cannot make itself")
            elif key.made_by not in earlier:
                hint = " (declare it before this key)" if key.made_by in names.keys else ""
                add(where + ("made_by",), unknown("key", key.made_by, earlier, "no keys before this one") + hint)


def _alias_targets(loc: Loc, aliases: dict[str, str], names: WorldNames, add: Add) -> None:
    """Each alias points at a name the proxy serves (a model, a wildcard's match, a `not_served` name)."""
    for alias, target in aliases.items():
        served = ((target in names.models and target not in names.wildcards) or names.matches_wildcard(target)
                  or target in names.not_served)
        if not served:
            add(loc + (alias,), f"alias '{alias}' points at {names.unknown_model(target)}")


def sweep_problems(s: Scenario, add: Add) -> None:
    """`sweep.only` names registered probe kinds and routes they probe, nothing else."""
    if not isinstance(s.sweep, SweepDecl) or s.sweep.only is None:
        return
    known = sweep_vocabulary()
    for index, entry in enumerate(s.sweep.only):
        if entry not in known:
            add(("sweep", "only", index), unknown("probe kind or route", entry, sorted(known), "none"))


def _too_many_config_groups(s: Scenario, config_groups: list[str], add: Add) -> bool:
    """The shape bounds the models, not the config access groups they name: bound those here."""
    if len(config_groups) <= MAX_ACCESS_GROUPS:
        return False
    named: set[str] = set()
    for index, model in enumerate(s.models):
        named.update(model.access_groups)
        if len(named) > MAX_ACCESS_GROUPS:
            add(("models", index, "access_groups"),
                f"{len(config_groups)} config access groups in all; a scenario may have at most "
                f"{MAX_ACCESS_GROUPS} (gateconform's limit, far above what a real scenario needs)")
            break
    return True


