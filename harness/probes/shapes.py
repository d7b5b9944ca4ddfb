"""Body shapes the built-in probe kinds share: OpenAI's chat completion and model list.

A shape only reads an answer that is a JSON object without an `error` (the runner reads error
bodies itself); the judge relies on the shape, never on the truncated excerpt.
"""

from __future__ import annotations

from typing import Any, Callable

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


# --------------------------------------------------------------------------- more of the surface
# Answers of the routes beyond chat and `/v1/models`, as the gateway hands them to a client. A
# shape asks for what proves the call was answered (the fields a client reads), nothing more.


def _first_item(body: dict[str, Any], key: str) -> dict[str, Any] | None:
    items = body.get(key)
    if isinstance(items, list) and items and isinstance(items[0], dict):
        return items[0]
    return None


def _is_text_completion(body: dict[str, Any], obs: Observation) -> bool:
    """`{"choices": [{"text": str}]}` (the legacy completions API)."""
    choice = _first_item(body, "choices")
    return choice is not None and isinstance(choice.get("text"), str)


def _is_embedding_list(body: dict[str, Any], obs: Observation) -> bool:
    """`{"data": [{"embedding": [float] | str}]}`."""
    item = _first_item(body, "data")
    return item is not None and isinstance(item.get("embedding"), (list, str))


def _is_response(body: dict[str, Any], obs: Observation) -> bool:
    """`{"object": "response…", "output": [...]}` (the Responses API, compacted or not)."""
    kind = body.get("object")
    return isinstance(kind, str) and kind.startswith("response") and isinstance(body.get("output"), list)


def _is_token_count(body: dict[str, Any], obs: Observation) -> bool:
    """`{"input_tokens": int}` (OpenAI's and Anthropic's) or `{"totalTokens": int}` (Gemini's)."""
    count = body.get("input_tokens", body.get("totalTokens"))
    return isinstance(count, int) and not isinstance(count, bool)


def _is_message(body: dict[str, Any], obs: Observation) -> bool:
    """`{"type": "message", "content": [{"type": ...}]}` (Anthropic's Messages API)."""
    return body.get("type") == "message" and isinstance(body.get("content"), list)


def _is_generated_content(body: dict[str, Any], obs: Observation) -> bool:
    """`{"candidates": [{"content": {"parts": [...]}}]}` (Gemini's generateContent)."""
    candidate = _first_item(body, "candidates")
    return candidate is not None and isinstance(candidate.get("content"), dict)


def _is_interaction(body: dict[str, Any], obs: Observation) -> bool:
    """`{"id": str, "outputs": [...]}` or `{"id": str, "status": str}` (Gemini's Interactions API)."""
    return isinstance(body.get("id"), str) and (isinstance(body.get("outputs"), list) or isinstance(body.get("status"), str))


def _is_image_list(body: dict[str, Any], obs: Observation) -> bool:
    """`{"data": [{"b64_json" | "url": str}]}`."""
    item = _first_item(body, "data")
    return item is not None and isinstance(item.get("b64_json", item.get("url")), str)


def _is_moderation(body: dict[str, Any], obs: Observation) -> bool:
    """`{"results": [{"flagged": bool}]}`."""
    result = _first_item(body, "results")
    return result is not None and isinstance(result.get("flagged"), bool)


def _is_transcription(body: dict[str, Any], obs: Observation) -> bool:
    """`{"text": str}`."""
    return isinstance(body.get("text"), str)


def _is_rerank(body: dict[str, Any], obs: Observation) -> bool:
    """`{"results": [{"index": int, "relevance_score": float}]}`."""
    result = _first_item(body, "results")
    return result is not None and "relevance_score" in result


def _is_ocr(body: dict[str, Any], obs: Observation) -> bool:
    """`{"pages": [{"markdown": str}]}`."""
    page = _first_item(body, "pages")
    return page is not None and isinstance(page.get("markdown"), str)


