"""Runs inside a LiteLLM warm parent, between forks: FastAPI's per-route state, built once.

Loaded by path under the proxy's own interpreter (`warm_parent_server.py --warm-up`): standard
library only, nothing of the harness.

Newer FastAPI (0.165, which 1.82.3 and 1.108.7 are installed with) keeps an included router's
routes as they were declared and builds their request-time state (dependency graph, body field,
path under the prefix) when a request first walks past them, in every process anew. A forked
proxy started with none of it, so its first requests and its first `GET /openapi.json` paid for
it: on 1.82.3 all of it is 698 routes and about 1.75 s of a core, in each proxy. Built in the warm
parent, every later fork starts with it, as an application server's preload does with code.
Built before the parent is ready, it held up every run's first proxies by as long, so the parent
builds it one router at a time while no fork is asked for.

It is FastAPI's own cache, built by FastAPI's own code as a request would build it, and kept per
router with the router's route version: a route the proxy adds at start-up makes FastAPI build
that router's state again, as it would have anyway. A FastAPI that builds routes as they are
included has nothing to build here.
"""

from __future__ import annotations

import sys
from typing import Iterator

#: The module whose `app` the proxy serves.
APP_MODULE = "litellm.proxy.proxy_server"


def warm_up() -> Iterator[None]:
    """One step per included router; returns a line saying what was built."""
    try:
        from fastapi import routing
    except ImportError:
        return "no FastAPI here: nothing to build"
    included_router = getattr(routing, "_IncludedRouter", None)
    app = getattr(sys.modules.get(APP_MODULE), "app", None)
    router = getattr(app, "router", None)
    if included_router is None or router is None:
        return "this FastAPI builds its routes as they are included: nothing to build"
    built = 0
    pending = [route for route in router.routes if isinstance(route, included_router)]
    while pending:
        route = pending.pop(0)
        candidates = route.effective_candidates()
        route.effective_low_priority_routes()
        built += sum(1 for candidate in candidates if not isinstance(candidate, included_router))
        pending.extend(candidate for candidate in candidates if isinstance(candidate, included_router))
        yield
    return f"built FastAPI's request-time state of {built} routes"
