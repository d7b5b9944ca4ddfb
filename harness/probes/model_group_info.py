"""`GET /model_group/info`: the model groups (model names) a principal may see, with their facts.

Checked for agreement with `GET /v1/models`.
"""
# Sources: https://docs.litellm.ai/docs/proxy/model_management

from __future__ import annotations

from harness.model.check import Judgement
from harness.probes.kind import ProbeKind
from harness.probes.shapes import MODEL_GROUP_LIST

KIND = ProbeKind(
    name="model_group_info",
    judgement=Judgement.LISTING,
    method="GET",
    path="/model_group/info",
    takes_model=False,
    answer=MODEL_GROUP_LIST,
    shapes=(MODEL_GROUP_LIST,),
    reaches_upstream=False,
)
