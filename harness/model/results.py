"""The results document: the one artefact every report is drawn from.

It carries the verdicts *and* their evidence (status, body excerpt, upstream hits, timings,
error type), so a report never needs to talk to the proxy again. Everything in it is
already redacted; `assert_no_secrets` is the last line of defence before it is written.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import uuid
from datetime import datetime, timezone
from typing import Any, Iterable, Sequence

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, computed_field, field_serializer, model_serializer

import harness
from harness.model.check import SET_FIELDS, Check, omit_unset
from harness.model.reasons import ErrorReason, NotRunReason
from harness.model.routes import RouteCoverage
from harness.model.target import deps_of, target_kind_of
from harness.common.redact import redact_key, redact_machine_paths, redact_strings
from harness.model.verdict import Outcome, Verdict, error_verdict, skipped_verdict

SCHEMA_VERSION = "gateconform.results/1"
#: `RunResult.evidence` of a run without a recording upstream behind the proxy (a url target
#: without one): every allowed and denied rests on the proxy's answer alone.
EVIDENCE_RESPONSE_ONLY = "response-only"


def now_iso() -> str:
    """The current UTC time as an ISO 8601 string (seconds precision)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _count(verdicts: Iterable[Verdict]) -> dict[str, int]:
    counts = {outcome.value: 0 for outcome in Outcome}
    for verdict in verdicts:
        counts[verdict.outcome.value] += 1
    return counts


def _overall(counts: dict[str, int], extra_error: bool = False) -> str:
    # A definite regression (fail) is the headline; then "could not tell" (error). Nothing
    # judged at all is an error too: an empty run must not pass a gate.
    if counts[Outcome.FAIL.value]:
        return Outcome.FAIL.value
    if counts[Outcome.ERROR.value] or extra_error or not any(counts.values()):
        return Outcome.ERROR.value
    return Outcome.PASS.value


class Machine(BaseModel):
    """Where the run happened (timings in reports only make sense with this)."""

    hostname: str
    cores: int | None
    python: str
    platform: str

    @classmethod
    def current(cls) -> Machine:
        """Describe the machine this process runs on."""
        return cls(
            hostname=socket.gethostname(),
            cores=os.cpu_count(),
            python=platform.python_version(),
            platform=platform.platform(),
        )


