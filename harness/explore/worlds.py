"""Worlds drawn with Hypothesis: teams, users, keys, access groups and short step sequences.

A world is a plain mapping in the scenario language (`access_groups`, `teams`, `users`, `keys`,
optionally `steps`), without the pool's models and proxy (`harness.explore.pool`), which every
world of a run shares. Names are short and fixed by position (`t1`, `u1`, `k1`, `g1`), so two
runs with one seed write the same files.

Determinism: the worlds come in chunks of `CHUNK` examples; chunk `c` of seed `s` is Hypothesis's
generate phase run with `@seed(f(s, c))`, no example database and no shrinking, collecting every
example it draws. Hypothesis's generation is a function of its seed and of what the test
function does (here: nothing that depends on the world), so world `i` of seed `s` is always the
same world, whatever the run's budget; a world already drawn earlier in the run (the first example
of every chunk is Hypothesis's simplest one) is passed over. Shrinking is ours
(`harness.explore.shrink`): Hypothesis's would cost a real proxy round trip per attempt.

Bias, on purpose: the interesting worlds combine owners' lists, so the draws favour keys in a
team, access groups on keys and special names on teams over the empty and unrestricted cases.
"""

from __future__ import annotations

import hashlib
from typing import Any, Iterator

from hypothesis import HealthCheck, Phase, given, seed as hypothesis_seed, settings
from hypothesis import strategies as st

from harness.explore.pool import Pool
from harness.gateways.base import KEY, TEAM, USER, Vocabulary

#: Examples per Hypothesis run; worlds are drawn lazily a chunk at a time.
CHUNK = 25
MAX_TEAMS, MAX_USERS, MAX_KEYS, MAX_GROUPS = 2, 2, 3, 2
#: The round names of a world with steps: before its first change and after each.
ROUND_NAMES = ("r0", "r1", "r2", "r3")


def _subset(names: tuple[str, ...], min_size: int = 0, max_size: int | None = None) -> st.SearchStrategy[list[str]]:
    """A subset of `names`, kept in their order (so equal sets are written the same way)."""
    if not names:
        return st.just([])
    top = len(names) if max_size is None else min(max_size, len(names))
    return st.lists(st.sampled_from(names), min_size=min(min_size, top), max_size=top, unique=True).map(
        lambda chosen: [name for name in names if name in chosen])


def _owner_models(draw: Any, pool: Pool, specials: tuple[str, ...], *, unset: bool) -> list[str] | None:
    """An owner's `models`: left out (None, where `unset`), `[]`, a special name or a subset.

    Special names and subsets weigh most: those are the lists whose combinations the docs define.
    """
    refs = pool.model_names + pool.config_groups + pool.wildcards
    modes = ["special", "special", "subset", "subset", "empty"] + (["unset"] if unset else [])
    mode = draw(st.sampled_from(modes))
    if mode == "unset":
        return None
    if mode == "empty" or (mode == "special" and not specials):
        return []
    if mode == "special":
        return [draw(st.sampled_from(specials))]
    return draw(_subset(refs, min_size=1, max_size=3))


@st.composite
def worlds(draw: Any, pool: Pool, vocabulary: Vocabulary, with_steps: bool = True) -> dict[str, Any]:
    """A Hypothesis strategy for one world drawn from `pool` in `vocabulary`'s words."""
    groups = [f"g{n}" for n in range(1, draw(st.integers(0, MAX_GROUPS)) + 1)]
    teams = [f"t{n}" for n in range(1, draw(st.integers(0, MAX_TEAMS)) + 1)]
    users = [f"u{n}" for n in range(1, draw(st.integers(0, MAX_USERS)) + 1)]
    keys = [f"k{n}" for n in range(1, draw(st.integers(1, MAX_KEYS)) + 1)]
    world: dict[str, Any] = {}

    entities = []
    for name in groups:
        entity: dict[str, Any] = {"name": name, "models": draw(_subset(pool.model_names, min_size=1, max_size=2))}
        entities.append(entity)
    if entities:
        world["access_groups"] = entities

    declared_teams = []
    for name in teams:
        team: dict[str, Any] = {"name": name, "models": _owner_models(draw, pool, vocabulary.accepted_by(TEAM),
                                                                      unset=False)}
        attached = draw(_subset(tuple(groups), max_size=1)) if draw(st.booleans()) else []
        if attached:
            team["access_groups"] = attached
        if not team["models"]:
            del team["models"]  # `[]` is the default: no restriction
        declared_teams.append(team)
    if declared_teams:
        world["teams"] = declared_teams

    declared_users = []
    for name in users:
        user: dict[str, Any] = {"name": name}
        models = _owner_models(draw, pool, vocabulary.accepted_by(USER), unset=True)
        if models is not None:
            user["models"] = models
        memberships = draw(_subset(tuple(teams), max_size=1))
        if memberships:
            user["teams"] = memberships
        declared_users.append(user)
    if declared_users:
        world["users"] = declared_users

    declared_keys = []
    for name in keys:
        key: dict[str, Any] = {"name": name}
        team = draw(st.sampled_from(tuple(teams) * 2 + (None,))) if teams else None
        if team is not None:
            key["team"] = team
            if draw(st.sampled_from((True, False, False))):
                key["service_account"] = True
        if "service_account" not in key:
            members = [u["name"] for u in declared_users if team is None or team in u.get("teams", ())]
            owner = draw(st.sampled_from(tuple(members) + (None,))) if members else None
            if owner is not None:
                key["user"] = owner
        models = _owner_models(draw, pool, vocabulary.accepted_by(KEY), unset=True)
        if models is not None:
            key["models"] = models
        if groups and draw(st.booleans()):
            key["access_groups"] = draw(_subset(tuple(groups), min_size=1, max_size=1))
        declared_keys.append(key)
    world["keys"] = declared_keys

    if with_steps and draw(st.sampled_from((False, False, False, True))):
        world["steps"] = _steps(draw, pool, vocabulary, world)
    return world


