"""Fixtures shared by the unit tests."""

from __future__ import annotations

import pytest

from harness import runner


@pytest.fixture
def no_target(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail the test if the CLI tries to build a target; the list records any attempt."""
    started: list[str] = []

    def refuse(spec: str, log):  # type: ignore[no-untyped-def]
        started.append(spec)
        raise AssertionError("a target was started for invalid input")

    monkeypatch.setattr(runner, "make_target", refuse)
    return started
