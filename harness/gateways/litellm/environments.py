"""One cached, isolated Python environment per LiteLLM version, ready to run the proxy.

An environment is `uv venv` + `uv pip install 'litellm[proxy]==V' '<prisma requirement>'` + an
offline `prisma generate` (Prisma's native engines cannot be downloaded here, so the wasm engine
stands in; see `wasm_engine.py`). Packages are installed in a staging folder that is renamed into
place, all under a file lock so parallel pytest workers build it once; a stamp file written last
marks it complete, so a half-built environment is never reused. The build works in a build site
(`build_sites.py`): an owner file, a private TMPDIR for uv, prisma and npm, and a run marker on
each of them, so a build killed with SIGKILL is reaped and swept (`remove_interrupted_builds`).

uv is the `uv` binary shipped by the `uv` PyPI package, so a fresh machine needs nothing else;
with uv's cache warm a build takes seconds (pip takes minutes).

Two dependency modes (`releases.DEPS_MODES`), each its own folder: `today` resolves what a plain
install resolves today (the default); `as-released` adds `--exclude-newer <upload time + 1 day>`
to every `uv pip install`, so a release whose unpinned dependencies moved on since (FastAPI
dropped a helper 1.95.0 imports) gets the packages it was released against.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

from filelock import FileLock
from packaging.requirements import InvalidRequirement, Requirement

from harness.targets.build_sites import BuildSite, SweptFolder, build_site, remove_folder, sweep_build_sites
from harness.common.cache_root import default_cache_root
from harness.targets.errors import EnvironmentBuildError
from harness.gateways.litellm.package_index import as_released_exclude_newer
from harness.gateways.litellm.releases import (
    DEPS_AS_RELEASED,
    DEPS_MODES,
    DEPS_TODAY,
    refuse_compromised,
    short_reason,
)

Log = Callable[[str], None]

#: Bump when the recipe changes so environments built by an older recipe are not reused.
RECIPE_REVISION = 2
STAMP_NAME = ".gateconform-env.json"
#: Touched each time an environment is handed out: `gateconform cache list|prune` reads its mtime.
LAST_USED_NAME = ".gateconform-last-used"
#: How long a worker waits for another worker building the same environment.
BUILD_LOCK_TIMEOUT_S = 30 * 60
#: Slow steps report "still …" this often so a long build never looks hung.
HEARTBEAT_S = 15.0


def _no_log(_message: str) -> None:
    pass


# --------------------------------------------------------------------------- progress helpers


@contextmanager
def timed_step(log: Log, label: str) -> Iterator[dict[str, float]]:
    """Log `label …` then `label: done in N s`; the yielded dict gets `seconds` at the end."""
    started = time.monotonic()
    result: dict[str, float] = {}
    log(f"{label} …")
    yield result
    result["seconds"] = time.monotonic() - started
    log(f"{label}: done in {result['seconds']:.1f} s")


def run_with_progress(
    command: Sequence[str],
    *,
    label: str,
    log: Log,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout_s: float = 1800.0,
    error: type[Exception] = EnvironmentBuildError,
    input_text: str | None = None,
) -> str:
    """Run `command`, logging a heartbeat with elapsed time; return its combined output.

    Output goes to a temp file rather than a pipe so a chatty tool can never block on a full
    pipe. A failure raises `error` with the last lines of output.
    """
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as output:
        proc = subprocess.Popen(
            list(command),
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            text=True,
            # Own process group, so an abort can also end grandchildren (node under prisma).
            start_new_session=True,
        )
        if input_text is not None:
            assert proc.stdin is not None
            proc.stdin.write(input_text)
            proc.stdin.close()
        _wait_with_heartbeat(proc, label=label, log=log, started=started, timeout_s=timeout_s, error=error)
        output.seek(0)
        text = output.read()
    if proc.returncode != 0:
        tail = "\n".join(text.strip().splitlines()[-30:])
        raise error(f"{label} failed (exit {proc.returncode}):\n{tail}")
    return text


def _wait_with_heartbeat(
    proc: subprocess.Popen, *, label: str, log: Log, started: float, timeout_s: float, error: type[Exception]
) -> None:
    while True:
        try:
            proc.wait(timeout=HEARTBEAT_S)
            return
        except subprocess.TimeoutExpired:
            elapsed = time.monotonic() - started
            if elapsed > timeout_s:
                _kill_process_group(proc)
                raise error(f"{label} timed out after {elapsed:.0f} s") from None
            log(f"{label}: still running ({elapsed:.0f} s)")
        except BaseException:
            # Ctrl-C while waiting: do not leave the child (uv, prisma, node) running.
            _kill_process_group(proc)
            raise


def _kill_process_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


# --------------------------------------------------------------------------- the environment


@dataclass(frozen=True)
class LiteLLMEnvironment:
    """A complete environment for one LiteLLM version."""

    root: Path
    litellm_version: str
    prisma_version: str
    timings: dict[str, float] = field(default_factory=dict, compare=False)
    #: `today` or `as-released` (then `exclude_newer` is the uv cut-off it was built with)
    deps: str = DEPS_TODAY
    exclude_newer: str | None = None

    @property
    def bin_dir(self) -> Path:
        return self.root / "bin"

    @property
    def python(self) -> Path:
        return self.bin_dir / "python"

    @property
    def litellm_executable(self) -> Path:
        return self.bin_dir / "litellm"

    @property
    def site_packages(self) -> Path:
        return _site_packages(self.root)

    @property
    def schema_path(self) -> Path:
        """The Prisma schema that matches the installed LiteLLM code."""
        return self.site_packages / "litellm" / "proxy" / "schema.prisma"

    @property
    def migrations_dir(self) -> Path:
        """LiteLLM's SQL migrations (from the installed `litellm-proxy-extras`)."""
        return self.site_packages / "litellm_proxy_extras" / "migrations"


