"""Time the edit-and-rerun loop: one scenario rerun against a warm `gateconform up` proxy.

    python benchmarks/up_rerun.py [SCENARIO] [--version 1.108.7] [--reruns 5]

Everything runs as a user types it (`gateconform …` in a subprocess, with Python's bytecode
cache on, as on a user's machine): `up`, one first run (which adds the scenario's models to the
kept proxy), `--reruns` reruns, then, as the baseline measured in the same run, the same scenario
on the local target (a proxy booted for it), and `down`. Prints one JSON line per step and a
summary: the reruns' median and worst, and their ratio to the local run. The goal is a rerun
≤ 3 s. The machine's load before and after says how much other work skewed the numbers.
Nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "scenarios/litellm/issue-23850-access-group-limits-service-key.yaml"


def gateconform(*args: str, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run one command as a user would; (wall seconds, what it printed)."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", "from harness.cli.app import main; main()", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    return time.monotonic() - started, done


def say(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", nargs="?", type=Path, default=SEED)
    parser.add_argument("--version", default="1.108.7")
    parser.add_argument("--reruns", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gateconform-bench-up-") as folder:
        env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
        env["GATECONFORM_UP_DIR"] = str(Path(folder) / "up")
        load_before = os.getloadavg()
        seconds, done = gateconform("up", "--target", f"litellm=={args.version}", env=env)
        if done.returncode != 0:
            print(done.stdout + done.stderr, file=sys.stderr)
            return 2
        url = next(line.split("url:", 1)[1].split()[0] for line in done.stdout.splitlines() if "url:" in line)
        say(step="up", seconds=round(seconds, 2))
        try:
            runs = []
            for number in range(args.reruns + 1):
                seconds, done = gateconform("run", str(args.scenario), "--target", f"url:{url}",
                                            "--report-dir", str(Path(folder) / f"run-{number}"), env=env)
                say(step="first run (adds the models)" if number == 0 else "rerun", seconds=round(seconds, 2),
                    exit=done.returncode)
                if number:
                    runs.append(seconds)
            local, done = gateconform("run", str(args.scenario), "--target", f"litellm=={args.version}",
                                      "--report-dir", str(Path(folder) / "local"), env=env)
            say(step="baseline: local target (a proxy booted for the run)", seconds=round(local, 2),
                exit=done.returncode)
        finally:
            seconds, _done = gateconform("down", env=env)
            say(step="down", seconds=round(seconds, 2))
    say(summary=True, rerun_median_s=round(statistics.median(runs), 2), rerun_worst_s=round(max(runs), 2),
        local_run_s=round(local, 2), rerun_to_local=round(statistics.median(runs) / local, 3),
        goal_met=max(runs) <= 3.0, load_before=[round(x, 1) for x in load_before],
        load_after=[round(x, 1) for x in os.getloadavg()], cores=os.cpu_count())
    return 0


if __name__ == "__main__":
    sys.exit(main())
