"""The timeline of a scenario: rounds of expectations, with changes and waits between them.

```yaml
steps:
  - round: before                  # a round: what each key should observe now
    expect: {svc: {can_call: [gpt-4o]}}
  - update: {key: svc, team: other}   # a change through the admin API
  - wait: cache_ttl                # or `wait: 12s`, `wait: 500ms`
  - round: after
    expect: {svc: {cannot_call: [gpt-4o]}}
```

A step is one mapping with one verb: `expect` (a round, optionally named by `round`), `wait`,
a change through the admin API (`update`, `block`, `unblock`, `regenerate`, `delete`,
`add_member`, `remove_member`) or an action of the target itself (`remove_row`: a row removed
from the gateway's database under a live entity, where the harness owns the database).

Every change is a check of its own (`<scenario>::<change id>::admin`): expected `accepted`
unless it says `admin: refused`. The change id defaults to `<verb>-<kind>-<name>`
(`update-key-svc`), numbered from the second on (`block-key-svc-2`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Union

from pydantic import ConfigDict, Discriminator, Field, Tag

from harness.model.expectations import Expectations
from harness.model.world import (
    MAX_KEYS,
    NAME_PATTERN,
    AdminExpect,
    AliasMap,
    ModelRefs,
    Name,
    Strict,
)

#: Longest explicit wait: a scenario is watched by a deadline (`run --scenario-deadline`), and a
#: cache TTL worth testing is seconds, not minutes.
MAX_WAIT_S = 600.0
WAIT_PATTERN = r"^(cache_ttl|\d+(\.\d+)?(ms|s))$"
CACHE_TTL = "cache_ttl"

#: The subjects a change can name, in the order a subject is recognised: on `update: {key: svc,
#: team: other}` the key is the subject and `team` its new team.
SUBJECT_KINDS = ("key", "user", "access_group", "organization", "team")


class Subject(Strict):
    """The entity a change is about: exactly one of its fields."""

    model_config = ConfigDict(title="subject")

    key: Name | None = None
    user: Name | None = None
    access_group: Name | None = None
    organization: Name | None = None
    team: Name | None = None

    @property
    def named(self) -> list[tuple[str, str]]:
        """(kind, name) of every subject field given, in `SUBJECT_KINDS` order."""
        return [(kind, getattr(self, kind)) for kind in SUBJECT_KINDS if getattr(self, kind) is not None]

    @property
    def kind(self) -> str:
        return self.named[0][0]

    @property
    def name(self) -> str:
        return self.named[0][1]


class UpdateSpec(Subject):
    """An update: its subject and the new values (only those given change)."""

    model_config = ConfigDict(title="update")

    models: ModelRefs | None = Field(default=None, description="New `models` (key, team, user, organization).")
    access_groups: list[Name] | None = Field(default=None, description="New access-group entities (key, team).")
    teams: list[Name] | None = Field(default=None, description="New assigned teams (access group).")
    keys: list[Name] | None = Field(default=None, description="New assigned keys (access group).")
    model_aliases: AliasMap | None = Field(default=None, description="New model aliases (team).")
    aliases: AliasMap | None = Field(default=None, description="New aliases (key).")

    @property
    def changed_fields(self) -> list[str]:
        """The fields this update sets, subject fields after the subject included (a key's `team`)."""
        values = [kind for kind, _ in self.named[1:]]
        values += [name for name in ("models", "access_groups", "teams", "keys", "model_aliases", "aliases")
                   if getattr(self, name) is not None]
        return values


class MemberSpec(Strict):
    """A team membership to add or remove."""

    model_config = ConfigDict(title="member")

    team: Name = Field(description="The team, by name.")
    user: Name = Field(description="The user, by name.")
    role: Annotated[str, Field(pattern=NAME_PATTERN)] = Field(default="user", description="Role when added.")


class RegenerateSpec(Strict):
    """A key regenerated: the name now means the new secret; `old` keeps the old one as a principal."""

    model_config = ConfigDict(title="regenerate")

    key: Name = Field(description="The key, by name.")
    old: Name | None = Field(default=None, description="A principal name for the key's old secret.")


class _Change(Strict):
    id: Name | None = Field(default=None, description="The change's name in check ids (default `<verb>-<kind>-<name>`).")
    admin: AdminExpect = Field(
        default=AdminExpect.ACCEPTED,
        description="Expect the admin API to `accepted` (default) or `refused` this change.",
    )


class UpdateStep(_Change):
    model_config = ConfigDict(title="update step")
    update: UpdateSpec = Field(description="Change a key, team, user, access group or organization.")


class DeleteStep(_Change):
    model_config = ConfigDict(title="delete step")
    delete: Subject = Field(description="Delete a key, team, user, access group or organization.")


class BlockStep(_Change):
    model_config = ConfigDict(title="block step")
    block: Subject = Field(description="Block a key or a team.")


class UnblockStep(_Change):
    model_config = ConfigDict(title="unblock step")
    unblock: Subject = Field(description="Unblock a key or a team.")


class RegenerateStep(_Change):
    model_config = ConfigDict(title="regenerate step")
    regenerate: RegenerateSpec = Field(description="Regenerate a key's secret.")


class AddMemberStep(_Change):
    model_config = ConfigDict(title="add member step")
    add_member: MemberSpec = Field(description="Add a user to a team.")


class RemoveMemberStep(_Change):
    model_config = ConfigDict(title="remove member step")
    remove_member: MemberSpec = Field(description="Remove a user from a team.")


class RemoveRowStep(Strict):
    """An action of the target: the entity's row removed from the database under it."""

    model_config = ConfigDict(title="remove row step")
    remove_row: Subject = Field(
        description=(
            "Remove a key's, team's or user's row from the gateway's database directly (a state the "
            "admin API cannot make). Needs a target whose database the harness owns; elsewhere the "
            "later rounds are skipped, saying so."
        )
    )


class WaitStep(Strict):
    model_config = ConfigDict(title="wait step")
    wait: Annotated[str, Field(pattern=WAIT_PATTERN)] = Field(
        description="`12s`, `500ms`, or `cache_ttl`: the proxy's key/team cache TTL (as the scenario sets it) plus a margin."
    )

    def seconds(self) -> float | None:
        """The wait in seconds; None for `cache_ttl` (the gateway knows it)."""
        if self.wait == CACHE_TTL:
            return None
        match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s)", self.wait)
        assert match is not None
        value = float(match.group(1))
        return value / 1000 if match.group(2) == "ms" else value


