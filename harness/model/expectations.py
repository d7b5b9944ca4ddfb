"""What one key should observe: its listing and its calls, as the scenario language writes it.

Today's forms stay as they were (`lists: [..]`, `can_call: [gpt-4o]`, `cannot_call: [..]`); each
entry of a call list may also be a mapping that says more:

- `can_call: [{model: m, served_by: [east]}]`: allowed, and served by one of these deployments;
- `cannot_call: [{model: m, status: 403, error_type: …, message: <regex>}]`: denied, and denied
  that way (each field optional: a stricter check of the denial's kind);
- `may_call: [{model: m, served_by: [east], because: …}]`: either allowed or denied (the docs
  leave it open), but if allowed then served by one of these — the file says why.

`listing:` sharpens what `GET /v1/models` must show beyond (or instead of) an exact `lists`:
names it must include or exclude, and properties (no wildcard ids, no special names, no
duplicates). One listing check per key carries all of it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field

from harness.model.world import MAX_NAME_LENGTH, MAX_TEXT_LENGTH, DeclaredModelName, ModelName, Name, Strict, Text

#: A denial's message is matched as a regular expression (Python `re.search`).
Pattern = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_LENGTH)]
ErrorType = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH)]
#: Deployment ids: a deployment's `id`, or the name of a model with one implicit deployment (`openai/*`).
Served = Annotated[list[DeclaredModelName], Field(min_length=1, max_length=MAX_NAME_LENGTH)]


class AllowedCall(Strict):
    """A model the key can call, and optionally which deployments may serve it."""

    model_config = ConfigDict(title="allowed call")

    model: ModelName = Field(description="The model name the key calls.")
    served_by: Served | None = Field(
        default=None, description="Deployment ids one of which must serve the call (the fake upstream records it)."
    )


class DeniedCall(Strict):
    """A model the key cannot call, and optionally the kind of denial."""

    model_config = ConfigDict(title="denied call")

    model: ModelName = Field(description="The model name the key calls.")
    status: Annotated[int, Field(ge=400, le=499)] | None = Field(
        default=None, description="The HTTP status the denial must have (e.g. 403)."
    )
    error_type: ErrorType | None = Field(default=None, description="The error type the denial must carry.")
    message: Pattern | None = Field(
        default=None, description="A regular expression the denial's error message must match."
    )

    @property
    def strict(self) -> bool:
        """Whether it says anything about the kind of denial."""
        return self.status is not None or self.error_type is not None or self.message is not None


class EitherCall(Strict):
    """A call the docs leave open: allowed or denied, but if allowed then served by one of these."""

    model_config = ConfigDict(title="open call")

    model: ModelName = Field(description="The model name the key calls.")
    served_by: Served = Field(description="If the call is allowed, one of these deployments must serve it.")
    because: Text = Field(description="Why either outcome is acceptable (the docs' words, a maintainer's).")


def _name_to(entry_type: type) -> Any:
    def convert(value: Any) -> Any:
        return {"model": value} if isinstance(value, str) else value

    return BeforeValidator(convert, json_schema_input_type=ModelName | entry_type)


AllowedEntry = Annotated[AllowedCall, _name_to(AllowedCall)]
DeniedEntry = Annotated[DeniedCall, _name_to(DeniedCall)]


class ListingExpect(Strict):
    """What a listing must (not) show, beyond an exact set."""

    model_config = ConfigDict(title="listing")

    includes: list[ModelName] = Field(default_factory=list, description="Names the listing must show.")
    excludes: list[ModelName] = Field(default_factory=list, description="Names the listing must not show.")
    no_wildcards: bool = Field(default=False, description="No listed id may be a wildcard pattern (`*`).")
    no_special_names: bool = Field(
        default=False, description="No listed id may be one of the gateway's special names."
    )
    no_duplicates: bool = Field(default=False, description="No id may be listed twice.")

    @property
    def says_something(self) -> bool:
        return bool(self.includes or self.excludes or self.no_wildcards or self.no_special_names
                    or self.no_duplicates)


class Expectation(Strict):
    """What one key should observe. Models not mentioned are not checked."""

    model_config = ConfigDict(title="expectation")

    lists: list[ModelName] | None = Field(
        default=None,
        description=(
            "The exact set of models `GET /v1/models` must list for the key (missing and extra "
            "models both fail). `[]` means it lists nothing; leave out to not check listing."
        ),
    )
    listing: ListingExpect | None = Field(
        default=None, description="Names the listing must include or exclude, and its properties."
    )
    can_call: list[AllowedEntry] = Field(
        default_factory=list,
        description=(
            "Models the key can call: the proxy answers 2xx and the upstream gets the call. An entry "
            "may be `{model, served_by}`."
        ),
    )
    cannot_call: list[DeniedEntry] = Field(
        default_factory=list,
        description=(
            "Models the key cannot call: the proxy denies (401/403), the upstream gets nothing. An "
            "entry may be `{model, status, error_type, message}` to check the kind of denial."
        ),
    )
    may_call: list[EitherCall] = Field(
        default_factory=list,
        description="Calls the docs leave open: `{model, served_by, because}`.",
    )

    @property
    def allowed(self) -> list[str]:
        return [entry.model for entry in self.can_call]

    @property
    def denied(self) -> list[str]:
        return [entry.model for entry in self.cannot_call]

    @property
    def open(self) -> list[str]:
        return [entry.model for entry in self.may_call]

    @property
    def checks_listing(self) -> bool:
        return self.lists is not None or (self.listing is not None and self.listing.says_something)

    @property
    def empty(self) -> bool:
        return not (self.checks_listing or self.can_call or self.cannot_call or self.may_call)


#: `expect:` of a round: expectations per key name.
Expectations = dict[Name, Expectation]
