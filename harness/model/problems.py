"""A problem found in an input file (a scenario, an expected-failures list), pointing at its line."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FileProblem:
    """One problem in one file. `line` is 1-based; `field` like `keys[0].team`.

    Printed as `path:line: field: message`, the form editors and terminals turn into links.
    """

    path: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
