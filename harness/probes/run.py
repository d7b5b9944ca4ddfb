"""Probes: the requests that observe access, made as each principal.

One `GET /v1/models` per principal with a list check, one chat call per (principal, model)
call check. Each call carries a unique marker so the fake upstream's hits can be attributed
to exactly one probe, even though probes run concurrently. An Observation records what was
seen and nothing else; judging it is `harness.judge`'s job.
"""

from __future__ import annotations

import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import httpx

from harness.model.check import Check, Probe
from harness.common.abandonable import ConnectionGuard, Tally
from harness.common.redact import Redactor
from harness.targets.base import Endpoint
from harness.targets.upstream import MARKER_HEADER, marker_text
from harness.model.observation import (
    SHAPE_COMPLETION, SHAPE_EMPTY, SHAPE_ERROR, SHAPE_MODEL_LIST, SHAPE_NOT_JSON, SHAPE_OTHER_JSON, Observation,
)

EXCERPT_LIMIT = 2048  # characters of response body kept as evidence
CHAT_MAX_TOKENS = 5
# After all probes returned, wait this long and collect hits again: catches a proxy that
# reaches the upstream only after it answered (e.g. a background retry after a denial).
DEFAULT_SETTLE_S = 0.2
NOT_PROVISIONED = "not provisioned (no key for this principal)"

@dataclass(frozen=True)
class _Request:
    probe: Probe
    principal: str
    model: str | None
    marker: str


def run_probes(
    endpoint: Endpoint,
    keys: Mapping[str, str],
    checks: Sequence[Check],
    redactor: Redactor,
    concurrency: int = 8,
    timeout: float = 30.0,
    *,
    settle_s: float = DEFAULT_SETTLE_S,
    guard: ConnectionGuard | None = None,
    tally: Tally | None = None,
) -> dict[str, Observation]:
    """Observe every non-skipped check; returns observations keyed by `check.id`.

    Checks that share a request (several list checks of one principal, duplicate call
    checks) share one Observation. Skipped checks get none. Every key and the master key
    are added to `redactor` before any response text is kept.

    With a `guard` (see `harness.engine.watch`), requests it abandons, and those not yet sent,
    end with its reason as their transport error. `tally` counts the answered requests.
    """
    concurrency = max(1, concurrency)
    redactor.add(endpoint.master_key)
    for key in keys.values():
        redactor.add(key)

    nonce = secrets.token_hex(4)  # keeps markers unique across runs sharing one upstream
    requests: dict[tuple[Probe, str, str | None], _Request] = {}
    check_to_request: dict[str, tuple[Probe, str, str | None]] = {}
    for check in checks:
        if check.skip_reason is not None:
            continue
        model = check.model if check.probe is Probe.CHAT else None
        request_key = (check.probe, check.principal, model)
        if request_key not in requests:
            marker = f"gc-{nonce}-{len(requests) + 1}"
            requests[request_key] = _Request(check.probe, check.principal, model, marker)
        check_to_request[check.id] = request_key

    observations: dict[tuple[Probe, str, str | None], Observation] = {}
    if tally is not None:
        tally.total = len(requests)
    if requests:
        base_url = endpoint.base_url.rstrip("/")
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        # Building a TLS context costs ~70 ms; a plain-http proxy (the usual local target)
        # never uses it, and an https one still verifies certificates.
        verify = base_url.startswith("https://")
        transport = guard.transport(verify=verify, limits=limits) if guard is not None else None
        with httpx.Client(
            base_url=base_url, timeout=timeout, limits=limits, verify=verify, transport=transport
        ) as client, ThreadPoolExecutor(max_workers=concurrency) as pool:
            futures = {
                request_key: pool.submit(
                    _observe, client, endpoint, keys.get(request.principal), request, redactor, timeout,
                    guard, tally,
                )
                for request_key, request in requests.items()
            }
            observations = {request_key: future.result() for request_key, future in futures.items()}
        marked = [(obs, obs.marker) for obs in observations.values() if obs.marker is not None]
        if marked and settle_s > 0:
            time.sleep(settle_s)
        for obs, marker in marked:
            obs.upstream_hits = endpoint.upstream.hits(marker)

    return {check_id: observations[request_key] for check_id, request_key in check_to_request.items()}


