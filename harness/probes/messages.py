"""Anthropic's Messages API, `POST /v1/messages` (and its token count), the key as `x-api-key`.

Anthropic's SDKs authenticate with `x-api-key`, so the probe does too: the route is probed the
way Anthropic-style clients use it.
"""
# Sources: https://docs.litellm.ai/docs/anthropic_unified

from __future__ import annotations

from dataclasses import dataclass

from harness.probes.bodies import message_body, token_count_body
from harness.probes.routed import RouteCall, RoutedKind, body_model, routed_kind
from harness.probes.shapes import MESSAGE, TOKEN_COUNT

ANTHROPIC_VERSION = "2023-06-01"


@dataclass(frozen=True)
class MessagesKind(RoutedKind):
    """Anthropic-style authentication and version header."""

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"x-api-key": key, "anthropic-version": ANTHROPIC_VERSION}


KIND = routed_kind("messages", "POST", [
    RouteCall("/v1/messages", body_model("POST", message_body), MESSAGE),
    RouteCall("/v1/messages/count_tokens", body_model("POST", token_count_body), TOKEN_COUNT),
], kind=MessagesKind)
