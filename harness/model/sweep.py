"""The `sweep:` section of a scenario: how far the sweep of the request surface goes."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field

from harness.model.world import MAX_MODELS, Strict


class SweepDecl(Strict):
    """How far the sweep goes: which routes, and whether allowed models are tried too."""

    model_config = ConfigDict(title="sweep")

    only: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        default=None,
        max_length=MAX_MODELS,
        description=(
            "Only these probe kinds (by name, e.g. `embeddings`) or routes (e.g. `/v1/messages`); "
            "leave out for every model-bearing route the proxy has, except the few a kind sweeps only "
            "when named here (pass-throughs whose answer the harness's deployments cannot settle)."
        ),
    )
    can_call: bool = Field(
        default=False,
        description=(
            "Also try every model a key can call on every swept route that can show a call allowed "
            "(off by default: the sweep looks for bypasses)."
        ),
    )