def _site_packages(root: Path) -> Path:
    candidates = sorted((root / "lib").glob("python3*/site-packages"))
    if not candidates:
        raise EnvironmentBuildError(f"{root}: no lib/python3*/site-packages")
    return candidates[0]


def environment_name(version: str, deps: str = DEPS_TODAY) -> str:
    """Folder name of the environment: version, Python it runs on, recipe revision, dependency mode.

    `today` keeps the plain name (`litellm-1.82.3-py311-r2`), `as-released` adds a suffix
    (`litellm-1.95.0-py311-r2-as-released`): the two never share a folder.
    """
    _check_deps(deps)
    python_tag = f"py{sys.version_info.major}{sys.version_info.minor}"
    name = f"litellm-{version}-{python_tag}-r{RECIPE_REVISION}"
    return name if deps == DEPS_TODAY else f"{name}-{deps}"


def _check_deps(deps: str) -> None:
    if deps not in DEPS_MODES:
        raise EnvironmentBuildError(f"unknown dependency mode {deps!r} (use {' or '.join(DEPS_MODES)})")


def prisma_home(cache_root: Path) -> Path:
    """Where prisma-client-py keeps the Prisma CLI it installs from npm (shared by all envs).

    Set as PRISMA_HOME_DIR both for `prisma generate` and for the proxy, so the proxy finds the
    CLI that generate installed instead of fetching it again into the user's home.
    """
    return cache_root / "prisma-home"


