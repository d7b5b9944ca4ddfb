"""What a probe kind is: one way of asking a gateway whether a principal has access.

A kind is one small module (`list_models.py`, `chat.py`) and one line in `registry.py`. It
declares, as data and small pure functions, everything the rest of the harness needs:

- its name (the `probe` segment of check ids and the `probe` of results.json), whether its
  checks name a model, and the judgement that decides them (a listing: the exact set; a call:
  allowed or denied);
- its routes: the route templates it can probe (its `path` first), as the proxy's OpenAPI
  document names them; a check of any other route carries that route as its `variant`, and
  route coverage (`harness.model.routes`) counts a proxy's routes a kind probes;
- its request (method, path, query, headers, JSON or multipart body) for a principal, model,
  marker and route, so the model may sit in the body, the path or the query string;
- the body shapes it recognises in an answer and what it reads from them into the Observation,
  and the one shape a 2xx must have to count (a chat completion, a model list, ...);
- whether its requests are meant to reach the fake upstream (their hits are then evidence);
- how its checks read as sentences and how its request reads in reports.

The runner (`run.py`) sends what `request()` returns, the judge picks its rule by `judgement`
and its 2xx rule by `answer`, the oracle asks which kind probes written expectations, and the
reports ask how a request reads: none of them names a kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping
from urllib.parse import parse_qsl, urlencode

from harness.model.check import Check, Judgement, standard_title
from harness.model.observation import Observation


@dataclass(frozen=True)
class ProbeAsk:
    """What one request is made for: a principal, a model (None for kinds without), a marker.

    The marker is unique per request; the fake upstream attributes what reaches it by the
    marker, so a kind that reaches the upstream must put it where the upstream finds it (the
    message text, or the `x-gateconform-probe` header the runner always adds).
    """

    principal: str
    model: str | None
    marker: str
    variant: str | None = None
    #: a model the principal may call, for kinds that name a second model next to the checked one
    companion: str | None = None


@dataclass(frozen=True)
class ProbeRequest:
    """One HTTP request as data; the runner adds the key (`auth_headers`) and the marker header."""

    method: str
    path: str  # may carry the model, e.g. /openai/deployments/gpt-4o/chat/completions
    json: Any = None  # the JSON body; None sends no body
    params: Mapping[str, str] = field(default_factory=dict)  # the query string
    headers: Mapping[str, str] = field(default_factory=dict)  # beyond the key and the marker
    #: a multipart form instead of a JSON body: its text fields, and its files (name, bytes, type)
    form: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, tuple[str, bytes, str]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The path with its query string, as an Observation records it."""
        return f"{self.path}?{urlencode(dict(self.params))}" if self.params else self.path


@dataclass(frozen=True)
class BodyShape:
    """A body shape a kind recognises in an answer (a JSON object without an `error`).

    `read(body, observation)` says whether `body` has this shape and, if so, records what it
    says (e.g. the listed models) in the observation. `noun` and `layout` word verdicts about
    a body that lacks the shape: "HTTP 200 came with a body that is not a model list
    ({"data": [{"id"}]})".
    """

    name: str  # Observation.shape, e.g. "completion"
    noun: str  # "a chat completion"
    read: Callable[[dict[str, Any], Observation], bool]
    layout: str | None = None  # '{"data": [{"id"}]}'
    #: for an answer that is not JSON (audio bytes): whether `(content, content type)` has the shape
    read_raw: Callable[[bytes, str], bool] | None = None

    @property
    def described(self) -> str:
        """`a model list ({"data": [{"id"}]})`, or the noun alone."""
        return f"{self.noun} ({self.layout})" if self.layout else self.noun


