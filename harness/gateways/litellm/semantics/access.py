"""What one `models` list (and what is attached to its owner) allows, as LiteLLM documents it.

A `Level` is one step of LiteLLM's check (the key's, the team's, the user's, the organization's):
everything, or a set of concrete names and wildcard patterns, with the names the docs leave
open and the rules that made it. `allows(name)` is True, False or None (undetermined).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase

import harness.gateways.litellm.semantics.rules as R
from harness.gateways.litellm.vocabulary import ALL_PROXY_MODELS, ALL_TEAM_MODELS, NO_DEFAULT_MODELS
from harness.model.derivation import RuleUse, Rule, set_words


@dataclass
class Level:
    """One step of the check (see the module docstring)."""

    owner: str  # "key", "team", "user", "organization"
    everything: bool = False
    names: set[str] = field(default_factory=set)
    patterns: list[str] = field(default_factory=list)
    open: dict[str, str] = field(default_factory=dict)  # name → why the docs leave it open
    uses: list[RuleUse] = field(default_factory=list)
    #: why this whole step is open (then nothing it decides is a check)
    undetermined: str | None = None

    def allows(self, name: str) -> bool | None:
        if self.undetermined is not None:
            return None
        if self.everything or name in self.names or any(fnmatchcase(name, p) for p in self.patterns):
            return True
        if name in self.open:
            return None
        return False

    def names_by_name(self, name: str) -> bool:
        """Whether the list grants `name` itself (not only through what it routes to)."""
        return self.everything or name in self.names or any(fnmatchcase(name, p) for p in self.patterns)

    def words(self) -> str:
        if self.everything:
            return "every proxy model"
        shown = sorted(self.names) + sorted(self.patterns)
        return set_words(set(shown))


def resolve(owner: str, entries: list[str] | None, groups: dict[str, list[str]], proxy_models: list[str],
            attached: tuple[set[str], list[str]] = (set(), []), attached_rule: Rule | None = None,
            team_present: bool = False) -> Level:
    """The step of `owner` whose `models` list is `entries`.

    `groups`: the proxy config's model access groups (name → models); `proxy_models`: every
    concrete model name the proxy serves; `attached`: the models and names of the access-group
    entities attached to the owner, granted by `attached_rule`.
    """
    level = Level(owner)
    attached_models, attached_names = attached
    written = list(entries or [])
    label = f"{owner} models [{', '.join(written)}]" if written else f"{owner} without models"
    if not written and not attached_names:
        level.everything = True
        level.uses.append(RuleUse(R.EMPTY_MEANS_ALL, f"{owner} without models (all)"))
        return level
    uses: list[RuleUse] = []
    for entry in written:
        if entry == ALL_PROXY_MODELS:
            level.everything = True
            uses.append(RuleUse(R.KEY_ALL_PROXY_MODELS, f"{owner} all-proxy-models"))
        elif entry == ALL_TEAM_MODELS and owner == "key":
            if team_present:
                level.everything = True  # defers to the team step
                uses.append(RuleUse(R.KEY_ALL_TEAM_MODELS, "key all-team-models (the team decides)"))
            else:
                level.undetermined = ("`all-team-models` on a key without a team: the docs said it matches "
                                      "nothing and is denied, and later that it resolves to all proxy models "
                                      f"({R.KEY_AUTH})")
                uses.append(RuleUse(R.KEY_ALL_TEAM_MODELS, "key all-team-models without a team"))
        elif entry == NO_DEFAULT_MODELS:
            if owner == "user":
                uses.append(RuleUse(R.USER_NO_DEFAULT_MODELS, "user no-default-models (nothing)"))
            else:
                uses.append(RuleUse(R.NO_DEFAULT_MODELS_NOT_A_TEAM_GRANT, f"{owner} no-default-models (no grant)"))
        elif entry in (ALL_TEAM_MODELS,):
            uses.append(RuleUse(R.KEY_ALL_TEAM_MODELS, f"{owner} all-team-models (a key's name only)"))
            level.undetermined = f"`all-team-models` on a {owner}: the docs place it on keys only"
        elif "*" in entry:
            level.patterns.append(entry)
            uses.append(RuleUse(R.WILDCARD_ENTRY, f"{owner} wildcard {entry}"))
        elif entry in groups:
            members = set(groups[entry])
            if entry in proxy_models:  # a model and a group of one name: both readings are documented
                level.names.add(entry)
                for member in members - {entry}:
                    level.open.setdefault(member, f"'{entry}' names both a model and a config access group "
                                                  f"holding {member}: the docs do not say which it grants")
                uses.append(RuleUse(R.CONCRETE_MODEL, f"{owner} model {entry} (also a config access group)"))
            else:
                level.names |= members
                uses.append(RuleUse(R.CONFIG_ACCESS_GROUP, f"{owner} config access group {entry} {set_words(members)}"))
        else:
            level.names.add(entry)
            uses.append(RuleUse(R.CONCRETE_MODEL, f"{owner} model {entry}"))
    if attached_names and attached_rule is not None:
        level.names |= attached_models
        uses.append(RuleUse(attached_rule, f"{owner} access group {', '.join(attached_names)} "
                                           f"{set_words(attached_models)}"))
    level.uses = _one_step(uses, label, level)
    return level


def _one_step(uses: list[RuleUse], label: str, level: Level) -> list[RuleUse]:
    """The rules of one step, the first one carrying the step's words (the rest only their ids)."""
    if not uses:
        return []
    if len(uses) == 1:
        return uses
    words = " + ".join(use.says for use in uses)
    return [RuleUse(uses[0].rule, words)] + [RuleUse(use.rule, "") for use in uses[1:]]
