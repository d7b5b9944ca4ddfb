"""One reading of LiteLLM's OpenAPI document for every proxy of a run that serves the same routes.

A LiteLLM proxy builds its OpenAPI document on the first `GET /openapi.json`, in every proxy
anew: 2–3 s of its CPU on 1.82.3 (the JSON schemas of 509 operations), and the harness asks
each proxy once (capabilities, the sweep's route inventory). Ten scenarios on ten proxies spent
about a quarter of the run's CPU on it, on two cores.

What the document says depends on the routes the proxy serves and their code: the routers its
modules include at import (the same for the same build and import-time environment) and the
routes its start-up adds from the config (pass-through endpoints, MCP servers: its settings).
The model list adds no route (measured on 1.82.3: two proxies with different model lists answer
identical documents). So proxies of the same build, import-time environment and config
settings (`Endpoint.routes_identity`, set by a target that knows all three) document their routes
alike, and the harness reads one document for all of them. As a guard, each proxy is still asked
for its own route table (`GET /routes`: the routes added to the app itself, with methods, name and
handler, in order; milliseconds; the routers included at import show only as such): a proxy whose
table differs is read from its own document.

The document read is also kept on disk (`StoredDocuments`, in the cache folder, by the same key),
so later runs on the same environment and settings do not make a proxy build it again: its
import-time identity names the environment's installation, so a rebuilt environment is read
anew. A stored document that cannot be read is read from the proxy again.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any, Callable, Generic, TypeVar

from harness.common.cache_root import default_cache_root
from harness.common.files import OutputError, write_bytes

T = TypeVar("T")

#: The route that lists a proxy's route table (every release the harness runs has it).
ROUTE_TABLE_PATH = "/routes"


def route_table_digest(answer: Any) -> str | None:
    """A digest of the route table in a `GET /routes` answer; None when it is not one.

    The routes keep their order (it decides which of two overlapping routes answers); only the
    methods of a route, a set in the proxy, are sorted.
    """
    routes = answer.get("routes") if isinstance(answer, dict) else None
    if not isinstance(routes, list) or not routes:
        return None
    canonical = [_canonical(route) for route in routes]
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def _canonical(route: Any) -> Any:
    if not isinstance(route, dict):
        return route
    methods = route.get("methods")
    if isinstance(methods, list) and all(isinstance(method, str) for method in methods):
        return {**route, "methods": sorted(methods)}
    return route


class RouteDocuments(Generic[T]):
    """What was read from one proxy's OpenAPI document, by (routes identity, route table digest).

    `get(key, read)` reads at most once per key: a second proxy with the same key waits for the
    first one's reading rather than making its proxy build the same document meanwhile. A reading
    that fails is not kept (the next proxy reads its own).
    """

    def __init__(self) -> None:
        self._read: dict[tuple[str, str], T] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str], read: Callable[[], T]) -> T:
        """The reading for `key`, made by `read()` if there is none yet."""
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._read:
                self._read[key] = read()
            return self._read[key]

    def clear(self) -> None:
        """Forget every reading (tests)."""
        with self._lock:
            self._read.clear()
            self._locks.clear()


def is_openapi_document(document: Any) -> bool:
    """Whether `document` is an OpenAPI document with its paths (what a reading needs)."""
    return isinstance(document, dict) and isinstance(document.get("paths"), dict)


class StoredDocuments:
    """OpenAPI documents (with their paths) kept between runs, one gzipped JSON file per (routes identity, route
    table digest) in `folder()` (called at each use, so a changed cache folder is followed).

    The `keep` most recently used are kept; older ones are removed when a new one is stored.
    """

    def __init__(self, folder: Callable[[], Path], keep: int = 64) -> None:
        self.folder = folder
        self.keep = keep

    def get(self, key: tuple[str, str], fetch: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The stored document for `key`, else `fetch()`'s (then stored for later runs)."""
        path = self._path(key)
        document = _load(path)
        if document is not None:
            return document
        document = fetch()
        self._store(path, document)
        return document

    def _path(self, key: tuple[str, str]) -> Path:
        name = hashlib.sha256(json.dumps(list(key)).encode()).hexdigest()[:32]
        return self.folder() / f"{name}.json.gz"

    def _store(self, path: Path, document: dict[str, Any]) -> None:
        """Write `document` (all or nothing: another run may read it meanwhile); never raises: a
        document not stored is only read again next time."""
        try:
            write_bytes(path, gzip.compress(json.dumps(document).encode(), compresslevel=5))
            self._prune(path.parent)
        except (OutputError, OSError):
            pass

    def _prune(self, folder: Path) -> None:
        stored = []
        for path in folder.glob("*.json.gz"):
            try:
                stored.append((path.stat().st_mtime, path))
            except OSError:
                continue
        for _, path in sorted(stored, reverse=True)[self.keep:]:
            path.unlink(missing_ok=True)


def _load(path: Path) -> dict[str, Any] | None:
    """The document stored at `path` (marked as just used), None when there is none or it is
    unreadable (an unreadable one is removed)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        document = json.loads(gzip.decompress(data))
    except (OSError, EOFError, ValueError):
        path.unlink(missing_ok=True)
        return None
    if not is_openapi_document(document):
        path.unlink(missing_ok=True)
        return None
    try:
        os.utime(path)
    except OSError:
        pass
    return document


#: This process's readings, shared by every adapter (each scenario has its own).
ROUTE_DOCUMENTS: RouteDocuments[Any] = RouteDocuments()
#: The documents read by earlier runs.
STORED_DOCUMENTS = StoredDocuments(lambda: default_cache_root() / "route-documents")