class RoundStep(Strict):
    """A round: what each key should observe at this point of the timeline."""

    model_config = ConfigDict(title="round")
    round: Name | None = Field(
        default=None, description="The round's name in check ids (`<key>@<round>`); default: its number."
    )
    expect: Expectations = Field(max_length=MAX_KEYS, description="Expectations per key name.")


#: A change made through the gateway's admin API.
Change = Union[UpdateStep, DeleteStep, BlockStep, UnblockStep, RegenerateStep, AddMemberStep, RemoveMemberStep]
#: The verb of each kind of step, and its model.
STEP_VERBS: dict[str, type[Strict]] = {
    "expect": RoundStep, "wait": WaitStep, "update": UpdateStep, "delete": DeleteStep, "block": BlockStep,
    "unblock": UnblockStep, "regenerate": RegenerateStep, "add_member": AddMemberStep,
    "remove_member": RemoveMemberStep, "remove_row": RemoveRowStep,
}
CHANGE_TYPES = (UpdateStep, DeleteStep, BlockStep, UnblockStep, RegenerateStep, AddMemberStep, RemoveMemberStep)


def _verb_of(value: Any) -> str | None:
    """The verb a step is written with (its tag), or None when it has none or several."""
    if isinstance(value, dict):
        verbs = [verb for verb in STEP_VERBS if verb in value]
    else:
        verbs = [verb for verb, model in STEP_VERBS.items() if isinstance(value, model)]
    return verbs[0] if len(verbs) == 1 else None


Step = Annotated[
    Union[
        Annotated[RoundStep, Tag("expect")], Annotated[WaitStep, Tag("wait")], Annotated[UpdateStep, Tag("update")],
        Annotated[DeleteStep, Tag("delete")], Annotated[BlockStep, Tag("block")],
        Annotated[UnblockStep, Tag("unblock")], Annotated[RegenerateStep, Tag("regenerate")],
        Annotated[AddMemberStep, Tag("add_member")], Annotated[RemoveMemberStep, Tag("remove_member")],
        Annotated[RemoveRowStep, Tag("remove_row")],
    ],
    Discriminator(
        _verb_of,
        custom_error_type="step_verb",
        custom_error_message="a step needs exactly one of: " + ", ".join(STEP_VERBS),
    ),
]


def verb_of(step: Any) -> str:
    """The verb of a validated step (`expect`, `wait`, `update`, …)."""
    verb = _verb_of(step)
    assert verb is not None
    return verb


def subject_of(step: Any) -> Subject | MemberSpec | RegenerateSpec:
    """What a change or target action is about."""
    return getattr(step, verb_of(step))


def default_change_id(step: Any) -> str:
    """`<verb>-<kind>-<name>`: `update-key-svc`, `add-member-apps-bob`, `remove-row-team-apps`."""
    verb = verb_of(step)
    subject = subject_of(step)
    if isinstance(subject, MemberSpec):
        return f"{verb.replace('_', '-')}-{subject.team}-{subject.user}"
    if isinstance(subject, RegenerateSpec):
        return f"{verb}-key-{subject.key}"
    return f"{verb.replace('_', '-')}-{subject.kind.replace('_', '-')}-{subject.name}"


def change_ids(steps: list[Any] | None) -> dict[int, str]:
    """Step index → change id of every change and target action of a timeline, as check ids name them.

    An explicit `id` is kept; otherwise `default_change_id`, numbered from its second use on
    (`block-key-svc`, `block-key-svc-2`).
    """
    ids: dict[int, str] = {}
    used: dict[str, int] = {}
    for index, step in enumerate(steps or ()):
        verb = verb_of(step)
        if verb in ("expect", "wait"):
            continue
        explicit = getattr(step, "id", None)
        if explicit is not None:
            ids[index] = explicit
            continue
        base = default_change_id(step)
        used[base] = used.get(base, 0) + 1
        ids[index] = base if used[base] == 1 else f"{base}-{used[base]}"
    return ids
