"""Why something could not be judged, as data: the typed reasons a results document carries.

The sentences (`ScenarioResult.error`, `Verdict.message`) are for people and may change wording;
these values are what code decides on (retry a release with other dependencies? say "no proxy
started"? call a release untestable?), so no consumer has to read a sentence back. The values
are written into results.json and stay stable, like check ids.
"""

from __future__ import annotations

from enum import Enum


class NotRunReason(str, Enum):
    """Why a scenario could not run at all (`ScenarioResult.error_reason`); its checks are ERROR."""

    #: the release (or its environment) could not be installed: another model list would not help
    TARGET_NOT_INSTALLED = "target_not_installed"
    #: the proxy did not start (it exited, never became ready, its database did not come up)
    TARGET_NOT_STARTED = "target_not_started"
    #: the proxy refused or failed an admin call while the scenario's world was being built
    PROVISIONING_FAILED = "provisioning_failed"
    #: the proxy stopped answering its liveness route (during the scenario, or earlier and still)
    PROXY_STOPPED_ANSWERING = "proxy_stopped_answering"
    #: the scenario's deadline passed while the proxy still answered its liveness route
    DEADLINE_PASSED = "deadline_passed"
    #: the scenario is written for another gateway than the target's
    GATEWAY_MISMATCH = "gateway_mismatch"
    #: the harness itself failed (an unexpected exception), not the target
    HARNESS_ERROR = "harness_error"

    @property
    def target_did_not_run(self) -> bool:
        """The target never gave a running proxy (did not install or did not start)."""
        return self in (NotRunReason.TARGET_NOT_INSTALLED, NotRunReason.TARGET_NOT_STARTED)


class ErrorReason(str, Enum):
    """Why one check is ERROR (`Verdict.error_reason`): what kept the harness from telling."""

    #: the scenario could not run: `ScenarioResult.error_reason` says why
    SCENARIO_NOT_RUN = "scenario_not_run"
    #: no observation was recorded for the check (its probe did not run)
    NO_OBSERVATION = "no_observation"
    #: the observation belongs to another probe (a harness bug)
    HARNESS_BUG = "harness_bug"
    #: the check's probe kind is not registered here (a plugin that was not loaded)
    UNKNOWN_PROBE_KIND = "unknown_probe_kind"
    #: no HTTP response: the connection was refused, reset or failed otherwise
    TRANSPORT_ERROR = "transport_error"
    #: no HTTP response within the probe's timeout
    TIMEOUT = "timeout"
    #: the harness gave up on the request because the proxy stopped answering
    PROXY_STOPPED_ANSWERING = "proxy_stopped_answering"
    #: the harness gave up on the request because the scenario's deadline passed
    DEADLINE_PASSED = "deadline_passed"
    #: the principal has no key (provisioning did not create it), so no request was made
    NOT_PROVISIONED = "not_provisioned"
    #: a 5xx answer
    SERVER_ERROR = "server_error"
    #: a status that is neither a success nor one of the gateway's refusals
    UNEXPECTED_STATUS = "unexpected_status"
    #: a success or refusal status whose body does not have the shape it must have
    ODD_BODY = "odd_body"
    #: a success while the upstream was asked for another model than the one called
    WRONG_MODEL = "wrong_model"
    #: a success that never reached the upstream (a cached or foreign answer proves nothing)
    NO_UPSTREAM_CALL = "no_upstream_call"
    #: a refusal that came after the upstream was called (a denial must not reach the provider)
    UPSTREAM_CALLED_AFTER_REFUSAL = "upstream_called_after_refusal"
    #: a listing compared with another route, and that route gave no list to compare with
    NO_REFERENCE_LISTING = "no_reference_listing"
