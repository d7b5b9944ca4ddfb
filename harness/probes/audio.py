"""OpenAI speech and transcriptions, the model in the body (transcriptions: a multipart form).

Speech answers audio bytes, transcriptions `{"text"}`. The WAV sent for transcription carries the
marker in a trailing chunk, so the fake upstream attributes the upload.
"""
# Sources: https://docs.litellm.ai/docs/text_to_speech, https://docs.litellm.ai/docs/audio_transcription.

from __future__ import annotations

from harness.probes.bodies import probe_text, speech_body, wav_bytes
from harness.probes.kind import ProbeAsk, ProbeRequest
from harness.probes.routed import RouteCall, body_model, routed_kind
from harness.probes.shapes import AUDIO, TRANSCRIPTION


def transcription_form(ask: ProbeAsk, route: str) -> ProbeRequest:
    """A multipart transcription: the model and a prompt as fields, a silent WAV as the file."""
    form = {"model": ask.model or "", "prompt": probe_text(ask.marker)}
    return ProbeRequest("POST", route, form=form, files={"file": ("probe.wav", wav_bytes(ask.marker), "audio/wav")})


KIND = routed_kind("audio", "POST", [
    RouteCall("/v1/audio/speech", body_model("POST", speech_body), AUDIO),
    RouteCall("/audio/speech", body_model("POST", speech_body), AUDIO),
    RouteCall("/v1/audio/transcriptions", transcription_form, TRANSCRIPTION),
    RouteCall("/audio/transcriptions", transcription_form, TRANSCRIPTION),
])
