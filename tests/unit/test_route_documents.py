"""One OpenAPI reading for proxies with the same routes: a proxy builds its document in seconds of
CPU, so the harness asks one proxy per build, environment, settings and route table (offline:
`httpx.MockTransport` proxies that count what they are asked)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from harness.common.redact import Redactor
from harness.gateways.litellm.admin import LiteLLMAdapter
from harness.gateways.litellm.route_documents import ROUTE_DOCUMENTS, STORED_DOCUMENTS, route_table_digest
from harness.targets.base import Endpoint
from tests.fixtures.fake_litellm import MASTER_KEY, FakeUpstream

TABLE = [{"path": "/openapi.json", "methods": ["GET", "HEAD"], "name": "openapi", "endpoint": "openapi"},
         {"path": "/v1/realtime", "methods": None, "name": "realtime", "endpoint": "realtime"}]
DOCUMENT = {"paths": {"/v1/access_group": {"post": {}},
                      "/v1/chat/completions": {"post": {"tags": ["chat/completions"]}}}}


class Proxy:
    """Answers `/routes` with `table` and `/openapi.json` with `document`; counts the requests."""

    def __init__(self, table: list[dict] | None = None, document: dict | None = None, routes_status: int = 200):
        self.table = TABLE if table is None else table
        self.document = document or DOCUMENT
        self.routes_status = routes_status
        self.asked: Counter[str] = Counter()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.asked[request.url.path] += 1
        if request.url.path == "/routes":
            return httpx.Response(self.routes_status, json={"routes": self.table})
        return httpx.Response(200, json=self.document)


@pytest.fixture(autouse=True)
def fresh_readings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No readings in this process, and none stored by earlier runs (a folder of the test's own)."""
    stored = tmp_path / "route-documents"
    monkeypatch.setattr(STORED_DOCUMENTS, "folder", lambda: stored)
    ROUTE_DOCUMENTS.clear()
    yield stored
    ROUTE_DOCUMENTS.clear()


def a_later_run() -> None:
    """What a new process would hold: nothing read in it yet; the stored documents stay."""
    ROUTE_DOCUMENTS.clear()


def capabilities(proxy: Proxy, identity: str | None = "build-a", unavailable: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    endpoint = Endpoint("http://proxy.invalid", MASTER_KEY, FakeUpstream(), "9.9.9", "fake",
                        routes_identity=identity, unavailable_models=unavailable or {})
    with LiteLLMAdapter(endpoint, Redactor(), transport=httpx.MockTransport(proxy)) as client:
        return client.capabilities()


def test_the_second_proxy_of_a_build_with_the_same_routes_is_not_asked_to_build_its_document() -> None:
    first, second = Proxy(), Proxy()
    read_first = capabilities(first)
    read_second = capabilities(second, unavailable={"gpt-x": "not on this proxy"})
    assert first.asked["/openapi.json"] == 1 and second.asked["/openapi.json"] == 0
    assert second.asked["/routes"] == 1  # its own route table was looked at
    assert read_second.model_routes == read_first.model_routes and read_second.access_group_entities
    assert read_second.unavailable_models == {"gpt-x": "not on this proxy"}  # the endpoint's own, not shared


def test_a_proxy_whose_route_table_differs_is_read_from_its_own_document() -> None:
    capabilities(Proxy())
    with_pass_through = Proxy(table=[*TABLE, {"path": "/mine/{endpoint}", "methods": ["POST"], "name": "pt",
                                              "endpoint": "pass_through"}], document={"paths": {}})
    read = capabilities(with_pass_through)
    assert with_pass_through.asked["/openapi.json"] == 1
    assert not read.access_group_entities and not read.model_routes


@pytest.mark.parametrize("identity", ["build-b", None])
def test_another_build_or_a_proxy_of_unknown_identity_is_read_from_its_own_document(identity: str | None) -> None:
    capabilities(Proxy())
    other = Proxy()
    capabilities(other, identity=identity)
    assert other.asked["/openapi.json"] == 1
    assert other.asked["/routes"] == (0 if identity is None else 1)


def test_a_proxy_that_does_not_list_its_routes_is_read_from_its_own_document() -> None:
    capabilities(Proxy(routes_status=404))
    other = Proxy(routes_status=404)
    capabilities(other)
    assert other.asked["/openapi.json"] == 1


def test_a_later_run_reads_the_stored_document_instead_of_asking_a_proxy_to_build_it() -> None:
    first_run = capabilities(Proxy())
    a_later_run()
    later = Proxy()
    read = capabilities(later)
    assert later.asked["/openapi.json"] == 0 and later.asked["/routes"] == 1
    assert read.model_routes == first_run.model_routes and read.access_group_entities


@pytest.mark.parametrize("identity,table", [("build-b", TABLE), ("build-a", TABLE[:1])])
def test_a_stored_document_serves_only_the_same_build_settings_and_route_table(identity: str, table: list) -> None:
    capabilities(Proxy())
    a_later_run()
    other = Proxy(table=table)
    capabilities(other, identity=identity)
    assert other.asked["/openapi.json"] == 1


@pytest.mark.parametrize("damage", [b"not gzip", b"", "gzip:[1, 2]", "gzip:{\"no\": \"paths\"}"])
def test_a_damaged_stored_document_is_read_from_the_proxy_again(fresh_readings: Path, damage: object) -> None:
    import gzip

    capabilities(Proxy())
    (stored,) = fresh_readings.glob("*.json.gz")
    data = gzip.compress(damage[5:].encode()) if isinstance(damage, str) else damage
    stored.write_bytes(data)
    a_later_run()
    again = Proxy()
    read = capabilities(again)
    assert again.asked["/openapi.json"] == 1 and read.access_group_entities
    a_later_run()
    capabilities(third := Proxy())
    assert third.asked["/openapi.json"] == 0  # the damaged one was replaced


def test_only_the_most_recently_used_documents_are_kept(fresh_readings: Path) -> None:
    from harness.gateways.litellm.route_documents import StoredDocuments

    store = StoredDocuments(lambda: fresh_readings, keep=2)
    for build in ("a", "b"):  # stored a minute apart, "a" first
        store.get((build, "digest"), lambda: DOCUMENT)
        for path in fresh_readings.glob("*.json.gz"):
            os.utime(path, (path.stat().st_mtime - 60, path.stat().st_mtime - 60))
    store.get(("c", "digest"), lambda: DOCUMENT)
    assert len(list(fresh_readings.glob("*.json.gz"))) == 2
    fetched = []
    store.get(("a", "digest"), lambda: fetched.append("a") or DOCUMENT)
    assert fetched == ["a"]  # the oldest was removed


def test_the_route_table_digest_keeps_the_order_of_routes_but_not_of_methods() -> None:
    swapped_methods = [{**TABLE[0], "methods": ["HEAD", "GET"]}, TABLE[1]]
    assert route_table_digest({"routes": swapped_methods}) == route_table_digest({"routes": TABLE})
    assert route_table_digest({"routes": TABLE[::-1]}) != route_table_digest({"routes": TABLE})
    assert route_table_digest({"routes": []}) is None and route_table_digest(["/x"]) is None
