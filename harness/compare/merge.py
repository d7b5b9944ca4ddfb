"""`gateconform merge`: the shards of a matrix (`matrix --shard K/N`, one per CI job) joined into one.

Each shard's folder holds its `matrix.json` (with the slice it ran, `MatrixDocument.shard`) and
one `results.json` per release it touched. Joining reads those documents only, never a proxy:
per release, the shards' results documents become one (`merge_results`, scenarios put back in
the order an unsharded run gives them), and from those the matrix document is built as `matrix`
builds it, so the merged `matrix.json` holds what one unsharded run would have written, but for
timings, run ids and the machine. A shard that is missing leaves its cells `not run` (and the
matrix undecided), and says so; shards of different matrices are refused.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from harness.common.files import OutputError
from harness.compare.matrix import MatrixRun
from harness.compare.release_run import DrawReports, ReleaseRun, write_release_documents
from harness.engine.events import EventSink, ignore
from harness.model.matrix import NOT_RUN, MatrixDocument, ScenarioRow, build_matrix
from harness.model.results import RunResult, merge_results
from harness.store.documents import read_matrix, read_results, write_matrix

MATRIX_JSON = "matrix.json"


class MergeError(ValueError):
    """The inputs are not shards of one matrix (or cannot be read): said with the file at fault."""


@dataclass(frozen=True)
class ShardFolder:
    """One shard's output: its folder and its matrix document."""

    folder: Path
    document: MatrixDocument

    @property
    def label(self) -> str:
        shard = self.document.shard
        return shard.label if shard is not None else "?"


@dataclass
class MergedMatrix(MatrixRun):
    """A merged matrix (what `run_matrix` gives), with what the user should read about the inputs."""

    notes: list[str] = field(default_factory=list)


def read_shards(paths: Sequence[Path]) -> list[ShardFolder]:
    """Each path is a shard's folder or its matrix.json; `MergeError` for one that is neither."""
    shards = []
    for path in paths:
        document_path = path / MATRIX_JSON if path.is_dir() else path
        try:
            document = read_matrix(document_path)
        except FileNotFoundError:
            raise MergeError(f"{document_path}: no such file (give each shard's report folder or its {MATRIX_JSON})")
        except ValueError as exc:
            raise MergeError(f"{document_path}: not a matrix document: {str(exc).splitlines()[0]}") from None
        if document.shard is None:
            raise MergeError(f"{document_path}: a whole matrix, not a shard (made without --shard K/N)")
        shards.append(ShardFolder(document_path.parent, document))
    return shards


def check_shards(shards: Sequence[ShardFolder]) -> list[str]:
    """`MergeError` unless the shards are distinct slices of one matrix; notes on missing shards."""
    if not shards:
        raise MergeError("nothing to merge: no shards given")
    first = shards[0].document.shard
    assert first is not None
    seen: dict[int, Path] = {}
    for shard in shards:
        info = shard.document.shard
        assert info is not None
        where = shard.folder / MATRIX_JSON
        if info.count != first.count:
            raise MergeError(f"{where}: shard {info.label} is of a matrix cut in {info.count}, "
                             f"not {first.count} like {shards[0].folder / MATRIX_JSON}")
        if info.versions != first.versions or info.scenario_order != first.scenario_order:
            raise MergeError(f"{where}: shard {info.label} is of another matrix (other releases or scenarios) "
                             f"than {shards[0].folder / MATRIX_JSON}")
        if info.index in seen:
            raise MergeError(f"shard {info.label} is given twice: {seen[info.index] / MATRIX_JSON} and {where}")
        seen[info.index] = shard.folder
    missing = [f"{index}/{first.count}" for index in range(1, first.count + 1) if index not in seen]
    if not missing:
        return []
    return [f"shard(s) {', '.join(missing)} missing: their cells are 'not run', so the matrix is undecided"]


def merge_shards(shards: Sequence[ShardFolder], folder: Path, events: EventSink = ignore,
                 draw_reports: DrawReports | None = None) -> MergedMatrix:
    """Join `shards` into `folder`: one results.json (and reports) per release, then matrix.json.

    `MergeError` for inputs that do not belong together or cannot be read; a file that cannot
    be written is named in `write_errors` (the merged verdicts are in the document all the same).
    """
    started = time.monotonic()
    notes = check_shards(shards)
    info = shards[0].document.shard
    assert info is not None
    runs: dict[str, ReleaseRun] = {}
    for version in info.versions:
        run = _merged_release(version, shards, info.scenario_order)
        if run is None:
            continue
        run.results_path = write_release_documents(run, folder / version, events, draw_reports)
        runs[version] = run
    document = build_matrix(
        info.versions,
        {version: run.result for version, run in runs.items()},
        {version: f"{version}/results.json" for version, run in runs.items() if run.results_path is not None},
        {version: run.elapsed_s for version, run in runs.items()},
        shards[0].document.jobs,
        min(shard.document.started_at for shard in shards),
    )
    _add_rows_never_run(document, info.scenario_order)
    write_errors = [run.write_error for run in runs.values() if run.write_error]
    matrix_json: Path | None = None
    try:
        matrix_json = write_matrix(document, folder / MATRIX_JSON)
    except OutputError as exc:
        write_errors.append(str(exc))
    return MergedMatrix(document, runs, folder, time.monotonic() - started, write_errors, matrix_json, notes)


def _add_rows_never_run(document: MatrixDocument, order: Sequence[str]) -> None:
    """A row of `not run` cells for each scenario no shard brought a result of (its shard is
    missing): left out, the matrix would pass without it. Rows in the matrix's scenario order."""
    rows = {row.id: row for row in document.scenarios}
    for scenario_id in order:
        if scenario_id not in rows:
            rows[scenario_id] = ScenarioRow(id=scenario_id, title=scenario_id,
                                            cells={version: NOT_RUN for version in document.versions})
    position = {scenario_id: number for number, scenario_id in enumerate(order)}
    document.scenarios = sorted(rows.values(), key=lambda row: position.get(row.id, len(position)))


def _merged_release(version: str, shards: Sequence[ShardFolder], order: Sequence[str]) -> ReleaseRun | None:
    """The one results document of `version` from every shard that ran some of it (None: none did)."""
    parts: list[RunResult] = []
    elapsed = 0.0
    for shard in shards:
        column = shard.document.releases.get(version)
        if column is None or column.results is None:
            continue
        path = shard.folder / column.results
        try:
            parts.append(read_results(path))
        except (OSError, ValueError) as exc:
            raise MergeError(f"{path}: cannot read shard {shard.label}'s results of {version}: "
                             f"{str(exc).splitlines()[0]}") from None
        elapsed += column.elapsed_s or 0.0
    if not parts:
        return None
    try:
        merged = merge_results(parts)
    except ValueError as exc:
        raise MergeError(f"release {version}: {exc}") from None
    position = {scenario_id: number for number, scenario_id in enumerate(order)}
    merged.scenarios.sort(key=lambda scenario: position.get(scenario.id, len(position)))
    return ReleaseRun(version, merged, elapsed, deps=merged.deps or "today", deps_fallback=merged.deps_fallback)
