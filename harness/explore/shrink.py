"""Shrinking a world that shows a finding to a minimal one: greedy delta debugging over its parts.

Each round lists every one-step simplification of the current world (drop a step, a key, a team,
a user, an access group; drop one entry of a list; clear a flag or a field), in a fixed order,
and asks the predicate about all of them at once (`still_fails` gets the whole batch, so the
caller can run it concurrently on its proxy). Of the candidates that still show the finding, all
are tried together first (one more run); if that combination loses the finding, the first one
alone is taken. The loop ends when no candidate keeps the finding, or at the caller's limit.
The order of candidates, and so the result, depends only on the world and the predicate's answers.

Worlds are plain mappings (`harness.explore.worlds`); a simplification never leaves a reference
to a name that is gone (`normalized`), so every candidate is a well-formed scenario.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from harness.explore.worlds import ROUND_NAMES

World = dict[str, Any]
#: One simplification: a name for it, and the edit (a function of a world, returning a new one).
Edit = tuple[str, Callable[[World], World]]
#: The predicate: for each candidate world, does the finding still show?
StillFails = Callable[[Sequence[World]], Sequence[bool]]

ENTITY_LISTS = ("access_groups", "teams", "users", "keys")
CHANGE_VERBS = ("update", "delete", "block", "unblock")


@dataclass
class ShrinkResult:
    """The smallest world found, and what it took."""

    world: World
    rounds: int = 0
    candidates_run: int = 0
    steps_taken: list[str] = field(default_factory=list)  # the simplifications kept, in order
    stopped_early: bool = False  # the caller's limit ended it before no candidate was left


def shrink(world: World, still_fails: StillFails, *, max_runs: int | None = None,
           out_of_time: Callable[[], bool] = lambda: False, focus: str | None = None) -> ShrinkResult:
    """The world reduced, one batch of candidates per round, while `still_fails` holds.

    `max_runs` bounds the candidate worlds run in all; `out_of_time()` is asked before each round.
    `focus` names the key the finding is about: the first candidate, alone, is the world cut down
    to that key and what it refers to (one run that usually saves several rounds).
    """
    result = ShrinkResult(world=normalized(world))
    tried: set[str] = {_fingerprint(result.world)}
    if focus is not None and not out_of_time() and (max_runs is None or max_runs > 0):
        focused = focused_on(result.world, focus)
        if _fingerprint(focused) not in tried:
            tried.add(_fingerprint(focused))
            result.candidates_run += 1
            result.rounds += 1
            if list(still_fails([focused]))[0]:
                result.world = focused
                result.steps_taken.append(f"keep only key {focus} and what it refers to")
    while True:
        if out_of_time() or (max_runs is not None and result.candidates_run >= max_runs):
            result.stopped_early = True
            return result
        candidates: list[tuple[str, World]] = []
        for name, edit in simplifications(result.world):
            candidate = normalized(edit(copy.deepcopy(result.world)))
            fingerprint = _fingerprint(candidate)
            if fingerprint not in tried:
                tried.add(fingerprint)
                candidates.append((name, candidate))
        if max_runs is not None:
            candidates = candidates[:max(0, max_runs - result.candidates_run)]
        if not candidates:
            return result
        answers = list(still_fails([candidate for _, candidate in candidates]))
        result.rounds += 1
        result.candidates_run += len(candidates)
        kept = [(name, candidate) for (name, candidate), fails in zip(candidates, answers) if fails]
        if not kept:
            return result
        if len(kept) > 1:
            combined = _combined(result.world, [name for name, _ in kept])
            if combined is not None and _fingerprint(combined) not in tried:
                tried.add(_fingerprint(combined))
                result.candidates_run += 1
                if list(still_fails([combined]))[0]:
                    result.world = combined
                    result.steps_taken += [name for name, _ in kept]
                    continue
        result.world = kept[0][1]
        result.steps_taken.append(kept[0][0])


def _combined(world: World, names: list[str]) -> World | None:
    """Every simplification named in `names` applied to `world` in turn, those an earlier one made
    moot passed over (None: fewer than two applied, nothing to combine)."""
    current = copy.deepcopy(world)
    applied = 0
    for name in names:
        edit = dict(simplifications(current)).get(name)
        if edit is not None:
            current = normalized(edit(current))
            applied += 1
    return current if applied > 1 else None


def _fingerprint(world: World) -> str:
    return repr(normalized(world))


# --------------------------------------------------------------------------- the simplifications


def simplifications(world: World) -> list[Edit]:
    """Every one-step simplification of `world`, biggest first, in a fixed order."""
    edits: list[Edit] = []
    changes = changes_of(world)
    if changes:
        edits.append(("drop the steps", lambda w: _set_changes(w, [])))
        for index in range(len(changes)):
            edits.append((f"drop step {index + 1}",
                          lambda w, i=index: _set_changes(w, [c for n, c in enumerate(changes_of(w)) if n != i])))
    for kind in ("keys", "teams", "users", "access_groups"):
        for entity in world.get(kind, ()):
            name = entity["name"]
            if kind == "keys" and len(world.get("keys", ())) == 1:
                continue  # a world has at least one key: it is the only principal
            edits.append((f"drop {kind[:-1].replace('_', ' ')} {name}", lambda w, k=kind, n=name: _drop_entity(w, k, n)))
    for kind in ENTITY_LISTS:
        for entity in world.get(kind, ()):
            edits += _field_edits(kind, entity)
    for index, change in enumerate(changes):
        verb = next(iter(change))
        values = change[verb].get("models") if verb == "update" else None
        if isinstance(values, list) and len(values) > 1:
            for entry in values:
                edits.append((f"step {index + 1}: drop models entry {entry}",
                              lambda w, i=index, e=entry: _edit_change(w, i, lambda c: _without_entry(c, "models", e))))
    return edits


def _field_edits(kind: str, entity: dict[str, Any]) -> list[Edit]:
    """Simplifications of one entity's fields: flags cleared, fields left out, list entries dropped."""
    name = entity["name"]
    label = f"{kind[:-1].replace('_', ' ')} {name}"
    edits: list[Edit] = []

    def on_entity(change: Callable[[dict[str, Any]], None]) -> Callable[[World], World]:
        def edit(world: World) -> World:
            for candidate in world.get(kind, ()):
                if candidate["name"] == name:
                    change(candidate)
            return world
        return edit

    for flag in ("service_account",):
        if entity.get(flag):
            edits.append((f"{label}: no {flag}", on_entity(lambda e, f=flag: e.pop(f, None))))
    for ref in ("team", "user"):
        if entity.get(ref) is not None:
            edits.append((f"{label}: no {ref}", on_entity(lambda e, r=ref: e.pop(r, None))))
    leave_out = ("models", "access_groups", "teams", "keys") if kind != "access_groups" else ("teams", "keys")
    for list_field in leave_out:
        if list_field in entity:
            edits.append((f"{label}: leave out {list_field}", on_entity(lambda e, f=list_field: e.pop(f, None))))
    for list_field in ("models", "access_groups", "teams", "keys"):
        values = entity.get(list_field)
        # an access group keeps one model at least: an empty group is a corner case of its own,
        # and a finding reads better with a group that grants something
        if isinstance(values, list) and len(values) > 1:
            for entry in values:
                if isinstance(entry, str):
                    edits.append((f"{label}: drop {list_field} entry {entry}",
                                  on_entity(lambda e, f=list_field, v=entry: _without_entry(e, f, v))))
    return edits


