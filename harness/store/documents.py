"""Reading and writing the results document.

Written shareable: machine paths (cache root, temp and home folders, working directory) are
replaced in every string, as in the reports, and the text is checked for the run's secrets
before a byte is written. Written all or nothing: a path that cannot be written raises
`OutputError` and leaves no partial file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from harness.common.files import write_text
from harness.model.results import RunResult, assert_no_secrets


def write_results(result: RunResult, path: str | Path, secrets: Iterable[str] = ()) -> Path:
    """Write `result` to `path` (parents created) after checking `secrets` are absent."""
    text = result.shareable().to_json()
    assert_no_secrets(text, secrets)
    return write_text(path, text)


def read_results(path: str | Path) -> RunResult:
    """Load a results document from disk (refuses other schema families and majors)."""
    return RunResult.from_json(Path(path).read_text(encoding="utf-8"))
