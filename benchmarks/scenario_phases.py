"""Where the ten scenarios of `proxy_start.py` spend their wall time, phase by phase.

    python benchmarks/scenario_phases.py [--version 1.82.3] [--jobs N] [--no-sweep] [--runs 1]

Runs the same ten scenarios as `proxy_start.py` (ten library scenarios, each with a model of its
own: ten proxies) from a process with no warm parent yet, as `--engine parallel` does (`--jobs`
default: `default_jobs`), with the harness's phase functions wrapped to record when each ran and
in which thread. Prints one JSON document: the wall time, its ratio to the import floor timed in
the same run, each phase's summed seconds and how many times it ran, and per worker thread how
much of the wall it was busy (the rest is idle: waiting for a lock, the warm parent, or nothing
to do). The runs share a store of OpenAPI documents of their own, empty before the first: the
first run is a first run on the environment, later ones (`--runs 2`) read what it stored.
`--no-sweep` runs the scenarios without the sweep (for comparison only: a user's run
sweeps). Instrumentation only wraps functions; it changes nothing they do. Not a test.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from proxy_start import route_documents_in, ten_scenarios  # noqa: E402
from seed_phases import import_floor_s  # noqa: E402

#: (module, attribute path, phase name): what is timed. Nested phases are reported as they are
#: (a parent phase includes its children).
PHASES = [
    ("harness.gateways.litellm.local", "reap_orphans", "start.reap_orphans"),
    ("harness.gateways.litellm.local", "resolve_version", "start.resolve_version"),
    ("harness.gateways.litellm.local", "ensure_wasm_engine", "start.wasm_engine"),
    ("harness.gateways.litellm.local", "ensure_environment", "start.environment_check"),
    ("harness.gateways.litellm.proxy_start", "ProxyStarter.prepare", "start.prepare_warm_parent_and_shim"),
    ("harness.gateways.litellm.local", "LocalTarget._database_for", "start.database"),
    ("harness.targets.shared_postgres", "SharedPostgres.server", "start.database.server"),
    ("harness.gateways.litellm.local", "database_schema", "start.database.schema"),
    ("harness.targets.postgres", "PostgresServer.migrated_template", "start.database.template"),
    ("harness.targets.postgres", "PostgresServer.create_database", "start.database.create"),
    ("harness.targets.upstream", "Upstream.start", "start.upstream"),
    ("harness.gateways.litellm.local", "LocalTarget._boot_proxy_on_free_port", "start.proxy_boot"),
    ("harness.targets.warm_parent", "WarmParent.wait_ready", "start.proxy_boot.wait_warm_parent"),
    ("harness.targets.warm_parent", "WarmParent.fork", "start.proxy_boot.fork"),
    ("harness.gateways.litellm.local", "wait_until_ready", "start.proxy_boot.readiness"),
    ("harness.engine.runner", "ScenarioRunner.endpoint_for", "scenario.target_start"),
    ("harness.gateways.litellm.admin", "LiteLLMAdapter.capabilities", "scenario.capabilities(openapi)"),
    ("harness.gateways.litellm.admin", "LiteLLMAdapter.provision", "scenario.provision"),
    ("harness.engine.timeline", "probe_written_then_swept", "scenario.probe"),
    ("harness.gateways.litellm.admin", "LiteLLMAdapter.teardown", "scenario.teardown"),
    ("harness.engine.runner", "ScenarioRunner.run", "scenario.whole"),
    ("harness.engine.runner", "ScenarioRunner.release", "stop.whole"),
    ("harness.gateways.litellm.local", "LocalTarget._stop_proxy", "stop.proxy"),
    ("harness.gateways.litellm.local", "LocalTarget._stop_upstream", "stop.upstream"),
    ("harness.gateways.litellm.local", "LocalTarget._stop_postgres", "stop.drop_database"),
    ("harness.gateways.litellm.local", "LocalTarget._kill_stragglers", "stop.stragglers"),
    ("harness.gateways.litellm.local", "LocalTarget._remove_run_dir", "stop.run_dir"),
]

RECORDS: list[tuple[str, str, float, float]] = []  # (phase, thread, start, end)
_LOCK = threading.Lock()


def _wrap(function, phase: str):  # type: ignore[no-untyped-def]
    @functools.wraps(function)
    def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
        started = time.monotonic()
        try:
            return function(*args, **kwargs)
        finally:
            with _LOCK:
                RECORDS.append((phase, threading.current_thread().name, started, time.monotonic()))
    return timed


def instrument() -> None:
    for module_name, path, phase in PHASES:
        owner = importlib.import_module(module_name)
        *parents, name = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        setattr(owner, name, _wrap(getattr(owner, name), phase))
    # the written checks and the sweep's are two calls of the probe function (a bound default)
    from harness.engine import probing

    probe = probing.probe_written_then_swept.__kwdefaults__["probe"]

    def split(*args, **kwargs):  # type: ignore[no-untyped-def]
        phase = "scenario.probe.sweep" if "concurrency" in kwargs else "scenario.probe.written"
        return _wrap(probe, phase)(*args, **kwargs)
    probing.probe_written_then_swept.__kwdefaults__["probe"] = split


def measure(version: str, jobs: int | None, sweep: bool, documents: str, timeline: bool = False) -> dict[str, object]:
    from harness.engine.grouping import group_by_models
    from harness.engine.runner import ScenarioRunner
    from harness.engine.scheduler import default_jobs
    from harness.targets.warm_parent import WARM_PARENTS

    WARM_PARENTS.stop()
    RECORDS.clear()
    scenarios = ten_scenarios()
    if not sweep:
        scenarios = _no_sweep(scenarios)
    jobs = jobs or default_jobs(groups=len(group_by_models(scenarios)))
    stored_before = any(Path(documents).iterdir())
    started = time.monotonic()
    with route_documents_in(documents), ScenarioRunner(f"litellm=={version}") as runner:
        result = runner.run_all(scenarios, jobs=jobs)
    wall = time.monotonic() - started
    parent_import = [p.import_s for p in WARM_PARENTS.parents() if p.import_s]
    totals: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    busy: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for phase, thread, begin, end in RECORDS:
        totals[phase] += end - begin
        counts[phase] += 1
        if phase in ("scenario.whole", "stop.whole"):
            busy[thread].append((begin, end))
    threads = {thread: round(sum(e - b for b, e in spans), 1) for thread, spans in sorted(busy.items())}
    checks = sum(len(s.verdicts) for s in result.scenarios)
    return {
        "jobs": jobs, "sweep": sweep, "route_documents_stored_before": stored_before,
        "wall_s": round(wall, 1), "checks": checks,
        "errors": [s.id for s in result.scenarios if s.error],
        "warm_parent_import_s": [round(s, 2) for s in parent_import],
        "phases_s": {phase: {"total": round(totals[phase], 2), "n": counts[phase],
                             "mean": round(totals[phase] / counts[phase], 2)} for phase in sorted(totals)},
        "busy_s_by_thread": threads,
        "idle_s_by_thread": {thread: round(wall - seconds, 1) for thread, seconds in threads.items()},
        **({"timeline": [f"{thread} {begin - started:6.2f}-{end - started:6.2f} {phase}"
                         for phase, thread, begin, end in sorted(RECORDS, key=lambda r: (r[1], r[2]))]}
           if timeline else {}),
    }


def _no_sweep(scenarios):  # type: ignore[no-untyped-def]
    """The same scenarios with `sweep: false`."""
    return [s.model_copy(update={"sweep": False}) for s in scenarios]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", default="1.82.3")
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--no-sweep", action="store_true")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--timeline", action="store_true", help="also list every timed call, by thread")
    args = parser.parse_args()

    from harness.common.cache_root import default_cache_root
    from harness.gateways.litellm.environments import find_complete_environment

    environment = find_complete_environment(default_cache_root(), args.version)
    if environment is None:
        raise SystemExit(f"build litellm {args.version}'s environment first")
    instrument()
    load_before = os.getloadavg()
    floors = [import_floor_s(environment.python)]
    with tempfile.TemporaryDirectory(prefix="gateconform-bench-documents-") as documents:
        runs = [measure(args.version, args.jobs, sweep=not args.no_sweep, documents=documents, timeline=args.timeline)
                for _ in range(args.runs)]
    floors.append(import_floor_s(environment.python))
    floor = statistics.mean(floors)
    for run in runs:
        run["over_floor"] = round(float(run["wall_s"]) / floor, 2)  # type: ignore[arg-type]
    print(json.dumps({"version": args.version, "floor_import_s": [round(f, 2) for f in floors], "runs": runs,
                      "median_over_floor": statistics.median(float(r["over_floor"]) for r in runs),  # type: ignore[arg-type]
                      "load_average": {"before": load_before, "after": os.getloadavg()}}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
