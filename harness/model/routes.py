"""The request surface: which routes of a running proxy name a model, and which of them are probed.

A gateway reads its proxy's own OpenAPI document and says which operations are *model-bearing*
(`ModelRoute`): a client names a model the gateway serves on them, in the body, the path or the
query, to run it (a call), to read it (a listing) or to have it forwarded (a pass-through).
Probe kinds say which routes they probe. `RouteCoverage` puts the two side by side: the share of
the inventory some kind covers, and every route none does, with the reason when one is known.
It is stored in results.json (`RunResult.routes`) and printed at the end of every run.

Routes are matched on their method and their path with every `{parameter}` alike, so a release
that renames `{model}` to `{model_name}` still matches the kind that probes the route.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from pydantic import BaseModel, Field, computed_field

#: What a model-bearing route does with the model it names.
CALL, LISTING, PASS_THROUGH = "call", "listing", "pass-through"
ROUTE_FAMILIES = (CALL, LISTING, PASS_THROUGH)
#: The reason given for an inventory route that no registered probe kind probes.
NOT_COVERED = "not covered by any probe kind"

_PARAMETER = re.compile(r"\{[^}]*\}")


def route_key(method: str, path: str) -> tuple[str, str]:
    """How routes are matched: `("POST", "/engines/{}/chat/completions")` (parameters unnamed)."""
    return method.upper(), _PARAMETER.sub("{}", path.split("?", 1)[0])


def route_text(method: str, path: str) -> str:
    """`POST /v1/chat/completions`: a route as reports and results.json name it."""
    return f"{method.upper()} {path}"


@dataclass(frozen=True)
class ModelRoute:
    """One operation of the proxy's OpenAPI document on which a model can be named.

    `note`, when set, is the gateway's reason why the route is not probed (a WebSocket, a route
    that forwards to a provider's public API, ...); coverage reports it next to the route.
    """

    method: str  # "POST"
    path: str  # as the OpenAPI document writes it: "/engines/{model}/chat/completions"
    family: str  # CALL, LISTING or PASS_THROUGH
    note: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return route_key(self.method, self.path)

    @property
    def text(self) -> str:
        return route_text(self.method, self.path)


class UncoveredRoute(BaseModel):
    """A model-bearing route no probe kind probes, and why."""

    route: str  # "GET /v1/realtime"
    family: str
    reason: str = NOT_COVERED


class RouteCoverage(BaseModel):
    """How much of the proxy's model-bearing surface the registered probe kinds cover.

    `covered` and `uncovered` name routes as `METHOD /path`, sorted; `inventory` is how many
    model-bearing routes the proxy's OpenAPI document has. `source` says where the inventory came
    from (the document's route) so a reader can check it.
    """

    inventory: int
    covered: list[str] = Field(default_factory=list)
    uncovered: list[UncoveredRoute] = Field(default_factory=list)
    source: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def share(self) -> float:
        """Covered routes over the inventory, 0..1 (1 for an empty inventory: nothing is missed)."""
        return round(len(self.covered) / self.inventory, 4) if self.inventory else 1.0

    @property
    def percent_text(self) -> str:
        """`87% (72 of 83 model-bearing routes)`."""
        return f"{self.share * 100:.0f}% ({len(self.covered)} of {self.inventory} model-bearing routes)"


def coverage_of(inventory: Iterable[ModelRoute], probed: Iterable[tuple[str, str]],
                source: str | None = None) -> RouteCoverage:
    """Which routes of `inventory` some probe kind covers; `probed` are `route_key`s of the kinds' routes."""
    probed_keys = set(probed)
    routes = sorted(set(inventory), key=lambda r: (r.path, r.method))
    # A noted route is not probed even where a kind knows it (the gateway says why not).
    covered = [r.text for r in routes if r.key in probed_keys and r.note is None]
    uncovered = [UncoveredRoute(route=r.text, family=r.family, reason=r.note or NOT_COVERED)
                 for r in routes if r.key not in probed_keys or r.note is not None]
    return RouteCoverage(inventory=len(routes), covered=covered, uncovered=uncovered, source=source)
