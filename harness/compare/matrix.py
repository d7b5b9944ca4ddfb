"""Scenarios × releases: run every scenario on every chosen release and compare the verdicts.

`run_matrix` runs releases concurrently (up to `jobs`, each release one proxy at a time), writes
one results document per release and folds them into the combined document
(`harness.model.matrix`, `matrix.json`).
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from harness.common.files import OutputError
from harness.common.machine import jobs_that_fit, total_memory_gib
from harness.compare.shards import Shard, plan_shard, shard_info
from harness.compare.release_run import DEPS_AUTO, DrawReports, ReleaseRun, failed_release_run, run_on_release
from harness.engine.events import EventSink, ReleaseFinished, ReleaseStarted
from harness.model.matrix import MatrixDocument, build_matrix
from harness.model.results import now_iso
from harness.model.scenario import Scenario
from harness.store.documents import write_matrix

#: Memory one release needs while its proxy runs (proxy ≈ 0.8–1 GiB, PostgreSQL, engine, upstream).
MEMORY_PER_JOB_GIB = 2.5


# --------------------------------------------------------------------------- running it


def default_jobs(cpu_count: int | None = None, memory_gib: float | None = None) -> int:
    """Releases to run at once: a proxy boot is ~20 s of one core, so one per core, capped by memory.

    On the 2-core / 24 GiB reference machine this is 2 (measured: see benchmarks/matrix.py).
    """
    memory = memory_gib if memory_gib is not None else total_memory_gib()
    return jobs_that_fit(MEMORY_PER_JOB_GIB, cpu_count if cpu_count is not None else os.cpu_count() or 1, memory)


@dataclass
class MatrixRun:
    """A finished matrix: the combined document and where things were written."""

    document: MatrixDocument
    runs: dict[str, ReleaseRun]
    folder: Path
    elapsed_s: float
    #: documents that could not be written (disk full …): the verdicts are in `document` still
    write_errors: list[str] = field(default_factory=list)
    #: where matrix.json was written (None: it could not be, see `write_errors`)
    matrix_json: Path | None = None


def run_matrix(
    versions: Sequence[str],
    scenarios: Sequence[Scenario],
    folder: Path,
    jobs: int,
    events: EventSink,
    deps: str = DEPS_AUTO,
    draw_reports: DrawReports | None = None,
    shard: Shard | None = None,
) -> MatrixRun:
    """Run every scenario on every release (`jobs` releases at a time) and write the documents.

    `shard`: run only that slice of the (scenario, release) cells (`harness.compare.shards`);
    the document then records the slice (`MatrixDocument.shard`) and has a column only for the
    releases the slice touches.

    `deps`: `auto` (today's dependencies, a release that does not start with them retried once
    as released), `today` or `as-released`. `events` hears each release start and finish
    (`ReleaseStarted`, `ReleaseFinished`) and, wrapped in `InRelease`, what happens in it.

    Writes `<folder>/<version>/results.json` per release, then `<folder>/matrix.json`; a file
    that cannot be written is named in `write_errors`, never raised: the verdicts come back.
    Ctrl-C stops every proxy started so far (workers finish their scenario and close) and
    re-raises KeyboardInterrupt once all of them are down.
    """
    started = time.monotonic()
    started_at = now_iso()
    plan = plan_shard(versions, scenarios, shard) if shard is not None else {v: list(scenarios) for v in versions}
    all_versions, versions = versions, [v for v in versions if v in plan]
    cancel = threading.Event()
    active: list[object] = []
    runs: dict[str, ReleaseRun] = {}

    def one_release(version: str) -> ReleaseRun:
        events(ReleaseStarted(version))
        release_started = time.monotonic()
        try:
            run = run_on_release(version, plan[version], events, folder / version, cancel, active.append, deps,
                                 draw_reports)
        except Exception as exc:  # noqa: BLE001 - one broken release must not sink the matrix
            run = failed_release_run(version, plan[version], f"harness error: {type(exc).__name__}: {exc}",
                                     time.monotonic() - release_started)
        events(ReleaseFinished(version, run.result.overall, run.elapsed_s, run.deps))
        return run

    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="release") as pool:
        futures: dict[Future[ReleaseRun], str] = {pool.submit(one_release, v): v for v in versions}
        try:
            _collect(futures, runs)
        except BaseException:
            cancel.set()
            for future in futures:
                future.cancel()
            _stop_runners(active)
            raise
    document = build_matrix(
        versions,
        {v: r.result for v, r in runs.items()},
        {v: f"{v}/results.json" for v, r in runs.items() if r.results_path is not None or r.write_error is None},
        {v: r.elapsed_s for v, r in runs.items()},
        jobs,
        started_at,
    )
    if shard is not None:
        document.shard = shard_info(shard, all_versions, scenarios, plan)
    write_errors = [r.write_error for r in runs.values() if r.write_error]
    matrix_json: Path | None = None
    try:
        matrix_json = write_matrix(document, folder / "matrix.json")
    except OutputError as exc:
        write_errors.append(str(exc))
    return MatrixRun(document, runs, folder, time.monotonic() - started, write_errors, matrix_json)


def _collect(futures: Mapping[Future[ReleaseRun], str], runs: dict[str, ReleaseRun]) -> None:
    pending = set(futures)
    while pending:
        # a timeout keeps the main thread responsive to Ctrl-C while workers run
        done, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
        for future in done:
            runs[futures[future]] = future.result()


def _stop_runners(runners: list[object]) -> None:
    for runner in runners:
        try:
            runner.close()  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - keep stopping the others
            pass
