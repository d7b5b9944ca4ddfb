"""Probes: the requests that observe access, made as each principal.

One request per distinct (kind, principal, model, variant) among the checks: one listing per
principal, one call per (principal, model). What each request is and how its answer reads is
its probe kind's (`harness.probes.registry`); this module sends them concurrently and records
what came back. Each request carries a unique marker so the fake upstream's hits can be
attributed to exactly one probe, even though probes run concurrently. An Observation records
what was seen and nothing else; judging it is `harness.judge`'s job.

Two kinds of checks need more than their own request. A kind that names a second, allowed model
next to the checked one (`needs_companion`) gets the principal's first allowed model (the model
of its first `expect: allowed` check). A listing check that agrees with another route
(`Check.agrees_with`) gets that route's listing for the same principal as its observation's
`reference_models`; the reference is requested too when no check asked for it.
"""

from __future__ import annotations

import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Mapping, Sequence

import httpx

from harness.model.check import Check, Expect
from harness.common.abandonable import ConnectionGuard, Tally
from harness.common.redact import Redactor
from harness.probes.kind import BodyShape, ProbeAsk, ProbeKind, ProbeRequest
from harness.probes.registry import find, route_owner
from harness.targets.base import Endpoint
from harness.targets.upstream import MARKER_HEADER
from harness.model.observation import SHAPE_EMPTY, SHAPE_ERROR, SHAPE_NOT_JSON, SHAPE_OTHER_JSON, Observation

EXCERPT_LIMIT = 2048  # characters of response body kept as evidence
# After all probes returned, wait this long and collect hits again: catches a proxy that
# reaches the upstream only after it answered (e.g. a background retry after a denial).
DEFAULT_SETTLE_S = 0.2
NOT_PROVISIONED = "not provisioned (no key for this principal)"

_RequestKey = tuple[str, str, str | None, str | None]  # kind, principal, model, variant


