"""Time scenarios with distinct model lists (one proxy each) run one at a time and in parallel.

    python benchmarks/parallel_scenarios.py [--count 10] [--version 1.108.7] [--jobs 1,2]

Makes `--count` variants of one library scenario, each with a model list of its own (one extra
model), so each needs its own proxy; runs them with `gateconform run --jobs J` for each level
(as a user types it, in a subprocess) and prints one JSON line per level: wall time, its ratio
to the import floor (`import litellm.proxy.proxy_server` in the release's environment, timed in
the same run), the peak memory of the whole run and of one proxy (RSS summed over the run's
processes, sampled every 0.5 s), and whether every verdict and observation is the same as the
first level's (scenario and check order, outcome, status, listed models, upstream hits; response
bodies differ between any two runs by their ids and clocks). The machine's load says how much
other work skewed the numbers.
Nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "scenarios/litellm/key-models-list-limits-key.yaml"
sys.path.insert(0, str(ROOT))


def variants(count: int, folder: Path) -> list[Path]:
    """`count` copies of the base scenario, each with one extra model of its own (its own proxy)."""
    text = BASE.read_text()
    paths = []
    for number in range(count):
        path = folder / f"variant-{number:02d}.yaml"
        path.write_text(text.replace("id: litellm-key-models-list-limits-key", f"id: bench-variant-{number:02d}")
                        .replace("models: [gpt-4o, gpt-4o-mini, claude-sonnet]",
                                 f"models: [gpt-4o, gpt-4o-mini, claude-sonnet, extra-{number:02d}]", 1))
        paths.append(path)
    return paths


def essentials(document: dict) -> list:  # type: ignore[type-arg]
    """What two runs of the same scenarios must agree on, in document order."""
    rows = []
    for scenario in document["scenarios"]:
        for verdict in scenario["verdicts"]:
            seen = verdict.get("observation") or {}
            rows.append((scenario["id"], verdict["check_id"], verdict["outcome"], verdict["observed"],
                         seen.get("status"), seen.get("listed_models"), len(seen.get("upstream_hits") or [])))
    return rows


def import_floor(version: str) -> float:
    """Seconds `import litellm.proxy.proxy_server` takes in the release's environment (a fresh process)."""
    from harness.common.cache_root import default_cache_root
    from harness.gateways.litellm.environments import find_complete_environment

    environment = find_complete_environment(default_cache_root(), version, "today")
    assert environment is not None, f"build litellm {version} first (gateconform run … --target litellm=={version})"
    python = environment.bin_dir / "python"
    started = time.monotonic()
    subprocess.run([str(python), "-c", "import litellm.proxy.proxy_server"], check=True, capture_output=True,
                   env={"LITELLM_LOCAL_MODEL_COST_MAP": "True", "PATH": os.environ["PATH"]})
    return time.monotonic() - started


class MemorySampler:
    """Peak RSS of a run: its own process and every process its runs are marked with (`pid:ticks`)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_run_mb = 0.0
        self.peak_proxy_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "MemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        from harness.targets.processes import descendants, marked_processes

        while not self._stop.wait(0.5):
            owned = {pid for pid, marker in marked_processes()
                     if marker.get("GATECONFORM_RUN_OWNER", "").startswith(f"{self.pid}:")}
            by_run: dict[str, float] = {}
            for pid, marker in marked_processes():
                if pid in owned:
                    run = marker.get("GATECONFORM_RUN_ID", "")
                    by_run[run] = by_run.get(run, 0.0) + _rss_mb(pid)
            everything = owned | descendants(owned) | {self.pid}
            self.peak_run_mb = max(self.peak_run_mb, sum(_rss_mb(pid) for pid in everything))
            self.peak_proxy_mb = max([self.peak_proxy_mb, *by_run.values()])


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--version", default="1.108.7")
    parser.add_argument("--jobs", default="1,2", help="comma-separated levels of --jobs to time")
    args = parser.parse_args()
    floor = import_floor(args.version)
    print(json.dumps({"import_floor_s": round(floor, 2), "version": args.version, "scenarios": args.count}), flush=True)
    first: object = None
    first_wall = 0.0
    with tempfile.TemporaryDirectory(prefix="gateconform-bench-parallel-") as folder:
        paths = variants(args.count, Path(folder))
        for jobs in [int(level) for level in args.jobs.split(",")]:
            load_before = os.getloadavg()
            report = Path(folder) / f"jobs-{jobs}"
            started = time.monotonic()
            process = subprocess.Popen(
                [sys.executable, "-c", "from harness.cli.app import main; main()", "run", *map(str, paths),
                 "--target", f"litellm=={args.version}", "--jobs", str(jobs), "--report-dir", str(report)],
                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            with MemorySampler(process.pid) as memory:
                process.wait()
            wall = time.monotonic() - started
            document = essentials(json.loads((report / "results.json").read_text()))
            first = first or document
            first_wall = first_wall or wall
            print(json.dumps({
                "jobs": jobs, "wall_s": round(wall, 1), "wall_to_import_floor": round(wall / floor, 1),
                "to_first_level": round(wall / first_wall, 2), "exit": process.returncode, "peak_rss_run_mb": round(memory.peak_run_mb),
                "peak_rss_one_proxy_mb": round(memory.peak_proxy_mb), "same_document_as_first_level": document == first,
                "load_before": [round(x, 1) for x in load_before], "load_after": [round(x, 1) for x in os.getloadavg()],
                "cores": os.cpu_count(),
            }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
