"""The folder a build works in, and sweeping the ones a killed build left behind.

Every build in the cache (a gateway's environment, the wasm engine's `npm ci`) works in a folder of
its own next to what it builds, `.<name>.XXXXXXXX`, created under the build's lock:

- `owner`: the building process as `pid:start-ticks`, so a later sweep can tell it is gone;
- `tmp/`: the TMPDIR of every tool the build starts, so nothing a tool leaves in its temp folder
  lands in the user's (when prisma-client-py npm-installs the Prisma CLI into a new prisma home,
  `@prisma/engines`' postinstall script leaves an empty 32-hex folder there);
- the staging tree (`env/`, `engine/`), renamed into place when complete.

Every process the build starts carries the run marker (`GATECONFORM_RUN_ID=build-…` and the
owner): if the builder is killed with SIGKILL, the reaper (`local.reap_orphans`, run at every local
start and by `gateconform clean`) finds uv, npm or node by it and kills them, and
`sweep_build_sites` removes the folder. A build whose owner is alive is never touched.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

from filelock import FileLock, Timeout

from harness.targets.lifecycle import (
    BUILD_RUN_PREFIX,
    current_owner,
    identity_alive,
    marker_env,
    read_owner_file,
    write_owner_file,
)

TMP_NAME = "tmp"


@dataclass(frozen=True)
class BuildSite:
    """One build's working folder: its owner file, a private TMPDIR, room for the staging tree."""

    folder: Path
    run_id: str
    owner: str

    @property
    def tmp(self) -> Path:
        """The TMPDIR of every process the build starts (removed with the site)."""
        return self.folder / TMP_NAME

    def child_env(self, base: Mapping[str, str]) -> dict[str, str]:
        """`base` plus the build's run marker and private temp folder, for a process it starts."""
        env = dict(base)
        env.update(marker_env(self.run_id, self.owner))
        for name in ("TMPDIR", "TMP", "TEMP"):  # node, npm and Python read TMPDIR; TMP/TEMP for any other
            env[name] = str(self.tmp)
        return env


def open_build_site(target: Path) -> BuildSite:
    """A new site for building `target`, next to it. Call it holding `target`'s build lock."""
    folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    owner = current_owner()
    try:
        write_owner_file(folder, owner)
        (folder / TMP_NAME).mkdir()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return BuildSite(folder, f"{BUILD_RUN_PREFIX}{secrets.token_hex(6)}", owner)


@contextmanager
def build_site(target: Path) -> Iterator[BuildSite]:
    """`open_build_site(target)`, removed on the way out (success, error or Ctrl-C)."""
    site = open_build_site(target)
    try:
        yield site
    finally:
        shutil.rmtree(site.folder, ignore_errors=True)


def tool_temp_folders(argv: list[str]) -> list[Path]:
    """Temp folders a build's tool names on its command line, outside the build site.

    uv keeps its temp folders in its own cache, not in TMPDIR: during `--compile-bytecode` the
    venv's python runs `<uv cache>/.tmpXXXXXX/pip_compileall.py`. uv removes the folder when it
    finishes; when it is killed, the folder stays, so the reaper removes the ones it sees here.
    """
    folders = []
    for arg in argv:
        folder = Path(arg).parent
        if folder.name.startswith(".tmp") and (folder.parent / "CACHEDIR.TAG").is_file() and folder.is_dir():
            folders.append(folder)
    return folders


# --------------------------------------------------------------------------- sweeping


@dataclass(frozen=True)
class SweptFolder:
    """What a sweep did with one leftover folder."""

    folder: Path
    removed: bool
    reason: str
    size_bytes: int = 0


def build_lock_path(site_folder: Path) -> Path:
    """The lock of the build a site belongs to: `.env-1.82.3-py311-r2.ab12cd` → `env-1.82.3-py311-r2.lock`."""
    built_name = site_folder.name[1:].rsplit(".", 1)[0]
    return site_folder.parent / f"{built_name}.lock"


def sweep_build_sites(parent: Path, pattern: str) -> list[SweptFolder]:
    """Remove the build sites matching `pattern` in `parent` whose build was killed.

    A site whose owner is alive is kept. One without an owner file (left by a gateconform that
    wrote none, or created a moment ago) is removed only while nobody holds its build lock: the
    lock is taken without waiting, never broken, so a live builder is never disturbed.
    """
    return sweep_each(sorted(parent.glob(pattern)), _sweep_site)


def sweep_each(folders: Iterable[Path], sweep: Callable[[Path], SweptFolder]) -> list[SweptFolder]:
    """`sweep` each real folder of `folders` (links and files aside); one it cannot check is kept, saying why."""
    swept = []
    for folder in folders:
        if not folder.is_dir() or folder.is_symlink():
            continue
        try:
            swept.append(sweep(folder))
        except OSError as error:  # a read-only cache, a lock we may not create: never fail a run
            swept.append(SweptFolder(folder, False, f"could not check: {error}"))
    return swept


def _sweep_site(folder: Path) -> SweptFolder:
    owner = read_owner_file(folder)
    if owner is not None:
        pid = owner.partition(":")[0]
        if identity_alive(owner):
            return SweptFolder(folder, False, f"its builder (pid {pid}) is still running")
        return remove_folder(folder, f"its builder (pid {pid}) is gone")
    # e.g. the uv of a killed build, started by a gateconform without run markers, still runs from it
    return remove_unless_building(folder, build_lock_path(folder), "no owner recorded, in use",
                                  "no owner recorded and nobody holds its build lock")


def remove_unless_building(folder: Path, lock: Path, in_use: str, reason: str) -> SweptFolder:
    """Remove `folder` (for `reason`) unless its build `lock` is held or a process runs from it.

    The lock is taken without waiting, never broken, so a live builder is never disturbed; a
    folder in use is kept as `<in_use> by pid …`.
    """
    from harness.targets.processes import processes_using

    try:
        with FileLock(str(lock), timeout=0):
            users = processes_using(folder)
            if users:
                return SweptFolder(folder, False, f"{in_use} by pid {', '.join(map(str, users[:5]))}")
            return remove_folder(folder, reason)
    except Timeout:
        return SweptFolder(folder, False, "being built (its build lock is held)")


def remove_folder(folder: Path, reason: str) -> SweptFolder:
    """Remove `folder`, reporting its size, or why it could not be removed."""
    from harness.common.files import folder_size

    size = folder_size(folder)[0]
    try:
        shutil.rmtree(folder)
    except FileNotFoundError:
        pass  # removed meanwhile (by the build's own clean-up): gone either way
    except OSError as error:
        return SweptFolder(folder, False, f"could not remove: {error}", size)
    return SweptFolder(folder, True, reason, size)
