"""Body shapes the built-in probe kinds share: OpenAI's chat completion and model list.

A shape only reads an answer that is a JSON object without an `error` (the runner reads error
bodies itself); the judge relies on the shape, never on the truncated excerpt.
"""

from __future__ import annotations

from typing import Any

from harness.model.observation import SHAPE_COMPLETION, SHAPE_MODEL_LIST, Observation
from harness.probes.kind import BodyShape


def _is_completion(body: dict[str, Any], obs: Observation) -> bool:
    """`{"choices": [{"message": {"content": str | null, ...}}], ...}`."""
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return False
    message = choices[0].get("message")
    return isinstance(message, dict) and isinstance(message.get("content"), (str, type(None)))


def _read_model_list(body: dict[str, Any], obs: Observation) -> bool:
    """`{"data": [{"id": str}, ...]}`: records the ids, in the gateway's order."""
    data = body.get("data")
    if not isinstance(data, list):
        return False
    ids = [item.get("id") for item in data if isinstance(item, dict)]
    if len(ids) != len(data) or not all(isinstance(i, str) for i in ids):
        return False  # an entry without a string id: not a listing we can trust
    obs.listed_models = ids
    return True


COMPLETION = BodyShape(SHAPE_COMPLETION, "a chat completion", _is_completion)
MODEL_LIST = BodyShape(SHAPE_MODEL_LIST, "a model list", _read_model_list, layout='{"data": [{"id"}]}')
