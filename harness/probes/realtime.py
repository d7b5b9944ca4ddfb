"""OpenAI realtime sessions over HTTP: client secrets (and transcription sessions), the model in
the session. The WebSocket routes themselves are not probed (`GET /v1/realtime` upgrades).
"""
# Sources: https://docs.litellm.ai/docs/realtime.

from __future__ import annotations

from harness.probes.bodies import realtime_session_body
from harness.probes.kind import ProbeAsk, ProbeRequest
from harness.probes.routed import routed_kind, same_call
from harness.probes.shapes import CLIENT_SECRET


def session_request(ask: ProbeAsk, route: str) -> ProbeRequest:
    """A client secret: the model in the session."""
    return ProbeRequest("POST", route, json=realtime_session_body(ask.model or "", ask.marker))


def transcription_request(ask: ProbeAsk, route: str) -> ProbeRequest:
    """A transcription session: the model at the top, as OpenAI's transcription sessions take it."""
    return ProbeRequest("POST", route, json={"model": ask.model, **realtime_session_body(ask.model or "", ask.marker)})


_BASES = ("/v1/realtime", "/realtime", "/openai/v1/realtime")

KIND = routed_kind("realtime", "POST", [
    *same_call(tuple(f"{base}/client_secrets" for base in _BASES), session_request, CLIENT_SECRET),
    *same_call(tuple(f"{base}/transcription_sessions" for base in _BASES), transcription_request, CLIENT_SECRET),
], proves_allowed=False)
