"""LiteLLM's model-bearing routes, read from the running proxy's own OpenAPI document.

The proxy documents every route it serves at `/openapi.json` (717 operations on 1.108.7, 509 on
1.82.3); `app.routes` after import shows only a few, so the running proxy is asked. A route is
*model-bearing* when a client names a model of the gateway on it:

- a call: a `POST` of an LLM API family (chat, completions, embeddings, responses, Anthropic
  messages, Gemini content, images, audio, moderations, rerank, OCR, videos, realtime, the model
  helpers), the model in the body, the path or the query; its path has no parameter but the
  model (`/v1/responses/{response_id}` names a stored response, not a model); the WebSocket
  routes and `GET`s with a `model` query parameter of those families too;
- a listing: the routes that list or describe the models a key may use (`/v1/models`,
  `/v1/models/{model_id}`, `/model/info`, `/v2/model/info`, `/model_group/info`, ...);
- a pass-through: a `POST` of a provider pass-through route (`/vllm/{endpoint}`, ...).

Object APIs that name a model only as an attribute of a stored object or job (files, batches,
fine-tuning, assistants, vector stores, containers) are not counted, and neither is
`/utils/transform_request` (it shows how a request would be rewritten for a provider, without
resolving a model of the gateway's).

The families are LiteLLM's OpenAPI tags (which moved between releases: `/v1/messages` is tagged
`[beta] Anthropic /v1/messages` on 1.82.3 and `anthropic_passthrough` on 1.108.7), so a route a
new release adds to a family joins the inventory by itself and shows as not covered until a
probe kind probes it. Routes the harness cannot probe carry a note saying why.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from harness.model.routes import CALL, LISTING, PASS_THROUGH, ModelRoute, route_text

#: Where the inventory comes from (a results document says so).
SOURCE = "GET /openapi.json"

#: OpenAPI tags of the LLM API families whose requests name a model.
CALL_TAGS = frozenset({
    "chat/completions", "completions", "embeddings", "responses", "[beta] Anthropic `/v1/messages`",
    "[beta] Anthropic Messages Token Counting", "anthropic_passthrough", "google genai endpoints", "interactions",
    "images", "audio", "moderations", "rerank", "ocr", "videos", "realtime", "WebSocket", "llm utils",
})
#: Tags of provider pass-through routes (1.82.3 also tags each `<Provider> Pass-through`).
PASS_THROUGH_TAGS = frozenset({"pass-through", "llm_passthrough"})
#: Path parameters that name the model (any other names a stored object).
MODEL_PARAMETERS = frozenset({"model", "model_name"})

_LISTING = re.compile(
    r"^(/v1)?/models(/\{[^}]+\})?$|^/model/info$|^/v[12]/model/info$|^/model_group/info$|^/cursor(/v1)?/models$"
)
_PARAMETER = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")

#: Not model-bearing although a family's tag says so, and why.
NOT_MODEL_BEARING = {
    "/utils/transform_request": "shows a provider request for any model name without resolving the gateway's",
    "/api/event_logging/batch": "takes Claude Code's telemetry events, no model",
}

#: Pass-through prefixes that resolve a model of the gateway's to one of its deployments
#: ("router models", `is_passthrough_request_using_router_model` / `allm_passthrough_route` in
#: litellm/proxy/pass_through_endpoints/llm_passthrough_endpoints.py). Every other pass-through
#: forwards to the provider's public API.
ROUTER_MODEL_PASS_THROUGHS = frozenset({"vllm", "azure", "bedrock", "nvidia_nim", "gigachat"})

WEBSOCKET_NOTE = "a WebSocket route (the model is named in its upgrade request)"
CLIENT_SECRET_NOTE = "authenticates with a realtime client secret, not with a key"
EXTERNAL_NOTE = "forwards to the provider's public API, not to a deployment of the gateway"
SHADOWED_NOTE = ("answered by the pass-through {catch_all} registered before it, which forwards to the "
                 "provider's public API")

#: Routers LiteLLM includes after a pass-through catch-all of the same prefix, so the catch-all
#: answers their routes: on 1.82.3 `webrtc_router` (tag `realtime`) comes after
#: `llm_passthrough_router` in proxy_server.py, and `POST /openai/v1/realtime/client_secrets`
#: answers "Required 'OPENAI_API_KEY' in environment to make pass-through calls to OpenAI" (500),
#: the OpenAI pass-through's error. On 1.108.7 the pass-through module serves those routes itself
#: (tag `llm_passthrough`). Probing a shadowed route would ask the provider's public API.
SHADOWING_CATCH_ALLS = {"realtime": "/openai/{endpoint}"}


def model_routes(document: Mapping[str, Any]) -> tuple[ModelRoute, ...]:
    """The model-bearing operations of the proxy's OpenAPI `document`, sorted by path and method."""
    found: list[ModelRoute] = []
    paths = document.get("paths")
    for path, operations in (paths.items() if isinstance(paths, dict) else ()):
        if not isinstance(path, str) or not isinstance(operations, dict) or path in NOT_MODEL_BEARING:
            continue
        for method, operation in operations.items():
            if not isinstance(operation, dict) or method.lower() not in ("get", "post", "put", "patch", "delete"):
                continue
            route = _classify(path, method.upper(), operation)
            route = _openai_alias(route, paths) if route is not None else None
            if route is not None:
                found.append(_shadowed(route, operation, paths))
    return tuple(sorted(found, key=lambda r: (r.path, r.method)))


