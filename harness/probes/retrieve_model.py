"""`GET /v1/models/{model_id}` (and `/models/{model_id}`): one model, retrieved by name.

A listing of one: a model `/v1/models` lists must be retrievable, one it hides must not be
(404). One request per model of the world. Docs: https://platform.openai.com/docs/api-reference/models/retrieve
(the OpenAI API the route follows).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.model.check import Judgement
from harness.probes.kind import ProbeAsk, ProbeKind, ProbeRequest, fill_route
from harness.probes.shapes import MODEL_OBJECT


@dataclass(frozen=True)
class RetrieveKind(ProbeKind):
    """The model in the path."""

    def request(self, ask: ProbeAsk) -> ProbeRequest:
        return ProbeRequest(self.method, fill_route(self.route_of(ask.variant), model_id=ask.model or ""))


KIND = RetrieveKind(
    name="retrieve_model",
    judgement=Judgement.LISTING,
    method="GET",
    path="/v1/models/{model_id}",
    routes=("/v1/models/{model_id}", "/models/{model_id}"),
    takes_model=True,
    answer=MODEL_OBJECT,
    shapes=(MODEL_OBJECT,),
    reaches_upstream=False,
    missing_status=404,
)