def prisma_env(
    cache_root: Path, engine_env: Mapping[str, str], bin_dir: Path, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Environment for Prisma (generate and run time): engine paths, CLI home, venv bin on PATH.

    `base` is the environment to extend (default: ours, minus anything naming another Python).
    """
    if base is None:
        base = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH")}
    env = dict(base)
    env.update(engine_env)
    env["PRISMA_HOME_DIR"] = str(prisma_home(cache_root))
    # The Node CLI spawns the `prisma-client-py` generator by name, LiteLLM spawns `prisma`.
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


def read_stamp(root: Path) -> dict | None:
    """The completion stamp of an environment, or None if it is missing or unreadable."""
    try:
        data = json.loads((root / STAMP_NAME).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def find_complete_environment(cache_root: Path, version: str, deps: str = DEPS_TODAY) -> LiteLLMEnvironment | None:
    """The cached environment for `version` (in dependency mode `deps`) if completely built, else None."""
    root = cache_root / "envs" / environment_name(version, deps)
    stamp = read_stamp(root)
    if stamp is None or stamp.get("litellm_version") != version:
        return None
    if stamp.get("deps", DEPS_TODAY) != deps:  # stamps written before the modes existed are `today`
        return None
    if not (root / "bin" / "python").exists():  # its base interpreter was removed or moved
        return None
    return LiteLLMEnvironment(root, version, str(stamp.get("prisma_version", "")), dict(stamp.get("timings", {})),
                              deps, stamp.get("exclude_newer"))


def describe_deps(deps: str, exclude_newer: str | None = None) -> str:
    """`dependencies as released (uv --exclude-newer 2026-08-03T02:52:49Z)` / `today's dependencies`."""
    if deps == DEPS_AS_RELEASED:
        return f"dependencies as released (uv --exclude-newer {exclude_newer})" if exclude_newer else \
            "dependencies as released"
    return "today's dependencies"


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
    _check_deps(deps)
    log = log or _no_log
    cache_root = (cache_root or default_cache_root()).resolve()
    envs_dir = cache_root / "envs"
    envs_dir.mkdir(parents=True, exist_ok=True)
    found = find_complete_environment(cache_root, version, deps)
    if found is not None:
        log(f"litellm {version}: reusing environment {found.root}")
        mark_used(found.root)
        return found
    if engine_env is None:
        raise EnvironmentBuildError("building an environment needs the wasm engine env (engine_env)")
    name = environment_name(version, deps)
    lock = FileLock(str(envs_dir / f"{name}.lock"), timeout=BUILD_LOCK_TIMEOUT_S)
    with _acquire_logged(lock, log, f"litellm {version}: another process is building this environment; waiting"):
        found = find_complete_environment(cache_root, version, deps)  # another worker may have built it
        if found is not None:
            log(f"litellm {version}: reusing environment {found.root} (built by another process)")
            mark_used(found.root)
            return found
        exclude_newer = as_released_exclude_newer(version) if deps == DEPS_AS_RELEASED else None
        built = _build_environment(version, cache_root, envs_dir / name, engine_env, log, exclude_newer)
        mark_used(built.root)
        return built


def mark_used(root: Path) -> None:
    """Record that the environment at `root` is being used now (for `gateconform cache`)."""
    try:
        (root / LAST_USED_NAME).touch()
    except OSError:  # a read-only cache still works; only the "last used" column suffers
        pass


def remove_interrupted_builds(cache_root: Path) -> list[SweptFolder]:
    """Remove what builds killed mid-way left in `cache_root/envs`; report each folder looked at.

    That is their build sites (`.litellm-1.82.3-py311-r2.XXXXXXXX`: the staging environment, hundreds of MB,
    and the build's TMPDIR) whose builder is gone, and environments renamed into place but never
    stamped (killed during `prisma generate`) that nobody is building. Run it after the build's
    processes are reaped (`local.reap_orphans` does both), so no uv writes into what is removed.
    """
    envs_dir = cache_root / "envs"
    if not envs_dir.is_dir():
        return []
    swept = sweep_build_sites(envs_dir, ".litellm-*")
    for root in sorted(envs_dir.glob("litellm-*")):
        if not root.is_dir() or root.is_symlink() or read_stamp(root) is not None:
            continue
        try:
            swept.append(_remove_unstamped(root))
        except OSError as error:  # a read-only cache, a lock we may not create: never fail a run
            swept.append(SweptFolder(root, False, f"could not check: {error}"))
    return swept


def _remove_unstamped(root: Path) -> SweptFolder:
    """An environment without a stamp is a build in progress (its lock is held) or a killed one."""
    from filelock import Timeout

    from harness.targets.processes import processes_using

    try:
        with FileLock(str(root.parent / f"{root.name}.lock"), timeout=0):
            users = processes_using(root)
            if users:  # e.g. a `prisma generate` a gateconform without run markers left running
                return SweptFolder(root, False, f"incomplete, but in use by pid {', '.join(map(str, users[:5]))}")
            return remove_folder(root, "incomplete (its build was interrupted) and nobody is building it")
    except Timeout:
        return SweptFolder(root, False, "being built (its build lock is held)")


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
    exclude_newer: str | None = None,
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
        deps = DEPS_AS_RELEASED if exclude_newer else DEPS_TODAY
        label = f"litellm {version}: installing into a new environment ({describe_deps(deps, exclude_newer)})"
        with timed_step(log, label) as step:
            _create_venv(staging, log, site)
            prisma_requirement = _install_litellm(staging, version, log, exclude_newer, site)
            installed = _installed_versions(staging, site)
            _verify_installed(version, installed)
        timings["install_s"] = step["seconds"]
        staging.rename(target)
        with timed_step(log, f"litellm {version}: prisma generate (offline, wasm engine)") as step:
            _prisma_generate(target, cache_root, engine_env, log, site)
        timings["generate_s"] = step["seconds"]
        timings["total_s"] = time.monotonic() - total_started
        _write_stamp(target, version, installed, prisma_requirement, engine_env, timings, exclude_newer)
    log(f"litellm {version}: environment ready in {timings['total_s']:.1f} s ({target})")
    return LiteLLMEnvironment(target, version, installed.get("prisma", ""), timings, deps, exclude_newer)


def _uv_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH")}
    env["UV_PYTHON_DOWNLOADS"] = "never"  # use this interpreter, never fetch one
    env["UV_NO_PROGRESS"] = "1"
    return env


def _uv() -> str:
    from uv import find_uv_bin

    return find_uv_bin()


def _create_venv(staging: Path, log: Log, site: BuildSite) -> None:
    # --relocatable: entry-point scripts find their interpreter relative to themselves, so the
    # environment still works after the staging folder is renamed into place.
    run_with_progress(
        [_uv(), "venv", "--quiet", "--relocatable", "--python", sys.executable, str(staging)],
        label="uv venv",
        log=log,
        env=site.child_env(_uv_env()),
    )


def uv_pip_install_command(
    uv: str,
    python: Path,
    requirements: Sequence[str],
    compile_bytecode: bool = False,
    exclude_newer: str | None = None,
) -> list[str]:
    """The `uv pip install` command line; `exclude_newer` (as-released mode) caps every package's date."""
    flags = ["--compile-bytecode"] if compile_bytecode else []
    if exclude_newer:
        flags += ["--exclude-newer", exclude_newer]
    return [uv, "pip", "install", *flags, "--python", str(python), *requirements]


def _uv_pip_install(
    staging: Path,
    requirements: Sequence[str],
    log: Log,
    site: BuildSite,
    compile_bytecode: bool = False,
    exclude_newer: str | None = None,
) -> None:
    cutoff = f" (--exclude-newer {exclude_newer})" if exclude_newer else ""
    run_with_progress(
        uv_pip_install_command(_uv(), staging / "bin" / "python", requirements, compile_bytecode, exclude_newer),
        label=f"uv pip install {' '.join(requirements)}{cutoff}",
        log=log,
        env=site.child_env(_uv_env()),
    )


def _install_litellm(
    staging: Path, version: str, log: Log, exclude_newer: str | None, site: BuildSite
) -> str | None:
    """Install `litellm[proxy]==version` and the prisma requirement it declares.

    Older releases (1.82.x) keep prisma in the `extra-proxy` extra, which also drags in cloud
    SDKs; installing only the prisma requirement litellm itself declares keeps the client
    version exactly what that release expects. Returns that requirement (None if none found).
    """
    # Compiling bytecode now (uv does it in parallel, ~8 s, for the packages each call installs)
    # spares the first proxy boot ~15 s of compiling on import, which would eat into its
    # readiness timeout, and works where the user's environment sets PYTHONDONTWRITEBYTECODE.
    litellm_requirement = f"litellm[proxy]=={version}"
    try:
        _uv_pip_install(staging, [litellm_requirement], log, site, compile_bytecode=True, exclude_newer=exclude_newer)
    except EnvironmentBuildError as error:
        if "No solution found" not in str(error):
            raise
        # Listed is not installable: say which companion package the index does not serve.
        when = f" with dependencies as of {exclude_newer}" if exclude_newer else ""
        raise EnvironmentBuildError(
            f"litellm {version} is listed but does not install as published{when} ({short_reason(str(error))}). "
            "Pick another release, or 'latest' (the newest release that installs)."
        ) from None
    prisma_requirement = prisma_requirement_of(_declared_requirements(staging, site))
    if prisma_requirement is not None:
        _uv_pip_install(staging, [litellm_requirement, prisma_requirement], log, site, compile_bytecode=True,
                        exclude_newer=exclude_newer)
    return prisma_requirement


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
    schema = _site_packages(root) / "litellm" / "proxy" / "schema.prisma"
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
    run_with_progress(
        [str(root / "bin" / "python"), "-m", "compileall", "-q", "-j", "0", str(_site_packages(root) / "prisma")],
        label="compile the generated prisma client",
        log=log,
        env=site.child_env(_uv_env()),
    )


def _write_stamp(
    root: Path,
    version: str,
    installed: Mapping[str, str],
    prisma_requirement: str | None,
    engine_env: Mapping[str, str],
    timings: Mapping[str, float],
    exclude_newer: str | None = None,
) -> None:
    stamp = {
        "litellm_version": version,
        "deps": DEPS_AS_RELEASED if exclude_newer else DEPS_TODAY,
        "exclude_newer": exclude_newer,
        "prisma_version": installed.get("prisma", ""),
        "installed": dict(installed),
        "prisma_requirement": prisma_requirement,
        "python": sys.executable,
        "query_engine": engine_env.get("PRISMA_QUERY_ENGINE_BINARY", ""),
        "recipe_revision": RECIPE_REVISION,
        "built_at": time.time(),
        "timings": {k: round(v, 2) for k, v in timings.items()},
    }
    # Written whole then renamed: a reader sees no stamp or a complete one.
    temporary = root / f"{STAMP_NAME}.tmp"
    temporary.write_text(json.dumps(stamp, indent=2))
    temporary.replace(root / STAMP_NAME)
