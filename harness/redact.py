"""Keep secrets out of every excerpt, log line and report.

Known secrets (master key, generated keys) are replaced by `sk-…last4`; on top of that,
anything that merely *looks* like a key, a bearer token or a password inside a connection
URL is masked too, because a secret we forgot to register must still not leak.
"""

from __future__ import annotations

import re
import threading
from typing import Iterable

ELLIPSIS = "\u2026"  # "…": cannot occur in a key, so redacted text is never redacted twice
# Secrets this short would be mostly revealed by their last 4 characters.
_MIN_LENGTH_TO_SHOW_TAIL = 8

# Only a standalone token: "task-management-service" must not turn into "ta" + "sk-…vice".
_KEY_LIKE = re.compile(r"(?<![A-Za-z0-9_\-])sk-[A-Za-z0-9_\-]{8,}")
_BEARER = re.compile(r"(?i)\b(bearer\s+)([^\s\"',;]+)")
# scheme://user:password@ -> scheme://user:***@ (postgresql, postgres+asyncpg, redis, …)
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s:/@]*:)([^\s@/]+)(@)")


def redact_key(secret: str) -> str:
    """The display form of a secret: `sk-…` and its last 4 characters (`sk-…abcd`)."""
    if len(secret) < _MIN_LENGTH_TO_SHOW_TAIL:
        return f"sk-{ELLIPSIS}****"
    return f"sk-{ELLIPSIS}{secret[-4:]}"


class Redactor:
    """Replaces known secrets and key-like strings in text. Thread-safe."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        """Register a secret; empty strings are ignored (replacing "" would mangle all text)."""
        if not secret:
            return
        with self._lock:
            if secret in self._secrets:
                return
            self._secrets.add(secret)
            # Longest first, so a secret that contains another is replaced as a whole.
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    @property
    def secrets(self) -> frozenset[str]:
        """The registered secrets (for leak assertions; never print them)."""
        with self._lock:
            return frozenset(self._secrets)

    def redact(self, text: str) -> str:
        """`text` with every known secret, key-like string, bearer token and URL password masked."""
        if not text:
            return text
        with self._lock:
            pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(lambda m: redact_key(m.group(0)), text)
        text = _KEY_LIKE.sub(lambda m: redact_key(m.group(0)), text)
        text = _BEARER.sub(_redact_bearer, text)
        return _URL_PASSWORD.sub(lambda m: f"{m.group(1)}***{m.group(3)}", text)


def _redact_bearer(match: re.Match[str]) -> str:
    token = match.group(2)
    if ELLIPSIS in token or token == "***":
        return match.group(0)  # already redacted above
    return f"{match.group(1)}***"
