"""What the fake upstream answers: one provider answer per API route, stdlib only.

`upstream_server` records every request and asks `answer(route, body)` for its reply. A route is
the request path without `/v1` (`/chat/completions`, `/responses/input_tokens`, `/messages`);
each answer is the smallest body its API's clients accept: OpenAI's chat, completions,
embeddings, Responses (created, compacted, input tokens), images, moderations, speech,
transcriptions, videos and realtime sessions; Anthropic's messages and token count; rerank and
OCR in their providers' shapes. A route it does not know gets None, which the server answers
with `501 Not Implemented`: a gateway passes that on as a server error, which the judge reports
as ERROR, never as a denial.

Like `upstream_server`, this module imports nothing of the harness: the Docker target copies
both files into a container and runs the server there.
"""

from __future__ import annotations

import base64
import struct
import time
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any, Callable

REPLY_TEXT = "gateconform upstream: ok"
EMBEDDING_DIMENSIONS = 8
#: A 1×1 transparent PNG: the image every image answer carries.
PNG_BASE64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
#: A few bytes that open like an MP3 frame: what speech answers (`audio/mpeg`).
AUDIO_BYTES = b"\xff\xfb\x90\x64" + b"\x00" * 413

#: (status, JSON document or raw bytes, content type)
Answer = tuple[int, Any, str]
JSON = "application/json"


def route_of(path: str) -> str:
    """The API route of a request path: `/v1/chat/completions` → `/chat/completions`."""
    normalized = path.rstrip("/")
    return normalized[3:] if normalized.startswith("/v1/") else normalized


def parse_body(raw: bytes, content_type: str) -> dict[str, Any] | None:
    """The request body as a mapping: JSON, or a multipart form's text fields; None when neither."""
    import json

    if content_type.lower().startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
        fields: dict[str, Any] = {}
        for part in message.iter_parts() if message.is_multipart() else ():
            name = part.get_param("name", header="content-disposition")
            if isinstance(name, str) and part.get_filename() is None:
                fields[name] = part.get_content().strip() if part.get_content_maintype() == "text" else ""
        return fields
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def model_of(body: dict[str, Any]) -> str | None:
    """The model a request names: `model`, or a realtime session's `session.model`."""
    model = body.get("model")
    if isinstance(model, str):
        return model
    session = body.get("session")
    nested = session.get("model") if isinstance(session, dict) else None
    return nested if isinstance(nested, str) else None


def answer(route: str, body: dict[str, Any], response_id: str) -> Answer | None:
    """The answer to a provider call on `route`, or None for a route this fake does not speak."""
    make = _ANSWERS.get(route)
    return make(body, response_id) if make is not None else None


# --------------------------------------------------------------------------- usage and ids


def prompt_tokens(body: dict[str, Any]) -> int:
    """A deterministic stand-in for token counting: words in the request's text."""
    import json

    text = json.dumps(body.get("messages", body.get("input", body.get("prompt", ""))))
    return max(1, len(text.split()))


def usage(body: dict[str, Any]) -> dict[str, int]:
    prompt = prompt_tokens(body)
    completion = len(REPLY_TEXT.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _model(body: dict[str, Any]) -> str:
    return model_of(body) or ""


# --------------------------------------------------------------------------- OpenAI chat and completions


def chat_head(body: dict[str, Any], response_id: str, kind: str) -> dict[str, Any]:
    """What a chat completion and each of its stream chunks start with; `kind` is their `object`."""
    return {"id": response_id, "object": kind, "created": int(time.time()), "model": _model(body),
            "system_fingerprint": "gateconform"}


def chat_completion(body: dict[str, Any], response_id: str) -> dict[str, Any]:
    return {
        **chat_head(body, response_id, "chat.completion"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": REPLY_TEXT}, "logprobs": None,
                     "finish_reason": "stop"}],
        "usage": usage(body),
    }


def chat_chunks(body: dict[str, Any], response_id: str) -> list[dict[str, Any]]:
    """A streamed chat completion, chunk by chunk (usage last, only when asked for, as OpenAI does)."""
    base = chat_head(body, response_id, "chat.completion.chunk")

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return {**base, "choices": [choice]}

    words = REPLY_TEXT.split(" ")
    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": w if i == 0 else " " + w}) for i, w in enumerate(words)]
    chunks.append(chunk({}, "stop"))
    stream_options = body.get("stream_options")
    if isinstance(stream_options, dict) and stream_options.get("include_usage"):
        chunks.append({**base, "choices": [], "usage": usage(body)})
    return chunks


def _text_completion(body: dict[str, Any], response_id: str) -> Answer:
    document = {"id": response_id, "object": "text_completion", "created": int(time.time()), "model": _model(body),
                "choices": [{"index": 0, "text": REPLY_TEXT, "logprobs": None, "finish_reason": "stop"}],
                "usage": usage(body)}
    return 200, document, JSON


