"""The gateway's model-info listings, `GET /model/info` (and `/v1/model/info`, `/v2/model/info`):
the deployments a principal may see, by model name.

Checked for agreement with `GET /v1/models` (a model-info route that shows what `/v1/models`
hides gives access information away).
"""
# Sources: https://docs.litellm.ai/docs/proxy/model_management

from __future__ import annotations

from harness.model.check import Judgement
from harness.probes.kind import ProbeKind
from harness.probes.shapes import MODEL_INFO_LIST

KIND = ProbeKind(
    name="model_info",
    judgement=Judgement.LISTING,
    method="GET",
    path="/model/info",
    routes=("/model/info", "/v1/model/info", "/v2/model/info"),
    takes_model=False,
    answer=MODEL_INFO_LIST,
    shapes=(MODEL_INFO_LIST,),
    reaches_upstream=False,
)
