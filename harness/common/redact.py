"""Keep secrets and machine paths out of every excerpt, log line and report.

Known secrets (master key, generated keys) are replaced by `sk-…last4`; on top of that,
anything that merely *looks* like a key, a bearer token or a password inside a connection
URL is masked too, because a secret we forgot to register must still not leak.

Reports are shared (pasted into issues, kept as CI artefacts), so paths that only make sense
on this machine do not belong in them either: the cache root, the temp folder, the home
folder and the working directory become `$GATECONFORM_CACHE_DIR` (or `~/.cache/gateconform`),
`$TMPDIR`, `~` and `.` (`redact_machine_paths`), and a scenario is recorded by a relative path
(`shareable_path`).
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable, Iterable

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
        text = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}***{m.group(3)}", text)
        return redact_machine_paths(text)


def _redact_bearer(match: re.Match[str]) -> str:
    token = match.group(2)
    if ELLIPSIS in token or token == "***":
        return match.group(0)  # already redacted above
    return f"{match.group(1)}***"


# --------------------------------------------------------------------------- machine paths

#: What each machine-specific folder is shown as; the first listed wins when two are the same
#: folder (the home folder as working directory shows as `~`). The cache root has its own
#: name only when `$GATECONFORM_CACHE_DIR` sets it or it lies outside the home folder; the
#: default one reads `~/.cache/gateconform`.
CACHE_TOKEN, TMP_TOKEN, HOME_TOKEN, CWD_TOKEN = "$GATECONFORM_CACHE_DIR", "$TMPDIR", "~", "."
# A path starts a token: at the start, after a space, quote, bracket or `=`/`:`/`,`, or as the
# path of a file:// URL; never in the middle of a URL ("http://host/tmp/x" keeps its `/tmp`).
_PATH_START = r"(?:^|(?<=[\s\"'`(\[{<,;:=|])|(?<=file://))"
# …and ends at a `/` (more path follows) or where a path cannot go on; "/tmpfs" is not "/tmp".
_PATH_END = r"(?=/|$|[\s\"'`)\]}>,;:=|!?]|\.(?:\s|$))"


def _cache_root() -> str | None:
    try:
        from harness.common.cache_root import default_cache_root

        return str(default_cache_root())
    except Exception:  # noqa: BLE001 - no cache root known: nothing to hide
        return None


@functools.lru_cache(maxsize=16)
def _machine_path_pattern(
    cwd: str, tmp: str, _environment: tuple[str | None, ...]
) -> tuple[re.Pattern[str], dict[str, str]] | None:
    """The pattern for this process's folders; cached per working directory and environment
    (reports redact thousands of strings, and finding the cache root costs file-system calls)."""
    home = os.path.expanduser("~")
    cache = _cache_root()
    if cache and not os.environ.get("GATECONFORM_CACHE_DIR") and Path(cache).is_relative_to(home):
        cache = None  # the default cache under the home folder reads better as ~/.cache/gateconform
    candidates = [(cache, CACHE_TOKEN), (tmp, TMP_TOKEN), (home, HOME_TOKEN), (cwd, CWD_TOKEN)]
    tokens: dict[str, str] = {}
    for folder, token in candidates:
        if not folder:
            continue
        for variant in (os.path.abspath(folder), os.path.realpath(folder)):
            variant = variant.rstrip("/")
            if variant and variant not in tokens:  # "" is `/`: would match every absolute path
                tokens[variant] = token
    if not tokens:
        return None
    longest_first = sorted(tokens, key=len, reverse=True)
    alternatives = "|".join(re.escape(folder) for folder in longest_first)
    return re.compile(f"{_PATH_START}({alternatives}){_PATH_END}", re.MULTILINE), tokens


def redact_machine_paths(text: str) -> str:
    """`text` with this machine's cache root, temp folder, home folder and working directory
    replaced by `$GATECONFORM_CACHE_DIR`, `$TMPDIR`, `~` and `.` wherever a path starts with one
    (the default cache root, under the home folder, reads `~/.cache/gateconform`).

    URLs are left alone (a path inside `http://host/tmp/x` is the server's, not ours).
    """
    if not text or "/" not in text:
        return text
    environment = tuple(os.environ.get(name) for name in ("HOME", "GATECONFORM_CACHE_DIR", "XDG_CACHE_HOME"))
    compiled = _machine_path_pattern(_cwd(), tempfile.gettempdir(), environment)
    if compiled is None:
        return text
    pattern, tokens = compiled
    return pattern.sub(lambda m: tokens[m.group(1)], text)


def redact_strings(value: Any, redact: Callable[[str], str]) -> Any:
    """Every string in JSON-like data (dicts, lists) passed through `redact`; keys stay."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_strings(item, redact) for item in value]
    if isinstance(value, dict):
        return {key: redact_strings(item, redact) for key, item in value.items()}
    return value


def shareable_path(path: str | Path | None) -> str | None:
    """How a scenario file is named in results and reports: never an absolute machine path.

    Relative to the working directory when the file is inside it (what the user typed, as
    `gateconform run` would take it again); else relative to the git repository holding it
    (`scenarios/x.yaml` means the same in every checkout); else just its file name.
    """
    if path is None or str(path) == "":
        return None
    given = Path(path)
    if not given.is_absolute() and ".." not in given.parts:
        return given.as_posix()  # already relative to the working directory
    absolute = Path(os.path.abspath(given))
    # Both spellings: /tmp may be a link (macOS: /private/tmp), and getcwd() gives the real one.
    candidates = list(dict.fromkeys((absolute, Path(os.path.realpath(absolute)))))
    cwd = _cwd()
    for base in dict.fromkeys((Path(cwd), Path(os.path.realpath(cwd)))) if cwd else ():
        for candidate in candidates:
            if candidate.is_relative_to(base) and candidate != base:
                return candidate.relative_to(base).as_posix()
    for candidate in candidates:
        root = _repository_root(candidate.parent)
        if root is not None:
            return candidate.relative_to(root).as_posix()
    return absolute.name


def _cwd() -> str:
    try:
        return os.getcwd()
    except OSError:  # the working directory was removed: no prefix to hide or relate to
        return ""


def _repository_root(folder: Path) -> Path | None:
    """The nearest folder at or above `folder` holding `.git` (a folder, or a worktree's file)."""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None
