"""Pass 3, second half: the expectations and the timeline of a well-shaped scenario.

Expectations name principals and models that exist; a served-by names a deployment; a denial's
message is a valid pattern. The timeline has at least one round; each change names an entity
that exists, of a kind its verb applies to, with values that exist; change ids and round names
are unique; waits are bounded. Every problem goes to `add(loc, message)`.
"""

from __future__ import annotations

import re

from harness.gateways.base import KEY, ORGANIZATION, TEAM, USER, Vocabulary
from harness.model.expectations import Expectation
from harness.model.scenario import EXPLICIT, Scenario
from harness.model.steps import (
    MAX_WAIT_S,
    MemberSpec,
    RegenerateSpec,
    RoundStep,
    Subject,
    UpdateSpec,
    WaitStep,
    change_ids,
    subject_of,
    verb_of,
)
from harness.scenario.names import Add, WorldNames, declared_model, entity_ref, unknown
from harness.scenario.yaml_lines import Lines, Loc

#: Which kinds of entity each verb applies to (`update` applies to all).
VERB_SUBJECTS = {
    "delete": ("key", "team", "user", "access_group", "organization"),
    "block": ("key", "team"),
    "unblock": ("key", "team"),
    "remove_row": ("key", "team", "user"),
}
#: Which fields an update may set, per subject kind.
UPDATABLE = {
    "key": ("team", "user", "models", "access_groups", "aliases"),
    "team": ("models", "access_groups", "model_aliases"),
    "user": ("models",),
    "access_group": ("models", "teams", "keys"),
    "organization": ("models",),
}
_MODEL_OWNERS = {"key": KEY, "team": TEAM, "user": USER, "organization": ORGANIZATION}


def timeline_problems(s: Scenario, names: WorldNames, lines: Lines, add: Add, vocabulary: Vocabulary) -> None:
    """Every problem of the scenario's expectations and steps."""
    if s.expect is not None and s.steps is not None:
        add(("steps",), "give either `expect` (one round) or `steps` (a timeline), not both")
        return
    derives = s.oracle != EXPLICIT  # the docs' rules write the expectations: none need be written
    if s.steps is None:
        if not s.expect and not derives:
            add(("expect",), "no expectations: name at least one key under `expect` (or derive them: "
                "`oracle: derived`)")
            return
        _round_problems(("expect",), s.expect or {}, names.principals, names, add, vocabulary)
        return
    if not any(isinstance(step, RoundStep) for step in s.steps):
        add(("steps",), "no round: a timeline needs at least one step with `expect`")
    principals = list(names.principals)
    ids = change_ids(s.steps)
    first_use: dict[str, int] = {}
    round_names: dict[str, int] = {}
    number = 0
    for index, step in enumerate(s.steps):
        where: Loc = ("steps", index)
        verb = verb_of(step)
        if isinstance(step, RoundStep):
            number += 1
            name = step.round or str(number)
            if name in round_names:
                add(where + ("round",), f"duplicate round name '{name}' (first at line "
                    f"{lines.line_of(('steps', round_names[name]))})")
            round_names.setdefault(name, index)
            if not step.expect and not derives:
                add(where + ("expect",), "no expectations: name at least one key under `expect`")
            _round_problems(where + ("expect",), step.expect, principals, names, add, vocabulary)
            continue
        if isinstance(step, WaitStep):
            seconds = step.seconds()
            if seconds is not None and not 0 < seconds <= MAX_WAIT_S:
                add(where + ("wait",), f"a wait lasts more than 0 s and at most {MAX_WAIT_S:g} s")
            continue
        change_id = ids[index]
        if change_id in first_use:
            add(where + ("id",), f"duplicate change id '{change_id}' (first at line "
                f"{lines.line_of(('steps', first_use[change_id]))}): give this change an `id`")
        first_use.setdefault(change_id, index)
        subject = subject_of(step)
        at = where + (verb,)
        if isinstance(subject, MemberSpec):
            _exists(at + ("team",), "team", subject.team, names, add)
            _exists(at + ("user",), "user", subject.user, names, add)
        elif isinstance(subject, RegenerateSpec):
            _exists(at + ("key",), "key", subject.key, names, add)
            if subject.old is not None:
                if subject.old in principals:
                    add(at + ("old",), f"'{subject.old}' is already a key's name")
                principals.append(subject.old)
        elif isinstance(subject, UpdateSpec):
            _update_problems(at, subject, names, add, vocabulary)
        else:
            _subject_problems(at, subject, VERB_SUBJECTS[verb], names, add)