def _is_video(body: dict[str, Any], obs: Observation) -> bool:
    """`{"id": str, "object": "video", "status": str}`."""
    return body.get("object") == "video" and isinstance(body.get("id"), str)


def _is_client_secret(body: dict[str, Any], obs: Observation) -> bool:
    """`{"value": str, "expires_at": int}` (a realtime client secret) or a session with one."""
    secret = body.get("client_secret")
    return isinstance(body.get("value"), str) or (isinstance(secret, dict) and isinstance(secret.get("value"), str))


def _is_model_object(body: dict[str, Any], obs: Observation) -> bool:
    """`{"id": str, "object": "model"}`: one model, recorded as a listing of it alone."""
    if not isinstance(body.get("id"), str) or "data" in body:
        return False
    obs.listed_models = [body["id"]]
    return True


def _named_entries(field: str) -> Callable[[dict[str, Any], Observation], bool]:
    """A reader of `{"data": [{<field>: str}, ...]}` that records the names, in the gateway's order."""

    def read(body: dict[str, Any], obs: Observation) -> bool:
        data = body.get("data")
        if not isinstance(data, list):
            return False
        names = [item.get(field) for item in data if isinstance(item, dict)]
        if len(names) != len(data) or not all(isinstance(n, str) for n in names):
            return False
        obs.listed_models = names
        return True

    return read


def _is_audio(content: bytes, content_type: str) -> bool:
    """Audio bytes (`audio/*` or an octet stream), not an error text."""
    kind = content_type.split(";", 1)[0].strip().lower()
    return bool(content) and (kind.startswith("audio/") or kind == "application/octet-stream")


TEXT_COMPLETION = BodyShape("text_completion", "a text completion", _is_text_completion, '{"choices": [{"text"}]}')
EMBEDDING_LIST = BodyShape("embedding_list", "an embedding list", _is_embedding_list, '{"data": [{"embedding"}]}')
RESPONSE = BodyShape("response", "a response", _is_response, '{"object": "response", "output": [...]}')
TOKEN_COUNT = BodyShape("token_count", "a token count", _is_token_count, '{"input_tokens": int}')
MESSAGE = BodyShape("message", "a message", _is_message, '{"type": "message", "content": [...]}')
GENERATED_CONTENT = BodyShape("generated_content", "generated content", _is_generated_content,
                              '{"candidates": [{"content"}]}')
INTERACTION = BodyShape("interaction", "an interaction", _is_interaction, '{"id", "outputs"}')
IMAGE_LIST = BodyShape("image_list", "an image list", _is_image_list, '{"data": [{"b64_json"}]}')
MODERATION = BodyShape("moderation", "a moderation result", _is_moderation, '{"results": [{"flagged"}]}')
TRANSCRIPTION = BodyShape("transcription", "a transcription", _is_transcription, '{"text"}')
RERANKING = BodyShape("reranking", "a reranking", _is_rerank, '{"results": [{"relevance_score"}]}')
OCR_PAGES = BodyShape("ocr_pages", "OCR pages", _is_ocr, '{"pages": [{"markdown"}]}')
VIDEO = BodyShape("video", "a video job", _is_video, '{"id", "object": "video"}')
CLIENT_SECRET = BodyShape("client_secret", "a realtime client secret", _is_client_secret, '{"value", "expires_at"}')
AUDIO = BodyShape("audio", "audio", lambda body, obs: False, "audio bytes", read_raw=_is_audio)
MODEL_OBJECT = BodyShape("model_object", "a model", _is_model_object, '{"id", "object": "model"}')
MODEL_INFO_LIST = BodyShape("model_info_list", "a model info list", _named_entries("model_name"),
                            '{"data": [{"model_name"}]}')
MODEL_GROUP_LIST = BodyShape("model_group_list", "a model group list", _named_entries("model_group"),
                             '{"data": [{"model_group"}]}')
