"""What the sweep costs: the seed scenario with and without it, on one warm proxy.

    python benchmarks/sweep_cost.py --version 1.82.3 [--rounds 5] [--scenario PATH]

One proxy serves every run (`ScenarioRunner` keeps it between scenarios with the same models).
A first run of each warms the proxy's caches; then the scenario runs `--rounds` times with the
sweep off (`sweep: false`, the baseline, measured in the same process on the same proxy) and
on, alternating so that noise hits both alike. A run is the whole scenario as `gateconform run`
does it: read the proxy's routes, provision, probe, judge, tear down. The goal
(issue 11): the median with the sweep at most 2 s above the median without it. Prints one JSON
document with both medians, their difference and ratio, and how many checks each made. Not a test.

The seed's key is over-broad: its checks already show the denied models allowed, so the sweep
skips their routes (`harness.engine.probing`) and costs little. `--scenario
scenarios/litellm/key-models-list-limits-key.yaml` measures a sweep that runs in full (a key
whose denial holds, tried on every route).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

SEED = Path(__file__).parents[1] / "scenarios/litellm/issue-23850-access-group-limits-service-key.yaml"
GOAL_EXTRA_S = 2.0


def measure(version: str, rounds: int, path: Path = SEED) -> dict[str, object]:
    from harness.engine.runner import ScenarioRunner
    from harness.scenario.loader import load_scenario

    swept = load_scenario(path)
    plain = swept.model_copy(update={"sweep": False})
    timings: dict[str, list[float]] = {"without": [], "with": []}
    checks: dict[str, int] = {}
    with ScenarioRunner(f"litellm=={version}") as runner:
        for name, scenario in (("without", plain), ("with", swept)):  # warm-up, not timed
            result = runner.run(scenario)
            checks[name] = len(result.verdicts)
        for _ in range(rounds):
            for name, scenario in (("without", plain), ("with", swept)):
                started = time.monotonic()
                result = runner.run(scenario)
                timings[name].append(time.monotonic() - started)
                assert result.error is None, result.error
        coverage = runner.routes
    without, with_sweep = statistics.median(timings["without"]), statistics.median(timings["with"])
    return {
        "version": version,
        "scenario": swept.id,
        "rounds": rounds,
        "checks": checks,
        "median_without_sweep_s": round(without, 2),
        "median_with_sweep_s": round(with_sweep, 2),
        "extra_s": round(with_sweep - without, 2),
        "ratio": round(with_sweep / without, 2),
        "goal_extra_s": GOAL_EXTRA_S,
        "within_goal": with_sweep - without <= GOAL_EXTRA_S,
        "runs_s": {name: [round(t, 2) for t in values] for name, values in timings.items()},
        "route_coverage": coverage.percent_text if coverage is not None else None,
        "load_average": os.getloadavg(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", default="1.82.3")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scenario", type=Path, default=SEED)
    args = parser.parse_args()
    print(json.dumps(measure(args.version, args.rounds, args.scenario), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