def _round_problems(where: Loc, expect: dict[str, Expectation], principals: list[str], names: WorldNames,
                    add: Add, vocabulary: Vocabulary) -> None:
    for key_name, expectation in expect.items():
        at = where + (key_name,)
        if key_name not in principals:
            add(at, unknown("key", key_name, principals, "no keys"))
        elif ("key", key_name) in names.refused:
            add(at, f"key '{key_name}' is expected to be refused: it has nothing to observe")
        if expectation.empty:
            add(at, "expects nothing: give `lists`, `listing`, `can_call`, `cannot_call` or `may_call`")
        fields = {
            "lists": list(expectation.lists or ()),
            "can_call": expectation.allowed,
            "cannot_call": expectation.denied,
            "may_call": expectation.open,
        }
        called: dict[str, str] = {}
        for field, models in fields.items():
            seen: set[str] = set()
            for index, name in enumerate(models):
                loc = at + (field, index)
                if name in seen:
                    add(loc, f"'{name}' appears twice in {field}")
                    continue
                seen.add(name)
                declared_model(loc, name, names, vocabulary, add)
                if field != "lists":
                    if name in called:
                        add(loc, f"'{name}' is in both {called[name]} and {field}")
                    called.setdefault(name, field)
        if expectation.listing is not None:
            for field in ("includes", "excludes"):
                for index, name in enumerate(getattr(expectation.listing, field)):
                    declared_model(at + ("listing", field, index), name, names, vocabulary, add)
            both = set(expectation.listing.includes) & set(expectation.listing.excludes)
            for name in sorted(both):
                add(at + ("listing", "excludes", expectation.listing.excludes.index(name)),
                    f"'{name}' is both included and excluded")
        for field, entries in (("can_call", expectation.can_call), ("may_call", expectation.may_call)):
            for index, entry in enumerate(entries):
                for s_index, deployment in enumerate(entry.served_by or ()):
                    if deployment not in names.deployments:
                        add(at + (field, index, "served_by", s_index),
                            unknown("deployment", deployment, names.deployments, "no deployments"))
        for index, entry in enumerate(expectation.cannot_call):
            if entry.message is not None:
                try:
                    re.compile(entry.message)
                except re.error as exc:
                    add(at + ("cannot_call", index, "message"), f"not a regular expression: {exc}")


def _exists(loc: Loc, kind: str, name: str, names: WorldNames, add: Add) -> None:
    declared = {
        "key": names.principals, "team": names.teams, "user": names.users,
        "access_group": names.entities, "organization": names.organizations,
    }[kind]
    label = kind.replace("_", " ")
    if name not in declared:
        add(loc, unknown(label, name, declared, f"no {label}s"))
    elif (label, name) in names.refused:
        add(loc, f"{label} '{name}' is expected to be refused: it does not exist to change")


def _subject_problems(at: Loc, subject: Subject, kinds: tuple[str, ...], names: WorldNames, add: Add) -> None:
    named = subject.named
    if len(named) != 1:
        add(at, "name exactly one of: " + ", ".join(kinds))
        return
    kind, name = named[0]
    if kind not in kinds:
        add(at + (kind,), f"this step applies to {', '.join(kinds)}, not to a {kind.replace('_', ' ')}")
        return
    _exists(at + (kind,), kind, name, names, add)


def _update_problems(at: Loc, update: UpdateSpec, names: WorldNames, add: Add, vocabulary: Vocabulary) -> None:
    if not update.named:
        add(at, "name what to update: one of key, user, access_group, organization, team")
        return
    kind, name = update.named[0]
    _exists(at + (kind,), kind, name, names, add)
    changed = update.changed_fields
    if not changed:
        add(at, f"nothing to change: give one of {', '.join(UPDATABLE[kind])}")
    for field in changed:
        if field not in UPDATABLE[kind]:
            add(at + (field,), f"a {kind.replace('_', ' ')} update sets {', '.join(UPDATABLE[kind])}, not {field}")
    if update.team is not None and kind == "key":
        _exists(at + ("team",), "team", update.team, names, add)
    if update.user is not None and kind == "key":
        _exists(at + ("user",), "user", update.user, names, add)
    owner = _MODEL_OWNERS.get(kind)
    for index, ref in enumerate(update.models or ()):
        loc = at + ("models", index)
        if kind == "access_group":
            declared_model(loc, ref, names, vocabulary, add)
        elif ref in names.special:
            if ref not in vocabulary.accepted_by(owner or KEY):
                add(loc, vocabulary.misplaced(ref))
        elif not ("*" in ref or ref in names.models or ref in names.config_groups or ref in names.aliases
                  or ref in names.not_served):
            add(loc, unknown("model or access group", ref, names.models + names.config_groups, "no models"))
    for index, group in enumerate(update.access_groups or ()):
        entity_ref(at + ("access_groups", index), group, names, add)
    for index, team in enumerate(update.teams or ()):
        _exists(at + ("teams", index), "team", team, names, add)
    for index, key in enumerate(update.keys or ()):
        _exists(at + ("keys", index), "key", key, names, add)
