"""The smallest request bodies of the LLM APIs the probe kinds speak, each carrying the marker.

Every body names its model where its API does (`model=None` leaves it out: the model is then in
the path or the query string) and carries the probe's marker in its text, so the fake upstream
attributes what reaches it to exactly one probe. Token limits are tiny: the fake upstream answers
anyway, a real provider would bill for them.
"""

from __future__ import annotations

import struct
from typing import Any

from harness.targets.upstream import marker_text

MAX_TOKENS = 5


def probe_text(marker: str) -> str:
    """The prompt every probe sends: `gateconform access probe [gateconform-probe:<marker>]: reply with ok`."""
    return f"gateconform access probe {marker_text(marker)}: reply with ok"


def _with_model(body: dict[str, Any], model: str | None) -> dict[str, Any]:
    return {"model": model, **body} if model is not None else body


def chat_body(model: str | None, marker: str) -> dict[str, Any]:
    """OpenAI chat completions."""
    body = {"messages": [{"role": "user", "content": probe_text(marker)}], "max_tokens": MAX_TOKENS, "stream": False}
    return _with_model(body, model)


def completion_body(model: str | None, marker: str) -> dict[str, Any]:
    """OpenAI's legacy completions."""
    return _with_model({"prompt": probe_text(marker), "max_tokens": MAX_TOKENS}, model)


def embedding_body(model: str | None, marker: str) -> dict[str, Any]:
    """OpenAI embeddings."""
    return _with_model({"input": probe_text(marker)}, model)


def response_body(model: str | None, marker: str) -> dict[str, Any]:
    """OpenAI's Responses API (also its compaction and input-token count)."""
    return _with_model({"input": probe_text(marker)}, model)


def message_body(model: str | None, marker: str) -> dict[str, Any]:
    """Anthropic's Messages API."""
    return _with_model({"max_tokens": MAX_TOKENS, "messages": [{"role": "user", "content": probe_text(marker)}]}, model)


def token_count_body(model: str | None, marker: str) -> dict[str, Any]:
    """Anthropic's token count (a message body without `max_tokens`)."""
    return _with_model({"messages": [{"role": "user", "content": probe_text(marker)}]}, model)


def content_body(marker: str) -> dict[str, Any]:
    """Gemini's generateContent and countTokens (the model is in the path)."""
    return {"contents": [{"role": "user", "parts": [{"text": probe_text(marker)}]}]}


def image_body(model: str | None, marker: str) -> dict[str, Any]:
    """OpenAI image generation."""
    return _with_model({"prompt": probe_text(marker), "n": 1, "size": "256x256"}, model)


def moderation_body(model: str | None, marker: str) -> dict[str, Any]:
    """OpenAI moderations."""
    return _with_model({"input": probe_text(marker)}, model)


def speech_body(model: str | None, marker: str) -> dict[str, Any]:
    """OpenAI text to speech."""
    return _with_model({"input": probe_text(marker), "voice": "alloy"}, model)


def rerank_body(model: str | None, marker: str) -> dict[str, Any]:
    """Cohere-style rerank, as gateways expose it."""
    return _with_model({"query": probe_text(marker), "documents": ["ok", "not ok"], "top_n": 1}, model)


def ocr_body(model: str | None, marker: str) -> dict[str, Any]:
    """Mistral-style OCR of a document at an address that can never resolve (it carries the marker)."""
    return _with_model({"document": {"type": "document_url",
                                     "document_url": f"https://gateconform.invalid/{probe_text(marker)}"},
                        "include_image_base64": False}, model)


def video_body(model: str | None, marker: str) -> dict[str, Any]:
    """OpenAI video generation."""
    return _with_model({"prompt": probe_text(marker), "seconds": "4"}, model)


def realtime_session_body(model: str, marker: str) -> dict[str, Any]:
    """OpenAI realtime client secrets (the model sits in the session)."""
    return {"session": {"type": "realtime", "model": model, "instructions": probe_text(marker)}}


# A 1×1 transparent PNG and a 0.1 s silent WAV: the smallest files the image and audio APIs accept.
PNG_BASE64 = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")


def png_bytes() -> bytes:
    """The tiny PNG, as bytes."""
    import base64

    return base64.b64decode(PNG_BASE64)


def wav_bytes(marker: str) -> bytes:
    """A silent 0.1 s mono 8 kHz WAV whose trailing chunk carries the marker text."""
    samples = b"\x00\x00" * 800
    note = probe_text(marker).encode()
    note_chunk = b"note" + struct.pack("<I", len(note)) + note + (b"\x00" if len(note) % 2 else b"")
    fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 1, 8000, 16000, 2, 16)
    data = b"data" + struct.pack("<I", len(samples)) + samples
    body = b"WAVE" + fmt + data + note_chunk
    return b"RIFF" + struct.pack("<I", len(body)) + body