@dataclass(frozen=True)
class _Request:
    kind: ProbeKind
    ask: ProbeAsk


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
    transport: httpx.BaseTransport | None = None,
    companions: Mapping[str, str] | None = None,
) -> dict[str, Observation]:
    """Observe every non-skipped check; returns observations keyed by `check.id`.

    Checks that share a request (several list checks of one principal, duplicate call
    checks) share one Observation. Skipped checks, and checks of a kind nobody registered
    (the judge says so), get none. Every key and the master key are added to `redactor`
    before any response text is kept.

    With a `guard` (see `harness.engine.watch`), requests it abandons, and those not yet sent,
    end with its reason as their transport error. `tally` counts the answered requests (its
    total grows by this call's requests).
    `transport` replaces the network (an `httpx.MockTransport` in unit tests); a guard's wins.
    `companions` (principal → an allowed model) default to `companions_of(checks)`.
    """
    concurrency = max(1, concurrency)
    redactor.add(endpoint.master_key)
    for key in keys.values():
        redactor.add(key)

    nonce = secrets.token_hex(4)  # keeps markers unique across runs sharing one upstream
    requests: dict[_RequestKey, _Request] = {}
    check_to_request: dict[str, _RequestKey] = {}
    companions = companions_of(checks) if companions is None else companions

    def request_for(kind: ProbeKind, principal: str, model: str | None, variant: str | None) -> _RequestKey:
        request_key = (kind.name, principal, model, variant)
        if request_key not in requests:
            marker = f"gc-{nonce}-{len(requests) + 1}"
            companion = companions.get(principal) if kind.needs_companion else None
            requests[request_key] = _Request(kind, ProbeAsk(principal, model, marker, variant, companion))
        return request_key

    references: dict[_RequestKey, _RequestKey] = {}  # an agreeing listing's request → its reference's
    for check in checks:
        kind = find(check.probe)
        if check.skip_reason is not None or kind is None or not kind.sent_by_probes:
            continue
        model = check.model if kind.takes_model else None
        request_key = request_for(kind, check.principal, model, check.variant)
        check_to_request[check.id] = request_key
        owner = route_owner("GET", check.agrees_with) if check.agrees_with is not None else None
        if owner is not None:
            references[request_key] = request_for(owner[0], check.principal, None, owner[1])

    observations: dict[_RequestKey, Observation] = {}
    if tally is not None:
        tally.total += len(requests)  # a scenario probed in rounds counts every round's
    if requests:
        base_url = endpoint.base_url.rstrip("/")
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        # Building a TLS context costs ~70 ms; a plain-http proxy (the usual local target)
        # never uses it, and an https one still verifies certificates.
        verify = base_url.startswith("https://")
        if guard is not None:
            transport = guard.transport(verify=verify, limits=limits)
        with httpx.Client(
            base_url=base_url, timeout=timeout, limits=limits, verify=verify, transport=transport
        ) as client, ThreadPoolExecutor(max_workers=concurrency) as pool:
            futures = {
                request_key: pool.submit(
                    _observe, client, endpoint, keys.get(request.ask.principal), request, redactor, timeout,
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
        for request_key, reference_key in references.items():
            reference = observations[reference_key]
            observed = observations[request_key]
            observed.reference_models = list(reference.listed_models) if reference.listed_models is not None else None
            if reference.listed_models is None and reference.shape == SHAPE_ERROR:  # the judge tells a refusal
                observed.reference_status = reference.status
                observed.reference_error_type = reference.error_type
                observed.reference_error_message = reference.error_message

    return {check_id: observations[request_key] for check_id, request_key in check_to_request.items()}


def companions_of(checks: Sequence[Check]) -> dict[str, str]:
    """Each principal's first allowed model (its first `expect: allowed` check's), in check order."""
    found: dict[str, str] = {}
    for check in checks:
        if check.expect is Expect.ALLOWED and check.model is not None:
            found.setdefault(check.principal, check.model)
    return found


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
    kind, ask = request.kind, request.ask
    wire = kind.request(ask)
    obs = Observation(
        probe=kind.name,
        principal=ask.principal,
        model=ask.model,
        marker=ask.marker if kind.reaches_upstream else None,
        url=wire.url,
        variant=ask.variant,
        # the upstream's record (empty or not) says nothing when no recording upstream is behind the proxy
        upstream_observed=False if kind.reaches_upstream and not endpoint.upstream_observed else None,
        companion=ask.companion,
    )
    if not key:
        obs.transport_error = NOT_PROVISIONED
        return obs
    if guard is not None and guard.reason is not None:
        obs.transport_error = guard.reason  # abandoned before this request was sent
        return obs

    headers = {**kind.auth_headers(key), MARKER_HEADER: ask.marker, **wire.headers}
    started = time.perf_counter()
    try:
        response = _send(client, wire, headers)
        content = response.content
    except httpx.TimeoutException as exc:
        obs.transport_error = f"timeout after {timeout:g}s ({type(exc).__name__})"
    except httpx.HTTPError as exc:
        obs.transport_error = redactor.redact(f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # noqa: BLE001 - one broken probe must not lose the others' evidence
        obs.transport_error = redactor.redact(f"probe failed: {type(exc).__name__}: {exc}")
    else:
        obs.status = response.status_code
        read_body(obs, content, redactor, kind.shapes, response.headers.get("content-type", ""))
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


def _send(client: httpx.Client, wire: ProbeRequest, headers: dict[str, str]) -> httpx.Response:
    """Send `wire`; once more when a kept-alive connection turns out closed before any answer.

    A proxy closes a connection after some errors (an unhandled exception's 500); the pool may
    hand that connection to the next probe before it sees the close. That probe never got an
    answer, so sending it again on a fresh connection observes what it should have.
    """
    params = dict(wire.params) or None
    for attempt in (1, 2):
        try:
            if wire.files:  # a multipart form: its fields and files instead of a JSON body
                return client.request(wire.method, wire.path, headers=headers, params=params,
                                      data=dict(wire.form), files=dict(wire.files))
            return client.request(wire.method, wire.path, headers=headers, params=params, json=wire.json)
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            if attempt == 2 or not _closed_before_answer(exc):
                raise
    raise AssertionError("unreachable")


def _closed_before_answer(exc: httpx.HTTPError) -> bool:
    """A reset or an empty reply: the connection died before the proxy said anything."""
    text = str(exc).lower()
    return "reset by peer" in text or "without sending" in text or "server disconnected" in text


def read_body(obs: Observation, content: bytes, redactor: Redactor, shapes: Sequence[BodyShape],
               content_type: str = "") -> None:
    """Fill excerpt, shape and error fields from a response body; `shapes` read the rest.

    A body that is not JSON is offered to the shapes that read raw bytes (audio); an event
    stream (`data: {...}` lines) is read as its first event.
    """
    if not _is_text(content_type):
        obs.body_excerpt = f"<{len(content)} bytes of {content_type.split(';', 1)[0].strip() or 'binary data'}>"
        raw = next((shape for shape in shapes if shape.read_raw is not None and shape.read_raw(content, content_type)),
                   None)
        obs.shape = raw.name if raw is not None else (SHAPE_EMPTY if not content else SHAPE_NOT_JSON)
        return
    text = content.decode("utf-8", errors="replace")
    obs.body_excerpt = excerpt(redactor.redact(text))
    if not text.strip():
        obs.shape = SHAPE_EMPTY
        return
    try:
        body = json.loads(_first_event(text))
    except ValueError:
        obs.shape = SHAPE_NOT_JSON
        return

    obs.shape = SHAPE_OTHER_JSON
    if not isinstance(body, dict):
        return
    error = body.get("error")
    if error is False:  # `"error": false` says there was none (a token counter's answer)
        error = None
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

    for shape in shapes:
        if shape.read(body, obs):
            obs.shape = shape.name
            return


def _is_text(content_type: str) -> bool:
    """Whether a body of `content_type` is text to keep (JSON, an event stream, plain text, or unsaid)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    return not kind or kind.startswith("text/") or "json" in kind or kind.endswith("+xml")


def _first_event(text: str) -> str:
    """The JSON of an event stream's first `data:` line; `text` itself when it is not a stream."""
    if not text.lstrip().startswith("data:"):
        return text
    for line in text.splitlines():
        if line.startswith("data:") and line[5:].strip() not in ("", "[DONE]"):
            return line[5:].strip()
    return text


def excerpt(text: str, limit: int = EXCERPT_LIMIT) -> str:
    """`text` cut to at most `limit` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    # Reserve room for the suffix so the excerpt never exceeds `limit`.
    keep = max(0, limit - len(f"…[{len(text)} more chars]"))
    return text[:keep] + f"…[{len(text) - keep} more chars]"
