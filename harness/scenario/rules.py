"""Pass 3 of loading a scenario: what it means, checked rule by rule on a well-shaped scenario.

References between names (a key's team, a user's teams, access groups, expectations about
declared models and keys), duplicate names, world-wide limits the shape cannot state, and the
gateway's special names (`harness.gateways.base.Vocabulary`) used only where the gateway
accepts them. Every problem goes to `add(loc, message)`.
"""

from __future__ import annotations

from typing import Callable, Sequence

from harness.common.spelling import did_you_mean
from harness.gateways.base import KEY, TEAM, USER, Vocabulary
from harness.model.scenario import MAX_ACCESS_GROUPS, Scenario, SweepDecl
from harness.oracle.sweep import sweep_vocabulary
from harness.scenario.yaml_lines import Lines, Loc

Add = Callable[[Loc, str], None]


def meaning_problems(s: Scenario, lines: Lines, add: Add, vocabulary: Vocabulary) -> None:
    """Every problem of meaning in `s`, given to `add(loc, message)`."""
    models = [m.name for m in s.models]
    config_groups = list(dict.fromkeys(g for m in s.models for g in m.access_groups))
    if _too_many_config_groups(s, config_groups, add):
        return
    entities = [g.name for g in s.access_groups]
    teams = [t.name for t in s.teams]
    users = [u.name for u in s.users]
    keys = [k.name for k in s.keys]
    special = vocabulary.names

    # Names: unique per kind, and not confusable with what a `models` entry can mean.
    for field, names, label in (
        ("models", models, "model"),
        ("access_groups", entities, "access group"),
        ("teams", teams, "team"),
        ("users", users, "user"),
        ("keys", keys, "key"),
    ):
        first: dict[str, int] = {}
        for index, name in enumerate(names):
            if name in first:
                add((field, index, "name"), f"duplicate {label} name '{name}' "
                    f"(first at line {lines.line_of((field, first[name], 'name'))})")
            else:
                first[name] = index
    for index, name in enumerate(models):
        if name in special:
            add(("models", index, "name"), vocabulary.not_a_model(name))
    for m_index, model in enumerate(s.models):
        for g_index, group in enumerate(model.access_groups):
            loc = ("models", m_index, "access_groups", g_index)
            if group in models:
                add(loc, f"config access group '{group}' has the name of a model; "
                    "a `models` entry naming it would be ambiguous")
            elif group in special:
                add(loc, vocabulary.not_an_access_group(group))

    def check_model_ref(loc: Loc, ref: str, owner: str) -> None:
        """An entry of a team's, user's or key's `models` list."""
        allowed_special = vocabulary.accepted_by(owner)
        if ref in special:
            if ref not in allowed_special:
                add(loc, vocabulary.misplaced(ref))
            return
        if "*" in ref or ref in models or ref in config_groups:
            return
        if ref in entities:
            add(loc, f"'{ref}' is an access-group entity: attach it with `access_groups: [{ref}]`, "
                "not in `models`")
            return
        add(loc, _unknown("model or access group", ref, models + config_groups + list(allowed_special),
                          "no models"))

    def check_entity_ref(loc: Loc, name: str) -> None:
        if name in entities:
            return
        if name in config_groups:
            add(loc, f"'{name}' is a config model access group: put it in `models`, "
                "not in `access_groups` (which names access-group entities)")
            return
        add(loc, _unknown("access group", name, entities, "no access_groups"))

    def check_declared_model(loc: Loc, name: str) -> None:
        """A place that takes declared models only: access-group entity members, expectations."""
        if name in models:
            return
        if name in special:
            add(loc, vocabulary.not_declared_models(name))
        elif name in config_groups or name in entities:
            add(loc, f"'{name}' is an access group, not a model: list the models it grants")
        else:
            add(loc, _unknown("model", name, models, "no models"))

    for g_index, group in enumerate(s.access_groups):
        for m_index, name in enumerate(group.models):
            check_declared_model(("access_groups", g_index, "models", m_index), name)

    for t_index, team in enumerate(s.teams):
        for m_index, ref in enumerate(team.models):
            check_model_ref(("teams", t_index, "models", m_index), ref, TEAM)
        for a_index, name in enumerate(team.access_groups):
            check_entity_ref(("teams", t_index, "access_groups", a_index), name)

    for u_index, user in enumerate(s.users):
        for m_index, ref in enumerate(user.models or ()):
            check_model_ref(("users", u_index, "models", m_index), ref, USER)
        for team_index, name in enumerate(user.teams):
            if name not in teams:
                add(("users", u_index, "teams", team_index), _unknown("team", name, teams, "no teams"))

    for k_index, key in enumerate(s.keys):
        if key.team is not None and key.team not in teams:
            add(("keys", k_index, "team"), _unknown("team", key.team, teams, "no teams"))
        if key.user is not None and key.user not in users:
            add(("keys", k_index, "user"), _unknown("user", key.user, users, "no users"))
        if key.service_account and key.team is None:
            add(("keys", k_index, "service_account"), "a service-account key belongs to a team: set `team`")
        if key.service_account and key.user is not None:
            add(("keys", k_index, "user"), "a service-account key has no user: remove `user`")
        for m_index, ref in enumerate(key.models):
            check_model_ref(("keys", k_index, "models", m_index), ref, KEY)
        for a_index, name in enumerate(key.access_groups):
            check_entity_ref(("keys", k_index, "access_groups", a_index), name)

    if not s.expect:
        add(("expect",), "no expectations: name at least one key under `expect`")
    for key_name, expectation in s.expect.items():
        if key_name not in keys:
            add(("expect", key_name), _unknown("key", key_name, keys, "no keys"))
        if expectation.lists is None and not expectation.can_call and not expectation.cannot_call:
            add(("expect", key_name), "expects nothing: give `lists`, `can_call` or `cannot_call`")
        can_call = set(expectation.can_call)
        for field in ("lists", "can_call", "cannot_call"):
            seen: set[str] = set()
            for index, name in enumerate(getattr(expectation, field) or ()):
                loc = ("expect", key_name, field, index)
                if name in seen:
                    add(loc, f"'{name}' appears twice in {field}")
                    continue
                seen.add(name)
                check_declared_model(loc, name)
                if field == "cannot_call" and name in can_call:
                    add(loc, f"'{name}' is in both can_call and cannot_call")
    sweep_problems(s, add)


def sweep_problems(s: Scenario, add: Add) -> None:
    """`sweep.only` names registered probe kinds and routes they probe, nothing else."""
    if not isinstance(s.sweep, SweepDecl) or s.sweep.only is None:
        return
    known = sweep_vocabulary()
    for index, entry in enumerate(s.sweep.only):
        if entry not in known:
            add(("sweep", "only", index), _unknown("probe kind or route", entry, sorted(known), "none"))


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


def _unknown(label: str, name: str, candidates: Sequence[str], none_declared: str) -> str:
    if not candidates:
        return f"unknown {label} '{name}' (the scenario declares {none_declared})"
    return f"unknown {label} '{name}'{did_you_mean(name, candidates)}"
