"""OCR, `POST /v1/ocr` (and `/ocr`), the model in the body.

OCR needs an OCR provider behind the model; the harness's OpenAI-compatible deployments cannot
serve it, so only a denial can be shown here (`proves_allowed=False`).
"""
# Sources: https://docs.litellm.ai/docs/ocr.

from __future__ import annotations

from harness.probes.bodies import ocr_body
from harness.probes.routed import body_model, routed_kind, same_call
from harness.probes.shapes import OCR_PAGES

KIND = routed_kind("ocr", "POST", same_call(("/v1/ocr", "/ocr"), body_model("POST", ocr_body), OCR_PAGES),
                   proves_allowed=False)
