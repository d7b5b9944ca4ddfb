"""The derived oracle over the library: checks per scenario, explicit vs derived, and open cases.

    python benchmarks/derived_census.py [--version 1.82.3] [scenarios/litellm]

Prints a Markdown table (the README's): per scenario, the written call and listing checks
(admin checks aside), the derived ones, the cases the docs leave open, and the contradictions
`both` finds; then the totals. Nothing starts: derivation reads the files only. Not a test.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.gateways import registry
from harness.model.check import Judgement
from harness.oracle.explicit import checks_for
from harness.oracle.modes import checks_for_mode
from harness.scenario.loader import load_scenarios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=["scenarios/litellm"])
    parser.add_argument("--version", default="1.82.3")
    args = parser.parse_args()
    rows, totals = [], [0, 0, 0, 0]
    for scenario in sorted(load_scenarios([Path(p) for p in args.paths]), key=lambda s: str(s.path)):
        gateway = registry.gateway(scenario.gateway or registry.default_name())
        written = sum(1 for c in checks_for(scenario) if c.judgement is not Judgement.ADMIN)
        derived = checks_for_mode(scenario, "derived", gateway, args.version)
        both = checks_for_mode(scenario, "both", gateway, args.version)
        counts = [written, sum(1 for c in derived.checks if c.oracle == "derived"), len(derived.undetermined),
                  len(both.contradictions)]
        totals = [a + b for a, b in zip(totals, counts)]
        rows.append(f"| `{Path(str(scenario.path)).stem}` | " + " | ".join(map(str, counts)) + " |")
    print("| scenario | explicit | derived | undetermined | contradictions |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"| **{len(rows)} scenarios** | **{totals[0]}** | **{totals[1]}** | **{totals[2]}** | **{totals[3]}** |")


if __name__ == "__main__":
    main()