def _steps(draw: Any, pool: Pool, vocabulary: Vocabulary, world: dict[str, Any]) -> list[dict[str, Any]]:
    """One or two changes, each followed by a wait for the proxy's cache and a round."""
    keys = tuple(key["name"] for key in world["keys"])
    teams = tuple(team["name"] for team in world.get("teams", ()))
    groups = tuple(group["name"] for group in world.get("access_groups", ()))
    changes: list[dict[str, Any]] = []
    blocked: list[tuple[str, str]] = []
    for _ in range(draw(st.integers(1, 2))):
        kinds = ["key-models", "key-block"] + (["key-groups", "group-models"] if groups else []) \
            + (["team-models", "team-block"] if teams else []) + (["unblock"] if blocked else [])
        kind = draw(st.sampled_from(kinds))
        if kind == "key-models":
            key = draw(st.sampled_from(keys))
            models = _owner_models(draw, pool, vocabulary.accepted_by(KEY), unset=False)
            changes.append({"update": {"key": key, "models": models}})
        elif kind == "key-groups":
            changes.append({"update": {"key": draw(st.sampled_from(keys)), "access_groups": draw(_subset(groups))}})
        elif kind == "group-models":
            changes.append({"update": {"access_group": draw(st.sampled_from(groups)),
                                       "models": draw(_subset(pool.model_names, min_size=1, max_size=2))}})
        elif kind == "team-models":
            models = _owner_models(draw, pool, vocabulary.accepted_by(TEAM), unset=False)
            changes.append({"update": {"team": draw(st.sampled_from(teams)), "models": models}})
        elif kind == "key-block" or kind == "team-block":
            subject = ("key", draw(st.sampled_from(keys))) if kind == "key-block" else ("team", draw(st.sampled_from(teams)))
            if subject in blocked:
                changes.append({"unblock": {subject[0]: subject[1]}})
                blocked.remove(subject)
            else:
                changes.append({"block": {subject[0]: subject[1]}})
                blocked.append(subject)
        else:
            subject = draw(st.sampled_from(tuple(blocked)))
            changes.append({"unblock": {subject[0]: subject[1]}})
            blocked.remove(subject)
    steps: list[dict[str, Any]] = [{"round": ROUND_NAMES[0], "expect": {}}]
    for number, change in enumerate(changes, start=1):
        steps += [change, {"wait": "cache_ttl"}, {"round": ROUND_NAMES[number], "expect": {}}]
    return steps


def chunk_seed(seed: int, chunk: int) -> int:
    """The Hypothesis seed of chunk `chunk` of run seed `seed` (stable across Python processes)."""
    digest = hashlib.sha256(f"gateconform-explore:{seed}:{chunk}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def draw_chunk(strategy: st.SearchStrategy[dict[str, Any]], seed: int, chunk: int) -> list[dict[str, Any]]:
    """Every example Hypothesis's generate phase draws for chunk `chunk` of `seed`, in order."""
    drawn: list[dict[str, Any]] = []

    @settings(max_examples=CHUNK, database=None, deadline=None, phases=[Phase.generate], derandomize=False,
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    @hypothesis_seed(chunk_seed(seed, chunk))
    @given(strategy)
    def collect(world: dict[str, Any]) -> None:
        drawn.append(world)

    collect()
    return drawn


def generate(pool: Pool, vocabulary: Vocabulary, seed: int, *, with_steps: bool = True) -> Iterator[dict[str, Any]]:
    """Worlds of `seed`, lazily and without end, in a fixed order; each distinct world once."""
    strategy = worlds(pool, vocabulary, with_steps)
    seen: set[str] = set()
    chunk = 0
    while True:
        for world in draw_chunk(strategy, seed, chunk):
            fingerprint = repr(world)
            if fingerprint not in seen:
                seen.add(fingerprint)
                yield world
        chunk += 1
