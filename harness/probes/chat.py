"""`POST /v1/chat/completions` as a principal, with the model in the body: allowed or denied.

Allowed means a chat completion came back and the fake upstream received the call for that
model; the marker in the message text lets the upstream attribute the call to this probe.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.model.check import Judgement
from harness.probes.kind import ProbeAsk, ProbeKind, ProbeRequest
from harness.probes.shapes import COMPLETION
from harness.targets.upstream import marker_text

MAX_TOKENS = 5  # the fake upstream answers anyway; a real one would bill for tokens


@dataclass(frozen=True)
class ChatKind(ProbeKind):
    """A chat completion with the model in the JSON body."""

    def request(self, ask: ProbeAsk) -> ProbeRequest:
        """The smallest chat call that names the model and carries the marker in its text."""
        text = f"gateconform access probe {marker_text(ask.marker)}: reply with ok"
        body = {
            "model": ask.model,
            "messages": [{"role": "user", "content": text}],
            "max_tokens": MAX_TOKENS,
            "stream": False,
        }
        return ProbeRequest(self.method, self.path, json=body)


KIND = ChatKind(
    name="chat",
    judgement=Judgement.CALL,
    method="POST",
    path="/v1/chat/completions",
    takes_model=True,
    answer=COMPLETION,
    shapes=(COMPLETION,),
    reaches_upstream=True,
    default=True,
)
