"""A real proxy stopped (SIGSTOP) between provisioning and probes: ERROR verdicts that say the
proxy stopped answering, in bounded time, and nothing of this run left behind afterwards."""

from __future__ import annotations

import os
import signal
import tempfile
import time
from pathlib import Path

import pytest

from harness.engine import runner as runner_module
from harness.engine import timeline as timeline_module
from harness.engine.runner import ScenarioRunner
from harness.report.progress import as_lines
from harness.scenario.loader import parse_scenario
from harness.gateways.litellm.local import LocalTarget
from harness.targets.processes import running_children
from harness.model.verdict import Outcome

pytestmark = pytest.mark.integration

SCENARIO = """
id: hung-proxy
title: the proxy stops before the probes
models: [gpt-4o, gpt-4o-mini]
teams:
  - name: platform
    models: [gpt-4o-mini]
keys:
  - name: svc
    team: platform
expect:
  svc:
    lists: [gpt-4o-mini]
    can_call: [gpt-4o-mini]
    cannot_call: [gpt-4o]
"""
SILENCE = "the proxy stopped answering: no answer to GET /health/liveliness for 30 s"


def test_stopped_proxy_ends_in_error_verdicts_within_bounded_time(monkeypatch: pytest.MonkeyPatch) -> None:
    targets: list[LocalTarget] = []
    real_make_target = runner_module.make_target
    real_probe = timeline_module.probe_written_then_swept
    stopped_at: list[float] = []

    def remember_target(spec, log):  # type: ignore[no-untyped-def]
        target = real_make_target(spec, log)
        targets.append(target)
        return target

    def stop_proxy_then_probe(*args, **kwargs):  # type: ignore[no-untyped-def]
        # The seam between provisioning and probes: the world exists, no probe has been sent.
        proxy = targets[0].proxy
        assert proxy is not None
        os.kill(proxy.pid, signal.SIGSTOP)
        stopped_at.append(time.monotonic())
        return real_probe(*args, **kwargs)

    monkeypatch.setattr(runner_module, "make_target", remember_target)
    monkeypatch.setattr(timeline_module, "probe_written_then_swept", stop_proxy_then_probe)
    log: list[str] = []

    def progress(message: str) -> None:
        print(message)
        log.append(message)

    scenario_runner = ScenarioRunner("litellm==1.82.3", events=as_lines(progress))
    try:
        result = scenario_runner.run(parse_scenario(SCENARIO))
        ended_at = time.monotonic()
    finally:
        for target in targets:
            if target.proxy is not None:
                os.kill(target.proxy.pid, signal.SIGCONT)
        scenario_runner.close()

    assert stopped_at, "the probes never started (provisioning failed?)"
    waited = ended_at - stopped_at[0]
    print(f"from SIGSTOP to the scenario's result: {waited:.1f} s")
    # 30 s of silence, a 2 s look before the teardown; not 30 s per request one after another.
    assert waited < 45, f"the scenario took {waited:.0f} s after the proxy stopped"
    assert result.verdicts and all(verdict.outcome is Outcome.ERROR for verdict in result.verdicts)
    for verdict in result.verdicts:
        assert SILENCE in verdict.message, verdict.message
    assert any(line.startswith("probing hung-proxy: 0 of 3 probes answered, 10 s (no answer to GET "
                               "/health/liveliness for") for line in log), log
    assert any(line.startswith("teardown of hung-proxy: not attempted") and "left in the proxy: key gc-" in line
               for line in log), log

    # Only this run's processes and folders are looked at.
    target = targets[0]
    assert running_children(target.run_id) == [], "processes of this run survived"
    leftovers = list(Path(tempfile.gettempdir()).glob(f"gateconform-*{target.run_id}*"))
    assert leftovers == [], f"temp folders of this run survived: {leftovers}"