def _observe(
    client: httpx.Client,
    endpoint: Endpoint,
    key: str | None,
    request: _Request,
    redactor: Redactor,
    timeout: float,
    guard: ConnectionGuard | None = None,
    tally: Tally | None = None,
) -> Observation:
    path = "/v1/models" if request.probe is Probe.LIST_MODELS else "/v1/chat/completions"
    obs = Observation(
        probe=request.probe,
        principal=request.principal,
        model=request.model,
        marker=request.marker if request.probe is Probe.CHAT else None,
        url=path,
    )
    if not key:
        obs.transport_error = NOT_PROVISIONED
        return obs
    if guard is not None and guard.reason is not None:
        obs.transport_error = guard.reason  # abandoned before this request was sent
        return obs

    headers = {"Authorization": f"Bearer {key}", MARKER_HEADER: request.marker}
    started = time.perf_counter()
    try:
        if request.probe is Probe.LIST_MODELS:
            response = client.get(path, headers=headers)
        else:
            response = client.post(path, headers=headers, json=_chat_body(request))
        content = response.content
    except httpx.TimeoutException as exc:
        obs.transport_error = f"timeout after {timeout:g}s ({type(exc).__name__})"
    except httpx.HTTPError as exc:
        obs.transport_error = redactor.redact(f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # noqa: BLE001 - one broken probe must not lose the others' evidence
        obs.transport_error = redactor.redact(f"probe failed: {type(exc).__name__}: {exc}")
    else:
        obs.status = response.status_code
        _read_body(obs, content, redactor)
        if tally is not None:
            tally.add()
    finally:
        obs.elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    if obs.status is None and guard is not None and guard.reason is not None:
        obs.transport_error = guard.reason  # the error was our own doing: say why

    if obs.marker is not None:
        # The upstream records before it answers, so a hit caused by this call is visible now.
        obs.upstream_hits = endpoint.upstream.hits(obs.marker)
    return obs


def _chat_body(request: _Request) -> dict[str, Any]:
    text = f"gateconform access probe {marker_text(request.marker)}: reply with ok"
    return {
        "model": request.model,
        "messages": [{"role": "user", "content": text}],
        "max_tokens": CHAT_MAX_TOKENS,
        "stream": False,
    }


def _read_body(obs: Observation, content: bytes, redactor: Redactor) -> None:
    """Fill excerpt, shape, error fields and listed models from a response body."""
    text = content.decode("utf-8", errors="replace")
    obs.body_excerpt = excerpt(redactor.redact(text))
    if not text.strip():
        obs.shape = SHAPE_EMPTY
        return
    try:
        body = json.loads(text)
    except ValueError:
        obs.shape = SHAPE_NOT_JSON
        return

    obs.shape = SHAPE_OTHER_JSON
    if not isinstance(body, dict):
        return
    error = body.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        obs.error_message = redactor.redact(error["message"])
        if error.get("type") is not None:
            obs.error_type = redactor.redact(str(error["type"]))
        if "type" in error:  # LiteLLM's ProxyException shape: message, type, param, code
            obs.shape = SHAPE_ERROR
    elif isinstance(error, str):
        obs.error_message = redactor.redact(error)
    elif "detail" in body:  # FastAPI's own errors (422, 404 on unknown routes)
        obs.error_message = redactor.redact(str(body["detail"]))
    if error is not None:
        return

    if _is_completion(body):
        obs.shape = SHAPE_COMPLETION
    elif obs.probe is Probe.LIST_MODELS:
        listed = _listed_ids(body)
        if listed is not None:
            obs.shape = SHAPE_MODEL_LIST
            obs.listed_models = listed


def _is_completion(body: dict[str, Any]) -> bool:
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return False
    message = choices[0].get("message")
    return isinstance(message, dict) and isinstance(message.get("content"), (str, type(None)))


def _listed_ids(body: dict[str, Any]) -> list[str] | None:
    data = body.get("data")
    if not isinstance(data, list):
        return None
    ids = [item.get("id") for item in data if isinstance(item, dict)]
    if len(ids) != len(data) or not all(isinstance(i, str) for i in ids):
        return None  # an entry without a string id: not a listing we can trust
    return ids


def excerpt(text: str, limit: int = EXCERPT_LIMIT) -> str:
    """`text` cut to at most `limit` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    # Reserve room for the suffix so the excerpt never exceeds `limit`.
    keep = max(0, limit - len(f"…[{len(text)} more chars]"))
    return text[:keep] + f"…[{len(text) - keep} more chars]"
