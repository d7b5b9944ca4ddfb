"""Building a LiteLLM environment: `uv venv`, `uv pip install 'litellm[proxy]==V' '<prisma>'`, `prisma generate`.

`prisma generate` runs offline: Prisma's native engines cannot be downloaded here, so the wasm
engine stands in (`wasm_engine.py`). Packages are installed in a staging folder that is renamed
into place, all under a file lock so parallel pytest workers build it once; the stamp
(`environments.write_stamp`) is written last. The build works in a build site (`build_sites.py`):
an owner file, a private TMPDIR for uv, prisma and npm, and a run marker on each of them, so a
build killed with SIGKILL is reaped and swept (`environments.remove_interrupted_builds`).

uv is the `uv` binary shipped by the `uv` PyPI package, so a fresh machine needs nothing else;
with uv's cache warm a build takes seconds (pip takes minutes). In the `as-released` dependency
mode every `uv pip install` gets `--exclude-newer` (see `environments`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping, Sequence

from filelock import FileLock
from packaging.requirements import InvalidRequirement, Requirement

from harness.common.log import Log
from harness.targets.build_sites import BuildSite, build_site
from harness.common.cache_root import default_cache_root
from harness.targets.errors import EnvironmentBuildError
from harness.targets.tool_runs import run_with_progress, timed_step
from harness.gateways.litellm.environments import (
    LiteLLMEnvironment,
    Provenance,
    check_deps,
    describe_deps,
    environment_name,
    find_complete_environment,
    mark_used,
    prisma_env,
    prisma_home,
    site_packages_of,
    write_stamp,
)
from harness.gateways.litellm.package_index import Dating, as_released_datings
from harness.gateways.litellm.proxy_import import check_proxy_imports, earlier_dating_may_help, short_build_failure
from harness.gateways.litellm.substitutions import (
    Substitution,
    describe_all,
    index_served_versions,
    plan_substitutions,
    uv_resolver,
    write_overrides,
)
from harness.gateways.litellm.releases import DEPS_AS_RELEASED, DEPS_TODAY, refuse_compromised, short_reason


#: How long a worker waits for another worker building the same environment.
BUILD_LOCK_TIMEOUT_S = 30 * 60


def _no_log(_message: str) -> None:
    pass


def ensure_environment(
    version: str,
    cache_root: Path | None = None,
    engine_env: Mapping[str, str] | None = None,
    log: Log | None = None,
    deps: str = DEPS_TODAY,
) -> LiteLLMEnvironment:
    """Return the environment for an exact LiteLLM `version`, building it once if needed.

    `engine_env` is `WasmEngine.env()`: without it `prisma generate` would try to download
    Prisma's engines. `deps`: `today` (default) or `as-released` (see the module doc). Safe to
    call from parallel processes.
    """
    refuse_compromised(version)
    check_deps(deps)
    log = log or _no_log
    cache_root = (cache_root or default_cache_root()).resolve()
    envs_dir = cache_root / "envs"
    envs_dir.mkdir(parents=True, exist_ok=True)
    found = find_complete_environment(cache_root, version, deps)
    if found is not None:
        return _reuse(found, log)
    if engine_env is None:
        raise EnvironmentBuildError("building an environment needs the wasm engine env (engine_env)")
    name = environment_name(version, deps)
    lock = FileLock(str(envs_dir / f"{name}.lock"), timeout=BUILD_LOCK_TIMEOUT_S)
    with _acquire_logged(lock, log, f"litellm {version}: another process is building this environment; waiting"):
        found = find_complete_environment(cache_root, version, deps)  # another worker may have built it
        if found is not None:
            return _reuse(found, log, " (built by another process)")
        if deps == DEPS_AS_RELEASED:
            built = _build_as_released(version, cache_root, envs_dir / name, engine_env, log)
        else:
            built = _build_environment(version, cache_root, envs_dir / name, engine_env, log)
        mark_used(built.root)
        return built


def _build_as_released(
    version: str, cache_root: Path, target: Path, engine_env: Mapping[str, str], log: Log
) -> LiteLLMEnvironment:
    """Build with dependencies dated at the release's upload, else at ever earlier dates (`as_released_datings`).

    A dating "works" when the environment builds and imports the proxy (a dependency that moved
    on breaks the import, as FastAPI's dropped helper breaks 1.95.0); the environment records
    which dating worked and why the ones before it did not.
    """
    failures: list[str] = []
    for dating in as_released_datings(version):
        try:
            built = _build_environment(version, cache_root, target, engine_env, log, dating,
                                       dating_failures=tuple(failures))
            check_proxy_imports(built, log)
            return built
        except EnvironmentBuildError as error:
            # the file an import error names is a path of this machine: reports are shared
            why = re.sub(r" \(/[^()]*\)", "", short_build_failure(str(error)))
            failures.append(f"{dating.label}: {why}")
            log(f"litellm {version}: dependencies dated at {dating.label} do not do ({why})")
            shutil.rmtree(target, ignore_errors=True)
            if not earlier_dating_may_help(why):  # each dating is a build: stop when none can help
                failures.append("no earlier dating tried: an earlier date cannot cure that")
                break
    raise EnvironmentBuildError(f"litellm {version} does not install and import with dependencies as released, "
                                f"however dated: {'; '.join(failures)}")


def _reuse(found: LiteLLMEnvironment, log: Log, how: str = "") -> LiteLLMEnvironment:
    log(f"litellm {found.litellm_version}: reusing environment {found.root}{how}")
    mark_used(found.root)
    return found


@contextmanager
def _acquire_logged(lock: FileLock, log: Log, waiting_message: str) -> Iterator[None]:
    """Hold `lock`; say so when we have to wait for it (a parallel worker is building)."""
    from filelock import Timeout

    try:
        lock.acquire(timeout=0)
    except Timeout:
        log(waiting_message)
        started = time.monotonic()
        lock.acquire()
        log(f"{waiting_message}: done after {time.monotonic() - started:.1f} s")
    try:
        yield
    finally:
        lock.release()


def _build_environment(
    version: str,
    cache_root: Path,
    target: Path,
    engine_env: Mapping[str, str],
    log: Log,
    dating: Dating | None = None,
    *,
    dating_failures: tuple[str, ...] = (),
) -> LiteLLMEnvironment:
    """Install in a staging folder, rename it to `target`, generate the client there, stamp it.

    `prisma generate` runs after the rename because the generated client records absolute paths
    (its schema path); until the stamp is written the folder counts as incomplete and the next
    build replaces it.
    """
    if target.exists():  # an incomplete leftover (no stamp): never reuse it
        log(f"removing incomplete environment {target}")
        shutil.rmtree(target)
    total_started = time.monotonic()
    timings: dict[str, float] = {}
    # The site outlives the rename: `prisma generate` still needs its TMPDIR and marker.
    with build_site(target) as site:
        staging = site.folder / "env"
        exclude_newer = dating.exclude_newer if dating else None
        deps = DEPS_AS_RELEASED if dating else DEPS_TODAY
        label = f"litellm {version}: installing into a new environment ({describe_deps(deps, exclude_newer)})"
        with timed_step(log, label) as step:
            _create_venv(staging, log, site)
            prisma_requirement, substitutions = _install_litellm(staging, version, log, dating, site)
            installed = _installed_versions(staging, site)
            _verify_installed(version, installed)
        timings["install_s"] = step["seconds"]
        staging.rename(target)
        with timed_step(log, f"litellm {version}: prisma generate (offline, wasm engine)") as step:
            _prisma_generate(target, cache_root, engine_env, log, site)
        timings["generate_s"] = step["seconds"]
        timings["total_s"] = time.monotonic() - total_started
        provenance = Provenance(tuple(substitutions), dating.label if dating else None, dating_failures)
        write_stamp(target, version, installed, prisma_requirement, engine_env, timings, exclude_newer, provenance)
    log(f"litellm {version}: environment ready in {timings['total_s']:.1f} s ({target})")
    return LiteLLMEnvironment(target, version, installed.get("prisma", ""), timings, deps, exclude_newer, provenance)


def _uv_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH")}
    env["UV_PYTHON_DOWNLOADS"] = "never"  # use this interpreter, never fetch one
    env["UV_NO_PROGRESS"] = "1"
    return env


def _uv() -> str:
    from uv import find_uv_bin

    return find_uv_bin()


def _run_tool(site: BuildSite, command: Sequence[str], label: str, log: Log) -> str:
    """Run a build tool (uv, the environment's python) in `site`, with no other Python's variables."""
    return run_with_progress(command, label=label, log=log, env=site.child_env(_uv_env()))


def _create_venv(staging: Path, log: Log, site: BuildSite) -> None:
    # --relocatable: entry-point scripts find their interpreter relative to themselves, so the
    # environment still works after the staging folder is renamed into place.
    _run_tool(site, [_uv(), "venv", "--quiet", "--relocatable", "--python", sys.executable, str(staging)],
              "uv venv", log)


def uv_pip_install_command(
    uv: str,
    python: Path,
    requirements: Sequence[str],
    compile_bytecode: bool = False,
    exclude_newer: str | None = None,
    overrides: Path | None = None,
    dating: Dating | None = None,
) -> list[str]:
    """The `uv pip install` command line; `exclude_newer` or `dating` (as-released mode) caps every
    package's date, `overrides` (a file) replaces what the release pins (`substitutions`)."""
    flags = ["--compile-bytecode"] if compile_bytecode else []
    if dating is not None:
        flags += dating.uv_flags()
    elif exclude_newer:
        flags += ["--exclude-newer", exclude_newer]
    if overrides is not None:
        flags += ["--override", str(overrides)]
    return [uv, "pip", "install", *flags, "--python", str(python), *requirements]


def _uv_pip_install(
    staging: Path,
    requirements: Sequence[str],
    log: Log,
    site: BuildSite,
    compile_bytecode: bool = False,
    dating: Dating | None = None,
    overrides: Path | None = None,
) -> None:
    cutoff = f" (--exclude-newer {dating.exclude_newer})" if dating else ""
    substituted = " (with substitutions)" if overrides is not None else ""
    _run_tool(site, uv_pip_install_command(_uv(), staging / "bin" / "python", requirements, compile_bytecode,
                                           overrides=overrides, dating=dating),
              f"uv pip install {' '.join(requirements)}{cutoff}{substituted}", log)


def _install_litellm(
    staging: Path, version: str, log: Log, dating: Dating | None, site: BuildSite
) -> tuple[str | None, list[Substitution]]:
    """Install `litellm[proxy]==version` and the prisma requirement it declares.

    Older releases (1.82.x) keep prisma in the `extra-proxy` extra, which also drags in cloud
    SDKs; installing only the prisma requirement litellm itself declares keeps the client
    version exactly what that release expects. A release that pins companions the index does
    not serve is installed with the nearest served ones (`substitutions`). Returns the prisma
    requirement (None if none found) and the substitutions made.
    """
    # Compiling bytecode now (uv does it in parallel, ~8 s, for the packages each call installs)
    # spares the first proxy boot ~15 s of compiling on import, which would eat into its
    # readiness timeout, and works where the user's environment sets PYTHONDONTWRITEBYTECODE.
    litellm_requirement = f"litellm[proxy]=={version}"
    substitutions: list[Substitution] = []
    overrides: Path | None = None
    try:
        _uv_pip_install(staging, [litellm_requirement], log, site, compile_bytecode=True, dating=dating)
    except EnvironmentBuildError as error:
        if "No solution found" not in str(error):
            raise
        # Listed is not installable: stand in the nearest served companions, and say so.
        substitutions = _plan_substitutions(version, dating, site)
        log(f"litellm {version} does not install as published ({short_reason(str(error))}); installing "
            + describe_all(version, substitutions).removeprefix(f"litellm {version} "))
        overrides = write_overrides(site.folder / "overrides.txt", substitutions)
        _uv_pip_install(staging, [litellm_requirement], log, site, compile_bytecode=True, dating=dating,
                        overrides=overrides)
    prisma_requirement = prisma_requirement_of(_declared_requirements(staging, site))
    if prisma_requirement is not None:
        _uv_pip_install(staging, [litellm_requirement, prisma_requirement], log, site, compile_bytecode=True,
                        dating=dating, overrides=overrides)
    return prisma_requirement, substitutions


def _plan_substitutions(version: str, dating: Dating | None, site: BuildSite) -> list[Substitution]:
    from datetime import datetime

    # Companions are the release's own: with a dating they keep the release's cut-off.
    cutoffs = dict(dating.packages) if dating else {}
    own = cutoffs.get("litellm-proxy-extras", dating.exclude_newer if dating else None)
    cutoff = datetime.fromisoformat(own.replace("Z", "+00:00")) if own else None
    resolve = uv_resolver(version, _uv(), site.tmp, dating.uv_flags() if dating else (),
                          env=site.child_env(_uv_env()))
    return plan_substitutions(version, resolve, index_served_versions(cutoff))


def _venv_python_json(staging: Path, code: str, site: BuildSite) -> object:
    proc = subprocess.run(
        [str(staging / "bin" / "python"), "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=site.child_env(_uv_env()),
    )
    if proc.returncode != 0:
        raise EnvironmentBuildError(f"inspecting {staging} failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout)


def _declared_requirements(staging: Path, site: BuildSite) -> list[str]:
    code = "import importlib.metadata as m, json; print(json.dumps(m.requires('litellm') or []))"
    result = _venv_python_json(staging, code, site)
    return [str(item) for item in result] if isinstance(result, list) else []


def prisma_requirement_of(requirements: Sequence[str]) -> str | None:
    """The `prisma` requirement among litellm's declared requirements, without its marker.

    e.g. `prisma (>=0.11.0,<0.12.0) ; extra == "extra-proxy"` → `prisma<0.12.0,>=0.11.0`.
    """
    for text in requirements:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if requirement.name.lower() == "prisma":
            return f"prisma{requirement.specifier}" if requirement.specifier else "prisma"
    return None


def _installed_versions(staging: Path, site: BuildSite) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json\n"
        "out = {}\n"
        "for name in ('litellm', 'prisma', 'litellm-proxy-extras', 'litellm-enterprise'):\n"
        "    try: out[name] = m.version(name)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))\n"
    )
    result = _venv_python_json(staging, code, site)
    return {str(k): str(v) for k, v in result.items()} if isinstance(result, dict) else {}


def _verify_installed(version: str, installed: Mapping[str, str]) -> None:
    """The index must have served exactly what we asked for, with a prisma client."""
    if installed.get("litellm") != version:
        raise EnvironmentBuildError(f"asked for litellm {version}, the index installed {installed.get('litellm')}")
    refuse_compromised(installed["litellm"])
    if "prisma" not in installed:
        raise EnvironmentBuildError(f"litellm {version}: no prisma client was installed; cannot use PostgreSQL")


def _prisma_generate(root: Path, cache_root: Path, engine_env: Mapping[str, str], log: Log, site: BuildSite) -> None:
    """`prisma generate` against the schema shipped with the installed LiteLLM, offline.

    The Prisma CLI (an npm package prisma-client-py installs on first use) lives in a home shared
    by all environments; the lock keeps two builds from installing it into the same place at once.
    """
    schema = site_packages_of(root) / "litellm" / "proxy" / "schema.prisma"
    if not schema.is_file():
        raise EnvironmentBuildError(f"{schema} is missing: this litellm release has no proxy schema")
    home = prisma_home(cache_root)
    home.mkdir(parents=True, exist_ok=True)
    env = site.child_env(prisma_env(cache_root, engine_env, root / "bin"))
    with FileLock(str(home) + ".lock", timeout=BUILD_LOCK_TIMEOUT_S):
        run_with_progress(
            [str(root / "bin" / "prisma"), "generate", f"--schema={schema}"],
            label="prisma generate",
            log=log,
            env=env,
            cwd=schema.parent,
            timeout_s=900,
        )
    # The generated client replaced prisma's template modules: compile it too (the proxy spends
    # seconds importing it), for the same reasons as the install's --compile-bytecode.
    _run_tool(site, [str(root / "bin" / "python"), "-m", "compileall", "-q", "-j", "0",
                     str(site_packages_of(root) / "prisma")],
              "compile the generated prisma client", log)
