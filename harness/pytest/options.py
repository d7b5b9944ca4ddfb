"""The plugin's options, and what is checked about them before anything is collected.

A target that cannot run, or an output that cannot be written, is a usage error (exit 4)
when pytest configures, not a surprise after the run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

#: ini option: glob patterns of the files collected as scenarios.
SCENARIO_GLOBS = "gateconform_scenario_globs"
#: Any YAML file below a folder named `scenarios` (what the plugin has always collected).
DEFAULT_SCENARIO_GLOBS = ("scenarios/*.yaml", "scenarios/*.yml")
#: Lines the target check asks to show once (in the session header).
_TARGET_NOTES_KEY = pytest.StashKey[tuple]()


def add_options(parser: pytest.Parser) -> None:
    """Declare the command-line options and the ini option of the plugin."""
    from harness.gateways import registry  # the gateways' names and default target, for the help
    from harness.targets.spec import all_deps_modes

    group = parser.getgroup("gateconform", "gateconform: LLM gateway conformance scenarios")
    name = registry.spec_name()
    group.addoption(
        "--target",
        dest="gateconform_target",
        default=None,
        help=f"proxy to test: {name}==VERSION or latest (local), docker:{name}==VERSION or docker:IMAGE "
        f"(default {registry.default_gateway().default_target})",
    )
    group.addoption(
        "--deps",
        dest="gateconform_deps",
        default=None,
        choices=all_deps_modes(registry),
        help="local target's dependencies: today (default: what pip installs today) or as-released "
        f"(as of the release's upload date; same as --target {name}==VERSION@as-released)",
    )
    group.addoption(
        "--gateconform-results",
        dest="gateconform_results",
        default=None,
        metavar="PATH",
        help="write the results document (JSON) of the scenarios run to PATH",
    )
    group.addoption(
        "--gateconform-report-dir",
        dest="gateconform_report_dir",
        default=None,
        metavar="DIR",
        help="write results.json and every report (report.html, summary.md, junit.xml, allure-results/) into DIR",
    )
    group.addoption(
        "--gateconform-oracle",
        dest="gateconform_oracle",
        default=None,
        choices=("explicit", "derived", "both"),
        help="where the checks come from: written (explicit), derived from the gateway's documented rules, "
        "or both (default: each scenario's own `oracle:`)",
    )
    parser.addini(
        SCENARIO_GLOBS,
        type="args",
        default=list(DEFAULT_SCENARIO_GLOBS),
        help="glob patterns of the files collected as gateconform scenarios (default: "
        f"{' '.join(DEFAULT_SCENARIO_GLOBS)}, i.e. any YAML file below a folder named 'scenarios'); "
        "a pattern with '/' matches the end of the file's path ('*' also matches '/'), "
        "one without matches the file name, as python_files does",
    )


def check_options(config: pytest.Config) -> None:
    """Judge `--target`/`--deps` and the output paths now; a bad one is a `pytest.UsageError`."""
    _check_target(config)
    _check_outputs(config)


def target_notes(config: pytest.Config) -> list[str]:
    """What the target check had to say (what `latest` passed over and why), for the header."""
    return [f"gateconform: {line}" for line in config.stash.get(_TARGET_NOTES_KEY, ())]


def _check_target(config: pytest.Config) -> None:
    target = config.getoption("gateconform_target")
    deps = config.getoption("gateconform_deps", None)
    if deps:  # folded into the spec, which every worker and the results document then carry
        from harness.engine.runner import DEFAULT_TARGET, with_deps
        from harness.targets.errors import TargetError

        try:
            target = config.option.gateconform_target = with_deps(target or DEFAULT_TARGET, deps)
        except TargetError as exc:
            raise pytest.UsageError(f"--deps {deps}: {exc}") from None
    if target:
        # A target that cannot run (malformed, compromised, not a published release, too old for
        # the local target, index unreachable) is a usage error, before anything is collected or run.
        # xdist workers judge it again, from what the controller's check cached (no network).
        from harness.engine.runner import check_target_spec
        from harness.targets.errors import TargetError

        try:
            checked = check_target_spec(target)
        except TargetError as exc:
            raise pytest.UsageError(f"--target {target}: {exc}") from None
        config.option.gateconform_target = checked.spec  # written one way (`1.82.3` → `<gateway>==1.82.3`)
        config.stash[_TARGET_NOTES_KEY] = checked.notes


def _check_outputs(config: pytest.Config) -> None:
    """A results path or report folder that cannot be written is a usage error now, not after the run."""
    from harness.common.files import OutputError, check_file, check_folder

    checks = (("--gateconform-results", "gateconform_results", check_file),
              ("--gateconform-report-dir", "gateconform_report_dir", check_folder))
    for option, dest, check in checks:
        value = config.getoption(dest, None)
        if not value:
            continue
        try:
            check(Path(value))
        except OutputError as exc:
            raise pytest.UsageError(f"{option}: {exc}") from None
