"""JSON Schema of the scenario language, for editors (`gateconform schema`).

Point an editor at it, e.g. with the YAML language server, as the first line of a scenario:
`# yaml-language-server: $schema=scenario.schema.json`.
The schema covers shape only; name references (unknown team, undeclared model …) are
checked by the loader.
"""

from __future__ import annotations

from typing import Any

from harness.model.scenario import Scenario

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "urn:gateconform:scenario:v1"


def scenario_json_schema() -> dict[str, Any]:
    """The scenario JSON Schema (draft 2020-12), describing what a YAML scenario may contain."""
    generated = Scenario.model_json_schema(mode="validation")
    # What it is first, for a reader of the printed schema; then the generated body.
    head = {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        "title": generated.pop("title"),
        "description": generated.pop("description"),
    }
    return {**head, **generated}
