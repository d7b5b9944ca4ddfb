"""An admin call of a scenario: creating a declared entity, or a change of its timeline.

Its checks say whether the gateway's admin API accepts or refuses the call (`Judgement.ADMIN`).
The call is made by the gateway's admin client when the timeline reaches it
(`harness.engine.timeline`), not by the probe runner, so this kind sends nothing itself
(`sent_by_probes=False`); its observation records the admin API's answer: the status, the
error body and its excerpt.
"""

from __future__ import annotations

from harness.model.check import Judgement
from harness.model.observation import SHAPE_ADMIN_ANSWER
from harness.probes.kind import BodyShape, ProbeKind

#: Any JSON object without an `error` is an admin API's acceptance body.
ADMIN_ANSWER = BodyShape(SHAPE_ADMIN_ANSWER, "an admin API answer", lambda body, obs: True)

KIND = ProbeKind(
    name="admin",
    judgement=Judgement.ADMIN,
    method="POST",
    path="(admin API)",
    takes_model=False,
    answer=ADMIN_ANSWER,
    shapes=(ADMIN_ANSWER,),
    reaches_upstream=False,
    default=True,
    sent_by_probes=False,
)
