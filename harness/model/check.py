"""Checks: one expectation about one probe result.

The oracle turns a scenario into checks; probes observe; `harness.judge` compares. A check
names its probe kind (`probe`: `list_models`, `chat`, ...); what a kind asks and how its answers
read is declared by the kind itself (`harness.probes.registry`), so nothing here knows the kinds.

Check ids are stable across runs and releases of gateconform, because known-failure lists and
baselines name them (exactly, or with `*` patterns):

    scenario::principal[@round]::probe[::model][::variant]

- `principal` is the key probed, or for an admin check the creation or change it judges
  (`create-key-svc`, `update-key-svc`); in a scenario with several rounds it carries the round
  (`svc@after-move`), so a one-round scenario's ids are those of before rounds existed;
- `probe` is the kind's name;
- `model` is there when the check is about one model (kinds that take a model);
- `variant` is there only when set. It tells apart checks of one kind, principal and model that
  are probed differently: a route (`scn::svc::chat::gpt-4o::/chat/completions`) or a name
  (`scn::svc::chat::gpt-4o::query-model`). A check without a variant keeps the id it had before
  variants existed, and its results.json document has no `variant` key.

A listing check may hold, instead of the set it expects, the route whose listing it must agree
with (`agrees_with`, e.g. `/v1/models`): what that route lists for the same principal is its
expected set, read when both were probed (absent from the document when unset, as `variant`).

Reading an id back needs its kind: for a kind that takes a model the fourth segment is the
model, for one that does not it is the variant. No segment contains `::` (the scenario schema
refuses it in names; `Check` refuses it in a variant).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable

from pydantic import SerializerFunctionWrapHandler, model_serializer


class Expect(str, Enum):
    """The expected outcome of a call probe, or of an admin call."""

    ALLOWED = "allowed"
    DENIED = "denied"
    EITHER = "either"  # allowed or denied (the docs leave it open); if allowed, `served_by` holds
    ACCEPTED = "accepted"  # an admin call the admin API should accept
    REFUSED = "refused"  # an admin call the admin API should refuse


#: Check fields that are new since check documents were first written: absent while unset.
OPTIONAL_FIELDS = ("variant", "round", "served_by", "deployments", "includes", "excludes", "no_wildcards",
                   "no_duplicates", "denial_status", "denial_type", "denial_message", "because", "agrees_with",
                   "derivation", "rules", "decided_by")
#: Of those, the sets (serialized sorted, so documents are diffable).
SET_FIELDS = ("listed", "served_by", "deployments", "includes", "excludes")


class Judgement(str, Enum):
    """How a check is decided, which is also which expectation it holds.

    A probe kind declares one; the judge has one rule per judgement.
    """

    LISTING = "listing"  # `listed` (the exact set), `includes`, `excludes` and listing properties
    CALL = "call"  # `expect`: the call is allowed (reaches the upstream), denied, or either
    ADMIN = "admin"  # `expect`: the admin API accepts or refuses a creation or change


def omit_unset(data: Any, *names: str) -> Any:
    """`data` (a serialized dataclass) without the keys in `names` whose value is None.

    New optional fields stay out of a document until they are set, so documents written
    before they existed and after are the same bytes.
    """
    if isinstance(data, dict):
        for name in names:
            if name in data and data[name] is None:
                del data[name]
    return data


@dataclass(frozen=True)
class Check:
    """One expectation about one principal, probed by the kind named `probe`.

    A listing check (`Judgement.LISTING`) has `listed` (the exact set the listing must show)
    and/or `includes`, `excludes`, `no_wildcards`, `no_duplicates`, and no `model`/`expect`. A
    call check (`Judgement.CALL`) has `model` and `expect`, and optionally `served_by` (the
    deployments one of which must serve an allowed call), `deployments` (those that may serve
    the called name at all, when it is not simply the model's own) and the kind of denial
    (`denial_status`, `denial_type`, `denial_message`, a regular expression). An admin check
    (`Judgement.ADMIN`) has `expect` accepted or refused. `round` names the round of a
    scenario with several; `because` says why an `either` check accepts both outcomes.
    """

    scenario_id: str
    principal: str
    probe: str  # the probe kind's name, e.g. "list_models" or "chat"
    model: str | None = None
    expect: Expect | None = None
    listed: frozenset[str] | None = None
    # where the expectation came from: "scenario" (written), "derived" (documented semantics) or "sweep"
    oracle: str = "scenario"
    skip_reason: str | None = field(default=None, compare=False)
    variant: str | None = None  # see the module docstring; None for every check of today's kinds
    round: str | None = None
    served_by: frozenset[str] | None = None
    deployments: frozenset[str] | None = None
    includes: frozenset[str] | None = None
    excludes: frozenset[str] | None = None
    no_wildcards: bool | None = None
    no_duplicates: bool | None = None
    denial_status: int | None = None
    denial_type: str | None = None
    denial_message: str | None = None
    because: str | None = None
    agrees_with: str | None = None  # a listing check: the route whose listing is its expected set
    #: a derived check (`oracle="derived"`): the rule chain that produced it, in one line, and its
    #: rules' ids (`harness.model.derivation`); absent from documents while unset
    derivation: str | None = field(default=None, compare=False)
    rules: tuple[str, ...] | None = field(default=None, compare=False)
    #: of `rules`, those that decide the outcome (for a denial, the steps that deny the model): what
    #: tells one kind of disagreement from another (`harness.explore.findings`)
    decided_by: tuple[str, ...] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.variant is not None and (not self.variant or "::" in self.variant):
            raise ValueError(f"a check variant must be a non-empty text without '::', not {self.variant!r}")

    @model_serializer(mode="wrap")
    def _without_unset_variant(self, handler: SerializerFunctionWrapHandler) -> Any:
        return omit_unset(handler(self), *OPTIONAL_FIELDS)

    @property
    def judgement(self) -> Judgement:
        """Which rule decides this check, read from the expectation it holds."""
        if self.expect in (Expect.ACCEPTED, Expect.REFUSED):
            return Judgement.ADMIN
        if self.listed is not None or self.includes is not None or self.excludes is not None \
                or self.no_wildcards or self.no_duplicates or self.agrees_with is not None:
            return Judgement.LISTING
        return Judgement.CALL

    @property
    def principal_segment(self) -> str:
        """The principal as its check id names it: `svc`, or `svc@<round>` in a scenario with rounds."""
        return self.principal if self.round is None else f"{self.principal}@{self.round}"

    @property
    def id(self) -> str:
        """Stable identifier, e.g. `issue-23850::svc::chat::gpt-4o` (see the module docstring)."""
        parts = [self.scenario_id, self.principal_segment, self.probe]
        if self.model is not None:
            parts.append(self.model)
        if self.variant is not None:
            parts.append(self.variant)
        return "::".join(parts)

    @property
    def title(self) -> str:
        """The check as a sentence, used as a test name: `svc cannot call gpt-4o`.

        Its kind's sentence when the kind words its checks (`word_checks`), else the standard
        sentence of its judgement.
        """
        return _SENTENCES.get(self.probe, standard_title)(self)


#: Kinds' sentences by kind name, filled by `harness.probes.registry` when it registers a kind.
_SENTENCES: dict[str, Callable[[Check], str]] = {}


def word_checks(probe: str, sentence: Callable[[Check], str] | None) -> None:
    """Make checks of the kind named `probe` read as `sentence(check)` (None: the standard way).

    The probe registry calls this for every kind it registers, so a check reads as its kind
    says wherever it is shown, while this layer never imports the kinds.
    """
    if sentence is None:
        _SENTENCES.pop(probe, None)
    else:
        _SENTENCES[probe] = sentence


def standard_title(check: Check) -> str:
    """`svc lists exactly [a, b]`, `svc can call gpt-4o`, `svc cannot call gpt-4o`, ….

    The sentence of the check's judgement; a variant is added as `… via <variant>`, a round as
    `… (round <name>)`.
    """
    judgement = check.judgement
    if judgement is Judgement.LISTING and check.agrees_with is not None and check.model is not None:
        sentence = f"{check.principal} lists {check.model} only if {check.agrees_with} does"
    elif judgement is Judgement.LISTING and check.agrees_with is not None:
        sentence = f"{check.principal} lists what {check.agrees_with} lists"
    elif judgement is Judgement.LISTING:
        sentence = f"{check.principal} {_listing_words(check)}"
    elif judgement is Judgement.ADMIN:
        verb = "is accepted" if check.expect is Expect.ACCEPTED else "is refused"
        sentence = f"{check.principal} {verb} by the admin API"
    else:
        verb = {Expect.ALLOWED: "can call", Expect.EITHER: "may call"}.get(check.expect, "cannot call")  # type: ignore[arg-type]
        sentence = f"{check.principal} {verb} {check.model}"
        if check.served_by:
            prefix = "if so, served by" if check.expect is Expect.EITHER else "served by"
            sentence += f" ({prefix} {' or '.join(sorted(check.served_by))})"
        kind = denial_words(check)
        if kind:
            sentence += f" ({kind})"
    if check.variant is not None:
        sentence = f"{sentence} via {check.variant}"
    return sentence if check.round is None else f"{sentence} (round {check.round})"


def _listing_words(check: Check) -> str:
    parts = []
    if check.listed is not None:
        parts.append(f"lists exactly [{', '.join(sorted(check.listed)) or 'nothing'}]")
    if check.includes:
        parts.append(f"lists {', '.join(sorted(check.includes))}")
    if check.excludes:
        parts.append(f"does not list {', '.join(sorted(check.excludes))}")
    properties = [words for flag, words in ((check.no_wildcards, "no wildcard ids"),
                                            (check.no_duplicates, "no duplicates")) if flag]
    if properties:
        parts.append("lists " + " and ".join(properties))
    return "; ".join(parts) if parts else "lists"


def denial_words(check: Check) -> str:
    """`HTTP 403, key_model_access_denied, message ~ /not allowed/`: the kind of denial a check asks for."""
    parts = []
    if check.denial_status is not None:
        parts.append(f"HTTP {check.denial_status}")
    if check.denial_type is not None:
        parts.append(check.denial_type)
    if check.denial_message is not None:
        parts.append(f"message ~ /{check.denial_message}/")
    return ", ".join(parts)
