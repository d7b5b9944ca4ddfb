"""Rerank, `POST /v1/rerank` (and `/rerank`, `/v2/rerank`), the model in the body.

Reranking needs a rerank provider behind the model; the harness serves every model as an
OpenAI-compatible chat deployment, so only a denial can be shown here (`proves_allowed=False`).
"""
# Sources: https://docs.litellm.ai/docs/rerank.

from __future__ import annotations

from harness.probes.bodies import rerank_body
from harness.probes.routed import body_model, routed_kind, same_call
from harness.probes.shapes import RERANKING

KIND = routed_kind("rerank", "POST", same_call(
    ("/v1/rerank", "/rerank", "/v2/rerank"), body_model("POST", rerank_body), RERANKING), proves_allowed=False)
