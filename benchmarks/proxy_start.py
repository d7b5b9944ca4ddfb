"""Proxy starts as ratios to the import floor, measured in the same run, and their memory.

    python benchmarks/proxy_start.py --version 1.82.3 [--starts 5] [--engine serial] [--no-plain]

The floor: `import litellm.proxy.proxy_server` in a fresh interpreter of the release's
environment (`seed_phases.import_floor_s`), timed before and after the rest; the mean is used.
Absolute seconds are noise on a shared 2-core machine; the ratios are steadier.

1. **Warm start** (goal ≤ 0.2 × floor): the warm parent made ready by a first start (not
   counted), then `--starts` forked starts with a shared PostgreSQL. `proxy_boot` is fork →
   `/health/readiness` with the database connected; `target_start` is the whole `start()`
   (database from template, upstream, fork, ready). Medians. One plain start (the reference
   mode: the `litellm` script, the real Prisma CLI) for comparison, unless `--no-plain`.
2. **Ten scenarios with distinct model lists** (goal ≤ 3 × floor): ten scenarios of the
   library, each given one model of its own so that each needs its own proxy, run end to end
   from a process with no warm parent yet (its import counts) by the engine `--engine` names,
   twice: as the first run on the environment (no OpenAPI document stored yet) and as a later
   run (the documents the first one stored; see `harness/gateways/litellm/route_documents.py`).
   `serial` is `ScenarioRunner.run_all`, one proxy after another; a parallel engine registers
   itself in `ENGINES` (a function of the target spec and the scenarios returning a
   `RunResult`).
3. **Memory**, sampled every 0.25 s during a second run of 2 (2 is timed without the sampler, whose
   reads of every process's smaps would slow a 2-core machine): peak PSS and RSS per forked proxy (alone, and with
   the Prisma engine it spawns), the warm parent's, and the run's (every process of this run,
   this one included): PSS counts pages shared with the warm parent once, RSS counts them in
   every process. Also how many proxies the available memory holds at the proxies' peak PSS.

Prints one JSON document. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from seed_phases import import_floor_s

LIBRARY = Path(__file__).parents[1] / "scenarios" / "litellm"


# --------------------------------------------------------------------------- memory


def memory_of(pid: int) -> tuple[int, int]:
    """(PSS, RSS) of a process in kB, (0, 0) when it is gone."""
    values = {"Pss:": 0, "Rss:": 0}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            name, _, rest = line.partition(" ")
            if name in values:
                values[name] = int(rest.split()[0])
    except (OSError, ValueError):
        pass
    return values["Pss:"], values["Rss:"]


class MemorySampler:
    """Samples every process of this run (and this process) until stopped; keeps the peaks."""

    def __init__(self, every_s: float = 0.25) -> None:
        self.every_s = every_s
        self.peak_pss: dict[int, int] = {}
        self.peak_rss: dict[int, int] = {}
        self.children: dict[int, set[int]] = {}
        self.parent_of: dict[int, int] = {}
        self.peak_run_pss = 0
        self.peak_run_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "MemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        from harness.targets.lifecycle import current_owner
        from harness.targets.processes import descendants, processes_owned_by

        owner = current_owner()
        while not self._stop.is_set():
            pids = set(processes_owned_by(owner)) | {os.getpid()}
            total_pss = total_rss = 0
            for pid in pids:
                pss, rss = memory_of(pid)
                total_pss += pss
                total_rss += rss
                self.peak_pss[pid] = max(self.peak_pss.get(pid, 0), pss)
                self.peak_rss[pid] = max(self.peak_rss.get(pid, 0), rss)
                self.children.setdefault(pid, set()).update(descendants({pid}))
                try:
                    self.parent_of[pid] = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[1])
                except (OSError, ValueError, IndexError):
                    pass
            self.peak_run_pss = max(self.peak_run_pss, total_pss)
            self.peak_run_rss = max(self.peak_run_rss, total_rss)
            self._stop.wait(self.every_s)


def _mb(kilobytes: float) -> float:
    return round(kilobytes / 1024, 1)


def available_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --------------------------------------------------------------------------- the measurements


def warm_starts(version: str, starts: int, plain: bool) -> dict[str, object]:
    from harness.gateways.litellm.local import LocalTarget
    from harness.model.scenario import ModelSpec
    from harness.targets.lifecycle import current_owner, marker_env
    from harness.targets.postgres import PostgresServer

    models = [ModelSpec("gpt-4o"), ModelSpec("gpt-4o-mini"), ModelSpec("claude-sonnet")]
    boots, totals, how = [], [], []
    with PostgresServer(extra_env=marker_env("bench-warm", current_owner())) as postgres:
        for attempt in range(starts + 1):
            with LocalTarget(f"litellm=={version}", postgres=postgres, start_mode="fork") as target:
                target.start(models)
                if attempt:  # the first start made the warm parent ready
                    boots.append(target.timings["proxy_boot_s"])
                    totals.append(target.timings["start_total_s"])
                    how.append(target.started_how)
        plain_boot = None
        if plain:
            with LocalTarget(f"litellm=={version}", postgres=postgres, start_mode="plain") as target:
                target.start(models)
                plain_boot = target.timings["proxy_boot_s"]
    return {"proxy_boot_s": [round(s, 2) for s in boots], "target_start_s": [round(s, 2) for s in totals],
            "proxy_boot_median_s": round(statistics.median(boots), 2),
            "target_start_median_s": round(statistics.median(totals), 2),
            "plain_proxy_boot_s": None if plain_boot is None else round(plain_boot, 2), "started": sorted(set(how))}


def ten_scenarios():  # type: ignore[no-untyped-def]
    """Ten library scenarios, each with one model of its own: ten distinct model lists."""
    from harness.model.scenario import ModelDecl
    from harness.scenario.loader import load_scenarios

    scenarios = load_scenarios(LIBRARY)[:10]
    return [scenario.model_copy(update={"models": [*scenario.models, ModelDecl(name=f"bench-only-{index}")]})
            for index, scenario in enumerate(scenarios)]


def run_serial(target_spec: str, scenarios):  # type: ignore[no-untyped-def]
    from harness.engine.runner import ScenarioRunner

    with ScenarioRunner(target_spec) as runner:
        return runner.run_all(scenarios)


def run_parallel(target_spec: str, scenarios):  # type: ignore[no-untyped-def]
    """As `gateconform run --jobs` with its default: as many proxies at once as cores and memory allow."""
    from harness.engine.grouping import group_by_models
    from harness.engine.runner import ScenarioRunner
    from harness.engine.scheduler import default_jobs

    with ScenarioRunner(target_spec) as runner:
        return runner.run_all(scenarios, jobs=default_jobs(groups=len(group_by_models(scenarios))))


#: Engines that run a list of scenarios on a target spec.
ENGINES: dict[str, Callable] = {"serial": run_serial, "parallel": run_parallel}


@contextmanager
def route_documents_in(folder: str) -> Iterator[None]:
    """A run as a new process would make it with `folder` as its stored OpenAPI documents
    (`harness.gateways.litellm.route_documents`): nothing read in this process yet."""
    from harness.gateways.litellm.route_documents import ROUTE_DOCUMENTS, STORED_DOCUMENTS

    ROUTE_DOCUMENTS.clear()
    original = STORED_DOCUMENTS.folder
    STORED_DOCUMENTS.folder = lambda: Path(folder)
    try:
        yield
    finally:
        STORED_DOCUMENTS.folder = original
        ROUTE_DOCUMENTS.clear()


def ten_scenarios_end_to_end(version: str, engine: str) -> dict[str, object]:
    from harness.targets.warm_parent import WARM_PARENTS

    scenarios = ten_scenarios()
    assert len({tuple(s.model_specs()) for s in scenarios}) == 10
    # Timed twice, each from cold (the warm parent's import is part of the run): the first run
    # on the environment, with no OpenAPI document stored yet, and a later one, reading the
    # documents the first stored. Both without the memory sampler: reading every process's smaps
    # four times a second costs a good part of a core on a 2-core machine, which the run would
    # pay for. Memory comes from a third run, sampled (its time is printed, never used for a ratio).
    with tempfile.TemporaryDirectory(prefix="gateconform-bench-documents-") as documents:
        seconds: dict[str, float] = {}
        for run in ("first_run", "later_run"):
            WARM_PARENTS.stop()
            with route_documents_in(documents):
                started = time.monotonic()
                result = ENGINES[engine](f"litellm=={version}", scenarios)
                seconds[run] = round(time.monotonic() - started, 1)
        WARM_PARENTS.stop()
        with route_documents_in(documents), MemorySampler() as memory:
            sampled_started = time.monotonic()
            ENGINES[engine](f"litellm=={version}", scenarios)
            sampled_elapsed = time.monotonic() - sampled_started
    parents = {p.process.pid for p in WARM_PARENTS.parents() if p.process is not None}
    proxies = [pid for pid, parent in memory.parent_of.items() if parent in parents]  # forked by a warm parent
    with_engine = [memory.peak_pss[pid] + sum(memory.peak_pss.get(c, 0) for c in memory.children.get(pid, ()))
                   for pid in proxies]
    errors = [s.id for s in result.scenarios if s.error]
    return {
        "engine": engine, "seconds": seconds, "scenarios": len(result.scenarios), "not_run": errors,
        "seconds_while_sampling_memory": round(sampled_elapsed, 1),
        "memory_mb": {
            "forked_proxies": len(proxies),
            "peak_pss_per_proxy": _mb(max((memory.peak_pss[p] for p in proxies), default=0)),
            "peak_rss_per_proxy": _mb(max((memory.peak_rss[p] for p in proxies), default=0)),
            "peak_pss_per_proxy_with_engine": _mb(max(with_engine, default=0)),
            "warm_parent_pss": _mb(max((memory.peak_pss.get(p, 0) for p in parents), default=0)),
            "warm_parent_rss": _mb(max((memory.peak_rss.get(p, 0) for p in parents), default=0)),
            "peak_run_pss": _mb(memory.peak_run_pss), "peak_run_rss": _mb(memory.peak_run_rss),
        },
        "_proxy_pss_kb": max(with_engine, default=0),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", default="1.82.3")
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--engine", default="serial", choices=sorted(ENGINES))
    parser.add_argument("--no-plain", action="store_true", help="skip the plain reference start")
    args = parser.parse_args()

    from harness.common.cache_root import default_cache_root
    from harness.gateways.litellm.environments import find_complete_environment

    environment = find_complete_environment(default_cache_root(), args.version)
    if environment is None:
        raise SystemExit(f"build litellm {args.version}'s environment first (gateconform run … --target litellm=={args.version})")
    load_before = os.getloadavg()
    floors = [import_floor_s(environment.python)]
    warm = warm_starts(args.version, args.starts, plain=not args.no_plain)
    ten = ten_scenarios_end_to_end(args.version, args.engine)
    floors.append(import_floor_s(environment.python))
    floor = statistics.mean(floors)
    proxy_kb = ten.pop("_proxy_pss_kb")
    print(json.dumps({
        "version": args.version,
        "floor_import_s": [round(f, 2) for f in floors],
        "warm_start": warm,
        "warm_start_over_floor": {
            "proxy_boot": round(float(warm["proxy_boot_median_s"]) / floor, 2),  # type: ignore[arg-type]
            "target_start": round(float(warm["target_start_median_s"]) / floor, 2),  # type: ignore[arg-type]
            "plain_proxy_boot": None if warm["plain_proxy_boot_s"] is None
            else round(float(warm["plain_proxy_boot_s"]) / floor, 2),  # type: ignore[arg-type]
        },
        "ten_scenarios": ten,
        "ten_scenarios_over_floor": {run: round(seconds / floor, 2)
                                     for run, seconds in ten["seconds"].items()},  # type: ignore[attr-defined]
        "proxies_that_fit_in_available_memory": int(available_mb() * 1024 / proxy_kb) if proxy_kb else None,
        "load_average": {"before": load_before, "after": os.getloadavg()},
    }, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
