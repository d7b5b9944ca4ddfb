"""Observations: what one probe saw, and the fake upstream's record of what reached it.

An observation records what was seen and nothing else; judging it is `harness.judge`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import SerializerFunctionWrapHandler, model_serializer

from harness.model.check import omit_unset

#: How a transport error begins when the engine gave up on the proxy (judge shortens these).
STOPPED_ANSWERING = "the proxy stopped answering"  # every silence reason
DEADLINE_PASSED = "the deadline of"  # every deadline reason


@dataclass(frozen=True)
class UpstreamHit:
    """One request the fake provider received.

    `model` is the `model` field of the JSON body (None for bodiless requests such as
    `GET /v1/models`); `marker` is the probe id found in the request, if any;
    `received_at` is `time.time()` when the request was read; `deployment` the deployment the
    call was for (its id travels in the deployment's base URL), None where the upstream could not
    tell (a record from before deployments were recorded).
    """

    model: str | None
    path: str
    marker: str | None
    received_at: float
    deployment: str | None = None

    @model_serializer(mode="wrap")
    def _without_unset_deployment(self, handler: SerializerFunctionWrapHandler) -> Any:
        return omit_unset(handler(self), "deployment")


# Body shapes (Observation.shape); judge() relies on these, not on the truncated excerpt. What
# each means is declared with the probe kinds that read it (`harness.probes.shapes`).
SHAPE_COMPLETION = "completion"  # {"choices": [{"message": {...}}], ...}
SHAPE_MODEL_LIST = "model_list"  # {"data": [{"id": str}, ...]}
SHAPE_ERROR = "error"  # {"error": {"message": str, "type": ..., ...}} (OpenAI's, and gateways that follow it)
SHAPE_ADMIN_ANSWER = "admin_answer"  # a JSON object an admin API answered with, without an error
SHAPE_OTHER_JSON = "other_json"
SHAPE_NOT_JSON = "not_json"
SHAPE_EMPTY = "empty"


@dataclass
class Observation:
    """What one probe saw. All text is redacted.

    `status` is None when no HTTP response arrived (`transport_error` says why).
    `listed_models` is set only for a list probe whose body had the OpenAI list shape.
    `upstream_hits` are the fake provider's records carrying this probe's `marker` (set only
    for kinds whose requests are meant to reach the upstream).
    `probe` and `variant` are those of the checks it serves (`harness.model.check`).
    `companion` is the other model a request named next to the checked one (an allowed model in
    the body while the checked one is in the query string, ...): the upstream serving it is no
    evidence of access to the checked model. `reference_models` is what the route a listing
    check agrees with (`Check.agrees_with`) listed for the same principal. The three are absent
    from the document when unset.
    """

    probe: str
    principal: str
    model: str | None
    status: int | None = None
    body_excerpt: str = ""
    error_type: str | None = None
    error_message: str | None = None
    listed_models: list[str] | None = None
    upstream_hits: list[UpstreamHit] = field(default_factory=list)
    transport_error: str | None = None
    elapsed_ms: float = 0.0
    marker: str | None = None
    shape: str | None = None
    url: str | None = None  # path probed, e.g. "/v1/chat/completions" (with its query string, if any)
    variant: str | None = None  # absent from the document when None, as in a check
    #: False: no recording upstream was behind the proxy, so `upstream_hits` says nothing (a url
    #: target without one); absent (None): the upstream's record is part of the evidence
    upstream_observed: bool | None = None
    companion: str | None = None
    reference_models: list[str] | None = None
    #: the reference route's error answer (`HTTP 401 auth_error: …`, its status and type) when it
    #: listed nothing: a refusal of the key there leaves nothing to compare, an outage does not
    reference_status: int | None = None
    reference_error_type: str | None = None
    reference_error_message: str | None = None

    @property
    def upstream_unknown(self) -> bool:
        """Whether what reached the provider is unknown (no recording upstream was behind the proxy)."""
        return self.upstream_observed is False

    @model_serializer(mode="wrap")
    def _without_unset_variant(self, handler: SerializerFunctionWrapHandler) -> Any:
        return omit_unset(handler(self), "variant", "upstream_observed", "companion", "reference_models",
                          "reference_status", "reference_error_type", "reference_error_message")
