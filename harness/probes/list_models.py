"""`GET /v1/models` as a principal: the exact set of models it lists.

Checks of this kind name no model; one request per principal serves all its listing checks.
The request carries no marker the upstream would see in a body (a listing must not reach it).
The unversioned `/models` (and Cursor's `/cursor/models`, `/cursor/v1/models`) answer the same
way; a check whose variant names one probes it.
"""

from __future__ import annotations

from harness.model.check import Judgement
from harness.probes.kind import ProbeKind
from harness.probes.shapes import COMPLETION, MODEL_LIST

KIND = ProbeKind(
    name="list_models",
    judgement=Judgement.LISTING,
    method="GET",
    path="/v1/models",
    routes=("/v1/models", "/models", "/cursor/models", "/cursor/v1/models"),
    takes_model=False,
    answer=MODEL_LIST,
    # A completion on a listing route is recorded as what it is (and judged an odd 200).
    shapes=(COMPLETION, MODEL_LIST),
    reaches_upstream=False,
    default=True,
)