def _without_entry(mapping: dict[str, Any], list_field: str, entry: str) -> dict[str, Any]:
    mapping[list_field] = [value for value in mapping.get(list_field, ()) if value != entry]
    return mapping


def _drop_entity(world: World, kind: str, name: str) -> World:
    world[kind] = [entity for entity in world.get(kind, ()) if entity["name"] != name]
    return world


def focused_on(world: World, key_name: str) -> World:
    """`world` cut down to one key and what it refers to: its team, its user, its access groups
    (and the groups attached to its team), and the changes about those."""
    world = copy.deepcopy(world)
    key = next((k for k in world.get("keys", ()) if k["name"] == key_name), None)
    if key is None:
        return normalized(world)
    teams = {key.get("team")} - {None}
    users = {key.get("user")} - {None}
    groups = set(key.get("access_groups", ()))
    groups |= {g for team in world.get("teams", ()) if team["name"] in teams for g in team.get("access_groups", ())}
    groups |= {group["name"] for group in world.get("access_groups", ())
               if key_name in group.get("keys", ()) or teams & set(group.get("teams", ()))}
    world["keys"] = [key]
    world["teams"] = [team for team in world.get("teams", ()) if team["name"] in teams]
    world["users"] = [user for user in world.get("users", ()) if user["name"] in users]
    world["access_groups"] = [group for group in world.get("access_groups", ()) if group["name"] in groups]
    return normalized(world)


