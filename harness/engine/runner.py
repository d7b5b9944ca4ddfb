"""Runs scenarios on targets: the one place the data flow of DESIGN.md is wired together.

scenario → checks → target (one proxy per target spec and model list, reused) → provision →
probes → verdicts → ScenarioResult, and always teardown. Used by the CLI and the pytest plugin.

Everything gateway-specific comes from the gateway the target spec names
(`harness.gateways.registry`): the launcher that builds the target, the admin client that
provisions and tears down, the liveness route the watch asks, the refusals the judge counts
as denied.

What happens is told as typed events (`harness.engine.events`) to the runner's `events` sink;
what targets and gateways say in free text reaches it as `TargetProgress`.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import httpx

from harness.gateways import registry
from harness.gateways.base import AdminClient, Gateway, Handles, ProvisionError
from harness.model.check import Check
from harness.oracle import checks_for_mode
from harness.oracle.sweep import sweep_checks
from harness.common.abandonable import ConnectionGuard
from harness.common.log import Log
from harness.engine.events import (
    EventSink, RunFinished, RunStarted, ScenarioFinished, ScenarioProgress, ScenarioStarted, TargetFailed,
    TargetProgress, TargetReady, TargetStarting, ignore,
)
from harness.engine.grouping import group_by_models
from harness.engine.scheduler import run_groups
from harness.engine.timeline import Timeline
from harness.engine.watch import ProxyStoppedAnswering, ProxyWatch, WatchLimits, answers, is_silence
from harness.common.redact import Redactor, shareable_path
from harness.model.reasons import NotRunReason
from harness.model.results import EVIDENCE_RESPONSE_ONLY, RunResult, ScenarioResult
from harness.model.proxy import ProxySpec
from harness.model.routes import RouteCoverage, coverage_of
from harness.model.scenario import Scenario
from harness.targets.base import Endpoint, ModelSpec, Target
from harness.targets.errors import EnvironmentBuildError, ReleaseError, TargetError
from harness.targets import spec as target_spec
from harness.judge import judge
from harness.probes.registry import covered_routes

if TYPE_CHECKING:
    from harness.oracle.modes import OracleOutput
    from harness.targets.attach import AttachOptions
    from harness.targets.spec import CheckedTarget

#: Builds (does not start) the target a spec names: `make_target`, or a test's stand-in.
TargetFactory = Callable[[str, Log], Target]

#: The target used when none is named: the default gateway's (`Gateway.default_target`).
DEFAULT_TARGET = registry.default_gateway().default_target


def new_run_id() -> str:
    """A short id that prefixes every entity a run creates (`gc-<run id>-<name>`)."""
    return secrets.token_hex(4)


def make_target(spec: str, log: Log) -> Target:
    """Build (not start) the target a `--target` value names: spec → gateway → its launcher."""
    parsed = target_spec.parse_target_spec(spec, registry)  # malformed, compromised, too old: refused here
    return registry.gateway(parsed.gateway).launch(parsed, log)


def attached_target_factory(options: "AttachOptions") -> TargetFactory:
    """`make_target`, with what the command line says about attaching to a url target."""

    def factory(spec: str, log: Log) -> Target:
        parsed = target_spec.parse_target_spec(spec, registry)
        return registry.gateway(parsed.gateway).launch(parsed, log, attach=options)

    return factory


def check_target_spec(spec: str, attach: "AttachOptions | None" = None) -> "CheckedTarget":
    """Judge a target spec before doing anything at all (`harness.targets.spec.check_target`).

    Returns the spec written one way and the notes to print once (what `latest` passed over, a
    url run's weaker evidence); raises `TargetError` with one line saying why the spec cannot
    run and what to use instead. `attach`: the command line's say on attaching to a url target.
    """
    return target_spec.check_target(spec, registry, attach=attach)


def with_deps(spec: str, deps: str) -> str:
    """`spec` asking for dependency mode `deps` (`--deps`); `TargetError` for an unknown mode."""
    return target_spec.with_deps(spec, deps, target_spec.all_deps_modes(registry))


class NoProxy(TargetError):
    """No running proxy for a model list; `reason` says whether the release did not install or
    the proxy did not start."""

    def __init__(self, message: str, reason: NotRunReason) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class _Slot:
    """One target started for one model list; `error` and `failure` remember a failed start."""

    target: Target
    endpoint: Endpoint | None = None
    error: str | None = None
    failure: NotRunReason = NotRunReason.TARGET_NOT_STARTED


@dataclass
class ScenarioRunner:
    """Runs scenarios against one target spec, starting one proxy per distinct model list.

    A proxy that failed to start is not retried for the next scenario with the same model
    list: its scenarios all get the same boot error (with the log tail) as ERROR verdicts. A
    release that did not install is not retried for another model list either: installing
    does not depend on the models.
    A proxy that stopped answering during a scenario is asked once, briefly, before each later
    one; while it stays silent those scenarios end at once with the same reason.
    `watch_limits` bounds how long a scenario waits for its proxy (see `harness.engine.watch`).
    `target_factory` builds each target (default `make_target`) and `gateway` is the target's
    gateway (default: the one the spec names); both are seams for tests.
    `events` receives what happens, as typed events (`harness.engine.events`).
    """

    target_spec: str
    events: EventSink = ignore
    run_id: str = field(default_factory=new_run_id)
    redactor: Redactor = field(default_factory=Redactor)
    # the version the first started proxy reported (every proxy of a runner shares one spec)
    proxy_version: str | None = None
    image_digest: str | None = None
    #: `response-only` once a proxy without a recording upstream served a scenario (a url target)
    evidence: str | None = None
    #: what the target installed in place of the release as published, and how its dependencies
    #: were dated (recorded even when the proxy then did not start)
    substitutions: tuple[str, ...] = ()
    deps_dating: str | None = None
    #: how much of the first proxy's model-bearing surface the probe kinds cover (None: not read yet)
    routes: RouteCoverage | None = None
    watch_limits: WatchLimits = field(default_factory=WatchLimits)
    target_factory: TargetFactory | None = None
    #: the gateway of the target spec (default: the one it names): its admin client, liveness
    #: route and refusals
    gateway: Gateway = None  # type: ignore[assignment] - set in __post_init__
    #: the oracle mode every scenario runs in (`explicit`, `derived`, `both`); None: each scenario's own
    oracle: str | None = None
    _slots: dict[ProxySpec, _Slot] = field(default_factory=dict)
    #: targets made by `warm_ahead`, not started yet
    _unstarted: dict[ProxySpec, Target] = field(default_factory=dict)
    #: `id()`s of the scenarios `run_all` runs last on their proxy, right before stopping it
    _last_on_proxy: set[int] = field(default_factory=set)
    _scenario_numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    #: why the release could not be installed, once it could not (the same for every model list)
    _install_error: str | None = None
    _silent_proxies: dict[str, str] = field(default_factory=dict)  # base url → why it was given up on

    def __post_init__(self) -> None:
        if self.gateway is None:
            self.gateway = registry.gateway_of(self.target_spec)

    def endpoint_for(self, proxy: ProxySpec | tuple[ModelSpec, ...]) -> Endpoint:
        """The running proxy for this spec (or bare model list), started on first use."""
        proxy = proxy if isinstance(proxy, ProxySpec) else ProxySpec(tuple(proxy))
        models = proxy.models
        slot = self._slots.get(proxy)
        if slot is None and self._install_error is not None:
            raise NoProxy(self._install_error, NotRunReason.TARGET_NOT_INSTALLED)
        if slot is None:
            spec = self.target_spec
            self.events(TargetStarting(spec, tuple(model.name for model in models)))
            slot = _Slot(target=self._unstarted.pop(proxy, None) or self._new_target())
            self._slots[proxy] = slot
            try:
                # Settings only when there are some: a target without the parameter serves the rest.
                settings = () if proxy.settings.empty else (proxy.settings,)
                slot.endpoint = slot.target.start(list(models), *settings)
                self.redactor.add(slot.endpoint.master_key)
                self.proxy_version = self.proxy_version or slot.endpoint.proxy_version
                if not slot.endpoint.upstream_observed:
                    self.evidence = EVIDENCE_RESPONSE_ONLY
                self.image_digest = self.image_digest or slot.endpoint.image_digest
                self._record_provenance(slot.endpoint)
                self.events(TargetReady(spec, slot.endpoint.base_url, slot.endpoint.proxy_version))
            except TargetError as exc:
                self._record_provenance(slot.target)
                slot.error = self.redactor.redact(str(exc))
                if isinstance(exc, (EnvironmentBuildError, ReleaseError)):
                    slot.failure = NotRunReason.TARGET_NOT_INSTALLED
                    self._install_error = slot.error
                self.events(TargetFailed(spec, slot.error))
            except BaseException:
                slot.target.stop()  # Ctrl-C during boot: leave nothing behind
                raise
        if slot.endpoint is None:
            raise NoProxy(slot.error or "target did not start", slot.failure)
        return slot.endpoint

    def _new_target(self) -> Target:
        """A target for the spec, not started (`target_factory`, else `make_target`)."""
        factory = self.target_factory or make_target  # looked up now: tests may replace `make_target`
        spec = self.target_spec
        return factory(spec, lambda message: self.events(TargetProgress(spec, message)))

    def warm_ahead(self, proxies: Sequence[ProxySpec]) -> None:
        """Let the targets of `proxies` (in the order they will start) begin their slowest
        preparation now, where the target has one (`warm_ahead`: a local target's warm parent
        imports), so that it overlaps the first start instead of waiting for its own.

        The targets are kept for `endpoint_for`; nothing is started. A target that fails here
        says why when it starts.
        """
        for proxy in dict.fromkeys(proxies):
            if proxy in self._slots or proxy in self._unstarted:
                continue
            try:
                target = self._new_target()
            except TargetError:
                return  # the start says so, as ever
            self._unstarted[proxy] = target
            warm = getattr(target, "warm_ahead", None)
            if warm is None:
                return  # this kind of target has nothing to prepare
            settings = () if proxy.settings.empty else (proxy.settings,)
            try:
                if not warm(list(proxy.models), *settings):
                    return  # no room now: later ones start their preparation when they start
            except Exception:  # noqa: BLE001 - only a head start: the start does the same, and says what fails
                return

    def _record_provenance(self, source: object) -> None:
        """Keep the first substitutions and dating a target (or its endpoint) reports."""
        self.substitutions = self.substitutions or tuple(getattr(source, "substitutions", None) or ())
        self.deps_dating = self.deps_dating or getattr(source, "deps_dating", None)

    def release(self, proxy: ProxySpec | tuple[ModelSpec, ...]) -> None:
        """Stop the proxy for this spec (or bare model list) now (the CLI does so once its scenarios ran)."""
        proxy = proxy if isinstance(proxy, ProxySpec) else ProxySpec(tuple(proxy))
        slot = self._slots.pop(proxy, None)
        if slot is not None:
            slot.target.stop()

    def close(self) -> None:
        """Stop every proxy this runner started."""
        self._unstarted.clear()  # never started: nothing to stop
        for proxy in list(self._slots):
            self.release(proxy)

    def __enter__(self) -> "ScenarioRunner":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run_all(self, scenarios: Sequence[Scenario], cancel: threading.Event | None = None,
                jobs: int = 1) -> RunResult:
        """Run every scenario into one finished results document.

        Scenarios sharing a model list share a proxy, and each proxy is stopped as soon as its
        scenarios ran, so the machine never holds more than `jobs` proxies of this runner
        (`harness.engine.scheduler`: the document is the same whatever `jobs` is, but for timings).
        The last scenario on a proxy whose stop discards its database is not torn down one entity
        at a time first (`_discarded_next`). With several model lists, their targets warm up
        ahead (`warm_ahead`).
        """
        result = RunResult.new(target=self.target_spec, run_id=self.run_id)
        groups = group_by_models(scenarios)
        # A group's last scenario is followed by its proxy's stop (`run_groups`); once only in the run
        listed = Counter(id(scenario) for scenario in scenarios)
        self._last_on_proxy = {id(group[-1]) for group in groups if listed[id(group[-1])] == 1}
        self.events(RunStarted(self.target_spec, len(scenarios), min(max(1, jobs), len(groups) or 1)))
        if len(groups) > 1:  # one proxy's start prepares its own parent first thing
            self.warm_ahead([group[0].proxy_spec() for group in groups
                             if (group[0].gateway or registry.default_name()) == self.gateway.name])
        try:
            result.scenarios = run_groups(self, groups, jobs, cancel)
        finally:
            self._last_on_proxy = set()  # ids of objects the run held: meaningless after it
        self.stamp(result)
        self.events(RunFinished(result))
        return result

    def stamp(self, result: RunResult) -> None:
        """Record what ran (gateway, proxy version, image digest, evidence) and the end time in `result`."""
        result.gateway = self.gateway.name
        result.proxy_version = self.proxy_version
        result.image_digest = self.image_digest
        result.evidence = self.evidence
        result.substitutions = list(self.substitutions) or None
        result.deps_dating = self.deps_dating
        result.routes = result.routes or self.routes
        result.finish()

    def run(self, scenario: Scenario) -> ScenarioResult:
        """Provision, probe, judge and tear down one scenario; never raises for proxy trouble.

        Tells `events` when it starts and when it has its verdicts (`ScenarioFinished`).
        """
        started = time.monotonic()
        self.events(ScenarioStarted(scenario.id))
        result = self._run(scenario, started)
        self.events(ScenarioFinished(result, time.monotonic() - started))
        return result

    def _run(self, scenario: Scenario, started: float) -> ScenarioResult:
        oracle = checks_for_mode(scenario, self.oracle, self.gateway, self._release())
        checks = oracle.checks
        found = _oracle_fields(scenario, self.oracle, oracle)
        # A distinct prefix per scenario: scenarios share a proxy and must not share entities.
        # (`next` on a count is atomic: scenarios may run in several threads at once)
        scenario_run_id = f"{self.run_id}-{next(self._scenario_numbers)}"

        def failed(error: str, reason: NotRunReason) -> ScenarioResult:
            return ScenarioResult.failed(
                id=scenario.id, title=scenario.title, issue=scenario.issue,
                path=shareable_path(scenario.path), source=scenario.source_text,
                models=scenario.model_names, checks=checks, error=error, reason=reason,
                not_expressed=scenario.not_expressed,
            ).model_copy(update=found)

        written_for = scenario.gateway or registry.default_name()
        if written_for != self.gateway.name:  # its special names would mean nothing (or else) here
            return failed(f"the scenario is written for the gateway {written_for}; "
                          f"the target {self.target_spec} is {self.gateway.name}", NotRunReason.GATEWAY_MISMATCH)
        try:
            endpoint = self.endpoint_for(scenario.proxy_spec())
        except TargetError as exc:
            return failed(f"target did not start: {exc}", _no_proxy_reason(exc))

        silent = self._still_silent(endpoint)
        if silent is not None:
            return failed(silent, NotRunReason.PROXY_STOPPED_ANSWERING)

        limits = self.watch_limits
        guard = ConnectionGuard()
        adapter = self._admin(endpoint, guard, scenario.id)
        handles = adapter.new_handles(scenario_run_id)
        refusals = self.gateway.refusals
        try:
            with ProxyWatch(endpoint.base_url, self.gateway.liveness_path, limits, self._say(scenario.id),
                            subject=scenario.id) as watch:
                checks = watch.run("preparing", guard,  # reads which features and routes the proxy has
                                   lambda: self._with_skips(self._swept(checks, adapter, scenario), adapter, scenario))
                if all(check.skip_reason for check in checks):
                    verdicts = [judge(check, None, refusals=refusals) for check in checks]
                else:
                    verdicts = Timeline(scenario, checks, endpoint, adapter, handles, self.gateway, self.redactor,
                                        watch, guard).run()
        except ProxyStoppedAnswering as exc:
            stopped = NotRunReason.PROXY_STOPPED_ANSWERING if is_silence(exc.reason) else NotRunReason.DEADLINE_PASSED
            return failed(self.redactor.redact(str(exc)), stopped)
        except (ProvisionError, httpx.HTTPError) as exc:
            return failed(f"provisioning failed: {self.redactor.redact(str(exc))}", NotRunReason.PROVISIONING_FAILED)
        finally:
            adapter.close()
            if is_silence(guard.reason):
                self._silent_proxies[endpoint.base_url] = guard.reason
            if not self._discarded_next(scenario, endpoint):
                self._tear_down(scenario.id, endpoint, handles, abandoned=guard.reason)

        return ScenarioResult(
            id=scenario.id, title=scenario.title, issue=scenario.issue,
            path=shareable_path(scenario.path), source=scenario.source_text, models=scenario.model_names,
            verdicts=verdicts, elapsed_ms=round((time.monotonic() - started) * 1000, 1),
            not_expressed=scenario.not_expressed or None, **found,
        )

    def _release(self) -> str | None:
        """The release the target runs, for rules that hold for some releases only (None: unknown)."""
        if self.proxy_version:
            return self.proxy_version
        try:
            version = target_spec.parse_target_spec(self.target_spec, registry).version
        except TargetError:
            return None
        return version if version and version[:1].isdigit() else None

    def _discarded_next(self, scenario: Scenario, endpoint: Endpoint) -> bool:
        """Whether what `scenario` created goes anyway, so deleting it one by one would only cost time:
        it is the last scenario `run_all` runs on its proxy (which is stopped next), and stopping
        the target discards the proxy's database (a local target's). A url target's never is."""
        return id(scenario) in self._last_on_proxy and endpoint.discarded_on_stop

    def _still_silent(self, endpoint: Endpoint) -> str | None:
        """Why a proxy that stopped answering earlier in this run is still given up on (None: it answers)."""
        reason = self._silent_proxies.get(endpoint.base_url)
        if reason is None:
            return None
        if answers(endpoint.base_url, self.gateway.liveness_path, self.watch_limits.liveness_timeout_s):
            del self._silent_proxies[endpoint.base_url]
            return None
        return f"{reason} (earlier in this run, and it still does not answer)"

    def _tear_down(self, scenario_id: str, endpoint: Endpoint, handles: Handles,
                   abandoned: str | None) -> None:
        """Delete what the scenario created, in bounded time; log what is left behind."""
        if not handles.created_count():
            return
        limits = self.watch_limits
        liveness = self.gateway.liveness_path
        say = self._say(scenario_id)
        if abandoned is not None and not answers(endpoint.base_url, liveness, limits.liveness_timeout_s):
            say(f"teardown of {scenario_id}: not attempted ({abandoned}); left in the proxy: {handles.describe()}")
            return
        guard = ConnectionGuard()
        adapter = self._admin(endpoint, guard, scenario_id)
        try:
            with ProxyWatch(endpoint.base_url, liveness, limits, say,
                            subject=scenario_id, deadline_s=limits.teardown_s) as watch:
                problems = watch.run("tearing down", guard, lambda: adapter.teardown(handles))
        except ProxyStoppedAnswering as exc:
            problems = [exc.reason]
        finally:
            adapter.close()
        if guard.reason is not None:
            problems = [guard.reason]  # the individual errors only echo the abandonment
        if is_silence(guard.reason):
            self._silent_proxies[endpoint.base_url] = guard.reason
        for problem in problems:
            say(f"teardown of {scenario_id}: {problem}")
        if handles.created_count():
            say(f"teardown of {scenario_id}: left in the proxy: {handles.describe()}")

    def _say(self, scenario_id: str) -> Log:
        """A free-text log for the work on one scenario (watch, admin client, teardown): `ScenarioProgress`."""
        return lambda message: self.events(ScenarioProgress(scenario_id, message))

    def _admin(self, endpoint: Endpoint, guard: ConnectionGuard, scenario_id: str) -> AdminClient:
        """The gateway's admin client for `endpoint`, its calls abandonable through `guard`."""
        return self.gateway.admin(endpoint, self.redactor, self._say(scenario_id),
                                  transport=_transport(guard, endpoint))

    def _swept(self, checks: list[Check], adapter: AdminClient, scenario: Scenario) -> list[Check]:
        """`checks` and the sweep's (`harness.oracle.sweep`) on the routes the proxy has; the first
        proxy's route coverage is kept for the results document."""
        capabilities = adapter.capabilities()
        inventory = getattr(capabilities, "model_routes", None)  # a gateway may not know its routes
        if inventory is not None and self.routes is None:
            self.routes = coverage_of(inventory, covered_routes(), getattr(capabilities, "routes_source", None))
        return sweep_checks(scenario, checks, inventory)

    @staticmethod
    def _with_skips(checks: list[Check], adapter: AdminClient, scenario: Scenario) -> list[Check]:
        """Mark every check skipped when the proxy lacks a feature the scenario needs."""
        reasons = adapter.capabilities().missing_for(scenario)
        if not reasons:
            return checks
        reason = "; ".join(reasons)
        return [replace(check, skip_reason=reason) for check in checks]


