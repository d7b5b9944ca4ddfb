"""`gateconform explore`: worlds generated from a seed, run on a real proxy, judged by the derived oracle.

pool (the models and settings all worlds share) → worlds (Hypothesis, deterministic per seed) →
scenarios (each world a derived-oracle scenario) → session (run on one warm proxy, several at
once; findings deduplicated; each shrunk) → writer (a scenario and a bug-report draft per finding).
"""
