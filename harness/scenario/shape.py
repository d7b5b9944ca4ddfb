"""Pass 2 of loading a scenario: the pydantic model's shape errors, in words a scenario author reads.

Types, required and unknown fields, name syntax and world sizes are the model's
(`harness.model.scenario`); this module turns each of its errors into one message, suggests the
field meant when a name is misspelt, and validates the rest of a scenario whose only problems
are unknown fields, so its reference problems can be reported in the same run.
"""

from __future__ import annotations

import copy
import types
import typing
from typing import Any, Mapping, Sequence

from pydantic import BaseModel, ValidationError

from harness.common.spelling import did_you_mean
from harness.model.scenario import (
    DECLARED_MODEL_PATTERN,
    ENV_NAME_PATTERN,
    MODEL_NAME_PATTERN,
    MODEL_REF_PATTERN,
    NAME_PATTERN,
    PROVIDER_MODEL_PATTERN,
    SLUG_PATTERN,
    URL_PATTERN,
    Scenario,
)
from harness.model.steps import WAIT_PATTERN
from harness.scenario.yaml_lines import Loc, kind_of

_PATTERN_MESSAGES = {
    NAME_PATTERN: "invalid name '{input}': use letters, digits, '-', '_' and '.', starting with a letter or digit",
    SLUG_PATTERN: "invalid id '{input}': use lowercase letters, digits, '-', '_' and '.'",
    MODEL_NAME_PATTERN: (
        "invalid model name '{input}': no spaces, no '*' (a wildcard is not a name a key calls: "
        "name a model it matches) and no '::'"
    ),
    DECLARED_MODEL_PATTERN: "invalid model name '{input}': no spaces and no '::'",
    PROVIDER_MODEL_PATTERN: "invalid provider model '{input}': write `<provider>/<model>`, e.g. `openai/gpt-4o`",
    ENV_NAME_PATTERN: "invalid environment variable name '{input}'",
    WAIT_PATTERN: "invalid wait '{input}': write a duration (`12s`, `500ms`) or `cache_ttl`",
    MODEL_REF_PATTERN: "invalid models entry '{input}': no spaces and no '::'",
    URL_PATTERN: "expected an http(s) URL, got '{input}'",
}


def validate_without_unknown_fields(data: dict, exc: ValidationError, context: Mapping[str, Any]) -> Scenario | None:
    """The scenario with its unknown fields left out, when they were its only shape problems."""
    errors = exc.errors()
    if any(err["type"] != "extra_forbidden" for err in errors):
        return None
    pruned = copy.deepcopy(data)
    for err in errors:
        parent: Any = pruned
        for part in err["loc"][:-1]:
            parent = parent[part]
        parent.pop(err["loc"][-1], None)
    try:
        return Scenario.model_validate(pruned, context=dict(context))
    except ValidationError:
        return None


def shape_message(err: dict, loc: Loc, header_fields: Sequence[str] = ()) -> str:
    """One pydantic error as a sentence; `header_fields` are top-level fields read before the model
    (suggested for a misspelt top-level field, never listed as the language's fields)."""
    kind, value = err["type"], err.get("input")
    if kind == "extra_forbidden":
        name = str(loc[-1])
        valid = fields_at(loc[:-1])
        suggestible = valid + list(header_fields) if len(loc) == 1 else valid
        hint = did_you_mean(name, suggestible) or (f" (valid fields: {', '.join(valid)})" if valid else "")
        return f"unknown field '{name}'{hint}"
    if kind == "missing":
        return f"missing required field '{loc[-1]}'"
    if kind == "string_type":
        return f"expected a string, got {kind_of(value)}{_quote_hint(value)}"
    if kind == "model_entry":
        return f"expected a model name or a mapping {{name, access_groups}}, got {kind_of(value)}{_quote_hint(value)}"
    if kind == "list_type":
        return f"expected a list, got {kind_of(value)}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping, got {kind_of(value)}"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, got {kind_of(value)}"
    if kind == "string_pattern_mismatch":
        template = _PATTERN_MESSAGES.get(err.get("ctx", {}).get("pattern", ""))
        if template:
            return template.format(input=value)
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        limit = err.get("ctx", {}).get("max_length")
        return f"longer than {limit} characters (gateconform's limit)"
    if kind == "too_short" and loc == ("models",):
        return "declare at least one model"
    if kind == "too_long":
        limit, actual = err.get("ctx", {}).get("max_length"), err.get("ctx", {}).get("actual_length")
        return (f"{actual} entries; a scenario may have at most {limit} (gateconform's limit, far above "
                "what a real scenario needs: split the world into several scenarios)")
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    return str(err["msg"])


def _quote_hint(value: Any) -> str:
    # YAML reads `1.5` as a number and `no`/`on` as booleans; quoting keeps them names.
    if isinstance(value, (bool, int, float)):
        return " (put it in quotes to make it a name)"
    return ""


def fields_at(loc: Loc) -> list[str]:
    """The valid field names of the model found at `loc` (for unknown-field suggestions)."""
    annotation: Any = Scenario
    for part in loc:
        model = _model_in(annotation)
        if model is not None and isinstance(part, str) and part in model.model_fields:
            annotation = model.model_fields[part].annotation
            continue
        container = _container_item(annotation)
        if container is None:
            return []
        annotation = container
    model = _model_in(annotation)
    return list(model.model_fields) if model else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    for candidate in _flatten(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _container_item(annotation: Any) -> Any:
    for candidate in _flatten(annotation):
        origin = typing.get_origin(candidate)
        if origin in (list, dict):
            return typing.get_args(candidate)[-1]
    return None


def _flatten(annotation: Any) -> list[Any]:
    """Unwrap Annotated and unions into the plain types they may stand for."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _flatten(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _flatten(arg)]
    return [annotation]
