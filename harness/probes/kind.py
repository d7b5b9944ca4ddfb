"""What a probe kind is: one way of asking a gateway whether a principal has access.

A kind is one small module (`list_models.py`, `chat.py`) and one line in `registry.py`. It
declares, as data and small pure functions, everything the rest of the harness needs:

- its name (the `probe` segment of check ids and the `probe` of results.json), whether its
  checks name a model, and the judgement that decides them (a listing: the exact set; a call:
  allowed or denied);
- its request (method, path, query, headers, JSON body) for a principal, model and marker, so
  the model may sit in the body, the path or the query string;
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
from urllib.parse import urlencode

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


@dataclass(frozen=True)
class ProbeRequest:
    """One HTTP request as data; the runner adds the key (`auth_headers`) and the marker header."""

    method: str
    path: str  # may carry the model, e.g. /openai/deployments/gpt-4o/chat/completions
    json: Any = None  # the JSON body; None sends no body
    params: Mapping[str, str] = field(default_factory=dict)  # the query string
    headers: Mapping[str, str] = field(default_factory=dict)  # beyond the key and the marker

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

    def request(self, ask: ProbeAsk) -> ProbeRequest:
        """The request for `ask`; by default `method path` without body or query."""
        return ProbeRequest(self.method, self.path)

    def auth_headers(self, key: str) -> dict[str, str]:
        """How the principal's key is sent (an Anthropic-style kind would use `x-api-key`)."""
        return {"Authorization": f"Bearer {key}"}

    def title(self, check: Check) -> str:
        """How a check of this kind reads: the standard sentence of its judgement by default."""
        return standard_title(check)

    def request_text(self, url: str | None) -> str:
        """How its request reads in reports: `POST /v1/chat/completions`."""
        return f"{self.method} {url or self.path}"
