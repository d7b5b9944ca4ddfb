"""`POST /v1/chat/completions` as a principal, with the model in the body: allowed or denied.

Allowed means a chat completion came back and the fake upstream received the call for that
model; the marker in the message text lets the upstream attribute the call to this probe.
The same request goes to the unversioned `/chat/completions` when a check's variant names it.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.model.check import Judgement
from harness.probes.bodies import MAX_TOKENS, chat_body
from harness.probes.kind import ProbeAsk, ProbeKind, ProbeRequest
from harness.probes.shapes import COMPLETION

__all__ = ["KIND", "MAX_TOKENS", "ChatKind"]


@dataclass(frozen=True)
class ChatKind(ProbeKind):
    """A chat completion with the model in the JSON body."""

    def request(self, ask: ProbeAsk) -> ProbeRequest:
        """The smallest chat call that names the model and carries the marker in its text."""
        return ProbeRequest(self.method, self.route_of(ask.variant), json=chat_body(ask.model, ask.marker))


KIND = ChatKind(
    name="chat",
    judgement=Judgement.CALL,
    method="POST",
    path="/v1/chat/completions",
    routes=("/v1/chat/completions", "/chat/completions"),
    takes_model=True,
    answer=COMPLETION,
    shapes=(COMPLETION,),
    reaches_upstream=True,
    default=True,
)