# --------------------------------------------------------------------------- steps


def changes_of(world: World) -> list[dict[str, Any]]:
    """The changes of a world's steps, in order (rounds and waits aside)."""
    return [step for step in world.get("steps", ()) if any(verb in step for verb in CHANGE_VERBS)]


def _set_changes(world: World, changes: list[dict[str, Any]]) -> World:
    """`world` with these changes: a round before the first and after each (past a wait); none: no steps."""
    if not changes:
        world.pop("steps", None)
        return world
    rounds = [step["round"] for step in world.get("steps", ()) if "round" in step]
    names = rounds if len(rounds) == len(changes) + 1 else list(ROUND_NAMES[:len(changes) + 1])
    steps: list[dict[str, Any]] = [{"round": names[0], "expect": {}}]
    for number, change in enumerate(changes, start=1):
        steps += [change, {"wait": "cache_ttl"}, {"round": names[number], "expect": {}}]
    world["steps"] = steps
    return world


def _edit_change(world: World, index: int, edit: Callable[[dict[str, Any]], Any]) -> World:
    changes = changes_of(world)
    verb = next(iter(changes[index]))
    edit(changes[index][verb])
    return _set_changes(world, changes)


# --------------------------------------------------------------------------- references


def normalized(world: World) -> World:
    """`world` without references to names it no longer declares, and without empty parts.

    A key whose team is gone loses `team` and `service_account`; a list entry naming a missing
    entity goes; a change about a missing entity goes (with its round); empty lists of entities
    are left out.
    """
    world = copy.deepcopy(world)
    names = {kind: {entity["name"] for entity in world.get(kind, ())} for kind in ENTITY_LISTS}
    for key in world.get("keys", ()):
        if key.get("team") is not None and key["team"] not in names["teams"]:
            key.pop("team")
        if key.get("team") is None:
            key.pop("service_account", None)
        if key.get("user") is not None and key["user"] not in names["users"]:
            key.pop("user")
        _keep_declared(key, "access_groups", names["access_groups"])
    for team in world.get("teams", ()):
        _keep_declared(team, "access_groups", names["access_groups"])
    for user in world.get("users", ()):
        _keep_declared(user, "teams", names["teams"])
    for group in world.get("access_groups", ()):
        _keep_declared(group, "teams", names["teams"])
        _keep_declared(group, "keys", names["keys"])
    if "steps" in world:
        kept = []
        for change in changes_of(world):
            verb = next(iter(change))
            subject = change[verb]
            kind = next((k for k in ("key", "team", "user", "access_group") if k in subject), None)
            plural = {"key": "keys", "team": "teams", "user": "users", "access_group": "access_groups"}.get(kind or "")
            if plural is None or subject[kind] not in names[plural]:
                continue
            if "access_groups" in subject:
                subject["access_groups"] = [g for g in subject["access_groups"] if g in names["access_groups"]]
            kept.append(change)
        world = _set_changes(world, kept)
    for kind in ENTITY_LISTS:
        if kind in world and not world[kind]:
            del world[kind]
    return world


def _keep_declared(entity: dict[str, Any], list_field: str, declared: set[str]) -> None:
    if list_field in entity:
        entity[list_field] = [name for name in entity[list_field] if name in declared]
        if not entity[list_field]:
            del entity[list_field]
