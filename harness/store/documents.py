"""Reading and writing the documents a run leaves: results.json, matrix.json, bisect.json, support.json.

The one place documents reach the disk. Written shareable: machine paths (cache root, temp and
home folders, working directory) are replaced in every string, as in the reports; a results
document is also checked for the run's secrets before a byte is written. Written all or
nothing: a path that cannot be written raises `OutputError` and leaves no partial file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

from harness.common.files import write_text
from harness.common.redact import redact_machine_paths, redact_strings
from harness.model.bisect import BISECT_SCHEMA_VERSION, BisectDocument
from harness.model.matrix import MATRIX_SCHEMA, MatrixDocument
from harness.model.results import RunResult, assert_no_secrets
from harness.model.support import SUPPORT_SCHEMA, SupportDocument


def write_results(result: RunResult, path: str | Path, secrets: Iterable[str] = ()) -> Path:
    """Write `result` to `path` (parents created) after checking `secrets` are absent."""
    text = result.shareable().to_json()
    assert_no_secrets(text, secrets)
    return write_text(path, text)


def read_results(path: str | Path) -> RunResult:
    """Load a results document from disk (refuses other schema families and majors)."""
    return RunResult.from_json(Path(path).read_text(encoding="utf-8"))


def write_matrix(document: MatrixDocument, path: str | Path) -> Path:
    """Write `matrix.json` to `path`, machine paths replaced in every string."""
    data = redact_strings(json.loads(document.model_dump_json()), redact_machine_paths)
    return write_text(path, MatrixDocument.model_validate(data).model_dump_json(indent=2))


def read_matrix(path: str | Path) -> MatrixDocument:
    """Load a matrix document from disk; refuses other schema families and majors (ValueError)."""
    document = MatrixDocument.model_validate_json(Path(path).read_text(encoding="utf-8"))
    if document.schema_version != MATRIX_SCHEMA:
        raise ValueError(f"unsupported matrix schema {document.schema_version!r} (expected {MATRIX_SCHEMA!r})")
    return document


def write_bisect(document: BisectDocument, path: str | Path) -> Path:
    """Write `bisect.json` to `path`, machine paths replaced in every string."""
    data = redact_strings(document.model_dump(mode="json"), redact_machine_paths)
    return write_text(path, json.dumps(data, indent=2))


def write_support(document: SupportDocument, path: str | Path) -> Path:
    """Write `support.json` to `path`, machine paths replaced in every string."""
    data = redact_strings(document.model_dump(mode="json"), redact_machine_paths)
    return write_text(path, json.dumps(data, indent=2))


def read_support(path: str | Path) -> SupportDocument:
    """Load a support document from disk; refuses other schema families and majors (ValueError)."""
    document = SupportDocument.model_validate_json(Path(path).read_text(encoding="utf-8"))
    if document.schema_version != SUPPORT_SCHEMA:
        raise ValueError(f"unsupported support schema {document.schema_version!r} (expected {SUPPORT_SCHEMA!r})")
    return document


def read_bisect(path: str | Path) -> BisectDocument:
    """Load a bisect document from disk; refuses other schema families and majors (ValueError)."""
    document = BisectDocument.model_validate_json(Path(path).read_text(encoding="utf-8"))
    if document.schema_version != BISECT_SCHEMA_VERSION:
        raise ValueError(f"unsupported bisect schema {document.schema_version!r} (expected {BISECT_SCHEMA_VERSION!r})")
    return document
