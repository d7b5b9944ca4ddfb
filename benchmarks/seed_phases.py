"""Time the phases of one seed-scenario run on the local target, against a baseline.

    python benchmarks/seed_phases.py --version 1.82.3 [--cold]

Phases: environment (cold with `--cold`: an empty gateconform cache; uv's own cache is kept),
database (PostgreSQL start, migrations, template copy), proxy boot, provisioning, probes, stop.
The baseline, measured in the same run on the same machine, is the proxy's own floor: the time
`import litellm.proxy.proxy_server` takes in that environment. `boot_over_import` says how much
our part (engine, database, readiness polling) adds to what LiteLLM needs anyway; on a noisy
2-core machine the ratio is steadier than the seconds. Prints one JSON document. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

SEED = Path(__file__).parents[1] / "scenarios/litellm/issue-23850-access-group-limits-service-key.yaml"


def import_floor_s(python: Path) -> float:
    """Seconds the proxy module takes to import in its environment (the baseline)."""
    started = time.monotonic()
    subprocess.run([str(python), "-c", "import litellm.proxy.proxy_server"], check=True,
                   capture_output=True, env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    return time.monotonic() - started


def measure(version: str) -> dict[str, object]:
    from harness.gateways.litellm.admin import Handles, LiteLLMAdapter
    from harness.oracle.explicit import checks_for
    from harness.probes.run import run_probes
    from harness.common.redact import Redactor
    from harness.scenario.loader import load_scenario
    from harness.gateways.litellm.local import LocalTarget

    scenario = load_scenario(SEED)
    checks = checks_for(scenario)
    target = LocalTarget(f"litellm=={version}")
    phases: dict[str, float] = {}
    with target:
        endpoint = target.start(scenario.model_specs())
        redactor = Redactor([endpoint.master_key])
        with LiteLLMAdapter(endpoint, redactor) as adapter:
            handles = Handles(run_id="bench")
            started = time.monotonic()
            adapter.provision(scenario, "bench", handles)
            phases["provision_s"] = time.monotonic() - started
            started = time.monotonic()
            run_probes(endpoint, handles.keys, checks, redactor)
            phases["probes_s"] = time.monotonic() - started
            adapter.teardown(handles)
        assert target.environment is not None
        python = target.environment.python
    phases.update(target.timings)
    floor = import_floor_s(python)
    return {
        "version": version,
        "phases_s": {name: round(value, 2) for name, value in sorted(phases.items())},
        "baseline_import_s": round(floor, 2),
        "boot_over_import": round(phases["proxy_boot_s"] / floor, 2),
        "load_average": os.getloadavg(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", default="1.82.3")
    parser.add_argument("--cold", action="store_true", help="build the environment into an empty cache")
    args = parser.parse_args()
    if args.cold:
        with tempfile.TemporaryDirectory(prefix="gateconform-bench-cache-") as cache:
            os.environ["GATECONFORM_CACHE_DIR"] = cache
            print(json.dumps(measure(args.version), indent=2))
    else:
        print(json.dumps(measure(args.version), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
