"""Pure data: the scenario, checks, observations, verdicts and the documents runs produce (no I/O, no HTTP)."""