def _oracle_fields(scenario: Scenario, mode: str | None, oracle: "OracleOutput") -> dict:
    """The results document's oracle fields of a scenario: none for an explicit run."""
    from harness.oracle.derived import undetermined_entry
    from harness.oracle.modes import mode_of

    chosen = mode_of(scenario, mode)
    if chosen == "explicit":
        return {}
    rules = {rule.id: {"sentence": rule.sentence, "url": rule.url, "releases": rule.releases}
             for rule in oracle.rules.values()}
    return {"oracle": chosen, "undetermined": [undetermined_entry(item) for item in oracle.undetermined],
            "contradictions": [c.as_entry() for c in oracle.contradictions], "rules": rules}


def _no_proxy_reason(error: TargetError) -> NotRunReason:
    """Whether a target error means the release did not install or the proxy did not start."""
    if isinstance(error, NoProxy):
        return error.reason
    installing = isinstance(error, (EnvironmentBuildError, ReleaseError))
    return NotRunReason.TARGET_NOT_INSTALLED if installing else NotRunReason.TARGET_NOT_STARTED


def _transport(guard: ConnectionGuard, endpoint: Endpoint) -> httpx.BaseTransport:
    # Building a verifying TLS context costs ~70 ms; a plain-http proxy never uses it.
    return guard.transport(verify=endpoint.base_url.startswith("https://"))
