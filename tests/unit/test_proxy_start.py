"""How the local target starts a proxy: the start modes, the warm parent's identity (what LiteLLM
reads at import splits parents; what it reads later does not), and the plain fallback that says why."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness.gateways.litellm import proxy_start
from harness.gateways.litellm.environments import LiteLLMEnvironment
from harness.gateways.litellm.local import LocalTarget
from harness.gateways.litellm.proxy_start import ProxyStarter, start_mode
from harness.targets.errors import TargetError
from harness.targets.lifecycle import marker_env
from harness.targets.warm_parent import ForkUnavailable


def fake_environment(tmp_path: Path) -> LiteLLMEnvironment:
    (tmp_path / "bin").mkdir(parents=True, exist_ok=True)
    real = tmp_path / "bin" / "prisma"
    real.write_text("#!/bin/sh\nexit 1\n")
    real.chmod(0o755)
    return LiteLLMEnvironment(tmp_path, "1.82.3", "0.11.0")


BASE = {"PATH": "/usr/bin", "LITELLM_LOCAL_MODEL_COST_MAP": "True", "DISABLE_SCHEMA_UPDATE": "true"}


def test_fork_is_the_default_and_plain_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(proxy_start.START_MODE_ENV, raising=False)
    assert start_mode() == "fork"
    monkeypatch.setenv(proxy_start.START_MODE_ENV, "plain")
    assert start_mode() == "plain"
    assert start_mode("fork") == "fork"  # an explicit choice wins


def test_an_unknown_start_mode_is_refused_before_anything_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(proxy_start.START_MODE_ENV, "forked")
    with pytest.raises(TargetError, match="GATECONFORM_PROXY_START='forked': use fork or plain"):
        LocalTarget("litellm==1.82.3")


@pytest.mark.parametrize("name", ["DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL", "LITELLM_LICENSE", "LITELLM_MODE",
                                  "LITELLM_LOCAL_MODEL_COST_MAP", "SSL_CERT_FILE", "HTTPS_PROXY", "ANY_NEW_VARIABLE"])
def test_a_variable_read_at_import_makes_another_warm_parent(tmp_path: Path, name: str) -> None:
    starter = ProxyStarter("fork", fake_environment(tmp_path), "t", print)
    assert starter.parent_spec(BASE).identity != starter.parent_spec({**BASE, name: "other"}).identity


def test_what_each_start_has_of_its_own_shares_one_warm_parent(tmp_path: Path) -> None:
    starter = ProxyStarter("fork", fake_environment(tmp_path), "t", print)
    one = {**BASE, "DATABASE_URL": "postgresql://a/run_1", "LITELLM_MASTER_KEY": "sk-gc-1", **marker_env("r1", "1:2")}
    two = {**BASE, "DATABASE_URL": "postgresql://a/run_2", "LITELLM_MASTER_KEY": "sk-gc-2", **marker_env("r2", "1:2")}
    assert starter.parent_spec(one).identity == starter.parent_spec(two).identity
    assert "DATABASE_URL" not in starter.parent_spec(one).env and "LITELLM_MASTER_KEY" not in starter.parent_spec(one).env
    # a scenario's own run-time variable can be declared so, and then shares the parent too
    declared = ProxyStarter("fork", fake_environment(tmp_path), "t", print, run_time=["SCENARIO_ONLY"])
    assert declared.parent_spec({**one, "SCENARIO_ONLY": "1"}).identity == declared.parent_spec(two).identity


def test_plain_mode_is_the_proxy_as_a_user_starts_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_parent(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("plain mode asked for a warm parent")

    monkeypatch.setattr(proxy_start.WARM_PARENTS, "warm", no_parent)
    monkeypatch.setattr(proxy_start.WARM_PARENTS, "parent_for", no_parent)
    starter = ProxyStarter("plain", fake_environment(tmp_path), "t", print)
    assert starter.prepare(BASE) == BASE  # the real Prisma CLI, no shim on PATH
    launch = starter.launch([sys.executable, "-c", "pass"], BASE, tmp_path, tmp_path / "proxy.log")
    assert (launch.forked, launch.how, launch.process.wait(timeout=30)) == (False, "plain start", 0)


def test_fork_mode_puts_the_shim_first_on_path_and_warms_the_parent_meanwhile(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    warmed: list[object] = []
    monkeypatch.setattr(proxy_start.WARM_PARENTS, "warm", lambda spec, log: warmed.append(spec))
    environment = fake_environment(tmp_path)
    prepared = ProxyStarter("fork", environment, "t", print).prepare(BASE)
    first = Path(prepared["PATH"].split(":")[0])
    assert (first / "prisma").is_file() and first.is_relative_to(environment.root)
    assert [spec.env["PATH"] for spec in warmed] == [prepared["PATH"]]  # the parent imports with the shim on PATH


def test_where_a_fork_is_unavailable_the_proxy_starts_plainly_and_says_why(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable(*_args: object, **_kwargs: object) -> None:
        raise ForkUnavailable("the warm parent cannot fork (unsafe): 1 other thread(s) running after the import: x")

    monkeypatch.setattr(proxy_start.WARM_PARENTS, "parent_for", unavailable)
    said: list[str] = []
    starter = ProxyStarter("fork", fake_environment(tmp_path), "litellm==1.82.3 (local)", said.append)
    launch = starter.launch([sys.executable, "-c", "pass"], BASE, tmp_path, tmp_path / "proxy.log")
    assert launch.forked is False and launch.process.wait(timeout=30) == 0
    assert said == ["litellm==1.82.3 (local): starting the proxy plainly: the warm parent cannot fork (unsafe): "
                    "1 other thread(s) running after the import: x"]


class _Exited:
    pid = 999_999_999

    def poll(self) -> int:
        return 1

    def wait(self, timeout: float | None = None) -> int:
        return 1


class _Running(_Exited):
    def poll(self) -> None:  # type: ignore[override]
        return None


class _Starter:
    """Forks a proxy that exits at once; a plain start works."""

    def __init__(self) -> None:
        self.plain_starts = 0

    def launch(self, command, env, cwd, log_path, plain=False):  # type: ignore[no-untyped-def]
        log_path.write_text("forked proxy: boom\n" if not plain else "plain proxy\n")
        if plain:
            self.plain_starts += 1
            return proxy_start.Launch(_Running(), False, "plain start")
        return proxy_start.Launch(_Exited(), True, "forked from warm parent warm-x")


def test_a_forked_proxy_that_exits_before_it_is_ready_is_started_again_plainly(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.gateways.litellm import local

    def readiness(base_url, *, label, timeout_s, log, exited, failure, on_ready=None):  # type: ignore[no-untyped-def]
        gone = exited()
        if gone is not None:
            raise TargetError(failure(gone))

    monkeypatch.setattr(local, "wait_until_ready", readiness)
    monkeypatch.setattr(local, "signal_group", lambda pgid, sig: None)
    said: list[str] = []
    target = LocalTarget("litellm==1.82.3", log=said.append)
    target.run_dir = tmp_path
    starter = _Starter()
    target._boot_proxy(starter, fake_environment(tmp_path / "env"), tmp_path / "config.yaml", 4000, {})  # type: ignore[arg-type]
    assert starter.plain_starts == 1
    assert target.started_how.startswith("plain start (after a forked start failed: ")
    assert any("the forked proxy did not start" in line and "starting it plainly" in line for line in said)
    assert (tmp_path / "proxy-forked.log").read_text() == "forked proxy: boom\n"  # kept for the curious