class ScenarioResult(BaseModel):
    """One scenario: its identity, its source YAML, its declared models and one verdict per check.

    `error` is set when the scenario could not be run (target or provisioning failed), and
    `error_reason` says why as data; its checks are then ERROR verdicts carrying that message
    (`ErrorReason.SCENARIO_NOT_RUN`). `models` are the world's declared models, in order.
    Documents written before `models` and `error_reason` existed lack them (None).
    """

    id: str
    title: str
    issue: str | None = None
    path: str | None = None
    source: str | None = None  # the scenario YAML as written
    models: list[str] | None = None
    verdicts: list[Verdict] = Field(default_factory=list)
    error: str | None = None
    error_reason: NotRunReason | None = None
    elapsed_ms: float | None = None
    #: what the scenario's source describes that the scenario cannot check (its `not_expressed`)
    not_expressed: list[str] | None = None
    #: the oracle mode it ran in when not `explicit`, the cases the docs leave open
    #: ({principal, round, model, reason, rules}) and the derived expectations that contradict
    #: written ones ({check_id, written, derived, summary}); None for an explicit run
    oracle: str | None = None
    undetermined: list[dict[str, Any]] | None = None
    contradictions: list[dict[str, Any]] | None = None
    #: the documented rules the derived checks rest on: id → {sentence, url, releases}
    rules: dict[str, dict[str, Any]] | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def counts(self) -> dict[str, int]:
        """Verdicts per outcome; every outcome is present."""
        return _count(self.verdicts)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def overall(self) -> str:
        """`fail` if any check failed, else `error` if any errored (or the scenario did), else `pass`."""
        return _overall(self.counts, extra_error=self.error is not None)

    @model_serializer(mode="wrap")
    def _without_unset_oracle(self, handler: SerializerFunctionWrapHandler) -> Any:
        # documents of explicit runs stay as they were: the oracle's fields only when set
        return omit_unset(handler(self), "oracle", "undetermined", "contradictions", "rules")

    @field_serializer("verdicts", mode="wrap")
    def _stable_verdicts(self, verdicts: list[Verdict], handler: Any) -> Any:
        # Sets serialize in hash order, which changes between processes; sort for diffable output.
        data = handler(verdicts)
        for verdict in data if isinstance(data, list) else ():
            check = verdict.get("check") if isinstance(verdict, dict) else None
            for name in SET_FIELDS if isinstance(check, dict) else ():
                if isinstance(check.get(name), list):
                    check[name] = sorted(check[name])
        return data

    @classmethod
    def failed(
        cls,
        *,
        id: str,  # noqa: A002 - mirrors the field name
        title: str,
        checks: Sequence[Check],
        error: str,
        reason: NotRunReason,
        issue: str | None = None,
        path: str | None = None,
        source: str | None = None,
        models: Sequence[str] | None = None,
        not_expressed: Sequence[str] | None = None,
    ) -> ScenarioResult:
        """A scenario that could not run (`reason`): every check is ERROR with `error` as its message.

        Checks already marked to skip stay skipped: they would not have run anyway.
        """
        verdicts = [
            skipped_verdict(check) if check.skip_reason is not None
            else error_verdict(check, error, error_reason=ErrorReason.SCENARIO_NOT_RUN)
            for check in checks
        ]
        return cls(id=id, title=title, issue=issue, path=path, source=source,
                   models=list(models) if models is not None else None,
                   verdicts=verdicts, error=error, error_reason=reason,
                   not_expressed=list(not_expressed) if not_expressed else None)


class RunResult(BaseModel):
    """One harness run against one target.

    Fields added within schema v1 are optional, so documents written before them still load:
    `gateway` (the registry name of the target's gateway), `target_kind` (local, docker, url),
    `image_digest` (the exact image a docker target ran),
    `deps` (a local target's dependency mode: `today` or `as-released`; absent = today) and
    `deps_fallback` (set when a matrix or bisect retried the release with dependencies as
    released because it did not start with today's: why today's did not),
    `substitutions` (what was installed in place of what the release pins, because the package
    index does not serve it: one line each; absent = installed as published), `deps_dating`
    (with dependencies as released: which dating of them worked),
    `evidence` (`response-only` when no recording upstream was behind the proxy, so no verdict
    could check what reached the provider: weaker evidence, said in every report; absent: the
    upstream's record backs every allowed and denied) and
    `routes` (how much of the proxy's model-bearing surface the probe kinds cover, read from the
    first proxy's OpenAPI document; absent when no proxy gave one).
    """

    schema_version: str = SCHEMA_VERSION
    run_id: str
    harness_version: str = harness.__version__
    target: str
    gateway: str | None = None
    target_kind: str | None = None
    proxy_version: str | None = None
    image_digest: str | None = None
    deps: str | None = None
    deps_fallback: str | None = None
    evidence: str | None = None
    substitutions: list[str] | None = None
    deps_dating: str | None = None
    routes: RouteCoverage | None = None
    started_at: str
    finished_at: str | None = None
    machine: Machine
    scenarios: list[ScenarioResult] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def counts(self) -> dict[str, int]:
        """Verdicts per outcome over all scenarios."""
        return _count(v for scenario in self.scenarios for v in scenario.verdicts)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def overall(self) -> str:
        """Same rule as a scenario's, over the whole run."""
        return _overall(self.counts, extra_error=any(s.error for s in self.scenarios))

    @classmethod
    def new(cls, target: str, proxy_version: str | None = None, run_id: str | None = None,
            gateway: str | None = None) -> RunResult:
        """Start a run now on this machine; call `finish()` when done."""
        return cls(
            run_id=run_id or uuid.uuid4().hex[:12],
            target=target,
            gateway=gateway,
            target_kind=target_kind_of(target),
            deps=deps_of(target),
            proxy_version=proxy_version,
            started_at=now_iso(),
            machine=Machine.current(),
        )

    def finish(self) -> None:
        """Stamp the end time."""
        self.finished_at = now_iso()

    def to_json(self, indent: int | None = 2) -> str:
        """The document as JSON text."""
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> RunResult:
        """Parse a document written by `to_json`; refuses other schema families/majors."""
        result = cls.model_validate_json(text)
        if result.schema_version != SCHEMA_VERSION:
            raise ValueError(
                f"unsupported results schema {result.schema_version!r} (expected {SCHEMA_VERSION!r})"
            )
        return result

    def shareable(self) -> RunResult:
        """A copy with machine paths replaced in every string (`harness.redact.redact_machine_paths`)."""
        data = json.loads(self.to_json(indent=None))
        return RunResult.model_validate(redact_strings(data, redact_machine_paths))

    def assert_no_secrets(self, secrets: Iterable[str]) -> None:
        """Raise AssertionError if any of `secrets` occurs in the serialized document."""
        assert_no_secrets(self.to_json(), secrets)


