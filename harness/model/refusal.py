"""What a gateway's refusal looks like, as data: the answers `judge` may count as *denied*.

A refusal is the gateway declining the principal (its key, team, user …), as opposed to failing
(5xx, timeout) or rejecting the request itself (a bad body, an unknown model). Each gateway
lists its own refusals, with where they come from (`harness.gateways.base.Gateway.refusals`).
Every refusal also needs the gateway's error shape and an upstream that received nothing —
`judge` checks those for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Refusal:
    """HTTP `status` with the gateway's error shape is a refusal, if its error type is one of
    `error_types` (None: any type)."""

    status: int
    error_types: frozenset[str] | None = None

    def accepts(self, status: int, error_type: str | None) -> bool:
        """Whether an answer with this status and error type is this refusal."""
        if status != self.status:
            return False
        return self.error_types is None or error_type in self.error_types

    def __str__(self) -> str:
        if self.error_types is None:
            return str(self.status)
        return f"{self.status} {'/'.join(sorted(self.error_types))}"


def describe(refusals: Iterable[Refusal]) -> str:
    """`401/403, or 404 auth_error`: the refusals for a sentence."""
    plain = [str(r.status) for r in refusals if r.error_types is None]
    typed = [str(r) for r in refusals if r.error_types is not None]
    parts = ["/".join(plain)] if plain else []
    parts += typed
    return ", or ".join(parts)
