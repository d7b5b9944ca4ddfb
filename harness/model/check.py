"""Checks: one expectation about one probe result.

The oracle turns a scenario into checks; probes observe; `harness.judge` compares. A check
names its probe kind (`probe`: `list_models`, `chat`, ...); what a kind asks and how its answers
read is declared by the kind itself (`harness.probes.registry`), so nothing here knows the kinds.

Check ids are stable across runs and releases of gateconform, because known-failure lists and
baselines name them (exactly, or with `*` patterns):

    scenario::principal::probe[::model][::variant]

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
    """The expected outcome of a call probe."""

    ALLOWED = "allowed"
    DENIED = "denied"


class Judgement(str, Enum):
    """How a check is decided, which is also which expectation it holds.

    A probe kind declares one; the judge has one rule per judgement.
    """

    LISTING = "listing"  # `listed`: the exact set of names a listing must show
    CALL = "call"  # `expect`: the call is allowed (reaches the upstream) or denied


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

    A listing check (`Judgement.LISTING`) has `listed`, the exact set the listing must show,
    and no `model`/`expect`. A call check (`Judgement.CALL`) has `model` and `expect`.
    """

    scenario_id: str
    principal: str
    probe: str  # the probe kind's name, e.g. "list_models" or "chat"
    model: str | None = None
    expect: Expect | None = None
    listed: frozenset[str] | None = None
    # where the expectation came from: "scenario" (written) or "derived" (documented semantics)
    oracle: str = "scenario"
    skip_reason: str | None = field(default=None, compare=False)
    variant: str | None = None  # see the module docstring; None for every check of today's kinds
    agrees_with: str | None = None  # a listing check: the route whose listing is its expected set

    def __post_init__(self) -> None:
        if self.variant is not None and (not self.variant or "::" in self.variant):
            raise ValueError(f"a check variant must be a non-empty text without '::', not {self.variant!r}")

    @model_serializer(mode="wrap")
    def _without_unset_variant(self, handler: SerializerFunctionWrapHandler) -> Any:
        return omit_unset(handler(self), "variant", "agrees_with")

    @property
    def judgement(self) -> Judgement:
        """Which rule decides this check, read from the expectation it holds."""
        if self.listed is not None or self.agrees_with is not None:
            return Judgement.LISTING
        return Judgement.CALL

    @property
    def id(self) -> str:
        """Stable identifier, e.g. `issue-23850::svc::chat::gpt-4o` (see the module docstring)."""
        parts = [self.scenario_id, self.principal, self.probe]
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
    """`svc lists exactly [a, b]`, `svc can call gpt-4o`, `svc cannot call gpt-4o`.

    The sentence of the check's judgement; a variant is added as `… via <variant>`.
    """
    if check.judgement is Judgement.LISTING and check.listed is None and check.model is not None:
        sentence = f"{check.principal} lists {check.model} only if {check.agrees_with} does"
    elif check.judgement is Judgement.LISTING and check.listed is None:
        sentence = f"{check.principal} lists what {check.agrees_with} lists"
    elif check.judgement is Judgement.LISTING:
        shown = ", ".join(sorted(check.listed or ())) or "nothing"
        sentence = f"{check.principal} lists exactly [{shown}]"
    else:
        verb = "can call" if check.expect is Expect.ALLOWED else "cannot call"
        sentence = f"{check.principal} {verb} {check.model}"
    return sentence if check.variant is None else f"{sentence} via {check.variant}"
