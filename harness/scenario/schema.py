"""JSON Schema of the scenario language, for editors (`gateconform schema`).

Point an editor at it, e.g. with the YAML language server, as the first line of a scenario:
`# yaml-language-server: $schema=scenario.schema.json`.
The schema covers shape only; name references (unknown team, undeclared model …) are
checked by the loader.

It is the core language's schema plus the gateway's additions (`Vocabulary`): the special
names each owner's `models` list accepts, offered as a one-name shorthand, and the gateway's
own wording of some descriptions. It is written for one gateway: the default one unless named.
"""

from __future__ import annotations

from typing import Any

from harness.gateways import registry
from harness.gateways.base import KEY, ORGANIZATION, TEAM, USER, Vocabulary
from harness.model.scenario import Scenario
from harness.scenario.loader import GATEWAY_FIELD

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "urn:gateconform:scenario:v1"
#: The definitions holding each owner's `models` list (an update's `models` may be any owner's).
OWNER_DEFINITIONS = {TEAM: "TeamDecl", USER: "UserDecl", KEY: "KeyDecl", ORGANIZATION: "OrganizationDecl"}
UPDATE_DEFINITION = "UpdateSpec"
#: The definition of a scenario's `proxy:`, whose config sections are the gateway's.
PROXY_DEFINITION = "ProxyDecl"
#: Keys of a property's schema that annotate it rather than say what its value may be.
_ANNOTATIONS = ("default", "description", "title")


def scenario_json_schema(gateway: str | None = None) -> dict[str, Any]:
    """The scenario JSON Schema (draft 2020-12) for `gateway`'s scenarios (default: the default gateway)."""
    written_for = registry.gateway(gateway or registry.default_name())
    generated = Scenario.model_json_schema(mode="validation")
    _add_vocabulary(generated["$defs"], written_for.vocabulary)
    generated["properties"][GATEWAY_FIELD] = {
        "description": (
            "The gateway the scenario is written for: its special model names apply. Leave out "
            f"for the default gateway ({registry.default_name()})."
        ),
        "enum": [written_for.name],
        "title": "Gateway",
        "type": "string",
    }
    # What it is first, for a reader of the printed schema; then the generated body.
    head = {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        "title": generated.pop("title"),
        "description": generated.pop("description"),
    }
    return {**head, **generated}


def _add_vocabulary(definitions: dict[str, Any], vocabulary: Vocabulary) -> None:
    """Each owner's special-name shorthand and the gateway's descriptions, into the core `$defs`."""
    for owner, name in OWNER_DEFINITIONS.items():
        shorthands = vocabulary.accepted_by(owner)
        if shorthands:
            properties = definitions[name]["properties"]
            properties["models"] = _with_shorthand(properties["models"], shorthands)
    everyone = tuple(dict.fromkeys(n for owner in OWNER_DEFINITIONS for n in vocabulary.accepted_by(owner)))
    if everyone and UPDATE_DEFINITION in definitions:
        properties = definitions[UPDATE_DEFINITION]["properties"]
        properties["models"] = _with_shorthand(properties["models"], everyone)
    _add_config_sections(definitions[PROXY_DEFINITION], vocabulary)
    for where, text in vocabulary.descriptions.items():
        name, _, field = where.partition(".")
        definition = definitions[name]
        (definition["properties"][field] if field else definition)["description"] = text


def _add_config_sections(proxy: dict[str, Any], vocabulary: Vocabulary) -> None:
    """The gateway's config sections as `proxy:`'s properties; nothing else is accepted there."""
    section_schema = proxy.pop("additionalProperties")
    for name, text in vocabulary.config_sections.items():
        proxy["properties"][name] = {**section_schema, "description": text, "title": name}
    proxy["properties"] = dict(sorted(proxy["properties"].items()))
    proxy["additionalProperties"] = False


def _with_shorthand(schema: dict[str, Any], shorthands: tuple[str, ...]) -> dict[str, Any]:
    """A `models` list's schema that also accepts one of `shorthands` written alone."""
    alternatives = list(schema.get("anyOf") or [{k: v for k, v in schema.items() if k not in _ANNOTATIONS}])
    shorthand = {"enum": list(shorthands), "type": "string"}
    nullable = [i for i, alternative in enumerate(alternatives) if alternative == {"type": "null"}]
    alternatives.insert(nullable[0] if nullable else len(alternatives), shorthand)
    annotations = {k: v for k, v in schema.items() if k in _ANNOTATIONS}
    return dict(sorted({"anyOf": alternatives, **annotations}.items()))  # keys sorted, as pydantic writes them
