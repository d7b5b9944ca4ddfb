"""Readiness progress reads as a boot in progress, not as an error."""

from __future__ import annotations

import httpx
import pytest

from harness.gateways.litellm.readiness import probe_readiness


def seen(handler) -> tuple[bool, str]:  # type: ignore[no-untyped-def]
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        return probe_readiness(client, "http://127.0.0.1:4000")


def refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


def too_slow(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


@pytest.mark.parametrize("handler,expected", [
    (refuse, (False, "port not open yet")),
    (too_slow, (False, "port open, no answer yet")),
    (lambda request: httpx.Response(503, text="starting"), (False, "readiness answers HTTP 503")),
    (lambda request: httpx.Response(200, json={"db": "Not connected"}),
     (False, "database not connected yet (db=Not connected)")),
    (lambda request: httpx.Response(200, json={"db": "connected"}), (True, "database connected")),
])
def test_what_readiness_saw(handler, expected) -> None:  # type: ignore[no-untyped-def]
    assert seen(handler) == expected


def test_no_state_reads_like_an_error() -> None:
    for handler in (refuse, too_slow):
        ready, text = seen(handler)
        assert "Error" not in text and "error" not in text