def _classify(path: str, method: str, operation: Mapping[str, Any]) -> ModelRoute | None:
    tags = {tag for tag in operation.get("tags") or () if isinstance(tag, str)}
    if method == "GET" and _LISTING.match(path):
        return ModelRoute(method, path, LISTING)
    if tags & PASS_THROUGH_TAGS or any(tag.endswith("Pass-through") for tag in tags):
        if method != "POST":
            return None
        provider = path.strip("/").split("/", 1)[0]
        return ModelRoute(method, path, PASS_THROUGH, None if provider in ROUTER_MODEL_PASS_THROUGHS else EXTERNAL_NOTE)
    if not tags & CALL_TAGS or set(_PARAMETER.findall(path)) - MODEL_PARAMETERS:
        return None
    if "WebSocket" in tags:
        return ModelRoute(method, path, CALL, WEBSOCKET_NOTE)
    if method == "POST":
        return ModelRoute(method, path, CALL, CLIENT_SECRET_NOTE if path.endswith("/realtime/calls") else None)
    if method == "GET" and _names_model_in_query(operation):
        return ModelRoute(method, path, CALL)
    return None


def _openai_alias(route: ModelRoute, paths: Mapping[str, Any]) -> ModelRoute | None:
    """`route`, or the call it repeats under the `/openai` prefix when LiteLLM tags it a pass-through.

    1.108.7 documents `/openai/v1/realtime/client_secrets` (and the other `/openai/v1/realtime/*`)
    with the tag `llm_passthrough`, yet serves it with the realtime router: measured, it refuses a
    denied model with the same 403 as `/v1/realtime/client_secrets`. So a pass-through route whose
    path without `/openai` is documented is classified as that route is.
    """
    if route.family != PASS_THROUGH or not route.path.startswith("/openai/v1/"):
        return route
    alias = route.path[len("/openai"):]
    operation = (paths.get(alias) or {}).get(route.method.lower())
    if not isinstance(operation, dict):
        return route
    same = _classify(alias, route.method, operation)
    return ModelRoute(route.method, route.path, same.family, same.note) if same is not None else None


def _shadowed(route: ModelRoute, operation: Mapping[str, Any], paths: Mapping[str, Any]) -> ModelRoute:
    """`route`, noted as not probed when a pass-through catch-all registered before it answers it."""
    for tag in operation.get("tags") or ():
        catch_all = SHADOWING_CATCH_ALLS.get(tag) if isinstance(tag, str) else None
        prefix = catch_all.rsplit("/", 1)[0] + "/" if catch_all else None
        if catch_all and route.path.startswith(prefix) and route.method.lower() in (paths.get(catch_all) or {}):
            note = SHADOWED_NOTE.format(catch_all=route_text(route.method, catch_all))
            return ModelRoute(route.method, route.path, route.family, note)
    return route


def _names_model_in_query(operation: Mapping[str, Any]) -> bool:
    parameters = operation.get("parameters") or ()
    return any(isinstance(p, dict) and p.get("in") == "query" and p.get("name") == "model" for p in parameters)
