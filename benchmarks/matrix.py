"""Time a matrix (scenario library × releases) at several concurrency levels.

    python benchmarks/matrix.py scenarios/ --versions 1.80.0,1.82.3,1.90.0,latest --jobs 1,2

Each level runs the whole matrix (environments are built first, outside the timing, so the
numbers are proxy boots and scenarios, as in CI with a warm cache) and prints one JSON line:
jobs, wall time, per-release time, the machine's load average before and after (other work
on the machine skews the numbers; the load says how much). Nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path


def prepare_environments(versions: list[str]) -> float:
    """Build (or find) each release's environment; returns the seconds it took."""
    from harness.common.cache_root import default_cache_root
    from harness.gateways.litellm.environment_build import ensure_environment
    from harness.gateways.litellm.wasm_engine import ensure_wasm_engine

    started = time.monotonic()
    root = default_cache_root()
    engine = ensure_wasm_engine(root)
    for version in versions:
        ensure_environment(version, root, engine.env())
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--versions", required=True)
    parser.add_argument("--jobs", default="1,2", help="comma-separated concurrency levels to time")
    parser.add_argument("--verbose", action="store_true", help="print the harness's progress lines")
    args = parser.parse_args()

    from harness.compare.matrix import run_matrix
    from harness.report.outputs import write_reports
    from harness.report.progress import as_lines
    from harness.gateways.litellm.release_list import select_releases
    from harness.scenario.loader import load_scenarios

    scenarios = load_scenarios(args.paths)
    versions = select_releases(args.versions).versions
    prepare_s = prepare_environments(versions)
    print(json.dumps({"versions": versions, "scenarios": len(scenarios), "environments_s": round(prepare_s, 1)}))
    log = (lambda message: print(message, file=sys.stderr)) if args.verbose else (lambda _message: None)
    for jobs in [int(j) for j in args.jobs.split(",")]:
        load_before = os.getloadavg()
        with tempfile.TemporaryDirectory(prefix="gateconform-bench-") as folder:
            finished = run_matrix(versions, scenarios, Path(folder), jobs, as_lines(log), draw_reports=write_reports)
        document = finished.document
        print(json.dumps({
            "jobs": jobs,
            "wall_s": round(finished.elapsed_s, 1),
            "per_release_s": {v: c.elapsed_s for v, c in document.releases.items()},
            "overall": document.overall,
            "cells": {row.id: row.cells for row in document.scenarios},
            "load_before": [round(x, 1) for x in load_before],
            "load_after": [round(x, 1) for x in os.getloadavg()],
            "cores": os.cpu_count(),
        }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