def merge_results(runs: Sequence[RunResult]) -> RunResult:
    """One results document from several runs of one target (pytest-xdist workers, CI shards).

    The same document whatever order the runs come in: they are taken in order of their start
    (then run id). The merged document has the first run's id, machine and harness version,
    the earliest start and the latest end; the gateway, target kind, proxy version, image
    digest, dependency mode, evidence and route coverage of the first run that recorded one; and one result per scenario
    id, sorted by id (the first run's that has it: with `--dist load` a scenario may have run
    on several workers). Raises ValueError for no runs, or runs of different targets (their
    verdicts are not about the same thing).
    """
    if not runs:
        raise ValueError("nothing to merge: no results documents")
    ordered = sorted(runs, key=lambda run: (run.started_at, run.run_id))
    targets = sorted({run.target for run in ordered})
    if len(targets) > 1:
        raise ValueError(f"cannot merge runs of different targets: {', '.join(targets)}")
    first = ordered[0]

    def first_recorded(name: str) -> Any:
        return next((getattr(run, name) for run in ordered if getattr(run, name) is not None), None)

    unique: dict[str, ScenarioResult] = {}
    for run in ordered:
        for scenario in run.scenarios:
            unique.setdefault(scenario.id, scenario)
    finished = [run.finished_at for run in ordered if run.finished_at]
    return RunResult(
        schema_version=first.schema_version,
        run_id=first.run_id,
        harness_version=first.harness_version,
        target=first.target,
        gateway=first_recorded("gateway"),
        target_kind=first_recorded("target_kind"),
        proxy_version=first_recorded("proxy_version"),
        image_digest=first_recorded("image_digest"),
        deps=first_recorded("deps"),
        deps_fallback=first_recorded("deps_fallback"),
        evidence=first_recorded("evidence"),
        substitutions=first_recorded("substitutions"),
        deps_dating=first_recorded("deps_dating"),
        routes=first_recorded("routes"),
        started_at=first.started_at,
        finished_at=max(finished) if finished else None,
        machine=first.machine.model_copy(),
        scenarios=[unique[scenario_id].model_copy(deep=True) for scenario_id in sorted(unique)],
    )


def assert_no_secrets(text: str, secrets: Iterable[str]) -> None:
    """Raise AssertionError naming (redacted) every secret that occurs in `text`."""
    leaked = sorted({redact_key(s) for s in secrets if s and s in text})
    if leaked:
        raise AssertionError(f"secrets leaked into output: {', '.join(leaked)}")
