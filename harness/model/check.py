"""Checks: one expectation about one probe result.

The oracle turns a scenario into checks; probes observe; `harness.judge` compares.
A check's `id` is stable across runs (scenario id, principal, probe, model) so that
known-failure lists and baselines can name it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Probe(str, Enum):
    """What is observed."""

    LIST_MODELS = "list_models"  # GET /v1/models
    CHAT = "chat"  # POST /v1/chat/completions


class Expect(str, Enum):
    """The expected outcome of a call probe."""

    ALLOWED = "allowed"
    DENIED = "denied"


@dataclass(frozen=True)
class Check:
    """One expectation about one principal.

    For `Probe.LIST_MODELS`, `listed` is the exact set `/v1/models` must list and
    `model`/`expect` are None. For `Probe.CHAT`, `model` and `expect` are set.
    """

    scenario_id: str
    principal: str
    probe: Probe
    model: str | None = None
    expect: Expect | None = None
    listed: frozenset[str] | None = None
    # where the expectation came from: "scenario" (written) or "derived" (documented semantics)
    oracle: str = "scenario"
    skip_reason: str | None = field(default=None, compare=False)

    @property
    def id(self) -> str:
        """Stable identifier, e.g. `issue-23850::svc::chat::gpt-4o`."""
        parts = [self.scenario_id, self.principal, self.probe.value]
        if self.model is not None:
            parts.append(self.model)
        return "::".join(parts)

    @property
    def title(self) -> str:
        """The check as a sentence, used as a test name: `svc cannot call gpt-4o`."""
        if self.probe is Probe.LIST_MODELS:
            shown = ", ".join(sorted(self.listed or ())) or "nothing"
            return f"{self.principal} lists exactly [{shown}]"
        verb = "can call" if self.expect is Expect.ALLOWED else "cannot call"
        return f"{self.principal} {verb} {self.model}"