def embeddings(body: dict[str, Any]) -> dict[str, Any]:
    inputs = body.get("input", "")
    # A string or a single token list is one input; a list of those is many.
    if isinstance(inputs, list) and inputs and not all(isinstance(x, int) for x in inputs):
        count = len(inputs)
    else:
        count = 1
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    for index in range(count):
        vector = [round(0.1 * (index + 1) + 0.01 * d, 4) for d in range(EMBEDDING_DIMENSIONS)]
        embedding: Any = vector
        if as_base64:
            # the OpenAI SDK asks for base64 float32 by default and decodes it itself
            embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    prompt = prompt_tokens(body)
    return {"object": "list", "data": data, "model": _model(body),
            "usage": {"prompt_tokens": prompt, "total_tokens": prompt}}


# --------------------------------------------------------------------------- OpenAI Responses


def _response(body: dict[str, Any], response_id: str, kind: str = "response") -> Answer:
    prompt = prompt_tokens(body)
    output = len(REPLY_TEXT.split())
    document = {
        "id": f"resp_{response_id}", "object": kind, "created_at": int(time.time()), "status": "completed",
        "model": _model(body), "error": None, "incomplete_details": None, "instructions": None, "metadata": {},
        "output": [{"type": "message", "id": f"msg_{response_id}", "status": "completed", "role": "assistant",
                    "content": [{"type": "output_text", "text": REPLY_TEXT, "annotations": []}]}],
        "parallel_tool_calls": True, "temperature": 1.0, "tool_choice": "auto", "tools": [], "top_p": 1.0,
        "text": {"format": {"type": "text"}},
        "usage": {"input_tokens": prompt, "output_tokens": output, "total_tokens": prompt + output,
                  "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}},
    }
    return 200, document, JSON


def _input_tokens(body: dict[str, Any], response_id: str) -> Answer:
    return 200, {"object": "response.input_tokens", "input_tokens": prompt_tokens(body)}, JSON


# --------------------------------------------------------------------------- Anthropic


def _message(body: dict[str, Any], response_id: str) -> Answer:
    document = {
        "id": f"msg_{response_id}", "type": "message", "role": "assistant", "model": _model(body),
        "content": [{"type": "text", "text": REPLY_TEXT}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": prompt_tokens(body), "output_tokens": len(REPLY_TEXT.split())},
    }
    return 200, document, JSON


# --------------------------------------------------------------------------- images, audio, video, safety


def _images(body: dict[str, Any], response_id: str) -> Answer:
    return 200, {"created": int(time.time()), "data": [{"b64_json": PNG_BASE64, "revised_prompt": None}]}, JSON


def _moderation(body: dict[str, Any], response_id: str) -> Answer:
    result = {"flagged": False, "categories": {"violence": False}, "category_scores": {"violence": 0.0}}
    return 200, {"id": f"modr-{response_id}", "model": _model(body), "results": [result]}, JSON


def _speech(body: dict[str, Any], response_id: str) -> Answer:
    return 200, AUDIO_BYTES, "audio/mpeg"


def _transcription(body: dict[str, Any], response_id: str) -> Answer:
    return 200, {"text": REPLY_TEXT}, JSON


def _video(body: dict[str, Any], response_id: str) -> Answer:
    document = {"id": f"video_{response_id}", "object": "video", "model": _model(body), "status": "queued",
                "progress": 0, "created_at": int(time.time()), "seconds": "4", "size": "720x1280"}
    return 200, document, JSON


def _client_secret(body: dict[str, Any], response_id: str) -> Answer:
    expires = int(time.time()) + 600
    session = {"type": "realtime", "model": _model(body), "object": "realtime.session"}
    return 200, {"value": f"ek_{response_id}", "expires_at": expires, "session": session,
                 "client_secret": {"value": f"ek_{response_id}", "expires_at": expires}}, JSON


def _rerank(body: dict[str, Any], response_id: str) -> Answer:
    documents = body.get("documents") if isinstance(body.get("documents"), list) else ["ok"]
    results = [{"index": index, "relevance_score": round(1.0 / (index + 1), 4)} for index in range(len(documents))]
    return 200, {"id": response_id, "results": results, "meta": {"billed_units": {"search_units": 1}}}, JSON


def _ocr(body: dict[str, Any], response_id: str) -> Answer:
    page = {"index": 0, "markdown": REPLY_TEXT, "images": [], "dimensions": {"dpi": 72, "height": 1, "width": 1}}
    return 200, {"pages": [page], "model": _model(body), "usage_info": {"pages_processed": 1}}, JSON


_ANSWERS: dict[str, Callable[[dict[str, Any], str], Answer]] = {
    "/chat/completions": lambda body, rid: (200, chat_completion(body, rid), JSON),
    "/completions": _text_completion,
    "/embeddings": lambda body, rid: (200, embeddings(body), JSON),
    "/responses": _response,
    "/responses/compact": lambda body, rid: _response(body, rid, "response.compaction"),
    "/responses/input_tokens": _input_tokens,
    "/messages": _message,
    "/messages/count_tokens": _input_tokens,
    "/images/generations": _images,
    "/images/edits": _images,
    "/moderations": _moderation,
    "/audio/speech": _speech,
    "/audio/transcriptions": _transcription,
    "/videos": _video,
    "/realtime/client_secrets": _client_secret,
    "/realtime/transcription_sessions": _client_secret,
    "/rerank": _rerank,
    "/ocr": _ocr,
}
#: Every route the fake speaks (besides `GET /models`).
ROUTES = tuple(_ANSWERS)
