"""Fixtures shared by the unit tests."""

from __future__ import annotations

import pytest

from harness.engine import runner
from harness.gateways.litellm import package_index
from tests.fixtures import fake_releases


@pytest.fixture(autouse=True)
def offline_index(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No unit test reaches the package index or the user's cache.

    Release lists come from `fake_releases.PUBLISHED`, the cache root is an empty folder of the
    test's own, and anything that would still ask the index fails the test loudly.
    """
    # not created yet: a test can tell whether its run created (or left empty) the cache root
    monkeypatch.setenv("GATECONFORM_CACHE_DIR", str(tmp_path_factory.mktemp("cache") / "gateconform"))
    fake_releases.install_release_list(monkeypatch)

    def no_index(*_args: object, **_kwargs: object) -> dict:
        raise AssertionError("a unit test asked the package index")

    monkeypatch.setattr(package_index, "_simple_index_document", no_index)


@pytest.fixture
def no_target(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail the test if the CLI tries to build a target; the list records any attempt."""
    started: list[str] = []

    def refuse(spec: str, log):  # type: ignore[no-untyped-def]
        started.append(spec)
        raise AssertionError("a target was started for invalid input")

    monkeypatch.setattr(runner, "make_target", refuse)
    return started