@dataclass(frozen=True)
class ProbeKind:
    """One kind of probe. Instantiate it in the kind's module (subclass it to override a
    method) and register it in `harness.probes.registry`.

    `shapes` are tried in order on every answer that is a JSON object without an `error`;
    the first that reads it names `Observation.shape`. `answer` is what a 2xx must be: for a
    call, the proof it was allowed; for a listing, a list the judge can compare.
    """

    name: str  # "chat": check ids, results.json `probe`; no "::"
    judgement: Judgement
    method: str  # "GET", "POST"
    path: str  # the route; reports show it when no request was made
    takes_model: bool  # a check names one model (and each model is its own request)
    answer: BodyShape
    shapes: tuple[BodyShape, ...]
    reaches_upstream: bool  # an allowed request reaches the fake upstream: hits are evidence
    default: bool = False  # the kind the explicit oracle probes its judgement's expectations with
    #: whether `harness.probes.run` makes its requests; False for a kind whose observation is
    #: made elsewhere (the admin calls of a scenario's timeline, `harness.engine.timeline`)
    sent_by_probes: bool = True
    #: every route template it probes, `path` first (empty: `path` alone); see the module docstring
    routes: tuple[str, ...] = ()
    #: whether an allowed call can complete on the harness's deployments (OpenAI-compatible ones at
    #: the fake upstream); a kind that can only show denials is left out when allowed models are swept
    proves_allowed: bool = True
    #: a second, allowed model goes into its requests next to the checked one (`ProbeAsk.companion`)
    needs_companion: bool = False
    #: a listing kind that takes a model: the status whose error answer means "not listed" (a 404)
    missing_status: int | None = None
    #: routes the sweep probes only when a scenario names them (or the kind) in `sweep.only`:
    #: routes whose answer for a denied model the harness's deployments cannot settle (see the kind)
    opt_in_routes: tuple[str, ...] = ()

    @property
    def all_routes(self) -> tuple[str, ...]:
        """Its routes, `path` first."""
        return self.routes or (self.path,)

    def route_of(self, variant: str | None) -> str:
        """The route a check of `variant` probes: `path` for none, else the route the variant names
        (a variant may add a documented query: `/v2/model/info?user_models_only=true`)."""
        if variant is None:
            return self.path
        route = variant.split("?", 1)[0]
        if route not in self.all_routes:
            raise ValueError(f"probe kind '{self.name}' has no route {route!r} (it probes {', '.join(self.all_routes)})")
        return route

    def variant_of(self, route: str) -> str | None:
        """The check variant that probes `route`: none for `path`, the route itself otherwise."""
        return None if route == self.path else route

    def answer_for(self, variant: str | None) -> BodyShape:
        """What a 2xx of the route `variant` names must be (kinds whose routes answer differently
        override it); `answer` by default."""
        return self.answer

    def request(self, ask: ProbeAsk) -> ProbeRequest:
        """The request for `ask`; by default `method <route>` without body, with the variant's query."""
        return ProbeRequest(self.method, self.route_of(ask.variant), params=variant_query(ask.variant))

    def auth_headers(self, key: str) -> dict[str, str]:
        """How the principal's key is sent (an Anthropic-style kind would use `x-api-key`)."""
        return {"Authorization": f"Bearer {key}"}

    def title(self, check: Check) -> str:
        """How a check of this kind reads: the standard sentence of its judgement, which names the
        route (`… via /v1/embeddings`) unless it is the default kind's own route."""
        if check.variant is None and not self.default:
            return f"{standard_title(check)} via {self.path}"
        return standard_title(check)

    def request_text(self, url: str | None) -> str:
        """How its request reads in reports: `POST /v1/chat/completions`."""
        return f"{self.method} {url or self.path}"


def variant_query(variant: str | None) -> dict[str, str]:
    """The query a variant adds to its route: `{"user_models_only": "true"}` for `/v2/model/info?user_models_only=true`."""
    if variant is None or "?" not in variant:
        return {}
    return dict(parse_qsl(variant.split("?", 1)[1], keep_blank_values=True))


def fill_route(route: str, **values: str) -> str:
    """`route` with its `{name}` parameters replaced by `values` (`/engines/{model}/...` → `/engines/gpt-4o/...`)."""
    filled = route
    for name, value in values.items():
        filled = filled.replace("{" + name + "}", value)
    if "{" in filled:
        raise ValueError(f"route {route!r} has a parameter without a value ({filled!r})")
    return filled
