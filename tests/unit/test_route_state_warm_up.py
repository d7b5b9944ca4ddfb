"""The warm parent's warm-up for LiteLLM builds FastAPI's request-time state of every included
router's routes, nested ones too, one router per step, and says what it built; where FastAPI
builds routes as they are included (or is absent) it builds nothing. Offline: a stand-in for
`fastapi.routing` that records which routers were built (the real FastAPI is in the proxy's
environment, where the library's runs exercise it)."""

from __future__ import annotations

import sys
import types
from typing import Iterator

import pytest

from harness.gateways.litellm import route_state_warm_up


class IncludedRouter:
    """Stands in for FastAPI's `_IncludedRouter`: candidates are routes and nested routers."""

    built: list[str] = []

    def __init__(self, name: str, candidates: list[object]) -> None:
        self.name = name
        self.candidates = candidates

    def effective_candidates(self) -> list[object]:
        IncludedRouter.built.append(self.name)
        return self.candidates

    def effective_low_priority_routes(self) -> list[object]:
        return []


def run(steps: Iterator[None]) -> tuple[int, str]:
    taken = 0
    while True:
        try:
            next(steps)
            taken += 1
        except StopIteration as done:
            return taken, str(done.value)


@pytest.fixture
def fastapi_and_app(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    IncludedRouter.built = []
    fastapi = types.ModuleType("fastapi")
    routing = types.ModuleType("fastapi.routing")
    routing._IncludedRouter = IncludedRouter  # type: ignore[attr-defined]
    fastapi.routing = routing  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fastapi", fastapi)
    monkeypatch.setitem(sys.modules, "fastapi.routing", routing)
    nested = IncludedRouter("nested", ["route c"])
    routes = ["top-level route", IncludedRouter("keys", ["route a", "route b", nested]), IncludedRouter("teams", ["route d"])]
    server = types.ModuleType(route_state_warm_up.APP_MODULE)
    server.app = types.SimpleNamespace(router=types.SimpleNamespace(routes=routes))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, route_state_warm_up.APP_MODULE, server)
    return routing


def test_every_included_router_is_built_nested_ones_too_one_step_each(fastapi_and_app) -> None:  # type: ignore[no-untyped-def]
    steps, said = run(route_state_warm_up.warm_up())
    assert IncludedRouter.built == ["keys", "teams", "nested"]  # in the order requests walk them
    assert steps == 3
    assert said == "built FastAPI's request-time state of 4 routes"


def test_a_fastapi_that_builds_routes_as_they_are_included_has_nothing_to_build(fastapi_and_app) -> None:  # type: ignore[no-untyped-def]
    del fastapi_and_app._IncludedRouter
    steps, said = run(route_state_warm_up.warm_up())
    assert steps == 0 and "nothing to build" in said and IncludedRouter.built == []


def test_without_fastapi_or_the_app_there_is_nothing_to_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fastapi", None)  # an import of it fails
    assert run(route_state_warm_up.warm_up()) == (0, "no FastAPI here: nothing to build")
